// GapTree: placements by policy on fixed layouts (table-driven), a random
// insert/erase/search run checked against a std::map at several node sizes,
// and the edges of the space.
#include "iovakit/iova/gap_tree.h"

#include <gtest/gtest.h>

#include <ostream>

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "iovakit/iova/range.h"
#include "support/rng.h"

namespace iovakit::iova {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// The reference: every gap, then the policy's choice among the clipped gaps.
std::optional<std::uint64_t> reference_search(const std::map<std::uint64_t, std::uint64_t>& entries,
                                              std::uint64_t max_pfn, const GapTree::Query& q) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
  std::uint64_t next = 0;
  bool full = false;
  for (const auto& [f, l] : entries) {
    if (f > next) gaps.emplace_back(next, f - 1);
    if (l == max_pfn) {
      full = true;
      break;
    }
    next = l + 1;
  }
  if (!full) gaps.emplace_back(next, max_pfn);
  const std::uint32_t orders = std::min<std::uint32_t>(64, static_cast<std::uint32_t>(std::bit_width(max_pfn)) + 1);
  const std::uint32_t order = std::min(q.order, orders - 1);
  const uint128 align = static_cast<uint128>(1) << order;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> clipped;
  for (auto [a, b] : gaps) {
    a = std::max(a, q.low);
    b = std::min(b, q.high);
    if (a <= b) clipped.emplace_back(a, b);
  }
  auto up = [&](std::uint64_t a, std::uint64_t b) -> std::optional<std::uint64_t> {
    const uint128 x = ((static_cast<uint128>(a) + align - 1) >> order) << order;
    if (x > b || static_cast<uint128>(b) - x + 1 < q.size) return std::nullopt;
    return static_cast<std::uint64_t>(x);
  };
  auto down = [&](std::uint64_t a, std::uint64_t b) -> std::optional<std::uint64_t> {
    if (static_cast<uint128>(b) - a + 1 < q.size) return std::nullopt;
    const uint128 x = ((static_cast<uint128>(b) + 1 - q.size) >> order) << order;
    if (x < a) return std::nullopt;
    return static_cast<std::uint64_t>(x);
  };
  auto first_fit = [&]() -> std::optional<std::uint64_t> {
    for (auto [a, b] : clipped) {
      if (auto x = up(a, b)) return x;
    }
    return std::nullopt;
  };
  switch (q.policy) {
    case Policy::kTopDown:
      for (std::size_t k = clipped.size(); k-- > 0;) {
        if (auto x = down(clipped[k].first, clipped[k].second)) return x;
      }
      return std::nullopt;
    case Policy::kFirstFit: return first_fit();
    case Policy::kBestFit: {
      std::uint32_t c0 = 0;
      while ((static_cast<uint128>(1) << c0) < q.size + align - 1) ++c0;
      if (c0 >= 64) return first_fit();
      std::optional<std::uint32_t> best;
      std::optional<std::uint64_t> at;
      for (auto [a, b] : clipped) {
        const uint128 len = static_cast<uint128>(b) - a + 1;
        std::uint32_t c = 0;
        while ((len >> (c + 1)) != 0) ++c;
        if (c >= c0 && (!best || c < *best)) {
          best = c;
          at = up(a, b);
        }
      }
      return best ? at : first_fit();
    }
  }
  return std::nullopt;
}

struct PlacementCase {
  const char* name;
  std::vector<GapTree::Entry> entries;  // in a space of 256 granules
  GapTree::Query query;
  std::optional<std::uint64_t> want;
};

void PrintTo(const PlacementCase& c, std::ostream* os) { *os << c.name; }

class GapTreePlacement : public ::testing::TestWithParam<PlacementCase> {};

TEST_P(GapTreePlacement, ChoosesWhatThePolicySays) {
  const PlacementCase& c = GetParam();
  for (const GapTree::Tuning tuning : {GapTree::Tuning{4, 4}, GapTree::Tuning{}}) {
    GapTree tree(255, tuning);
    for (const auto& e : c.entries) tree.insert(e);
    ASSERT_EQ(tree.check(), "");
    EXPECT_EQ(tree.search(c.query), c.want) << c.name;
  }
}

