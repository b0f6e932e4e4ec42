// SWAR ("SIMD within a register"): testing eight bytes at once in a uint64_t, portably.
//
// A parser that looks for the first byte of some kind in a long run (a request target's
// end, a JSON string's next quote or backslash) tests a word at a time: each helper below
// sets the high bit of every byte lane that matches. Only the lowest flagged lane is
// exact: a borrow out of a matching lane may flag lanes above it. So take the first
// match with FirstLane and look at the bytes after it again, never use the mask as a set.
// Nothing here reads memory but LoadWord, exactly 8 bytes at `p`, and FindByte, its n.
#ifndef REEF_PROTOCOL_COMMON_SWAR_H_
#define REEF_PROTOCOL_COMMON_SWAR_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/common/require_cxx20.h"

namespace reef::swar {

inline constexpr size_t kWordSize = 8;
inline constexpr uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr uint64_t kHighs = 0x8080808080808080ULL;

// The 8 bytes at p, the first one in the low lane whatever the host's byte order.
inline uint64_t LoadWord(const void* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

// Lanes holding a byte below n (1 <= n <= 0x80): lanes of 0x80 and above never match.
constexpr uint64_t LanesBelow(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHighs; }

// Lanes holding exactly b.
constexpr uint64_t LanesEqual(uint64_t w, uint8_t b) { return LanesBelow(w ^ (kOnes * b), 1); }

// Lanes holding a byte of 0x80 or above (exact in every lane).
constexpr uint64_t LanesNonAscii(uint64_t w) { return w & kHighs; }

// The index (0-7) of the lowest flagged lane of a non-zero mask: the first such byte.
constexpr size_t FirstLane(uint64_t mask) { return static_cast<size_t>(std::countr_zero(mask)) / 8; }

// The index of the first byte equal to b among the n at p, or n: eight bytes a step, the
// tail byte by byte. Inline, for the short runs (a query parameter, a header name) where
// calling memchr costs more than the search.
inline size_t FindByte(const char* p, size_t n, char b) {
  const auto byte = static_cast<uint8_t>(b);
  size_t i = 0;
  for (; n - i >= kWordSize; i += kWordSize) {
    if (const uint64_t match = LanesEqual(LoadWord(p + i), byte)) return i + FirstLane(match);
  }
  for (; i < n; ++i) {
    if (p[i] == b) return i;
  }
  return n;
}

}  // namespace reef::swar

#endif  // REEF_PROTOCOL_COMMON_SWAR_H_
