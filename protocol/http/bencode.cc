#include "protocol/http/bencode.h"

#include <algorithm>
#include <limits>

namespace reef::http {

BencodeReader::BencodeReader(std::string_view in, const BencodeLimits& limits)
    : in_(in), max_depth_(std::min(limits.max_depth, kMaxBencodeDepth)), strict_(limits.strict) {}

// "i" already consumed: [-]digits "e", canonical.
bool BencodeReader::ReadInteger(int64_t* out) {
  bool negative = false;
  if (pos_ < in_.size() && in_[pos_] == '-') {
    negative = true;
    ++pos_;
  }
  size_t start = pos_;
  // Accumulate as a negative number so INT64_MIN fits.
  int64_t value = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
    int digit = in_[pos_] - '0';
    if (value < (kMin + digit) / 10) return Fail(ParseError::kBencodeBadInteger);
    value = value * 10 - digit;
    ++pos_;
  }
  if (pos_ == in_.size()) return Fail(ParseError::kBencodeTruncated);
  size_t digits = pos_ - start;
  if (in_[pos_] != 'e' || digits == 0) return Fail(ParseError::kBencodeBadInteger);
  if (in_[start] == '0' && (digits > 1 || negative)) return Fail(ParseError::kBencodeBadInteger);
  if (!negative) {
    if (value == kMin) return Fail(ParseError::kBencodeBadInteger);
    value = -value;
  }
  ++pos_;  // 'e'
  *out = value;
  return true;
}

// At the first digit: length ":" bytes.
bool BencodeReader::ReadString(std::string_view* out) {
  size_t start = pos_;
  uint64_t length = 0;
  while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
    if (length > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
      return Fail(ParseError::kBencodeBadLength);
    }
    length = length * 10 + static_cast<uint64_t>(in_[pos_] - '0');
    ++pos_;
  }
  if (pos_ == in_.size()) return Fail(ParseError::kBencodeTruncated);
  if (in_[pos_] != ':') return Fail(ParseError::kBencodeBadLength);
  if (in_[start] == '0' && pos_ - start > 1) return Fail(ParseError::kBencodeBadLength);
  ++pos_;  // ':'
  if (length > in_.size() - pos_) return Fail(ParseError::kBencodeTruncated);
  *out = in_.substr(pos_, static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return true;
}

void BencodeReader::ValueDone() {
  if (depth_ == 0) {
    done_ = true;
    return;
  }
  Frame& top = frames_[depth_ - 1];
  if (top.dict) top.expect_key = true;
}

bool BencodeReader::Next(BencodeToken* token) {
  if (done_ || error_) return false;
  if (pos_ == in_.size()) return Fail(ParseError::kBencodeTruncated);
  const char c = in_[pos_];
  Frame* top = depth_ > 0 ? &frames_[depth_ - 1] : nullptr;

  if (c == 'e') {
    if (top == nullptr) return Fail(ParseError::kBencodeUnexpectedByte);
    if (top->dict && !top->expect_key) return Fail(ParseError::kBencodeMissingValue);
    ++pos_;
    --depth_;
    *token = BencodeToken{BencodeType::kEnd, 0, {}};
    ValueDone();
    return true;
  }

  if (top != nullptr && top->dict && top->expect_key) {
    if (c < '0' || c > '9') return Fail(ParseError::kBencodeKeyNotString);
    std::string_view key;
    if (!ReadString(&key)) return false;
    if (strict_ && top->has_key && !(top->last_key < key)) {
      return Fail(ParseError::kBencodeKeyOrder);
    }
    top->last_key = key;
    top->has_key = true;
    top->expect_key = false;
    *token = BencodeToken{BencodeType::kString, 0, key};
    return true;
  }

  switch (c) {
    case 'i': {
      ++pos_;
      int64_t v = 0;
      if (!ReadInteger(&v)) return false;
      *token = BencodeToken{BencodeType::kInteger, v, {}};
      ValueDone();
      return true;
    }
    case 'l':
    case 'd': {
      if (depth_ >= max_depth_) return Fail(ParseError::kBencodeTooDeep);
      ++pos_;
      frames_[depth_++] = Frame{c == 'd', true, false, {}};
      *token = BencodeToken{c == 'd' ? BencodeType::kDictBegin : BencodeType::kListBegin, 0, {}};
      return true;
    }
    default: {
      if (c < '0' || c > '9') return Fail(ParseError::kBencodeUnexpectedByte);
      std::string_view s;
      if (!ReadString(&s)) return false;
      *token = BencodeToken{BencodeType::kString, 0, s};
      ValueDone();
      return true;
    }
  }
}

bool BencodeReader::SkipValue(const BencodeToken& first) {
  if (first.type != BencodeType::kListBegin && first.type != BencodeType::kDictBegin) {
    return !error_;
  }
  const size_t target = depth_ - 1;
  BencodeToken t;
  while (depth_ > target) {
    if (!Next(&t)) return false;
  }
  return true;
}

ParseResult<size_t, ParseError> CheckBencode(std::string_view in, const BencodeLimits& limits) {
  using Result = ParseResult<size_t, ParseError>;
  BencodeReader reader(in, limits);
  BencodeToken t;
  while (reader.Next(&t)) {
  }
  if (reader.error()) return Result::Fail(*reader.error());
  if (reader.consumed() != in.size()) return Result::Fail(ParseError::kBencodeTrailingBytes);
  return Result::Ok(in.size(), in.size());
}

bool WriteUnsignedDecimal(ByteWriter& w, uint64_t v) { return w.WriteDecimal(v); }

bool WriteDecimal(ByteWriter& w, int64_t v) { return w.WriteSignedDecimal(v); }

bool BencodeWriter::Int(int64_t v) {
  return w_.WriteU8('i') && w_.WriteSignedDecimal(v) && w_.WriteU8('e');
}

bool BencodeWriter::StringHeader(size_t length) {
  return w_.WriteDecimal(length) && w_.WriteU8(':');
}

bool BencodeWriter::String(std::string_view s) {
  return StringHeader(s.size()) && w_.WriteString(s);
}

bool BencodeWriter::Bytes(std::span<const uint8_t> b) {
  return StringHeader(b.size()) && w_.WriteBytes(b);
}

}  // namespace reef::http