// Entries: [0,9] [20,29] [40,41] [60,99] [130,131], so the gaps are 10-19
// (10), 30-39 (10), 42-59 (18), 100-129 (30), 132-255 (124, the tail).
const std::vector<GapTree::Entry> kLayout = {{0, 9}, {20, 29}, {40, 41}, {60, 99}, {130, 131}};

GapTree::Query q(std::uint64_t size, std::uint32_t order, Policy p, std::uint64_t low = 0, std::uint64_t high = 255) {
  return GapTree::Query{size, order, low, high, p};
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, GapTreePlacement,
    ::testing::Values(
        PlacementCase{"top_down_takes_the_tail_top", kLayout, q(4, 0, Policy::kTopDown), 252},
        PlacementCase{"top_down_below_a_limit", kLayout, q(4, 0, Policy::kTopDown, 0, 120), 117},
        PlacementCase{"top_down_aligned", kLayout, q(8, 3, Policy::kTopDown, 0, 120), 112},
        PlacementCase{"top_down_skips_a_gap_too_short", kLayout, q(12, 0, Policy::kTopDown, 0, 99), 48},
        PlacementCase{"top_down_aligned_near_miss", kLayout, q(10, 4, Policy::kTopDown, 0, 39), std::nullopt},
        PlacementCase{"top_down_aligned_inside_a_longer_gap", kLayout, q(10, 4, Policy::kTopDown, 0, 99), 48},
        PlacementCase{"first_fit_lowest", kLayout, q(4, 0, Policy::kFirstFit), 10},
        PlacementCase{"first_fit_aligned", kLayout, q(4, 3, Policy::kFirstFit), 16},
        PlacementCase{"first_fit_aligned_skips_a_near_miss", kLayout, q(5, 3, Policy::kFirstFit), 32},
        PlacementCase{"first_fit_above_a_minimum", kLayout, q(4, 0, Policy::kFirstFit, 35, 255), 35},
        PlacementCase{"first_fit_window_clips_a_gap", kLayout, q(6, 0, Policy::kFirstFit, 35, 255), 42},
        PlacementCase{"best_fit_smallest_class", kLayout, q(9, 0, Policy::kBestFit), 42},
        PlacementCase{"best_fit_exact_power_of_two", kLayout, q(8, 0, Policy::kBestFit), 10},
        PlacementCase{"best_fit_falls_back_to_first_fit", kLayout, q(100, 0, Policy::kBestFit), 132},
        PlacementCase{"best_fit_window", kLayout, q(2, 0, Policy::kBestFit, 100, 255), 100},
        PlacementCase{"nothing_fits", kLayout, q(125, 0, Policy::kTopDown), std::nullopt},
        PlacementCase{"window_smaller_than_size", kLayout, q(8, 0, Policy::kTopDown, 10, 14), std::nullopt},
        PlacementCase{"empty_tree_top", {}, q(256, 8, Policy::kTopDown), 0},
        PlacementCase{"full_tree", {{0, 255}}, q(1, 0, Policy::kFirstFit), std::nullopt}),
    [](const ::testing::TestParamInfo<PlacementCase>& param_info) { return std::string(param_info.param.name); });

struct RandomCase {
  const char* name;
  std::uint64_t max_pfn;
  std::uint64_t base;  // operations happen in [base, base + 4095]
  GapTree::Tuning tuning;
  std::uint64_t max_size;
  std::uint32_t max_order;
  std::uint64_t seed;
  // When non-zero, a third of the requests are size-aligned at orders
  // 16 .. 16 + block_orders - 1: half of them powers of two, half any size
  // above half the alignment (the DMA API's rounding), which the shortfalls
  // (order 16) and the wide rows (past it) decide.
  std::uint32_t block_orders = 0;
  // The busy region's width: wider than the lane cap, it has gaps past the
  // cap between entries (the shortfalls' case), not only below and above.
  std::uint64_t span = 4096;
};

void PrintTo(const RandomCase& c, std::ostream* os) { *os << c.name; }

class GapTreeRandom : public ::testing::TestWithParam<RandomCase> {};

// Leaves a search may enter, by policy (Policy's order). Top-down
// and first fit: the leaves on the window's two boundary paths, which may
// hold no fit once clipped, and the leaf the summaries chose. Best fit:
// those of its class scan (the two boundary leaves) and of its search for
// the class chosen, then those of first fit when no class is long enough.
constexpr std::uint32_t kExactLeaves[] = {3, 3, 8};

