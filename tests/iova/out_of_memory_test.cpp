// Out of memory. Every GapTree update, and every Allocator update that is
// one tree update (allocate, allocate_at, free, the fast path), either
// completes or throws std::bad_alloc having changed nothing; a reservation,
// many updates, that fails halfway leaves the allocator refusing every
// later update (Errc::kBroken, -ENOTRECOVERABLE through the C ABI).
//
// This binary replaces the global operator new: once armed with n, the
// (n+1)-th allocation and every one after it fail, until disarmed. Each
// operation is tried with n = 0, 1, 2, ... until it completes, and after
// each failure the state is compared with the model.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <optional>
#include <vector>

#include "iovakit/c/allocator.h"
#include "iovakit/iova/allocator.h"
#include "iovakit/iova/gap_tree.h"
#include "iovakit/iova/node_pool.h"
#include "support/gap_tree_entries.h"
#include "support/rng.h"

namespace {

// -1: allocations succeed. Otherwise how many more succeed (0: all fail).
long g_allocations_left = -1;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): the injection point

void* allocate_or_fail(std::size_t bytes) {
  if (g_allocations_left == 0) throw std::bad_alloc();
  if (g_allocations_left > 0) --g_allocations_left;
  void* p = std::malloc(bytes == 0 ? 1 : bytes);  // NOLINT(cppcoreguidelines-no-malloc)
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

// NOLINTBEGIN(cppcoreguidelines-no-malloc, misc-new-delete-overloads): the replaced allocation functions
void* operator new(std::size_t bytes) { return allocate_or_fail(bytes); }
void* operator new[](std::size_t bytes) { return allocate_or_fail(bytes); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*bytes*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*bytes*/) noexcept { std::free(p); }
// NOLINTEND(cppcoreguidelines-no-malloc, misc-new-delete-overloads)

namespace iovakit::iova {
namespace {

using Model = std::map<std::uint64_t, GapTree::Entry>;

// Runs op with 0, 1, 2, ... allocations allowed until it completes; after
// each failure, `unchanged` checks the state. Returns the failures seen.
template <typename Op, typename Unchanged>
int until_it_completes(Op op, Unchanged unchanged) {
  for (long allowed = 0;; ++allowed) {
    g_allocations_left = allowed;
    bool failed = false;
    try {
      op();
    } catch (const std::bad_alloc&) {
      failed = true;
    }
    g_allocations_left = -1;
    if (!failed) return static_cast<int>(allowed);
    unchanged();
    if (::testing::Test::HasFatalFailure()) return static_cast<int>(allowed);
  }
}

void expect_tree_is(const GapTree& tree, const Model& model) {
  std::vector<GapTree::Entry> expected;
  expected.reserve(model.size());
  for (const auto& [first, e] : model) expected.push_back(e);
  iovakit::testing::expect_entries(tree, expected);
}

struct TreeCase {
  const char* name;
  GapTree::Tuning tuning;
  std::uint32_t space_bits;  // the space is 2^space_bits granules
  std::uint32_t size_bits;   // sizes below 2^(size_bits + 1)
};

class GapTreeOutOfMemory : public ::testing::TestWithParam<TreeCase> {};

// Random allocations (sizes and alignments past the lanes, so that wide
// rows come and go), inserts, erases and clears; tiny nodes split, shift,
// merge and borrow at every level. In a sparse space nearly every slot has
// a wide row; in a dense one few do, and erases make them.
TEST_P(GapTreeOutOfMemory, AnUpdateCompletesOrChangesNothing) {
  const std::uint64_t max_pfn = (std::uint64_t{1} << GetParam().space_bits) - 1;
  GapTree tree(max_pfn, GetParam().tuning);
  Model model;
  iovakit::testing::SplitMix64 rng(0x00d0'0de5);
  int failures = 0;
  const auto unchanged = [&] { expect_tree_is(tree, model); };
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t roll = rng.below(10000);
    if (roll < 5200 || model.size() < 8) {
      GapTree::Query q;
      q.size = std::uint64_t{1} << rng.below(GetParam().size_bits);
      q.size += rng.below(q.size);
      q.order = static_cast<std::uint32_t>(rng.below(4) == 0 ? rng.below(GetParam().space_bits + 1)
                                                             : rng.below(GetParam().size_bits + 1));
      q.high = max_pfn;
      q.policy = static_cast<Policy>(rng.below(3));
      std::optional<std::uint64_t> at;
      failures += until_it_completes([&] { at = tree.allocate(q); }, unchanged);
      if (at) model[*at] = GapTree::Entry{*at, *at + q.size - 1, false};
    } else if (roll < 6000) {
      // A fixed entry just above a random one, when there is room.
      auto it = std::next(model.begin(), static_cast<long>(rng.below(model.size())));
      const std::uint64_t first = it->second.last + 1;
      const std::uint64_t room =
          std::next(it) == model.end() ? max_pfn - it->second.last : std::next(it)->first - first;
      if (first > max_pfn || room == 0) continue;
      const GapTree::Entry e{first, first + rng.below(room), rng.coin()};
      failures += until_it_completes([&] { tree.insert(e); }, unchanged);
      model[e.first] = e;
    } else if (roll < 9998) {
      auto it = std::next(model.begin(), static_cast<long>(rng.below(model.size())));
      const GapTree::Entry gone = it->second;
      std::optional<GapTree::Entry> out;
      failures += until_it_completes([&] { out = tree.erase(gone.first); }, unchanged);
      ASSERT_TRUE(out.has_value());
      ASSERT_EQ(*out, gone);
      model.erase(it);
    } else {
      failures += until_it_completes([&] { tree.clear(); }, unchanged);
      model.clear();
    }
    // The spares kept between updates stay within what one update may need.
    ASSERT_LE(tree.spare_row_count(), tree.rows_per_update());
    if (HasFatalFailure()) return;
  }
  expect_tree_is(tree, model);
  // Then erases only, down to nothing: merged gaps make wide rows with no
  // insert in between to top the spares up, and the tree collapses into
  // one leaf (which it skips while memory is short).
  while (!model.empty()) {
    auto it = std::next(model.begin(), static_cast<long>(rng.below(model.size())));
    const std::uint64_t first = it->first;
    failures += until_it_completes([&] { (void)tree.erase(first); }, unchanged);
    model.erase(it);
    if (HasFatalFailure()) return;
  }
  expect_tree_is(tree, model);
  EXPECT_EQ(tree.height(), 0U);
  EXPECT_GT(failures, 200);
}

INSTANTIATE_TEST_SUITE_P(Trees, GapTreeOutOfMemory,
                         ::testing::Values(TreeCase{"tiny_nodes", {4, 4}, 40, 20},
                                           TreeCase{"odd_nodes", {5, 7}, 40, 20}, TreeCase{"default_nodes", {}, 40, 20},
                                           TreeCase{"dense_tiny_nodes", {4, 4}, 22, 6},
                                           TreeCase{"dense_default_nodes", {}, 24, 6}),
                         [](const ::testing::TestParamInfo<TreeCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

// In chunk mode, reserve(k) makes room in the chunk being carved: the next
// k blocks map nothing (no allocation can fail there).
TEST(NodePoolOutOfMemory, ReserveInChunkModeMapsAheadOfTheAllocations) {
  NodePool pool(4096);
  std::vector<void*> blocks;
  while (pool.chunk_count() == 0) blocks.push_back(pool.allocate());
  // Carve until fewer than 3 blocks are left in the chunk, then reserve 3.
  const std::size_t per_chunk = NodePool::kChunkBytes / pool.block_bytes();
  while ((blocks.size() - (NodePool::kChunkThreshold / pool.block_bytes())) % per_chunk != per_chunk - 2) {
    blocks.push_back(pool.allocate());
  }
  const std::size_t chunks = pool.chunk_count();
  pool.reserve(3);
  EXPECT_EQ(pool.chunk_count(), chunks + 1);  // mapped by reserve
  for (int i = 0; i < 3; ++i) blocks.push_back(pool.allocate());
  EXPECT_EQ(pool.chunk_count(), chunks + 1);  // not by allocate
  // The old chunk's uncarved blocks were not lost: they are handed out
  // before the new chunk's.
  for (void* b : blocks) pool.release(b);
  EXPECT_EQ(pool.chunk_count(), 0U);
  EXPECT_EQ(pool.bytes(), 0U);
}

// --- the allocator ------------------------------------------------------------

Allocator make_allocator() {
  Allocator::Options options;
  options.cache_depth = 8;  // stacks fill and empty: both slow paths run
  auto a = Allocator::create(RangeSet{Range(0, (std::uint64_t{1} << 48) - 1)}, options);
  return std::move(*a);
}

struct Observed {
  std::vector<Entry> entries;
  std::size_t live = 0;
  friend bool operator==(const Observed&, const Observed&) = default;
};

Observed observe(const Allocator& a) { return {a.entries(), a.live_count()}; }

TEST(AllocatorOutOfMemory, OneUpdateCompletesOrChangesNothing) {
  Allocator a = make_allocator();
  iovakit::testing::SplitMix64 rng(0xa110c);
  std::vector<Range> live;
  int failures = 0;
  for (int step = 0; step < 4000; ++step) {
    const Observed before = observe(a);
    const auto unchanged = [&] {
      ASSERT_EQ(a.check(), "");
      ASSERT_TRUE(observe(a) == before);
    };
    const std::uint64_t roll = rng.below(100);
    if (roll < 45 || live.size() < 4) {
      AllocRequest r = AllocRequest::dma(uint128{1 + rng.below(1 << 12)} << 12);
      r.policy = static_cast<Policy>(rng.below(3));
      Result<Range> got = Error(Errc::kExhausted, "");
      failures += until_it_completes(
          [&] { got = rng.coin() ? a.allocate(r) : a.allocate_fast((1 + rng.below(32)) << 12); }, unchanged);
      ASSERT_TRUE(got.ok()) << got.error().to_string();
      live.push_back(*got);
    } else if (roll < 55) {
      // Fixed, just above a random allocation (a parked range there is
      // taken back first).
      const Range& near = live[rng.below(live.size())];
      const std::uint64_t first = near.last() + 1;
      Result<Range> got = Error(Errc::kExhausted, "");
      failures += until_it_completes([&] { got = a.allocate_at(Range(first, first + 0xfff)); }, unchanged);
      if (got.ok()) live.push_back(*got);
    } else {
      const std::size_t i = rng.below(live.size());
      const Range r = live[i];
      Status done;
      failures += until_it_completes(
          [&] {
            if (rng.coin()) {
              done = a.free_fast(r);
            } else {
              auto freed = a.free(r.first());
              done = freed.ok() ? Status{} : Status(freed.error());
            }
          },
          unchanged);
      ASSERT_TRUE(done.ok()) << done.error().to_string();
      live[i] = live.back();
      live.pop_back();
    }
    if (HasFatalFailure()) return;
  }
  ASSERT_EQ(a.check(), "");
  EXPECT_GT(failures, 50);
}

// A reservation over reserved neighbours, parked ranges and live
// allocations, failed at every point: either nothing changed and the
// allocator goes on, or it refuses every update from then on.
TEST(AllocatorOutOfMemory, AReservationThatFailsHalfwayBreaksTheAllocator) {
  int broken = 0;
  int untouched = 0;
  for (long allowed = 0;; ++allowed) {
    Allocator a = make_allocator();
    ASSERT_TRUE(a.reserve(Range(0x100000, 0x1fffff)).ok());
    ASSERT_TRUE(a.reserve(Range(0x900000, 0x9fffff)).ok());
    std::vector<Range> held;
    for (std::uint64_t at = 0x200000; at < 0x900000; at += 0x40000)
      held.push_back(*a.allocate_at(Range(at, at + 0xfff)));
    for (std::size_t i = 0; i < held.size(); i += 3) ASSERT_TRUE(a.free_fast(held[i]).ok());  // parked
    const Observed before = observe(a);
    g_allocations_left = allowed;
    bool failed = false;
    try {
      (void)a.reserve(Range(0x180000, 0x97ffff));
    } catch (const std::bad_alloc&) {
      failed = true;
    }
    g_allocations_left = -1;
    if (!failed) break;
    ASSERT_EQ(a.check(), "");
    const bool same = observe(a) == before;
    auto got = a.allocate(AllocRequest::dma(0x1000));
    if (same && got.ok()) {
      ++untouched;
      continue;
    }
    ++broken;
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code(), Errc::kBroken);
    EXPECT_EQ(a.allocate_at(Range(0x40000000, 0x40000fff)).error().code(), Errc::kBroken);
    EXPECT_EQ(a.free(held[1].first()).error().code(), Errc::kBroken);
    EXPECT_EQ(a.free_fast(held[1]).error().code(), Errc::kBroken);
    EXPECT_EQ(a.allocate_fast(0x1000).error().code(), Errc::kBroken);
    EXPECT_EQ(a.reserve(Range(0x50000000, 0x50000fff)).error().code(), Errc::kBroken);
  }
  EXPECT_GT(broken, 0);
  EXPECT_GT(untouched, 0);
}

// Through the C ABI, an allocation or a free that gets -ENOMEM changed
// nothing and can simply be tried again: what a VMM does with a DMA map.
TEST(AllocatorOutOfMemory, TheCInterfaceCanTryAgain) {
  const iovakit_range usable{0, (std::uint64_t{1} << 48) - 1};
  iovakit_allocator* a = nullptr;
  ASSERT_EQ(iovakit_allocator_create(&usable, 1, nullptr, &a), 0);
  std::vector<std::uint64_t> live;
  int refused = 0;
  iovakit::testing::SplitMix64 rng(0xc0ffee);
  for (int step = 0; step < 3000; ++step) {
    const bool allocating = live.size() < 8 || rng.below(3) != 0;
    const std::size_t i = live.empty() ? 0 : rng.below(live.size());
    for (long allowed = 0;; ++allowed) {
      const std::size_t before = iovakit_live_count(a);
      std::uint64_t iova = 0;
      g_allocations_left = allowed;
      const int rc = allocating ? iovakit_alloc_dma(a, (1 + rng.below(64)) << 12, UINT64_MAX, &iova)
                                : iovakit_free(a, live[i], nullptr);
      g_allocations_left = -1;
      if (rc == -ENOMEM) {
        ++refused;
        ASSERT_EQ(iovakit_live_count(a), before);
        continue;
      }
      ASSERT_EQ(rc, 0) << iovakit_last_error();
      if (allocating) {
        live.push_back(iova);
      } else {
        live[i] = live.back();
        live.pop_back();
      }
      break;
    }
  }
  EXPECT_GT(refused, 50);
  for (const std::uint64_t iova : live) ASSERT_EQ(iovakit_free(a, iova, nullptr), 0);
  EXPECT_EQ(iovakit_live_count(a), 0U);
  iovakit_allocator_destroy(a);
}

// Through the C ABI: -ENOMEM for the failing call, then -ENOTRECOVERABLE.
TEST(AllocatorOutOfMemory, TheCInterfaceSaysWhatHappened) {
  const iovakit_range usable{0, (std::uint64_t{1} << 48) - 1};
  for (long allowed = 0;; ++allowed) {
    iovakit_allocator* a = nullptr;
    ASSERT_EQ(iovakit_allocator_create(&usable, 1, nullptr, &a), 0);
    std::uint64_t iova = 0;
    for (int i = 0; i < 64; ++i) ASSERT_EQ(iovakit_alloc_dma(a, 0x1000, UINT64_MAX, &iova), 0);
    g_allocations_left = allowed;
    const int rc = iovakit_reserve(a, 0xffff'0000'0000, 0xffff'ffff'ffff, nullptr, 0, nullptr);
    g_allocations_left = -1;
    if (rc == 0) {
      iovakit_allocator_destroy(a);
      break;
    }
    ASSERT_EQ(rc, -ENOMEM) << iovakit_last_error();
    const int next = iovakit_alloc_dma(a, 0x1000, UINT64_MAX, &iova);
    EXPECT_TRUE(next == 0 || next == -ENOTRECOVERABLE) << next;
    if (next == -ENOTRECOVERABLE) {
      EXPECT_NE(std::string(iovakit_last_error()).find("destroy"), std::string::npos);
    }
    iovakit_allocator_destroy(a);
  }
}

}  // namespace
}  // namespace iovakit::iova
