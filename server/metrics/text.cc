#include "server/metrics/text.h"

#include <cstdint>

namespace reef::metrics {

size_t Utf8SequenceLength(std::string_view s) {
  if (s.empty()) return 0;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b = byte(0);
  if (b < 0x80) return 1;
  size_t length = 0;
  uint8_t lo = 0x80;
  uint8_t hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    length = 2;
  } else if (b == 0xE0) {
    length = 3, lo = 0xA0;  // no overlong 3-byte forms
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    length = 3;
  } else if (b == 0xED) {
    length = 3, hi = 0x9F;  // no surrogates
  } else if (b == 0xF0) {
    length = 4, lo = 0x90;  // no overlong 4-byte forms
  } else if (b >= 0xF1 && b <= 0xF3) {
    length = 4;
  } else if (b == 0xF4) {
    length = 4, hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong 2-byte lead, or F5-FF
  }
  if (s.size() < length) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace reef::metrics
