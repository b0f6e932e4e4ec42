// reef::Rng: the one small, fast, deterministic random generator of the project.
//
// xoshiro256** (Blackman and Vigna, 2018), seeded through SplitMix64 as its authors
// recommend: 32 bytes of state, a handful of shifts, rotates and one multiply per 64-bit
// output, and statistical quality far beyond what its users need. It is not a
// cryptographic generator: nothing it picks has to be unpredictable.
//
// Who uses it, and why this one:
//   - the swarm store's peer selection (server/swarm, through swarm::Rng): one per socket
//     worker, never shared between threads, so it needs no lock; selection only has to be
//     unbiased (Below);
//   - the load generator (load/): its output is the same on every platform and standard
//     library, so a fixed seed gives the same request sequence and the same statistical
//     test everywhere (the std::*_distribution classes do not promise that).
// It lives in protocol/common because that is the one package DESIGN.md lets both
// server/swarm and load/ depend on; it is a separate target (//protocol/common:rng),
// header-only, allocation-free, and no parser uses it.
//
// Rng satisfies std::uniform_random_bit_generator, so std::shuffle and the <random>
// distributions accept it too.
#ifndef REEF_PROTOCOL_COMMON_RNG_H_
#define REEF_PROTOCOL_COMMON_RNG_H_

#include <array>
#include <cstdint>
#include <limits>

namespace reef {

// One step of SplitMix64 (Steele, Lea and Flood): a good 64-bit mixer, also used to
// derive ids from indices. Every state, zero included, gives a well-mixed output.
constexpr uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A stateless mix of one value: SplitMix64's output for state `x`.
constexpr uint64_t Mix64(uint64_t x) { return SplitMix64(&x); }

class Rng {
 public:
  using result_type = uint64_t;

  // The same seed gives the same sequence. Every seed, zero included, gives a valid
  // (nonzero) state.
  explicit constexpr Rng(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(&seed);
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

  // The upper half of an output: xoshiro's best bits.
  constexpr uint32_t Next32() { return static_cast<uint32_t>((*this)() >> 32); }

  // A uniformly distributed integer in [0, bound); `bound` must be positive. Lemire's
  // multiply-and-shift with rejection ("Fast random integer generation in an interval",
  // 2019): unbiased, and almost always without a division. One 32-bit draw (Next32) per
  // try.
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

  // The same for a 64-bit bound, from whole 64-bit outputs. The rejection step runs with
  // probability below bound / 2^64, so for the bounds the load generator uses its
  // results equal a plain (output * bound) >> 64.
  constexpr uint64_t Below64(uint64_t bound) {
    unsigned __int128 product = static_cast<unsigned __int128>((*this)()) * bound;
    auto low = static_cast<uint64_t>(product);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
      while (low < threshold) {
        product = static_cast<unsigned __int128>((*this)()) * bound;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

  // Uniform in [0, 1), from the upper 53 bits of one output.
  constexpr double NextDouble() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  // True with probability p.
  constexpr bool Chance(double p) { return NextDouble() < p; }

 private:
  static constexpr uint64_t RotateLeft(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }

  std::array<uint64_t, 4> state_{};
};

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_RNG_H_
