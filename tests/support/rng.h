// A tiny deterministic RNG for property tests (splitmix64): the same seed
// gives the same operation stream on every machine, so a failure reproduces.
#pragma once

#include <cstdint>

namespace iovakit::testing {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); bound > 0. The modulo bias is irrelevant for tests.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }
  bool coin() { return (next() & 1U) != 0; }

 private:
  std::uint64_t state_;
};

}  // namespace iovakit::testing
