#include "protocol/ws/json.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "protocol/common/swar.h"
#include "protocol/ws/json_scan.h"

namespace reef::ws {
namespace {

constexpr bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr uint8_t Byte(char c) { return static_cast<uint8_t>(c); }

constexpr int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at s[pos]; -1 if not hex, -2 if the text ends first.
int Hex4(std::string_view s, size_t pos) {
  int value = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (pos + i >= s.size()) return -2;
    const int d = Hex(s[pos + i]);
    if (d < 0) return -1;
    value = value << 4 | d;
  }
  return value;
}

constexpr bool IsHighSurrogate(int u) { return u >= 0xD800 && u <= 0xDBFF; }
constexpr bool IsLowSurrogate(int u) { return u >= 0xDC00 && u <= 0xDFFF; }

// Length of the valid UTF-8 sequence at s[pos] (a byte >= 0x80), 0 if invalid, -1 if the
// text ends inside it.
int Utf8SequenceLength(std::string_view s, size_t pos) {
  const uint8_t b = Byte(s[pos]);
  int n = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b == 0xE0) {
    n = 3, lo = 0xA0;
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    n = 3;
  } else if (b == 0xED) {
    n = 3, hi = 0x9F;
  } else if (b == 0xF0) {
    n = 4, lo = 0x90;
  } else if (b >= 0xF1 && b <= 0xF3) {
    n = 4;
  } else if (b == 0xF4) {
    n = 4, hi = 0x8F;
  } else {
    return 0;
  }
  for (int i = 1; i < n; ++i) {
    const size_t at = pos + static_cast<size_t>(i);
    if (at >= s.size()) return -1;
    const uint8_t c = Byte(s[at]);
    if (c < lo || c > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

// Encodes a code point as UTF-8; returns the length.
size_t EncodeUtf8(uint32_t cp, std::array<char, 4>& out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | cp >> 6);
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | cp >> 12);
    out[1] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | cp >> 18);
  out[1] = static_cast<char>(0x80 | (cp >> 12 & 0x3F));
  out[2] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

}  // namespace

namespace internal {

size_t SkipStringBodyBytewise(std::string_view in, size_t pos, bool* escapes) {
  while (pos < in.size()) {
    const uint8_t b = Byte(in[pos]);
    if (b == '"' || b < 0x20 || b >= 0x80) return pos;
    if (b == '\\') {
      if (pos + 1 == in.size() || !kTwoByteEscapes[Byte(in[pos + 1])]) return pos;
      *escapes = true;
      pos += 2;
      continue;
    }
    ++pos;
  }
  return in.size();
}

size_t SkipStringBodySwar(std::string_view in, size_t pos, bool* escapes) {
  while (in.size() - pos >= swar::kWordSize) {
    const uint64_t w = swar::LoadWord(in.data() + pos);
    const uint64_t special = swar::LanesEqual(w, '"') | swar::LanesEqual(w, '\\') |
                             swar::LanesBelow(w, 0x20) | swar::LanesNonAscii(w);
    if (special == 0) {
      pos += swar::kWordSize;
      continue;
    }
    pos += swar::FirstLane(special);  // exact: the lowest flagged lane
    if (in[pos] != '\\' || pos + 1 == in.size() || !kTwoByteEscapes[Byte(in[pos + 1])]) {
      return pos;
    }
    *escapes = true;
    pos += 2;
  }
  return SkipStringBodyBytewise(in, pos, escapes);
}

#if defined(__SSE2__)
namespace {

// The backslashes `bs` of a 16-byte block, walked in order: each must begin a two-byte
// escape, whose second byte (maybe a quote or a backslash) is then no stop and no escape
// of its own. Returns the escaped bytes; a backslash that begins no two-byte escape
// becomes a stop, and one at byte 15 (its second byte in the next block) makes the block
// end before it (*advance = 15).
uint32_t WalkBackslashes(const char* block, uint32_t bs, uint32_t* stop, size_t* advance) {
  uint32_t escaped = 0;
  while (bs != 0) {
    const auto i = static_cast<uint32_t>(__builtin_ctz(bs));
    if (i == 15) {
      *advance = 15;
      break;
    }
    if (!kTwoByteEscapes[Byte(block[i + 1])]) {
      *stop |= 1u << i;
      break;
    }
    escaped |= 2u << i;
    bs &= ~(3u << i);
  }
  return escaped;
}

}  // namespace

size_t SkipStringBodySse2(std::string_view in, size_t pos, bool* escapes) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (in.size() - pos >= 16) {
    const char* block = in.data() + pos;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
    // Signed compare: below 0x20 are the control characters and, as negative numbers,
    // every byte of 0x80 and above.
    uint32_t stop = static_cast<uint32_t>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmplt_epi8(v, space))));
    const auto bs = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)));
    size_t advance = 16;
    if (bs != 0) {
      const uint32_t escaped = WalkBackslashes(block, bs, &stop, &advance);
      stop &= ~escaped;
    }
    if (stop != 0) {
      const auto first = static_cast<uint32_t>(__builtin_ctz(stop));
      if ((bs & ((1u << first) - 1)) != 0) *escapes = true;
      return pos + first;
    }
    // Every backslash before `advance` began or was part of a two-byte escape.
    if ((bs & ((1u << advance) - 1)) != 0) *escapes = true;
    pos += advance;
  }
  return SkipStringBodyBytewise(in, pos, escapes);
}
#endif

}  // namespace internal

