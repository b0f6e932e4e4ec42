#include "protocol/common/swar.h"

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "protocol/common/rng.h"

namespace reef::swar {
namespace {

// The first lane (0-7) whose byte matches, by looking at each byte; 8 if none.
size_t FirstByByte(const std::array<uint8_t, 8>& bytes, const std::function<bool(uint8_t)>& is) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (is(bytes[i])) return i;
  }
  return 8;
}

size_t FirstByMask(uint64_t mask) { return mask == 0 ? 8 : FirstLane(mask); }

// For every lane k, every byte in lane k, every non-matching filler below it and random
// bytes above it: the lowest flagged lane is the first matching byte (borrows may only
// flag lanes above it).
size_t CountDisagreements(const std::function<uint64_t(uint64_t)>& lanes,
                          const std::function<bool(uint8_t)>& is) {
  Rng rng(42);
  size_t wrong = 0;
  for (size_t k = 0; k < 8; ++k) {
    for (unsigned value = 0; value < 256; ++value) {
      for (unsigned filler = 0; filler < 256; ++filler) {
        if (is(static_cast<uint8_t>(filler))) continue;
        std::array<uint8_t, 8> bytes;
        for (size_t i = 0; i < 8; ++i) {
          bytes[i] = i < k ? static_cast<uint8_t>(filler) : static_cast<uint8_t>(rng.Next32());
        }
        bytes[k] = static_cast<uint8_t>(value);
        if (FirstByMask(lanes(LoadWord(bytes.data()))) != FirstByByte(bytes, is)) ++wrong;
      }
    }
  }
  return wrong;
}

TEST_CASE("LanesBelow: the lowest flagged lane is the first byte below n") {
  for (unsigned n : {1u, 0x20u, 0x21u, 0x7fu, 0x80u}) {
    CAPTURE(n);
    CHECK(CountDisagreements([n](uint64_t w) { return LanesBelow(w, static_cast<uint8_t>(n)); },
                             [n](uint8_t b) { return b < n; }) == 0);
  }
}

TEST_CASE("LanesEqual: the lowest flagged lane is the first byte equal to b") {
  for (unsigned b : {0x00u, 0x22u, 0x5cu, 0x7fu, 0x80u, 0xffu}) {
    CAPTURE(b);
    CHECK(CountDisagreements([b](uint64_t w) { return LanesEqual(w, static_cast<uint8_t>(b)); },
                             [b](uint8_t x) { return x == b; }) == 0);
  }
}

TEST_CASE("LanesNonAscii and combined masks: the first of either kind") {
  CHECK(CountDisagreements([](uint64_t w) { return LanesNonAscii(w); },
                           [](uint8_t x) { return x >= 0x80; }) == 0);
  // A request target's end: a byte up to SP, or DEL.
  CHECK(CountDisagreements([](uint64_t w) { return LanesBelow(w, 0x21) | LanesEqual(w, 0x7f); },
                           [](uint8_t x) { return x <= 0x20 || x == 0x7f; }) == 0);
}

TEST_CASE("LoadWord puts the first byte in the low lane") {
  const std::array<uint8_t, 9> bytes = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8};
  CHECK(LoadWord(bytes.data() + 1) == 0x0807060504030201ULL);  // unaligned, too
  CHECK(FirstLane(LanesEqual(LoadWord(bytes.data() + 1), 3)) == 2);
}

// FindByte at every alignment, every length up to past two words, and every position of
// the byte it looks for (or none), with the byte also placed past the end: it must find
// the first one and never look past n.
TEST_CASE("FindByte: the first match at every alignment, position and length") {
  std::array<char, 64> buffer;
  size_t wrong = 0;
  for (size_t align = 0; align < 8; ++align) {
    for (size_t n = 0; n <= 20; ++n) {
      for (size_t at = 0; at <= n; ++at) {  // at == n: not in the range
        buffer.fill('x');
        char* p = buffer.data() + align;
        if (at < n) p[at] = '&';
        if (at + 1 < n) p[at + 1] = '&';  // a second one after the first
        p[n] = '&';                        // just past the end: must not be found
        if (FindByte(p, n, '&') != at) ++wrong;
      }
    }
  }
  CHECK(wrong == 0);
  // Bytes that borrow (0x00, 0x80, 0xff) around the one looked for.
  const char tricky[] = {'\0', '\x80', '\xff', '\x25', '\x26', '\0', '\x26', '\x27', '\x26'};
  CHECK(FindByte(tricky, sizeof(tricky), '&') == 4);
  CHECK(FindByte(tricky, 4, '&') == 4);
  CHECK(FindByte(tricky, sizeof(tricky), '\0') == 0);
  CHECK(FindByte(tricky + 1, 8, '\0') == 4);
}

}  // namespace
}  // namespace reef::swar