TEST_P(GapTreeRandom, AgreesWithAMap) {
  const RandomCase& c = GetParam();
  testing::SplitMix64 rng(c.seed);
  GapTree tree(c.max_pfn, c.tuning);
  std::map<std::uint64_t, std::uint64_t> ref;
  const std::size_t empty_bytes = tree.memory_bytes();
  for (int op = 0; op < 60000; ++op) {
    if (rng.below(10) < 6) {
      GapTree::Query query;
      query.size = 1 + rng.below(rng.below(4) == 0 ? c.max_size : 8);
      query.order = static_cast<std::uint32_t>(rng.below(c.max_order + 1));
      if (c.block_orders != 0 && rng.below(3) == 0) {
        query.order = GapTree::kLanes + static_cast<std::uint32_t>(rng.below(c.block_orders));
        const std::uint64_t half = std::uint64_t{1} << (query.order - 1);
        query.size = rng.below(2) == 0 ? 2 * half : half + 1 + rng.below(half);
      }
      // Windows inside the busy region, or open towards the rest of the
      // space (the tail and the huge gap below the region) now and then.
      query.low = rng.below(3) == 0 ? c.base + rng.below(c.span) : c.base;
      query.high = rng.below(3) == 0 ? c.base + rng.below(c.span) : c.max_pfn;
      if (rng.below(50) == 0) query.low = 0;
      if (query.low > query.high) std::swap(query.low, query.high);
      query.policy = static_cast<Policy>(rng.below(3));
      std::uint32_t leaves = 0;
      const auto got = tree.search(query, leaves);
      ASSERT_EQ(got, reference_search(ref, c.max_pfn, query))
          << "op " << op << " size " << query.size << " order " << query.order;
      // The summaries decide every request: only leaves cut by the
      // window's ends can be entered in vain.
      ASSERT_LE(leaves, kExactLeaves[static_cast<int>(query.policy)])
          << "op " << op << " size " << query.size << " order " << query.order << " policy "
          << static_cast<int>(query.policy);
      if (got) {
        tree.insert({*got, *got + query.size - 1, rng.below(8) == 0});
        ref.emplace(*got, *got + query.size - 1);
      }
    } else if (!ref.empty()) {
      auto it = ref.lower_bound(c.base + rng.below(c.span));
      if (it == ref.end() || rng.below(10) == 0) it = ref.begin();
      const auto erased = tree.erase(it->first);
      ASSERT_TRUE(erased.has_value());
      ASSERT_EQ(erased->last, it->second);
      ref.erase(it);
    }
    if (op % 101 == 0) {
      ASSERT_EQ(tree.check(), "") << "op " << op;
      ASSERT_EQ(tree.size(), ref.size());
    }
  }
  ASSERT_EQ(tree.check(), "");
  // Lookups agree too.
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t pfn = c.base + rng.below(c.span);
    auto it = ref.upper_bound(pfn);
    const bool inside = it != ref.begin() && std::prev(it)->second >= pfn;
    const auto found = tree.find(pfn);
    ASSERT_EQ(found.has_value(), inside);
    if (inside) {
      ASSERT_EQ(found->first, std::prev(it)->first);
    }
  }
  while (!ref.empty()) {
    ASSERT_TRUE(tree.erase(ref.begin()->first).has_value());
    ref.erase(ref.begin());
  }
  ASSERT_EQ(tree.check(), "");
  EXPECT_EQ(tree.memory_bytes(), empty_bytes);  // back to one empty leaf
  EXPECT_EQ(tree.height(), 0U);
}

constexpr std::uint64_t kTop = kMax - 4095;