bool JsonStringDecoder::Next(uint32_t* code_point) {
  if (pos_ >= raw_.size()) return false;
  const char c = raw_[pos_];
  if (c != '\\') {
    const uint8_t b = Byte(c);
    if (b < 0x80) {
      *code_point = b;
      ++pos_;
      return true;
    }
    // Valid UTF-8 (the reader checked it): decode by the lead byte.
    const size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    uint32_t cp = b & (0x7Fu >> n);
    for (size_t i = 1; i < n && pos_ + i < raw_.size(); ++i) {
      cp = cp << 6 | (Byte(raw_[pos_ + i]) & 0x3Fu);
    }
    pos_ += n;
    *code_point = cp;
    return true;
  }
  const char e = pos_ + 1 < raw_.size() ? raw_[pos_ + 1] : '\0';
  pos_ += 2;
  switch (e) {
    case 'b': *code_point = '\b'; return true;
    case 'f': *code_point = '\f'; return true;
    case 'n': *code_point = '\n'; return true;
    case 'r': *code_point = '\r'; return true;
    case 't': *code_point = '\t'; return true;
    case 'u': {
      const int u = Hex4(raw_, pos_);
      pos_ += 4;
      if (IsHighSurrogate(u)) {
        const int low = Hex4(raw_, pos_ + 2);
        pos_ += 6;
        *code_point = 0x10000 + (static_cast<uint32_t>(u - 0xD800) << 10) +
                      static_cast<uint32_t>(low - 0xDC00);
        return true;
      }
      *code_point = static_cast<uint32_t>(u < 0 ? 0xFFFD : u);
      return true;
    }
    default:  // " \ /
      *code_point = Byte(e);
      return true;
  }
}

bool JsonStringEquals(JsonString s, std::string_view text) {
  if (!s.has_escapes) return s.raw == text;
  JsonStringDecoder decoder(s);
  size_t at = 0;
  uint32_t cp = 0;
  std::array<char, 4> utf8;
  while (decoder.Next(&cp)) {
    const size_t n = EncodeUtf8(cp, utf8);
    if (text.size() - at < n || text.compare(at, n, utf8.data(), n) != 0) return false;
    at += n;
  }
  return at == text.size();
}

bool DecodeJsonString(JsonString s, std::span<char> out, size_t* length) {
  JsonStringDecoder decoder(s);
  size_t at = 0;
  uint32_t cp = 0;
  std::array<char, 4> utf8;
  while (decoder.Next(&cp)) {
    const size_t n = EncodeUtf8(cp, utf8);
    if (out.size() - at < n) return false;
    std::copy(utf8.begin(), utf8.begin() + static_cast<ptrdiff_t>(n), out.begin() + static_cast<ptrdiff_t>(at));
    at += n;
  }
  *length = at;
  return true;
}

bool DecodeBinaryString(JsonString s, std::span<uint8_t> out, size_t* length) {
  JsonStringDecoder decoder(s);
  size_t at = 0;
  uint32_t cp = 0;
  while (decoder.Next(&cp)) {
    if (cp > 0xFF || at >= out.size()) return false;
    out[at++] = static_cast<uint8_t>(cp);
  }
  *length = at;
  return true;
}

bool JsonReader::Fail(JsonError e) {
  if (!failed_) {
    failed_ = true;
    error_ = e;
  }
  return false;
}

void JsonReader::SkipWhitespace() {
  while (pos_ < in_.size() && IsWhitespace(in_[pos_])) ++pos_;
}

