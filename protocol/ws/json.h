// An allocation-free JSON (RFC 8259) reader and writer, strict enough to face the network.
//
// JsonReader is a pull parser over one complete document: the caller walks the values it
// expects (EnterObject / NextMember / ReadString / ...) and skips the rest with SkipValue,
// which validates what it skips and returns its raw text. That raw text is how a WebTorrent
// SDP offer is handed through: validated once, forwarded byte for byte, never re-encoded.
//
// What it accepts, exactly (and the differential fuzz target holds it to simdjson):
//  - the RFC 8259 grammar: any value at the top level, whitespace = space, tab, CR, LF;
//  - numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? (no leading zeros, no "+",
//    no "1.", no ".5", no NaN/Infinity); their size is not limited by the grammar;
//  - strings of valid UTF-8 (no overlongs, no surrogates encoded in UTF-8), no raw control
//    characters U+0000-U+001F, escapes \" \\ \/ \b \f \n \r \t \uXXXX, where a \u high
//    surrogate must be followed by a \u low surrogate and a lone surrogate is an error;
//  - at most `max_depth` nested arrays/objects (kMaxJsonDepth by default; never above
//    kJsonDepthCap).
// Duplicate object keys are valid JSON here, as in RFC 8259 ("names SHOULD be unique"),
// JSON.parse and simdjson; the WebTorrent message parser, which knows its keys, rejects a
// duplicate of any key it reads (see webtorrent.h), so no two readers of one message can
// disagree on which copy counts.
//
// Errors are sticky: after the first one every call returns false and error() says why.
#ifndef REEF_PROTOCOL_WS_JSON_H_
#define REEF_PROTOCOL_WS_JSON_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/byte_writer.h"
#include "protocol/common/errors.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/parse_result.h"

namespace reef::ws {

// Nesting a WebTorrent message needs is 4 ({"offers":[{"offer":{...}}]}); SDP objects
// from browsers add none. 32 leaves room and bounds the recursion of SkipValue.
inline constexpr size_t kMaxJsonDepth = 32;
// The deepest any JsonReader goes, whatever it is asked (one bit per level in a uint64_t).
inline constexpr size_t kJsonDepthCap = 64;

enum class JsonError : uint8_t {
  kTruncated,         // the text ended inside a value
  kUnexpectedChar,    // a character that cannot come here
  kTooDeep,           // more nested arrays/objects than the depth limit
  kControlCharacter,  // a raw U+0000-U+001F inside a string
  kBadEscape,         // a backslash followed by something other than "\/bfnrtu
  kBadUnicodeEscape,  // \u not followed by four hex digits
  kLoneSurrogate,     // a \u surrogate without its other half
  kInvalidUtf8,       // bytes in a string that are not UTF-8
  kBadNumber,         // a number outside the RFC 8259 grammar
  kTrailingCharacters,  // something after the top-level value
  kWrongType,         // a value of another type than the caller asked for
  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(JsonError::kNumErrors)>
    kJsonErrors = {{
        {"kTruncated", "json ended early"},
        {"kUnexpectedChar", "unexpected character in json"},
        {"kTooDeep", "json nested too deeply"},
        {"kControlCharacter", "control character in json string"},
        {"kBadEscape", "bad escape in json string"},
        {"kBadUnicodeEscape", "bad \\u escape in json string"},
        {"kLoneSurrogate", "lone surrogate in json string"},
        {"kInvalidUtf8", "json string is not valid utf-8"},
        {"kBadNumber", "bad json number"},
        {"kTrailingCharacters", "trailing characters after json"},
        {"kWrongType", "json value of the wrong type"},
    }};

constexpr std::string_view ErrorName(JsonError e) { return LookUpError(kJsonErrors, e).name; }
constexpr std::string_view ErrorReason(JsonError e) { return LookUpError(kJsonErrors, e).reason; }
static_assert(ProtocolError<JsonError>);

enum class JsonType : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

// A validated string: the bytes between the quotes, still escaped.
struct JsonString {
  std::string_view raw;
  bool has_escapes = false;
};

// Walks the code points of a validated JsonString, resolving escapes.
class JsonStringDecoder {
 public:
  explicit JsonStringDecoder(JsonString s) : raw_(s.raw) {}
  // The next code point; false at the end.
  bool Next(uint32_t* code_point);