INSTANTIATE_TEST_SUITE_P(
    Trees, GapTreeRandom,
    ::testing::Values(RandomCase{"small_space_tiny_nodes", 4095, 0, {4, 4}, 200, 6, 1},
                      RandomCase{"small_space_default_nodes", 4095, 0, {}, 200, 6, 2},
                      RandomCase{"top_of_64_bits_tiny_nodes", kMax, kTop, {4, 4}, 200, 6, 3},
                      RandomCase{"top_of_64_bits_odd_nodes", kMax, kTop, {5, 7}, 300, 9, 4},
                      // Sizes and alignments beyond the 16-bit lanes: the
                      // shortfalls and the wide rows.
                      RandomCase{"beyond_the_lanes", (1ULL << 22) - 1, 0, {4, 4}, 200000, 20, 5},
                      // Size-aligned requests from 2^16 granules up.
                      RandomCase{"size_aligned_blocks", (1ULL << 26) - 1, 0, {4, 4}, 200000, 20, 6, 6},
                      // Sizes past the lane cap at orders within the lanes,
                      // among gaps past the cap everywhere: the shortfalls.
                      RandomCase{"shortfalls", (1ULL << 21) - 1, 0, {4, 4}, 1ULL << 17, 16, 7, 0, 1ULL << 21},
                      // Small sizes at alignments past the lanes, among gaps
                      // across multiples of 2^17 everywhere: the wide rows.
                      RandomCase{"wide_rows", (1ULL << 26) - 1, 0, {4, 4}, 300, 25, 8, 0, 1ULL << 26},
                      // Any size up to 2^21 granules at any alignment up to
                      // 2^40, in a space of 2^48 with gaps past the cap and
                      // across multiples of 2^17 everywhere.
                      RandomCase{"wide_rows_large", (1ULL << 48) - 1, 0, {4, 5}, 1ULL << 21, 40, 9, 0, 1ULL << 30}),
    [](const ::testing::TestParamInfo<RandomCase>& param_info) { return std::string(param_info.param.name); });

TEST(GapTree, WholeSpaceAtOneByteGranules) {
  GapTree tree(kMax);
  EXPECT_EQ(tree.orders(), 64U);
  // The tail gap of an empty tree is 2^64 granules long.
  EXPECT_EQ(tree.search({kMax, 0, 0, kMax, Policy::kTopDown}), 1U);
  EXPECT_EQ(tree.search({kMax, 0, 0, kMax, Policy::kFirstFit}), 0U);
  EXPECT_EQ(tree.search({kMax, 0, 0, kMax, Policy::kBestFit}), 0U);
  EXPECT_EQ(tree.search({1, 63, 0, kMax, Policy::kTopDown}), 1ULL << 63);
  tree.insert({kMax, kMax, false});  // the very last granule
  EXPECT_EQ(tree.search({1, 0, 0, kMax, Policy::kTopDown}), kMax - 1);
  tree.insert({0, 0, true});
  EXPECT_EQ(tree.search({kMax - 1, 0, 0, kMax, Policy::kFirstFit}), 1U);
  EXPECT_EQ(tree.search({kMax, 0, 0, kMax, Policy::kFirstFit}), std::nullopt);
  EXPECT_EQ(tree.find(kMax)->first, kMax);
  EXPECT_EQ(tree.lower_bound(5)->first, kMax);
  ASSERT_EQ(tree.erase(kMax)->last, kMax);
  EXPECT_EQ(tree.search({kMax - 1, 0, 0, kMax, Policy::kTopDown}), 2U);
  EXPECT_EQ(tree.check(), "");
}

TEST(GapTree, OverlappingAndGapsAcrossLeaves) {
  GapTree tree(1000, {4, 4});
  for (std::uint64_t i = 0; i < 50; ++i) tree.insert({i * 20, i * 20 + 9, i % 3 == 0});
  ASSERT_EQ(tree.check(), "");
  ASSERT_GT(tree.height(), 1U);
  const auto hits = tree.overlapping(105, 245);
  ASSERT_EQ(hits.size(), 8U);  // [100,109] .. [240,249]
  EXPECT_EQ(hits.front().first, 100U);
  EXPECT_EQ(hits.back().first, 240U);
  EXPECT_EQ(hits[0].reserved, false);  // entry 5
  EXPECT_EQ(hits[1].reserved, true);   // entry 6
  const auto gaps = tree.gaps(5, 45);
  ASSERT_EQ(gaps.size(), 2U);
  EXPECT_EQ(gaps[0], std::make_pair(std::uint64_t{10}, std::uint64_t{19}));
  EXPECT_EQ(gaps[1], std::make_pair(std::uint64_t{30}, std::uint64_t{39}));
  EXPECT_EQ(tree.gaps(985, 1000), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{990, 1000}}));
}

