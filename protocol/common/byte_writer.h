// ByteWriter: the matching cursor for writing wire bytes into a caller's buffer.
//
// Big-endian, bounds-checked, sticky failure: a write that does not fit writes nothing
// and makes every later write fail, so a serializer may write a whole message and check
// ok() once, then return Result() (the length, or WriteError::kBufferTooSmall).
#ifndef REEF_PROTOCOL_COMMON_BYTE_WRITER_H_
#define REEF_PROTOCOL_COMMON_BYTE_WRITER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "protocol/common/errors.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/parse_result.h"

namespace reef {

class ByteWriter {
 public:
  constexpr explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}

  constexpr bool WriteU8(uint8_t v) {
    if (!Room(1)) return false;
    out_[pos_++] = v;
    return true;
  }
  constexpr bool WriteU16Be(uint16_t v) { return WriteBigEndian(v); }
  constexpr bool WriteU32Be(uint32_t v) { return WriteBigEndian(v); }
  constexpr bool WriteU64Be(uint64_t v) { return WriteBigEndian(v); }
  constexpr bool WriteI32Be(int32_t v) { return WriteBigEndian(static_cast<uint32_t>(v)); }
  constexpr bool WriteI64Be(int64_t v) { return WriteBigEndian(static_cast<uint64_t>(v)); }

  constexpr bool WriteBytes(std::span<const uint8_t> bytes) {
    if (!Room(bytes.size())) return false;
    if (std::is_constant_evaluated()) {
      for (size_t i = 0; i < bytes.size(); ++i) out_[pos_ + i] = bytes[i];
    } else if (!bytes.empty()) {
      // A byte loop here is not always turned into memcpy; long runs (compact peer
      // lists) are the hot path of announce responses.
      std::memcpy(out_.data() + pos_, bytes.data(), bytes.size());
    }
    pos_ += bytes.size();
    return true;
  }
  constexpr bool WriteString(std::string_view s) {
    if (!Room(s.size())) return false;
    if (std::is_constant_evaluated()) {
      for (size_t i = 0; i < s.size(); ++i) out_[pos_ + i] = static_cast<uint8_t>(s[i]);
    } else if (!s.empty()) {
      std::memcpy(out_.data() + pos_, s.data(), s.size());
    }
    pos_ += s.size();
    return true;
  }
  template <size_t N>
  constexpr bool WriteFixed(const FixedBytes<N>& v) {
    return WriteBytes(v.bytes());
  }

  // The decimal digits of `v`, no sign, no leading zeros ("0" for 0).
  constexpr bool WriteDecimal(uint64_t v) { return WriteDigits(v, /*negative=*/false); }
  // The same with a '-' before a negative value, INT64_MIN included.
  constexpr bool WriteSignedDecimal(int64_t v) {
    if (v >= 0) return WriteDigits(static_cast<uint64_t>(v), /*negative=*/false);
    // |INT64_MIN| does not fit in int64: negate in unsigned arithmetic.
    return WriteDigits(~static_cast<uint64_t>(v) + 1, /*negative=*/true);
  }

  constexpr size_t written() const { return pos_; }
  constexpr size_t room() const { return failed_ ? 0 : out_.size() - pos_; }
  constexpr bool ok() const { return !failed_; }
  // The bytes written so far.
  constexpr std::span<const uint8_t> view() const { return out_.first(pos_); }

  // What a serializer returns after writing its message with this writer.
  constexpr WriteResult Result() const {
    return failed_ ? WriteResult::Fail(WriteError::kBufferTooSmall) : WriteResult::Ok(pos_);
  }

 private:
  // The whole number or nothing. Copied byte by byte: a memcpy call costs more than the
  // few bytes of a number.
  constexpr bool WriteDigits(uint64_t magnitude, bool negative) {
    std::array<uint8_t, 21> digits;  // '-' and the 20 digits of 2^64 - 1
    size_t n = digits.size();
    do {
      digits[--n] = static_cast<uint8_t>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (negative) digits[--n] = '-';
    if (!Room(digits.size() - n)) return false;
    for (; n < digits.size(); ++n) out_[pos_++] = digits[n];
    return true;
  }

  constexpr bool Room(size_t n) {
    if (failed_ || n > out_.size() - pos_) {
      failed_ = true;
      return false;
    }
    return true;
  }

  template <typename U>
  constexpr bool WriteBigEndian(U v) {
    if (!Room(sizeof(U))) return false;
    for (size_t i = 0; i < sizeof(U); ++i) {
      out_[pos_ + i] = static_cast<uint8_t>(v >> (8 * (sizeof(U) - 1 - i)));
    }
    pos_ += sizeof(U);
    return true;
  }

  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_BYTE_WRITER_H_
