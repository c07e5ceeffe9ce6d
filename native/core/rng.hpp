// The one PRNG of the package, bit-identical to src/backends/ts/rng.ts (see docs/kernels.md):
// xoshiro128** seeded through splitmix32 from x = seed + stream * 0x632BE5AB (mod 2^32).
#pragma once

#include <cstddef>
#include <cstdint>

namespace collabperf {

class Rng {
 public:
  /** `stream` separates independent uses of one seed (0 = initialisation, 1 + epoch = SGD shuffles). */
  explicit Rng(uint32_t seed, uint32_t stream = 0) {
    uint32_t x = seed + stream * 0x632BE5ABu;
    s0_ = splitmix32(x);
    s1_ = splitmix32(x);
    s2_ = splitmix32(x);
    s3_ = splitmix32(x);
    if ((s0_ | s1_ | s2_ | s3_) == 0) s0_ = 1;
  }

  /** Next uint32. */
  uint32_t nextU32() {
    const uint32_t r = rotl(s1_ * 5u, 7) * 9u;
    const uint32_t t = s1_ << 9;
    s2_ ^= s0_;
    s3_ ^= s1_;
    s1_ ^= s2_;
    s0_ ^= s3_;
    s2_ ^= t;
    s3_ = rotl(s3_, 11);
    return r;
  }

  /** Uniform double in [0, 1) with 53 random bits (exactly as the TS implementation). */
  double nextDouble() {
    const uint32_t a = nextU32() >> 5;
    const uint32_t b = nextU32() >> 6;
    return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
  }

  /** Uniform integer in [0, n), n <= 2^31, the doc's floor(nextDouble() * n). */
  uint32_t nextInt(uint32_t n) { return static_cast<uint32_t>(nextDouble() * static_cast<double>(n)); }

  /**
   * Fast bounded integer in [0, n) from one nextU32 (multiply-shift; a tiny bias, fine for the
   * parallel SGD orders, never used where parity with TypeScript matters).
   */
  uint32_t nextBelowFast(uint32_t n) {
    return static_cast<uint32_t>((static_cast<uint64_t>(nextU32()) * n) >> 32);
  }

  /** In-place Fisher–Yates from the end: for i = n-1 down to 1, j = floor(nextDouble() * (i+1)). */
  template <class T>
  void shuffle(T* a, size_t n) {
    if (n < 2) return;
    for (size_t i = n - 1; i > 0; --i) {
      const size_t j = static_cast<size_t>(nextDouble() * static_cast<double>(i + 1));
      T t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

 private:
  static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  static uint32_t splitmix32(uint32_t& x) {
    x += 0x9E3779B9u;
    uint32_t z = x;
    z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
    z = (z ^ (z >> 13)) * 0xC2B2AE35u;
    return z ^ (z >> 16);
  }

  uint32_t s0_, s1_, s2_, s3_;
};

}  // namespace collabperf