// A space thinned out evenly (W3 frees every other allocation) leaves every
// leaf half full; neighbouring half-full leaves merge, so the tree ends with
// about half the leaves, and every summary still agrees with the entries.
TEST(GapTree, HalfFullLeavesMerge) {
  for (const GapTree::Tuning tuning : {GapTree::Tuning{}, GapTree::Tuning{8, 4}}) {
    GapTree tree(1ULL << 20, tuning);
    for (std::uint64_t i = 0; i < 20000; ++i) tree.insert({2 * i + 1, 2 * i + 1, false});
    ASSERT_EQ(tree.check(), "");
    const std::size_t full = tree.leaf_count();
    const std::size_t nodes = tree.node_bytes();
    for (std::uint64_t i = 0; i < 20000; i += 2) ASSERT_TRUE(tree.erase(2 * i + 1));
    ASSERT_EQ(tree.check(), "");
    EXPECT_EQ(tree.size(), 10000U);
    EXPECT_LE(tree.leaf_count(), full * 6 / 10) << "leaf capacity " << tuning.leaf_capacity;
    EXPECT_LE(tree.node_bytes(), nodes * 2 / 3);
    // The merged leaves are full: an insert into one shifts or splits, and
    // the summaries stay right.
    for (std::uint64_t i = 0; i < 20000; i += 2) tree.insert({2 * i + 1, 2 * i + 1, false});
    ASSERT_EQ(tree.check(), "");
    EXPECT_EQ(tree.size(), 20000U);
  }
}

// A full inner node moves children into a sibling with room before it
// splits, as a full leaf moves entries: whatever the insertion order, inner
// nodes end up well filled (with even splits alone: 8.0, 9.0 and 11.5
// children per inner node of 16 for these orders, and one more level).
TEST(GapTree, InnerNodesShiftBeforeSplitting) {
  enum class Order { kUp, kDown, kShuffled };
  for (const Order order : {Order::kUp, Order::kDown, Order::kShuffled}) {
    std::vector<std::uint64_t> firsts;
    for (std::uint64_t i = 0; i < 50000; ++i) firsts.push_back((4 * i) + 1);
    if (order == Order::kDown) std::reverse(firsts.begin(), firsts.end());
    if (order == Order::kShuffled) {
      testing::SplitMix64 rng(3);
      for (std::size_t i = firsts.size(); i > 1; --i) std::swap(firsts[i - 1], firsts[rng.below(i)]);
    }
    GapTree tree(std::uint64_t{1} << 36);
    for (const std::uint64_t first : firsts) tree.insert({first, first + 1, false});
    ASSERT_EQ(tree.check(), "");
    const double children_per_inner =
        static_cast<double>(tree.leaf_count() + tree.inner_count() - 1) / static_cast<double>(tree.inner_count());
    EXPECT_GE(children_per_inner, 13.0) << "order " << static_cast<int>(order);
    EXPECT_EQ(tree.height(), 3U) << "order " << static_cast<int>(order);
  }
}

TEST(GapTree, RejectsBadTuning) {
  EXPECT_THROW(GapTree(100, GapTree::Tuning{3, 16}), std::invalid_argument);
  EXPECT_THROW(GapTree(100, GapTree::Tuning{16, 65}), std::invalid_argument);
}