 private:
  std::string_view raw_;
  size_t pos_ = 0;
};

// True if the decoded string is exactly `text` (UTF-8).
bool JsonStringEquals(JsonString s, std::string_view text);

// Decodes a string to UTF-8 into `out`; false if it does not fit. *length is set on success.
bool DecodeJsonString(JsonString s, std::span<char> out, size_t* length);

// Decodes a "binary string", where each code point U+0000-U+00FF stands for one byte.
// False if a code point is above U+00FF or `out` is too small; *length is set on success.
bool DecodeBinaryString(JsonString s, std::span<uint8_t> out, size_t* length);

// A binary string of exactly N code points into N bytes, decoded in place; nullopt
// otherwise.
template <size_t N>
std::optional<FixedBytes<N>> DecodeBinaryFixed(JsonString s) {
  // Each code point takes at least one byte of the raw text and at most 6 (\u00XX).
  if (s.raw.size() < N || s.raw.size() > 6 * N) return std::nullopt;
  FixedBytes<N> out;
  const std::span<uint8_t, N> bytes = out.mutable_bytes();
  JsonStringDecoder decoder(s);
  size_t at = 0;
  uint32_t cp = 0;
  while (decoder.Next(&cp)) {
    if (cp > 0xFF || at == N) return std::nullopt;
    bytes[at++] = static_cast<uint8_t>(cp);
  }
  if (at != N) return std::nullopt;
  return out;
}

class JsonReader {
 public:
  explicit JsonReader(std::string_view in, size_t max_depth = kMaxJsonDepth)
      : in_(in), max_depth_(max_depth < kJsonDepthCap ? max_depth : kJsonDepthCap) {}

  bool ok() const { return !failed_; }
  JsonError error() const { return error_; }
  size_t position() const { return pos_; }

  // The type of the next value, by its first character; false (and an error) if no value
  // can start there.
  bool Peek(JsonType* type);

  // Objects: EnterObject, then while (NextMember(&key)) { read or skip the value }.
  // NextMember returns false at the closing brace (ok() stays true) or on an error.
  bool EnterObject();
  bool NextMember(JsonString* key);
  // Arrays: EnterArray, then while (NextElement()) { read or skip the element }.
  bool EnterArray();
  bool NextElement();

  bool ReadString(JsonString* out);
  // Any valid number; its text.
  bool ReadNumber(std::string_view* raw);
  // A number written as a non-negative integer (no sign, fraction or exponent) that fits
  // 64 bits; anything else is kWrongType.
  bool ReadUint64(uint64_t* out);
  bool ReadBool(bool* out);
  bool ReadNull();
  // Validates the next value, whatever it is, and returns its exact text.
  bool SkipValue(std::string_view* raw = nullptr);
  // Succeeds if only whitespace is left.
  bool Finish();

  // Marks the reader failed with `e` (for callers' own checks); returns false.
  bool Fail(JsonError e);

 private:
  void SkipWhitespace();
  bool Literal(std::string_view word);
  bool ScanString(JsonString* out);
  bool ScanNumber(std::string_view* raw);
  bool Push();

  std::string_view in_;
  size_t pos_ = 0;
  size_t max_depth_;
  size_t depth_ = 0;
  uint64_t has_first_ = 0;  // bit d: the container at depth d has had an element
  bool failed_ = false;
  JsonError error_ = JsonError::kNumErrors;
};

// Validates a whole document; ok with consumed() == in.size().
ParseResult<std::string_view, JsonError> ValidateJson(std::string_view in,
                                                      size_t max_depth = kMaxJsonDepth);

// Writes JSON into a caller's buffer with the separators in the right places. Strings are
// escaped as JavaScript's JSON.stringify does (\" \\ \b \f \n \r \t, \u00XX for the other
// control characters, everything else as is), so what it writes for a message is
// byte-for-byte what bittorrent-tracker writes for it. Sticky failure, like ByteWriter.
class JsonWriter {
 public:
  explicit JsonWriter(std::span<uint8_t> out) : w_(out) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // An object key; the value follows.
  void Key(std::string_view name);
  // A UTF-8 string (the caller's: it is not validated).
  void String(std::string_view utf8);
  // A "binary string": each byte becomes the code point of the same value.
  void BinaryString(std::span<const uint8_t> bytes);
  template <size_t N>
  void BinaryString(const FixedBytes<N>& bytes) {
    BinaryString(std::span<const uint8_t>(bytes.bytes()));
  }
  // An object key that is a binary string (a scrape response's info hashes).
  void BinaryKey(std::span<const uint8_t> bytes);
  template <size_t N>
  void BinaryKey(const FixedBytes<N>& bytes) {
    BinaryKey(std::span<const uint8_t>(bytes.bytes()));
  }
  void Uint(uint64_t value);
  // Already valid JSON, such as a raw view from JsonReader::SkipValue.
  void Raw(std::string_view json);

  bool ok() const { return w_.ok() && !invalid_; }
  WriteResult Result() const;
  size_t written() const { return w_.written(); }

 private:
  void Separator();
  void Open(char bracket);   // { or [
  void Close(char bracket);  // } or ]
  void Quoted(std::string_view s);
  void QuotedBinary(std::span<const uint8_t> bytes);

  ByteWriter w_;
  size_t depth_ = 0;
  uint64_t has_first_ = 0;
  bool after_key_ = false;
  bool invalid_ = false;  // unbalanced or too deep
};

}  // namespace reef::ws

#endif  // REEF_PROTOCOL_WS_JSON_H_
