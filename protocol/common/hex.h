// Hex encoding and decoding into caller-owned buffers.
#ifndef REEF_PROTOCOL_COMMON_HEX_H_
#define REEF_PROTOCOL_COMMON_HEX_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/common/require_cxx20.h"

namespace reef {

// The value of one hex digit (0-9, a-f, A-F), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Writes 2 * in.size() lowercase hex digits to `out`. Returns false, writing nothing,
// if `out` is shorter than that.
constexpr bool HexEncode(std::span<const uint8_t> in, std::span<char> out) {
  constexpr char kDigits[] = "0123456789abcdef";
  if (out.size() < 2 * in.size()) return false;
  for (size_t i = 0; i < in.size(); ++i) {
    out[2 * i] = kDigits[in[i] >> 4];
    out[2 * i + 1] = kDigits[in[i] & 0xf];
  }
  return true;
}

// Decodes `hex` (an even number of hex digits, either case) into exactly
// hex.size() / 2 bytes of `out`. Returns false on an odd length, a non-hex character,
// or an `out` shorter than needed; `out` may then be partly written.
constexpr bool HexDecode(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() % 2 != 0 || out.size() < hex.size() / 2) return false;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    int high = HexDigitValue(hex[2 * i]);
    int low = HexDigitValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>((high << 4) | low);
  }
  return true;
}

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_HEX_H_