// A wide row holds one fit per alignment order from 2^17 granules to the
// space's largest: none in a space of 2^16 granules, one in a space of
// 2^17 (only pfn 0 is aligned to 2^17 there), 20 (160 B) in one of 2^36
// (48 bits of 4 KiB pages), 47 at most. A slot keeps one only while its
// subtree has a gap across a multiple of 2^17 (here the gap from 0 below
// the entries, and in the larger spaces some gaps between them).
TEST(GapTree, WideRowsSizedToTheSpace) {
  struct Case {
    std::uint64_t max_pfn;
    std::size_t row_bytes;
  };
  for (const Case c : {Case{(1ULL << 16) - 1, 0}, Case{(1ULL << 17) - 1, 8}, Case{(1ULL << 20) - 1, 32},
                       Case{(1ULL << 36) - 1, 160}, Case{kMax, 376}}) {
    GapTree tree(c.max_pfn, GapTree::Tuning{4, 4});
    EXPECT_EQ(tree.wide_row_bytes(), c.row_bytes) << c.max_pfn;
    const std::uint64_t top = std::min(c.max_pfn, std::uint64_t{1} << 22);
    const std::uint64_t step = top >> 8;
    for (std::uint64_t i = 1; i <= 100; ++i) tree.insert({top - (i * step), top - (i * step), false});
    ASSERT_EQ(tree.check(), "");
    if (c.row_bytes == 0) {
      EXPECT_EQ(tree.wide_row_count(), 0U);
    } else {
      EXPECT_GT(tree.wide_row_count(), 0U) << c.max_pfn;
      // The highest multiple of 2^17 is free in each: the row decides it.
      EXPECT_EQ(tree.search({1, 17, 0, c.max_pfn, Policy::kTopDown}), c.max_pfn & ~((1ULL << 17) - 1)) << c.max_pfn;
      EXPECT_EQ(tree.search({1, 17, 1, c.max_pfn, Policy::kFirstFit}),
                c.max_pfn >> 17 == 0 ? std::nullopt : std::optional<std::uint64_t>(1ULL << 17))
          << c.max_pfn;
    }
    const std::size_t nodes = tree.node_bytes();
    for (std::uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(tree.erase(top - (i * step)).has_value());
    ASSERT_EQ(tree.check(), "");
    EXPECT_EQ(tree.wide_row_count(), 0U);
    EXPECT_LT(tree.node_bytes(), nodes);
  }
}

// Gaps of 1.5 x 2^17 granules, each placed so that it holds no block of
// 2^17 aligned to 2^17 (a near miss for that request: long enough, badly
// aligned), above one gap at the bottom that holds such blocks. The wide
// rows let every policy find the bottom gap, and the same request confined
// to the window above it fail, from the summaries.
TEST(GapTree, SizeAlignedBlocksSkipNearMisses) {
  constexpr std::uint64_t kBlock = 1ULL << 17;
  constexpr std::uint64_t kBottom = 4 * kBlock;  // [0, kBottom - 1] stays free
  GapTree tree((1ULL << 36) - 1, GapTree::Tuning{4, 4});
  std::uint64_t top = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    // One granule on a multiple s of 2^17, then the gap [s + 1, s + 1.5 x
    // 2^17]: its only multiple of 2^17, s + 2^17, leaves half a block before
    // the next entry, which runs up to the next period.
    const std::uint64_t s = kBottom + (i * 2 * kBlock);
    tree.insert({s, s, false});
    tree.insert({s + kBlock + (kBlock / 2) + 1, s + (2 * kBlock) - 1, false});
    top = s + (2 * kBlock) - 1;
  }
  ASSERT_EQ(tree.check(), "");
  for (const Policy p : {Policy::kTopDown, Policy::kFirstFit, Policy::kBestFit}) {
    GapTree::Query q;
    q.size = kBlock;
    q.order = 17;
    q.high = top;
    q.policy = p;
    const auto got = tree.search(q);
    ASSERT_TRUE(got.has_value()) << static_cast<int>(p);
    EXPECT_LT(*got, kBottom) << static_cast<int>(p);
    EXPECT_EQ(*got % kBlock, 0U);
    q.low = kBottom;  // only near misses left
    EXPECT_FALSE(tree.search(q).has_value()) << static_cast<int>(p);
  }
}

// The near-miss layout of ShortfallsSkipNearMisses and
// WideRowsSkipNearMisses, for a request of `size` granules at 2^order: in
// each of kNearMisses periods from `period` up (a multiple of 2^order), one
// entry on the period's first granule s, then the gap [s + 1, s + size +
// 2^(order-1)] (long enough, but aligning its start loses 2^order - 1 and
// leaves 2^(order-1) - 1 too few), then an entry up to the next period. Period kNearMissHit has no entry at s, and
// its gap [s, s + size + 4] holds the request with 5 granules to spare.
constexpr std::uint64_t kNearMisses = 2000;
constexpr std::uint64_t kNearMissHit = 1000;

struct NearMissRequest {
  std::uint64_t size;
  std::uint32_t order;
};

