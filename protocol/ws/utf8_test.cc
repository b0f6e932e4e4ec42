#include "protocol/ws/utf8.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reef::ws {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST_CASE("utf8: accepts ASCII and well-formed multi-byte sequences") {
  CHECK(IsValidUtf8(std::string_view("")));
  CHECK(IsValidUtf8(std::string_view("plain ascii, long enough for the 8-byte path")));
  CHECK(IsValidUtf8(std::string_view("\xc2\x80")));              // U+0080, the first 2-byte
  CHECK(IsValidUtf8(std::string_view("\xdf\xbf")));              // U+07FF
  CHECK(IsValidUtf8(std::string_view("\xe0\xa0\x80")));          // U+0800
  CHECK(IsValidUtf8(std::string_view("\xed\x9f\xbf")));          // U+D7FF, below surrogates
  CHECK(IsValidUtf8(std::string_view("\xee\x80\x80")));          // U+E000, above them
  CHECK(IsValidUtf8(std::string_view("\xef\xbf\xbf")));          // U+FFFF
  CHECK(IsValidUtf8(std::string_view("\xf0\x90\x80\x80")));      // U+10000
  CHECK(IsValidUtf8(std::string_view("\xf4\x8f\xbf\xbf")));      // U+10FFFF, the last
  CHECK(IsValidUtf8(std::string_view("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")));
}

TEST_CASE("utf8: rejects overlongs, surrogates, out-of-range and stray bytes") {
  CHECK_FALSE(IsValidUtf8(std::string_view("\xc0\x80")));          // overlong NUL
  CHECK_FALSE(IsValidUtf8(std::string_view("\xc1\xbf")));          // overlong 2-byte
  CHECK_FALSE(IsValidUtf8(std::string_view("\xe0\x9f\xbf")));      // overlong 3-byte
  CHECK_FALSE(IsValidUtf8(std::string_view("\xed\xa0\x80")));      // U+D800
  CHECK_FALSE(IsValidUtf8(std::string_view("\xed\xbf\xbf")));      // U+DFFF
  CHECK_FALSE(IsValidUtf8(std::string_view("\xf0\x8f\xbf\xbf")));  // overlong 4-byte
  CHECK_FALSE(IsValidUtf8(std::string_view("\xf4\x90\x80\x80")));  // U+110000
  CHECK_FALSE(IsValidUtf8(std::string_view("\xf5\x80\x80\x80")));
  CHECK_FALSE(IsValidUtf8(std::string_view("\xff")));
  CHECK_FALSE(IsValidUtf8(std::string_view("\x80")));              // stray continuation
  CHECK_FALSE(IsValidUtf8(std::string_view("abcdefgh\x80")));      // after the fast path
  CHECK_FALSE(IsValidUtf8(std::string_view("\xc2")));              // truncated
  CHECK_FALSE(IsValidUtf8(std::string_view("\xe2\x82")));
  CHECK_FALSE(IsValidUtf8(std::string_view("\xc2\x41")));          // lead, then ASCII
}

TEST_CASE("utf8: a code point split between two feeds is fine, and failure is sticky") {
  const std::string text = "\xf0\x9f\x98\x80 smile \xe2\x82\xac";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Utf8Validator v;
    CHECK(v.Feed(Bytes(std::string_view(text).substr(0, cut))));
    CHECK(v.Feed(Bytes(std::string_view(text).substr(cut))));
    CHECK(v.Complete());
  }
  Utf8Validator v;
  CHECK(v.Feed(Bytes("\xe2\x82")));
  CHECK_FALSE(v.Complete());  // mid code point
  CHECK(v.ok());
  CHECK_FALSE(v.Feed(Bytes("A")));  // fails at the first bad byte
  CHECK_FALSE(v.Feed(Bytes("valid")));
  CHECK_FALSE(v.ok());
}

TEST_CASE("utf8: agrees with a slow reference decoder on every 1-3 byte sequence") {
  // Reference: decode by the definition and check the scalar value's range and the
  // shortest form.
  auto reference = [](const std::vector<uint8_t>& s) {
    size_t i = 0;
    while (i < s.size()) {
      uint8_t b = s[i];
      size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > s.size()) return false;
      uint32_t cp = n == 1 ? b : static_cast<uint32_t>(b & (0x7F >> n));
      for (size_t k = 1; k < n; ++k) {
        if ((s[i + k] & 0xC0) != 0x80) return false;
        cp = cp << 6 | (s[i + k] & 0x3F);
      }
      const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      i += n;
    }
    return true;
  };
  size_t checked = 0;
  for (uint32_t a = 0x80; a < 0x100; ++a) {
    for (uint32_t b = 0; b < 0x100; b += 3) {
      for (uint32_t c = 0x70; c < 0xD0; c += 5) {
        std::vector<uint8_t> s = {static_cast<uint8_t>(a), static_cast<uint8_t>(b),
                                  static_cast<uint8_t>(c)};
        REQUIRE(IsValidUtf8(s) == reference(s));
        s.pop_back();
        REQUIRE(IsValidUtf8(s) == reference(s));
        ++checked;
      }
    }
  }
  CHECK(checked > 100000);
}

}  // namespace
}  // namespace reef::ws
