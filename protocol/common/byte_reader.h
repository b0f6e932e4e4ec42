// ByteReader: one bounds-checked cursor for every read of wire bytes.
//
// Reads are big-endian (network order): a memcpy and a byte swap, never a cast over the
// input. A failed read consumes nothing, leaves its output untouched and
// makes the reader fail for good (sticky failure), so a parser may do several reads and
// check ok() once. Nothing here allocates or reads past the span.
#ifndef REEF_PROTOCOL_COMMON_BYTE_READER_H_
#define REEF_PROTOCOL_COMMON_BYTE_READER_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "protocol/common/errors.h"
#include "protocol/common/fixed_bytes.h"

namespace reef {

class ByteReader {
 public:
  constexpr explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  [[nodiscard]] constexpr bool ReadU8(uint8_t* out) {
    if (!Have(1)) return false;
    *out = in_[pos_++];
    return true;
  }
  [[nodiscard]] constexpr bool ReadU16Be(uint16_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] constexpr bool ReadU32Be(uint32_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] constexpr bool ReadU64Be(uint64_t* out) { return ReadBigEndian(out); }
  // Two's complement, as BEP 15 sends num_want = -1.
  [[nodiscard]] constexpr bool ReadI32Be(int32_t* out) {
    uint32_t u = 0;
    if (!ReadU32Be(&u)) return false;
    *out = static_cast<int32_t>(u);
    return true;
  }
  [[nodiscard]] constexpr bool ReadI64Be(int64_t* out) {
    uint64_t u = 0;
    if (!ReadU64Be(&u)) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }

  // Copies exactly out.size() bytes.
  [[nodiscard]] constexpr bool ReadBytes(std::span<uint8_t> out) {
    if (!Have(out.size())) return false;
    for (size_t i = 0; i < out.size(); ++i) out[i] = in_[pos_ + i];
    pos_ += out.size();
    return true;
  }

  template <size_t N>
  [[nodiscard]] constexpr bool ReadFixed(FixedBytes<N>* out) {
    if (!Have(N)) return false;
    *out = FixedBytes<N>(in_.subspan(pos_).template first<N>());
    pos_ += N;
    return true;
  }

  // A view of the next n bytes, without copying.
  [[nodiscard]] constexpr bool ReadView(size_t n, std::span<const uint8_t>* out) {
    if (!Have(n)) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  [[nodiscard]] constexpr bool Skip(size_t n) {
    if (!Have(n)) return false;
    pos_ += n;
    return true;
  }

  // The unread bytes (empty after a failure).
  constexpr std::span<const uint8_t> rest() const {
    return failed_ ? std::span<const uint8_t>() : in_.subspan(pos_);
  }
  constexpr size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  constexpr size_t consumed() const { return pos_; }
  constexpr bool ok() const { return !failed_; }
  // CodecError::kTruncated once a read has failed; meaningful only when !ok().
  constexpr CodecError error() const { return CodecError::kTruncated; }

 private:
  constexpr bool Have(size_t n) {
    if (failed_ || n > in_.size() - pos_) {
      failed_ = true;
      return false;
    }
    return true;
  }

  template <typename U>
  constexpr bool ReadBigEndian(U* out) {
    if (!Have(sizeof(U))) return false;
    *out = LoadBigEndian<U>(in_.data() + pos_);
    pos_ += sizeof(U);
    return true;
  }

  // One load and a byte swap at run time (GCC does not fuse the shift loop into one, and
  // a parser reads several fields per message); the shift loop in constant evaluation.
  template <typename U>
  static constexpr U LoadBigEndian(const uint8_t* p) {
    if (!std::is_constant_evaluated()) {
      U value;
      std::memcpy(&value, p, sizeof(U));
      if constexpr (std::endian::native == std::endian::little && sizeof(U) == 8) {
        return __builtin_bswap64(value);
      } else if constexpr (std::endian::native == std::endian::little && sizeof(U) == 4) {
        return __builtin_bswap32(value);
      } else if constexpr (std::endian::native == std::endian::little && sizeof(U) == 2) {
        return __builtin_bswap16(value);
      } else if constexpr (std::endian::native == std::endian::big) {
        return value;
      }
    }
    U value = 0;
    for (size_t i = 0; i < sizeof(U); ++i) value = static_cast<U>((value << 8) | p[i]);
    return value;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_BYTE_READER_H_
