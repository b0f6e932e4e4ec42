// Utf8Validator: strict, streaming UTF-8 validation (RFC 3629, Unicode table 3-7).
//
// Rejects overlong forms, UTF-16 surrogates (U+D800-U+DFFF) and anything above U+10FFFF,
// at the first byte that can no longer begin or continue a valid sequence ("fail fast",
// as RFC 6455 section 8.1 asks of text messages). Bytes may arrive in pieces: a code point
// split across two Feed calls is fine, so a text message split into fragments is validated
// as it arrives. Header-only, no allocation.
#ifndef REEF_PROTOCOL_WS_UTF8_H_
#define REEF_PROTOCOL_WS_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "protocol/common/require_cxx20.h"

namespace reef::ws {

class Utf8Validator {
 public:
  // Feeds the next bytes. Returns false, and stays failed, at the first invalid byte.
  constexpr bool Feed(std::span<const uint8_t> bytes) {
    if (failed_) return false;
    size_t i = 0;
    const size_t n = bytes.size();
    while (i < n) {
      if (pending_ == 0) {
        // ASCII fast path, eight bytes at a time.
        if (!std::is_constant_evaluated()) {
          while (i + 8 <= n) {
            uint64_t word;
            std::memcpy(&word, bytes.data() + i, 8);
            if ((word & 0x8080808080808080ULL) != 0) break;
            i += 8;
          }
          if (i >= n) break;
        }
        const uint8_t b = bytes[i++];
        if (b < 0x80) continue;
        if (b >= 0xC2 && b <= 0xDF) {
          Expect(1, 0x80, 0xBF);
        } else if (b == 0xE0) {
          Expect(2, 0xA0, 0xBF);  // no overlong 3-byte forms
        } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
          Expect(2, 0x80, 0xBF);
        } else if (b == 0xED) {
          Expect(2, 0x80, 0x9F);  // no surrogates
        } else if (b == 0xF0) {
          Expect(3, 0x90, 0xBF);  // no overlong 4-byte forms
        } else if (b >= 0xF1 && b <= 0xF3) {
          Expect(3, 0x80, 0xBF);
        } else if (b == 0xF4) {
          Expect(3, 0x80, 0x8F);  // nothing above U+10FFFF
        } else {
          failed_ = true;  // 80-C1 (stray continuation, overlong 2-byte lead), F5-FF
          return false;
        }
      } else {
        const uint8_t b = bytes[i++];
        if (b < lo_ || b > hi_) {
          failed_ = true;
          return false;
        }
        --pending_;
        lo_ = 0x80;
        hi_ = 0xBF;
      }
    }
    return true;
  }

  // True when everything fed so far is valid and ends on a code point boundary.
  constexpr bool Complete() const { return !failed_ && pending_ == 0; }
  constexpr bool ok() const { return !failed_; }

 private:
  constexpr void Expect(uint8_t count, uint8_t lo, uint8_t hi) {
    pending_ = count;
    lo_ = lo;
    hi_ = hi;
  }

  uint8_t pending_ = 0;  // continuation bytes still due
  uint8_t lo_ = 0x80;    // the range of the next continuation byte
  uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

// True if `bytes` is, as a whole, valid UTF-8.
constexpr bool IsValidUtf8(std::span<const uint8_t> bytes) {
  Utf8Validator v;
  return v.Feed(bytes) && v.Complete();
}

inline bool IsValidUtf8(std::string_view text) {
  return IsValidUtf8(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace reef::ws

#endif  // REEF_PROTOCOL_WS_UTF8_H_
