// reef::swarm::Rng: the small, fast random generator behind peer selection.
//
// Each socket worker owns one Rng and passes it to TorrentStore::Announce; it is never
// shared between threads, so it needs no lock. The algorithm is xoshiro256** (Blackman
// and Vigna, 2018): 32 bytes of state, a handful of shifts, rotates and one multiply per
// 64-bit output, and statistical quality far beyond what choosing peers needs. It is not
// a cryptographic generator: peer selection only has to be unbiased, not unpredictable.
//
// Rng satisfies std::uniform_random_bit_generator, so std::shuffle and the <random>
// distributions accept it too.
#ifndef REEF_SERVER_SWARM_RNG_H_
#define REEF_SERVER_SWARM_RNG_H_

#include <array>
#include <cstdint>
#include <limits>

namespace reef::swarm {

class Rng {
 public:
  using result_type = uint64_t;

  // The same seed gives the same sequence. Every seed, zero included, gives a valid
  // (nonzero) state: the seed is expanded with SplitMix64, as the authors recommend.
  explicit constexpr Rng(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(seed);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
  }

  // A uniformly distributed integer in [0, bound). `bound` must be positive. Lemire's
  // multiply-and-shift with rejection ("Fast random integer generation in an interval",
  // 2019): unbiased, and almost always without a division.
  constexpr uint32_t Below(uint32_t bound) {
    uint64_t product = static_cast<uint64_t>(Next32()) * bound;
    auto low = static_cast<uint32_t>(product);
    if (low < bound) {
      // 2^32 mod bound: the number of low products that would make the result biased.
      const uint32_t threshold = static_cast<uint32_t>(0u - bound) % bound;
      while (low < threshold) {
        product = static_cast<uint64_t>(Next32()) * bound;
        low = static_cast<uint32_t>(product);
      }
    }
    return static_cast<uint32_t>(product >> 32);
  }

 private:
  // The upper half of an output: xoshiro's best bits.
  constexpr uint32_t Next32() { return static_cast<uint32_t>((*this)() >> 32); }

  static constexpr uint64_t RotateLeft(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }

  static constexpr uint64_t SplitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::array<uint64_t, 4> state_{};
};

}  // namespace reef::swarm

#endif  // REEF_SERVER_SWARM_RNG_H_
