// Bencode (BEP 3): an allocation-free tokenizer and a writer into a caller's buffer.
//
// BencodeReader walks one bencoded value token by token: integers, byte strings (views
// into the input), list/dict begin, and end. It keeps a fixed-size stack (no heap) and
// refuses, with a specific http::ParseError:
//   - nesting deeper than BencodeLimits::max_depth (kBencodeTooDeep);
//   - non-canonical integers: leading zeros, "-0", no digits, outside int64 (kBencodeBadInteger);
//   - non-canonical string lengths (leading zeros, overflow) (kBencodeBadLength), and
//     lengths past the end of the input (kBencodeTruncated): a length is never trusted;
//   - dictionary keys that are not strings, a key without a value;
//   - in strict mode, dictionary keys that are not sorted (raw byte order) and unique.
// It never reads past the input.
//
// BencodeWriter writes integers, strings, lists and dicts with the same sticky-failure
// contract as ByteWriter. It writes what it is told: keeping dictionary keys sorted is the
// caller's job (the tracker's serializers in response.h do).
#ifndef REEF_PROTOCOL_HTTP_BENCODE_H_
#define REEF_PROTOCOL_HTTP_BENCODE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/byte_writer.h"
#include "protocol/common/parse_result.h"
#include "protocol/http/errors.h"

namespace reef::http {

// The reader's stack is this deep at most, whatever the limits say.
inline constexpr size_t kMaxBencodeDepth = 64;
// Tracker responses nest 4 deep at most (dict > files > dict; dict > peers > dict).
inline constexpr size_t kDefaultBencodeDepth = 16;

struct BencodeLimits {
  size_t max_depth = kDefaultBencodeDepth;  // capped at kMaxBencodeDepth
  bool strict = false;                      // also require sorted, unique dict keys
};

enum class BencodeType : uint8_t { kInteger, kString, kListBegin, kDictBegin, kEnd };

struct BencodeToken {
  BencodeType type = BencodeType::kEnd;
  int64_t integer = 0;      // kInteger
  std::string_view string;  // kString: a view into the input

  friend bool operator==(const BencodeToken&, const BencodeToken&) = default;
};

class BencodeReader {
 public:
  explicit BencodeReader(std::string_view in, const BencodeLimits& limits = {});
  explicit BencodeReader(std::span<const uint8_t> in, const BencodeLimits& limits = {})
      : BencodeReader(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()),
                      limits) {}

  // Reads the next token into *token. False once the top-level value is complete (done())
  // or on an error (error()); both are final.
  [[nodiscard]] bool Next(BencodeToken* token);

  // Given the token just read, skips the rest of its value (through the matching end of a
  // list or dict; nothing for a scalar). False on an error.
  [[nodiscard]] bool SkipValue(const BencodeToken& first);

  bool done() const { return done_; }
  std::optional<ParseError> error() const { return error_; }
  // Bytes read so far; after done(), the length of the value.
  size_t consumed() const { return pos_; }
  // Containers open right now.
  size_t depth() const { return depth_; }
  // Whether the next token is a dictionary key (or the dict's end).
  bool at_dict_key() const { return depth_ > 0 && frames_[depth_ - 1].dict && frames_[depth_ - 1].expect_key; }

 private:
  struct Frame {
    bool dict = false;
    bool expect_key = true;
    bool has_key = false;
    std::string_view last_key;
  };

  bool Fail(ParseError e) {
    error_ = e;
    return false;
  }
  bool ReadInteger(int64_t* out);
  bool ReadString(std::string_view* out);
  void ValueDone();

  std::string_view in_;
  size_t pos_ = 0;
  size_t max_depth_;
  bool strict_;
  bool done_ = false;
  std::optional<ParseError> error_;
  size_t depth_ = 0;
  std::array<Frame, kMaxBencodeDepth> frames_;
};

// Reads one whole value that must fill `in` exactly (kBencodeTrailingBytes otherwise);
// consumed() is in.size(). The value is only checked; use a BencodeReader to walk it.
ParseResult<size_t, ParseError> CheckBencode(std::string_view in, const BencodeLimits& limits = {});

class BencodeWriter {
 public:
  explicit BencodeWriter(std::span<uint8_t> out) : w_(out) {}

  bool Int(int64_t v);
  bool String(std::string_view s);
  bool Bytes(std::span<const uint8_t> b);
  bool BeginList() { return w_.WriteU8('l'); }
  bool BeginDict() { return w_.WriteU8('d'); }
  bool End() { return w_.WriteU8('e'); }
  // A string written in pieces: the "<length>:" prefix now, then exactly `length` bytes
  // through Raw(). Lets a caller stream compact peers from its store without a copy.
  bool StringHeader(size_t length);
  bool Raw(std::span<const uint8_t> b) { return w_.WriteBytes(b); }

  size_t written() const { return w_.written(); }
  bool ok() const { return w_.ok(); }
  WriteResult Result() const { return w_.Result(); }
  ByteWriter& bytes() { return w_; }

 private:
  ByteWriter w_;
};

// Decimal digits of v (no sign), for sizing.
constexpr size_t DecimalDigits(uint64_t v) {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// Writes the decimal digits of v (with '-' if negative). False if `w` is out of room.
// The same as ByteWriter::WriteSignedDecimal and WriteDecimal, kept for callers.
bool WriteDecimal(ByteWriter& w, int64_t v);
bool WriteUnsignedDecimal(ByteWriter& w, uint64_t v);

}  // namespace reef::http

#endif  // REEF_PROTOCOL_HTTP_BENCODE_H_
