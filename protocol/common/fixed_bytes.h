// FixedBytes<N>: exactly N bytes held by value, such as a 20-byte info hash or peer id.
//
// A FixedBytes is built only from exactly N bytes: from a std::span whose static extent is
// N, from a std::array, or through FromSpan / FromHex, which check the length and return
// std::nullopt otherwise. Nothing here allocates.
#ifndef REEF_PROTOCOL_COMMON_FIXED_BYTES_H_
#define REEF_PROTOCOL_COMMON_FIXED_BYTES_H_

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "protocol/common/hex.h"

namespace reef {

template <size_t N>
class FixedBytes {
 public:
  static constexpr size_t kSize = N;

  // All zero bytes.
  constexpr FixedBytes() = default;
  constexpr explicit FixedBytes(const std::array<uint8_t, N>& bytes) : bytes_(bytes) {}
  constexpr explicit FixedBytes(std::span<const uint8_t, N> bytes) {
    std::copy(bytes.begin(), bytes.end(), bytes_.begin());
  }

  // The bytes of `in` if it holds exactly N of them.
  static constexpr std::optional<FixedBytes> FromSpan(std::span<const uint8_t> in) {
    if (in.size() != N) return std::nullopt;
    return FixedBytes(in.template first<N>());
  }

  // The bytes of `in`, taken as raw bytes (not hex), if it holds exactly N of them.
  static constexpr std::optional<FixedBytes> FromString(std::string_view in) {
    if (in.size() != N) return std::nullopt;
    FixedBytes out;
    for (size_t i = 0; i < N; ++i) out.bytes_[i] = static_cast<uint8_t>(in[i]);
    return out;
  }

  // Decodes exactly 2*N hex digits, either case.
  static constexpr std::optional<FixedBytes> FromHex(std::string_view hex) {
    FixedBytes out;
    if (hex.size() != 2 * N || !HexDecode(hex, out.bytes_)) return std::nullopt;
    return out;
  }

  // 2*N lowercase hex digits, in a fixed-size buffer (no allocation).
  constexpr std::array<char, 2 * N> ToHex() const {
    std::array<char, 2 * N> out{};
    HexEncode(bytes_, out);
    return out;
  }

  constexpr std::span<const uint8_t, N> bytes() const { return bytes_; }
  constexpr std::span<uint8_t, N> mutable_bytes() { return bytes_; }
  constexpr const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  constexpr uint8_t operator[](size_t i) const { return bytes_[i]; }

  // Word-wise rather than a call to memcmp: info hashes are compared on every hash-map
  // probe of the swarm store, and for 20 bytes the libc call costs more than the compare.
  friend constexpr bool operator==(const FixedBytes& a, const FixedBytes& b) {
    if (std::is_constant_evaluated()) return a.bytes_ == b.bytes_;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= N; i += 8) diff |= LoadWord<uint64_t>(a, i) ^ LoadWord<uint64_t>(b, i);
    for (; i + 4 <= N; i += 4) diff |= LoadWord<uint32_t>(a, i) ^ LoadWord<uint32_t>(b, i);
    for (; i < N; ++i) diff |= static_cast<uint64_t>(a.bytes_[i] ^ b.bytes_[i]);
    return diff == 0;
  }
  friend constexpr std::strong_ordering operator<=>(const FixedBytes& a,
                                                    const FixedBytes& b) = default;

  template <typename H>
  friend H AbslHashValue(H state, const FixedBytes& value) {
    return H::combine_contiguous(std::move(state), value.bytes_.data(), N);
  }

 private:
  template <typename Word>
  static Word LoadWord(const FixedBytes& v, size_t offset) {
    Word w;
    std::memcpy(&w, v.bytes_.data() + offset, sizeof(w));
    return w;
  }

  std::array<uint8_t, N> bytes_{};
};

inline constexpr size_t kInfoHashSize = 20;
inline constexpr size_t kPeerIdSize = 20;

// A BitTorrent v1 info hash (SHA-1 of the info dictionary), or a v2 hash truncated to 20
// bytes as hybrid torrents announce it.
using InfoHash = FixedBytes<kInfoHashSize>;
using PeerId = FixedBytes<kPeerIdSize>;

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_FIXED_BYTES_H_