bool JsonReader::Peek(JsonType* type) {
  if (failed_) return false;
  SkipWhitespace();
  if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
  switch (in_[pos_]) {
    case '{': *type = JsonType::kObject; return true;
    case '[': *type = JsonType::kArray; return true;
    case '"': *type = JsonType::kString; return true;
    case 't':
    case 'f': *type = JsonType::kBool; return true;
    case 'n': *type = JsonType::kNull; return true;
    default:
      if (in_[pos_] == '-' || IsDigit(in_[pos_])) {
        *type = JsonType::kNumber;
        return true;
      }
      return Fail(JsonError::kUnexpectedChar);
  }
}

bool JsonReader::Push() {
  if (depth_ >= max_depth_) return Fail(JsonError::kTooDeep);
  ++depth_;
  has_first_ &= ~(uint64_t{1} << (depth_ - 1));
  ++pos_;
  return true;
}

bool JsonReader::EnterObject() {
  JsonType type;
  if (!Peek(&type)) return false;
  if (type != JsonType::kObject) return Fail(JsonError::kWrongType);
  return Push();
}

bool JsonReader::EnterArray() {
  JsonType type;
  if (!Peek(&type)) return false;
  if (type != JsonType::kArray) return Fail(JsonError::kWrongType);
  return Push();
}

bool JsonReader::NextMember(JsonString* key) {
  if (failed_ || depth_ == 0) return false;
  SkipWhitespace();
  if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  if ((has_first_ & bit) != 0) {
    if (in_[pos_] == '}') {
      ++pos_;
      --depth_;
      return false;
    }
    if (in_[pos_] != ',') return Fail(JsonError::kUnexpectedChar);
    ++pos_;
    SkipWhitespace();
    if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
  } else if (in_[pos_] == '}') {
    ++pos_;
    --depth_;
    return false;
  }
  if (in_[pos_] != '"') return Fail(JsonError::kUnexpectedChar);
  if (!ScanString(key)) return false;
  SkipWhitespace();
  if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
  if (in_[pos_] != ':') return Fail(JsonError::kUnexpectedChar);
  ++pos_;
  has_first_ |= bit;
  return true;
}

bool JsonReader::NextElement() {
  if (failed_ || depth_ == 0) return false;
  SkipWhitespace();
  if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  if (in_[pos_] == ']') {
    ++pos_;
    --depth_;
    return false;
  }
  if ((has_first_ & bit) != 0) {
    if (in_[pos_] != ',') return Fail(JsonError::kUnexpectedChar);
    ++pos_;
    SkipWhitespace();
    if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
    if (in_[pos_] == ']') return Fail(JsonError::kUnexpectedChar);  // trailing comma
  }
  has_first_ |= bit;
  return true;
}

bool JsonReader::ScanString(JsonString* out) {
  // At the opening quote.
  const size_t start = ++pos_;
  bool escapes = false;
  while (true) {
    // Plain runs and two-byte escapes many bytes a step (json_scan.h), then one byte at a
    // time: the end, an error, UTF-8 to validate or a \u escape.
    pos_ = internal::SkipStringBody(in_, pos_, &escapes);
    if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
    const uint8_t b = Byte(in_[pos_]);
    if (b == '"') break;
    if (b < 0x20) return Fail(JsonError::kControlCharacter);
    if (b >= 0x80) {
      const int n = Utf8SequenceLength(in_, pos_);
      if (n < 0) return Fail(JsonError::kTruncated);
      if (n == 0) return Fail(JsonError::kInvalidUtf8);
      pos_ += static_cast<size_t>(n);
      continue;
    }
    // A backslash.
    escapes = true;
    if (pos_ + 1 >= in_.size()) return Fail(JsonError::kTruncated);
    const char e = in_[pos_ + 1];
    switch (e) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        pos_ += 2;
        continue;
      case 'u':
        break;
      default:
        return Fail(JsonError::kBadEscape);
    }
    const int u = Hex4(in_, pos_ + 2);
    if (u == -2) return Fail(JsonError::kTruncated);
    if (u < 0) return Fail(JsonError::kBadUnicodeEscape);
    pos_ += 6;
    if (IsLowSurrogate(u)) return Fail(JsonError::kLoneSurrogate);
    if (IsHighSurrogate(u)) {
      if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
      if (in_[pos_] != '\\') return Fail(JsonError::kLoneSurrogate);
      if (pos_ + 1 >= in_.size()) return Fail(JsonError::kTruncated);
      if (in_[pos_ + 1] != 'u') return Fail(JsonError::kLoneSurrogate);
      const int low = Hex4(in_, pos_ + 2);
      if (low == -2) return Fail(JsonError::kTruncated);
      if (low < 0) return Fail(JsonError::kBadUnicodeEscape);
      if (!IsLowSurrogate(low)) return Fail(JsonError::kLoneSurrogate);
      pos_ += 6;
    }
  }
  out->raw = in_.substr(start, pos_ - start);
  out->has_escapes = escapes;
  ++pos_;  // the closing quote
  return true;
}

