// A small, fast, deterministic random number generator for the load generator.
//
// xoshiro256** seeded through SplitMix64 (Blackman and Vigna). Not cryptographic; chosen
// because its output is the same on every platform and standard library, so a fixed seed
// gives the same request sequence and the same statistical test everywhere (the
// std::*_distribution classes do not promise that).
#ifndef REEF_LOAD_RNG_H_
#define REEF_LOAD_RNG_H_

#include <cstdint>

namespace reef::load {

// One step of SplitMix64: a good 64-bit mixer, also used to derive ids from indices.
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
  explicit constexpr Rng(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : s_) word = SplitMix64(&sm);
  }

  constexpr uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  constexpr uint32_t Next32() { return static_cast<uint32_t>(Next() >> 32); }

  // Uniform in [0, 1), 53 bits.
  constexpr double NextDouble() {
    return static_cast<double>(Next() >> 11) * 0x1.0p-53;
  }

  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for
  // every n this program uses, which is far under what any of its tests can see).
  constexpr uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

  // True with probability p.
  constexpr bool Chance(double p) { return NextDouble() < p; }

 private:
  static constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4] = {};
};

}  // namespace reef::load

#endif  // REEF_LOAD_RNG_H_
