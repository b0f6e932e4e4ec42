// SipHash-2-4 (Aumasson and Bernstein, 2012): a fast keyed PRF for short inputs. reef
// uses it to make UDP connection ids that nobody without the key can forge.
#ifndef REEF_SERVER_UDP_SIPHASH_H_
#define REEF_SERVER_UDP_SIPHASH_H_

#include <array>
#include <cstdint>
#include <span>

namespace reef::udp {

using SipHashKey = std::array<uint8_t, 16>;

// SipHash-2-4 of `in` under `key`, as the reference implementation's 64-bit output.
uint64_t SipHash24(const SipHashKey& key, std::span<const uint8_t> in);

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_SIPHASH_H_