bool JsonReader::ScanNumber(std::string_view* raw) {
  const size_t start = pos_;
  auto digits = [&] {
    const size_t from = pos_;
    while (pos_ < in_.size() && IsDigit(in_[pos_])) ++pos_;
    return pos_ > from;
  };
  if (in_[pos_] == '-') ++pos_;
  if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
  if (in_[pos_] == '0') {
    ++pos_;
    if (pos_ < in_.size() && IsDigit(in_[pos_])) return Fail(JsonError::kBadNumber);
  } else if (!digits()) {
    return Fail(JsonError::kBadNumber);
  }
  if (pos_ < in_.size() && in_[pos_] == '.') {
    ++pos_;
    if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
    if (!digits()) return Fail(JsonError::kBadNumber);
  }
  if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
    if (pos_ >= in_.size()) return Fail(JsonError::kTruncated);
    if (!digits()) return Fail(JsonError::kBadNumber);
  }
  *raw = in_.substr(start, pos_ - start);
  return true;
}

bool JsonReader::Literal(std::string_view word) {
  for (size_t i = 0; i < word.size(); ++i) {
    if (pos_ + i >= in_.size()) return Fail(JsonError::kTruncated);
    if (in_[pos_ + i] != word[i]) return Fail(JsonError::kUnexpectedChar);
  }
  pos_ += word.size();
  return true;
}

bool JsonReader::ReadString(JsonString* out) {
  JsonType type;
  if (!Peek(&type)) return false;
  if (type != JsonType::kString) return Fail(JsonError::kWrongType);
  return ScanString(out);
}

bool JsonReader::ReadNumber(std::string_view* raw) {
  JsonType type;
  if (!Peek(&type)) return false;
  if (type != JsonType::kNumber) return Fail(JsonError::kWrongType);
  return ScanNumber(raw);
}

bool JsonReader::ReadUint64(uint64_t* out) {
  std::string_view raw;
  if (!ReadNumber(&raw)) return false;
  uint64_t value = 0;
  for (char c : raw) {
    if (!IsDigit(c)) return Fail(JsonError::kWrongType);  // sign, fraction, exponent
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return Fail(JsonError::kWrongType);
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

bool JsonReader::ReadBool(bool* out) {
  JsonType type;
  if (!Peek(&type)) return false;
  if (type != JsonType::kBool) return Fail(JsonError::kWrongType);
  *out = in_[pos_] == 't';
  return Literal(*out ? "true" : "false");
}

bool JsonReader::ReadNull() {
  JsonType type;
  if (!Peek(&type)) return false;
  if (type != JsonType::kNull) return Fail(JsonError::kWrongType);
  return Literal("null");
}

bool JsonReader::SkipValue(std::string_view* raw) {
  JsonType type;
  if (!Peek(&type)) return false;
  const size_t start = pos_;
  switch (type) {
    case JsonType::kObject: {
      if (!Push()) return false;
      JsonString key;
      while (NextMember(&key)) {
        if (!SkipValue()) return false;
      }
      break;
    }
    case JsonType::kArray: {
      if (!Push()) return false;
      while (NextElement()) {
        if (!SkipValue()) return false;
      }
      break;
    }
    case JsonType::kString: {
      JsonString s;
      ScanString(&s);
      break;
    }
    case JsonType::kNumber: {
      std::string_view n;
      ScanNumber(&n);
      break;
    }
    case JsonType::kBool:
      Literal(in_[pos_] == 't' ? "true" : "false");
      break;
    case JsonType::kNull:
      Literal("null");
      break;
  }
  if (failed_) return false;
  if (raw != nullptr) *raw = in_.substr(start, pos_ - start);
  return true;
}

bool JsonReader::Finish() {
  if (failed_) return false;
  if (depth_ != 0) return Fail(JsonError::kTruncated);
  SkipWhitespace();
  if (pos_ != in_.size()) return Fail(JsonError::kTrailingCharacters);
  return true;
}

ParseResult<std::string_view, JsonError> ValidateJson(std::string_view in, size_t max_depth) {
  using Result = ParseResult<std::string_view, JsonError>;
  JsonReader reader(in, max_depth);
  std::string_view raw;
  if (!reader.SkipValue(&raw) || !reader.Finish()) return Result::Fail(reader.error());
  return Result::Ok(raw, in.size());
}

// --- JsonWriter ---

namespace {

constexpr bool NeedsEscape(uint8_t b) { return b < 0x20 || b == '"' || b == '\\'; }

// The escape JSON.stringify uses for `b` (one of the NeedsEscape bytes).
void WriteEscaped(ByteWriter& w, uint8_t b) {
  constexpr char kHex[] = "0123456789abcdef";
  switch (b) {
    case '"': w.WriteString("\\\""); break;
    case '\\': w.WriteString("\\\\"); break;
    case '\b': w.WriteString("\\b"); break;
    case '\f': w.WriteString("\\f"); break;
    case '\n': w.WriteString("\\n"); break;
    case '\r': w.WriteString("\\r"); break;
    case '\t': w.WriteString("\\t"); break;
    default: {
      const char u[6] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
      w.WriteString(std::string_view(u, 6));
    }
  }
}

}  // namespace

void JsonWriter::Separator() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) {
    if (w_.written() != 0) invalid_ = true;  // a second top-level value
    return;
  }
  const uint64_t bit = uint64_t{1} << (depth_ - 1);
  if ((has_first_ & bit) != 0) w_.WriteU8(',');
  has_first_ |= bit;
}