GapTree near_miss_tree(const NearMissRequest& r, std::uint64_t period, std::uint64_t max_pfn) {
  GapTree tree(max_pfn, GapTree::Tuning{4, 4});
  const std::uint64_t align = std::uint64_t{1} << r.order;
  for (std::uint64_t i = 0; i < kNearMisses; ++i) {
    const std::uint64_t s = (i + 1) * period;
    const std::uint64_t gap_end = i == kNearMissHit ? s + r.size + 4 : s + r.size + (align / 2);
    if (i != kNearMissHit) tree.insert({s, s, false});  // the gap starts at s + 1
    tree.insert({gap_end + 1, s + period - 1, false});
  }
  return tree;
}

// Every policy finds the hit gap for the size and for 5 granules more, and
// fails 6 more, entering no more leaves than the window's boundaries and
// the answer's.
void expect_near_misses_skipped(const GapTree& tree, const NearMissRequest& r, std::uint64_t period) {
  const std::uint64_t align = std::uint64_t{1} << r.order;
  const std::uint64_t hit = (kNearMissHit + 1) * period;
  for (const Policy p : {Policy::kTopDown, Policy::kFirstFit, Policy::kBestFit}) {
    GapTree::Query q;
    q.order = r.order;
    q.low = period;  // not the free bottom [0, period - 1]
    q.high = ((kNearMisses + 1) * period) - 1;
    q.policy = p;
    for (const std::uint64_t extra : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{6}}) {
      q.size = r.size + extra;
      std::uint32_t leaves = 0;
      const auto got = tree.search(q, leaves);
      // Top-down: the highest aligned start in the hit gap.
      const std::uint64_t want = p == Policy::kTopDown ? (hit + r.size + 4 - (q.size - 1)) & ~(align - 1) : hit;
      EXPECT_EQ(got, extra <= 5 ? std::optional<std::uint64_t>(want) : std::nullopt)
          << r.size << " + " << extra << " at order " << r.order << " policy " << static_cast<int>(p);
      EXPECT_LE(leaves, kExactLeaves[static_cast<int>(p)])
          << r.size << " + " << extra << " at order " << r.order << " policy " << static_cast<int>(p);
    }
  }
}

// Sizes past the lane cap at alignments within the lanes, among 2,000 near
// misses (periods of 2^19). The shortfalls rows let every policy find the
// hit (with the largest gaps alone, every near miss was entered: 2,000
// leaves).
TEST(GapTree, ShortfallsSkipNearMisses) {
  constexpr std::uint64_t kPeriod = 1ULL << 19;
  const NearMissRequest requests[] = {
      {1ULL << 17, 16},        // 512 MiB aligned to 256 MiB (4 KiB granules)
      {1ULL << 18, 9},         // 1 GiB aligned to 2 MiB
      {0x10000 + 77, 2},       // just past the cap, a small alignment
      {(1ULL << 18) + 3, 12},  // no power of two
  };
  for (const NearMissRequest& r : requests) {
    const GapTree tree = near_miss_tree(r, kPeriod, (1ULL << 36) - 1);
    ASSERT_EQ(tree.check(), "");
    expect_near_misses_skipped(tree, r, kPeriod);
  }
}

