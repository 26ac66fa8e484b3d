// RangeSet against a brute-force bitmap model.
//
// The universe is 128 consecutive addresses placed at the bottom of the space,
// in the middle, and at the top, so that every operation is exercised at 0 and
// at 2^64 - 1. Inputs are random ranges inside the universe; the model is a
// std::bitset over it. After every operation the set must (a) keep its
// invariant (sorted, at least one missing address between ranges) and (b)
// hold exactly the model's addresses.
#include <gtest/gtest.h>

#include <bitset>
#include <vector>

#include "iovakit/iova/range_set.h"
#include "support/rng.h"

namespace iovakit::iova {
namespace {

constexpr std::size_t kUniverse = 128;
using Bits = std::bitset<kUniverse>;

class RangeSetProperty : public ::testing::TestWithParam<std::uint64_t> {
 protected:
  static std::uint64_t base() { return GetParam(); }
  static std::uint64_t addr(std::size_t i) { return base() + i; }

  static Range random_range(testing::SplitMix64& rng) {
    std::size_t a = rng.below(kUniverse);
    std::size_t b = rng.below(kUniverse);
    if (rng.below(4) == 0) b = a;  // single-address ranges often
    if (a > b) std::swap(a, b);
    return {addr(a), addr(b)};
  }

  static Bits bits_of(const Range& r) {
    Bits out;
    for (std::size_t i = 0; i < kUniverse; ++i) out[i] = r.contains(addr(i));
    return out;
  }

  // (a) the invariant and (b) equality with the model. Everything in the set
  // must lie in the universe, so ranges can be walked address by address.
  static void expect_matches(const RangeSet& s, const Bits& model) {
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      ASSERT_LT(s[i].last(), s[i + 1].first()) << s.to_string();
      ASSERT_GT(s[i + 1].first() - s[i].last(), 1U) << "not coalesced: " << s.to_string();
    }
    Bits got;
    for (const Range& r : s) {
      ASSERT_GE(r.first(), base()) << s.to_string();
      ASSERT_LE(r.last(), addr(kUniverse - 1)) << s.to_string();
      for (std::uint64_t a = r.first();; ++a) {
        got[a - base()] = true;
        if (a == r.last()) break;
      }
    }
    ASSERT_EQ(got, model) << s.to_string();
    ASSERT_EQ(s.total_size(), uint128{model.count()});
  }

  // A random set built by random inserts, with its model.
  static std::pair<RangeSet, Bits> random_set(testing::SplitMix64& rng) {
    RangeSet s;
    Bits m;
    const std::uint64_t n = rng.below(6);
    for (std::uint64_t i = 0; i < n; ++i) {
      const Range r = random_range(rng);
      s.insert(r);
      m |= bits_of(r);
    }
    return {s, m};
  }
};

TEST_P(RangeSetProperty, InsertAndEraseMatchTheModel) {
  testing::SplitMix64 rng(1 + base());
  for (int round = 0; round < 300; ++round) {
    RangeSet s;
    Bits m;
    for (int op = 0; op < 20; ++op) {
      const Range r = random_range(rng);
      if (rng.coin()) {
        s.insert(r);
        m |= bits_of(r);
      } else {
        s.erase(r);
        m &= ~bits_of(r);
      }
      expect_matches(s, m);
    }
  }
}

TEST_P(RangeSetProperty, ConstructorFromAnyRangesMatchesTheModel) {
  testing::SplitMix64 rng(2 + base());
  for (int round = 0; round < 2000; ++round) {
    std::vector<Range> input;
    Bits m;
    const std::uint64_t n = rng.below(8);
    for (std::uint64_t i = 0; i < n; ++i) {
      input.push_back(random_range(rng));
      m |= bits_of(input.back());
    }
    expect_matches(RangeSet(input), m);
  }
}

TEST_P(RangeSetProperty, BinaryOperationsMatchTheModel) {
  testing::SplitMix64 rng(3 + base());
  for (int round = 0; round < 2000; ++round) {
    auto [a, ma] = random_set(rng);
    auto [b, mb] = random_set(rng);
    expect_matches(a.unite(b), ma | mb);
    expect_matches(a.intersect(b), ma & mb);
    expect_matches(a.subtract(b), ma & ~mb);
    expect_matches(b.subtract(a), mb & ~ma);
  }
}

TEST_P(RangeSetProperty, ComplementAndClipMatchTheModel) {
  testing::SplitMix64 rng(4 + base());
  for (int round = 0; round < 2000; ++round) {
    auto [s, m] = random_set(rng);
    const Range bound = random_range(rng);
    const Bits in_bound = bits_of(bound);
    expect_matches(s.complement(bound), in_bound & ~m);
    expect_matches(s.clip(bound), in_bound & m);
  }
}

TEST_P(RangeSetProperty, QueriesMatchTheModel) {
  testing::SplitMix64 rng(5 + base());
  for (int round = 0; round < 2000; ++round) {
    auto [s, m] = random_set(rng);
    for (std::size_t i = 0; i < kUniverse; ++i) {
      ASSERT_EQ(s.contains(addr(i)), m[i]);
      const auto found = s.find(addr(i));
      ASSERT_EQ(found.has_value(), m[i]);
      if (found) {
        ASSERT_TRUE(found->contains(addr(i)));
      }
    }
    const Range q = random_range(rng);
    const Bits qb = bits_of(q);
    ASSERT_EQ(s.intersects(q), (qb & m).any());
    const bool wholly_inside = (qb & ~m).none();
    const auto holder = s.find_containing(q);
    ASSERT_EQ(holder.has_value(), wholly_inside) << s.to_string() << " " << q.to_string();
    ASSERT_EQ(s.contains(q), wholly_inside);
    if (holder) {
      ASSERT_TRUE(holder->contains(q));
      // The holder is one whole range of the set.
      ASSERT_NE(std::find(s.begin(), s.end(), *holder), s.end());
    }
  }
}

std::string universe_name(const ::testing::TestParamInfo<std::uint64_t>& param) {
  if (param.param == 0) return "Bottom";
  if (param.param == kU64Max - (kUniverse - 1)) return "Top";
  return "Middle";
}

INSTANTIATE_TEST_SUITE_P(Edges, RangeSetProperty,
                         ::testing::Values(std::uint64_t{0}, std::uint64_t{0xfee00000} - 64, kU64Max - (kUniverse - 1)),
                         universe_name);

}  // namespace
}  // namespace iovakit::iova