void JsonWriter::Open(char bracket) {
  Separator();
  w_.WriteU8(Byte(bracket));
  if (depth_ >= kJsonDepthCap) {
    invalid_ = true;
    return;
  }
  ++depth_;
  has_first_ &= ~(uint64_t{1} << (depth_ - 1));
}

void JsonWriter::Close(char bracket) {
  if (depth_ == 0 || after_key_) invalid_ = true;
  if (depth_ > 0) --depth_;
  w_.WriteU8(Byte(bracket));
}

void JsonWriter::BeginObject() { Open('{'); }
void JsonWriter::BeginArray() { Open('['); }
void JsonWriter::EndObject() { Close('}'); }
void JsonWriter::EndArray() { Close(']'); }

void JsonWriter::Key(std::string_view name) {
  if (after_key_) invalid_ = true;
  Separator();
  Quoted(name);
  w_.WriteU8(':');
  after_key_ = true;
}

void JsonWriter::Quoted(std::string_view s) {
  w_.WriteU8('"');
  size_t run = 0;  // start of the bytes not yet written
  for (size_t i = 0; i < s.size(); ++i) {
    const uint8_t b = Byte(s[i]);
    if (!NeedsEscape(b)) continue;
    w_.WriteString(s.substr(run, i - run));
    run = i + 1;
    WriteEscaped(w_, b);
  }
  w_.WriteString(s.substr(run));
  w_.WriteU8('"');
}

void JsonWriter::String(std::string_view utf8) {
  Separator();
  Quoted(utf8);
}

void JsonWriter::BinaryString(std::span<const uint8_t> bytes) {
  Separator();
  QuotedBinary(bytes);
}

void JsonWriter::BinaryKey(std::span<const uint8_t> bytes) {
  if (after_key_) invalid_ = true;
  Separator();
  QuotedBinary(bytes);
  w_.WriteU8(':');
  after_key_ = true;
}

void JsonWriter::QuotedBinary(std::span<const uint8_t> bytes) {
  w_.WriteU8('"');
  for (uint8_t b : bytes) {
    if (b >= 0x80) {  // U+0080-U+00FF: two bytes of UTF-8, as JSON.stringify writes them
      w_.WriteU8(static_cast<uint8_t>(0xC0 | b >> 6));
      w_.WriteU8(static_cast<uint8_t>(0x80 | (b & 0x3F)));
    } else if (NeedsEscape(b)) {
      WriteEscaped(w_, b);
    } else {
      w_.WriteU8(b);
    }
  }
  w_.WriteU8('"');
}

void JsonWriter::Uint(uint64_t value) {
  Separator();
  w_.WriteDecimal(value);
}

void JsonWriter::Raw(std::string_view json) {
  Separator();
  w_.WriteString(json);
}

WriteResult JsonWriter::Result() const {
  if (invalid_ || depth_ != 0 || after_key_) return WriteResult::Fail(WriteError::kInvalidValue);
  return w_.Result();
}

}  // namespace reef::ws