// Sizes at alignments past the lanes, among 2,000 near misses. The wide
// rows let every policy find the hit (with the lanes alone, every near miss
// was entered; with the 16-bit anchors and the blocks rows before the wide
// rows, so was every near miss of the last six requests, one descent each).
TEST(GapTree, WideRowsSkipNearMisses) {
  const NearMissRequest requests[] = {
      {1, 17},                 // a page aligned to 512 MiB (4 KiB granules)
      {100, 20},               //
      {0xfff0, 24},            // near the lane cap
      {4096, 32},              //
      {1, 33},                 // past 2^32
      {4096, 45},              //
      {3ULL << 18, 18},        // 3 GiB aligned to 1 GiB (4 KiB granules)
      {1ULL << 17, 19},        // a size past the cap, at most half its alignment
      {0x10000, 17},           //
      {(1ULL << 20) + 1, 17},  // no power of two
  };
  for (const NearMissRequest& r : requests) {
    // A multiple of 2^order with room for the gap and the entry above it:
    // 2^order itself when the gap is short enough, so that no near miss
    // holds a multiple of 2^order (the anchors' case), else a larger one.
    const std::uint64_t align = std::uint64_t{1} << r.order;
    const std::uint64_t period = r.size + (align / 2) + 2 <= align ? align : 2 * std::bit_ceil(r.size + align);
    GapTree tree = near_miss_tree(r, period, (1ULL << 60) - 1);
    ASSERT_EQ(tree.check(), "");
    expect_near_misses_skipped(tree, r, period);
    // Freeing the hit gap's upper entry grows it into a long gap up to the
    // next period, and an entry on its first granule splits it again: the
    // gap left holds the request only if the period holds two multiples
    // of 2^order, at its highest.
    const std::uint64_t hit = (kNearMissHit + 1) * period;
    ASSERT_TRUE(tree.erase(hit + r.size + 5).has_value());
    ASSERT_EQ(tree.check(), "");
    tree.insert({hit, hit, false});
    ASSERT_EQ(tree.check(), "");
    GapTree::Query q;
    q.size = r.size;
    q.order = r.order;
    q.low = period;
    q.high = ((kNearMisses + 1) * period) - 1;
    const std::optional<std::uint64_t> want =
        period == align ? std::nullopt : std::optional<std::uint64_t>((hit + period - r.size) & ~(align - 1));
    EXPECT_EQ(tree.search(q), want) << r.size << " at order " << r.order;
  }
}

// Gaps of 2^18 granules that each start half a block of 2^18 before a
// multiple of it: they hold 2^17 aligned to 2^17 (block order 17) but only
// 2^17 granules at a multiple of 2^18, a near miss for the DMA API's 2^17 +
// k granules aligned to 2^18. One of them, in the middle, is 5 granules
// longer. The wide rows let every policy find that one (or the bottom
// gap) and a request 6 granules over fail, from the summaries.
TEST(GapTree, SizeAlignedNextFitsSkipNearMisses) {
  constexpr std::uint64_t kHalf = 1ULL << 17;
  constexpr std::uint64_t kPeriod = 4 * kHalf;
  constexpr std::uint64_t kBottom = kPeriod;  // [0, kBottom - 1] stays free
  constexpr std::uint64_t kLonger = 1000;
  GapTree tree((1ULL << 36) - 1, GapTree::Tuning{4, 4});
  tree.insert({kBottom, kBottom + kHalf - 1, false});
  std::uint64_t top = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    // The gap [base + 2^17, base + 3 x 2^17 - 1 (+ 5)], then an entry up to
    // base + period + 2^17 - 1.
    const std::uint64_t base = kBottom + (i * kPeriod);
    const std::uint64_t extra = i == kLonger ? 5 : 0;
    top = base + kPeriod + kHalf - 1;
    tree.insert({base + (3 * kHalf) + extra, top, false});
  }
  ASSERT_EQ(tree.check(), "");
  const std::uint64_t hit = kBottom + (kLonger * kPeriod) + (2 * kHalf);  // its multiple of 2^18
  struct Case {
    std::uint64_t size;
    std::uint64_t low;
    Policy policy;
    std::optional<std::uint64_t> want;
  };
  const Case cases[] = {
      {kHalf + 1, 0, Policy::kTopDown, hit},
      {kHalf + 5, 0, Policy::kTopDown, hit},
      {kHalf + 6, 0, Policy::kTopDown, 2 * kHalf},  // only the bottom gap holds it
      {kHalf + 1, 0, Policy::kFirstFit, 0},
      {kHalf + 5, kBottom, Policy::kFirstFit, hit},
      {kHalf + 5, kBottom, Policy::kBestFit, hit},
      {kHalf + 6, kBottom, Policy::kTopDown, std::nullopt},
      {kHalf + 6, kBottom, Policy::kFirstFit, std::nullopt},
      {kHalf + 6, kBottom, Policy::kBestFit, std::nullopt},
      {2 * kHalf, kBottom, Policy::kTopDown, std::nullopt},
  };
  for (const Case& c : cases) {
    GapTree::Query q;
    q.size = c.size;
    q.order = 18;
    q.low = c.low;
    q.high = top;
    q.policy = c.policy;
    EXPECT_EQ(tree.search(q), c.want) << c.size << " from " << c.low << " policy " << static_cast<int>(c.policy);
  }
}

}  // namespace
}  // namespace iovakit::iova
