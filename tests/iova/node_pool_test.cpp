#include "iovakit/iova/node_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "iovakit/iova/gap_tree.h"
#include "support/gap_tree_entries.h"
#include "support/rng.h"

namespace iovakit::iova {
namespace {

struct PoolCase {
  const char* name;
  std::size_t block_bytes;
  std::size_t blocks;  // allocated before the releases start
};

void PrintTo(const PoolCase& c, std::ostream* os) { *os << c.name; }

class NodePoolCase : public ::testing::TestWithParam<PoolCase> {};

// Blocks are distinct, writable over their whole size (ASan checks the
// bounds), come from chunks only past the threshold, are reused after a
// release, and every chunk goes back once nothing is live.
TEST_P(NodePoolCase, HandsOutDistinctBlocksAndReturnsEverything) {
  const PoolCase& c = GetParam();
  NodePool pool(c.block_bytes);
  ASSERT_GE(pool.block_bytes(), c.block_bytes);
  std::vector<void*> blocks;
  std::set<std::uintptr_t> seen;
  for (std::size_t i = 0; i < c.blocks; ++i) {
    void* b = pool.allocate();
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(b) % alignof(std::max_align_t), 0U);
    std::memset(b, static_cast<int>(i & 0xff), pool.block_bytes());
    ASSERT_TRUE(seen.insert(reinterpret_cast<std::uintptr_t>(b)).second) << "block " << i << " handed out twice";
    blocks.push_back(b);
  }
  const std::size_t direct_limit = (NodePool::kChunkThreshold + pool.block_bytes() - 1) / pool.block_bytes();
  EXPECT_EQ(pool.live(), c.blocks);
  EXPECT_EQ(pool.chunk_count() > 0, c.blocks > direct_limit);
  EXPECT_GE(pool.bytes(), c.blocks * pool.block_bytes());

  // Release half in a random order and allocate as many again: released
  // chunk blocks are reused (last released, first reused), released direct
  // blocks go back to operator new, so the pool grows by at most their
  // bytes.
  testing::SplitMix64 rng(7);
  for (std::size_t i = blocks.size(); i > 1; --i) std::swap(blocks[i - 1], blocks[rng.below(i)]);
  const std::size_t half = blocks.size() / 2;
  for (std::size_t i = 0; i < half; ++i) pool.release(blocks[i]);
  if (half > 0) {
    const std::set<void*> released(blocks.begin(), blocks.begin() + static_cast<std::ptrdiff_t>(half));
    void* again = pool.allocate();
    if (pool.chunk_count() > 0) {
      EXPECT_TRUE(released.count(again) == 1) << "a released chunk block was not reused first";
    }
    blocks[half - 1] = again;
  }
  for (std::size_t i = 0; i + 1 < half; ++i) {
    blocks[i] = pool.allocate();
    std::memset(blocks[i], 0x5a, pool.block_bytes());
  }
  EXPECT_LE(pool.bytes(), (c.blocks * pool.block_bytes()) + NodePool::kChunkThreshold + 2 * NodePool::kChunkBytes);
  std::set<void*> distinct(blocks.begin(), blocks.end());
  EXPECT_EQ(distinct.size(), blocks.size());

  for (void* b : blocks) pool.release(b);
  EXPECT_EQ(pool.live(), 0U);
  EXPECT_EQ(pool.chunk_count(), 0U);
  EXPECT_EQ(pool.bytes(), 0U);
}

INSTANTIATE_TEST_SUITE_P(Sizes, NodePoolCase,
                         ::testing::Values(PoolCase{"few_small", 24, 100}, PoolCase{"few_leaves", 272, 1000},
                                           PoolCase{"leaves_past_threshold", 272, 40000},
                                           PoolCase{"inner_past_threshold", 1040, 9000},
                                           PoolCase{"odd_size_many_chunks", 1000, 12000}),
                         [](const ::testing::TestParamInfo<PoolCase>& param) { return std::string(param.param.name); });

TEST(NodePool, MovedFromPoolIsEmptyAndTheTargetOwnsTheBlocks) {
  NodePool a(1040);
  std::vector<void*> blocks;
  blocks.reserve(5000);
  for (int i = 0; i < 5000; ++i) blocks.push_back(a.allocate());
  ASSERT_GT(a.chunk_count(), 0U);
  NodePool b(std::move(a));
  EXPECT_EQ(a.live(), 0U);   // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move): documented state
  EXPECT_EQ(a.bytes(), 0U);  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(b.live(), 5000U);
  NodePool c(1040);
  c.release(c.allocate());
  c = std::move(b);
  for (void* p : blocks) c.release(p);
  EXPECT_EQ(c.bytes(), 0U);
}

// A tree large enough to take its nodes from chunks behaves as a small one,
// and gives every chunk back when it is emptied.
TEST(NodePool, LargeGapTreeUsesChunksAndReturnsThem) {
  GapTree tree(std::uint64_t{1} << 36);
  const std::size_t empty = tree.memory_bytes();
  std::vector<std::uint64_t> firsts;
  for (std::uint64_t i = 0; i < 300000; ++i) {
    const std::uint64_t first = (i * 3) + 1;
    tree.insert({first, first + 1, false});
    firsts.push_back(first);
  }
  EXPECT_GT(tree.memory_bytes(), tree.node_bytes());  // chunk space beyond the live nodes
  EXPECT_LE(tree.memory_bytes(), tree.node_bytes() + 2 * NodePool::kChunkBytes);
  ASSERT_EQ(tree.check(), "");
  testing::SplitMix64 rng(11);
  for (std::size_t i = firsts.size(); i > 1; --i) std::swap(firsts[i - 1], firsts[rng.below(i)]);
  for (std::size_t i = 0; i < firsts.size(); ++i) {
    ASSERT_TRUE(tree.erase(firsts[i]).has_value());
    if (i % 50000 == 0) {
      ASSERT_EQ(tree.check(), "");
    }
  }
  EXPECT_EQ(tree.size(), 0U);
  EXPECT_EQ(tree.memory_bytes(), empty);
}

// clear() takes its new leaf from the heap before it frees the rest, so
// that the chunks still go (drop_unused_chunks), and the spares with them.
TEST(NodePool, ClearedGapTreeGivesItsChunksBack) {
  GapTree tree(std::uint64_t{1} << 36);
  const std::size_t empty = tree.memory_bytes();
  for (std::uint64_t i = 0; i < 300000; ++i) tree.insert({(i * 3) + 1, (i * 3) + 2, false});
  ASSERT_GT(tree.chunk_bytes(), 0U);
  tree.clear();
  EXPECT_EQ(tree.chunk_bytes(), 0U);
  EXPECT_EQ(tree.memory_bytes(), empty);
  ASSERT_EQ(tree.check(), "");
  tree.insert({5, 9, false});
  EXPECT_EQ(tree.size(), 1U);
  ASSERT_EQ(tree.check(), "");
}

// A pool whose chunks are mostly unused asks to compact, names only live
// blocks of one chunk (the victim) until it is empty, never hands out a
// victim block, and unmaps the victim when its last block moves out.
TEST(NodePool, CompactionEmptiesTheVictimAndUnmapsIt) {
  NodePool pool(1040);
  const std::size_t per_chunk = NodePool::kChunkBytes / pool.block_bytes();
  std::vector<void*> blocks;
  const std::size_t total = (NodePool::kChunkThreshold / pool.block_bytes()) + (5 * per_chunk);
  for (std::size_t i = 0; i < total; ++i) blocks.push_back(pool.allocate());
  ASSERT_GE(pool.chunk_count(), 5U);
  EXPECT_FALSE(pool.wants_compaction());
  EXPECT_EQ(pool.block_to_move(), nullptr);
  // Release two of every three blocks: the chunks end a third used.
  std::set<void*> live;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i % 3 == 0) {
      live.insert(blocks[i]);
    } else {
      pool.release(blocks[i]);
    }
  }
  ASSERT_TRUE(pool.wants_compaction());
  const std::size_t chunks_before = pool.chunk_count();
  void* first = pool.block_to_move();
  ASSERT_NE(first, nullptr);
  const auto chunk_of = [](const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) & ~(std::uintptr_t{NodePool::kChunkBytes} - 1);
  };
  const std::uintptr_t victim = chunk_of(first);
  std::size_t moves = 0;
  while (pool.chunk_count() == chunks_before) {
    void* from = pool.block_to_move();
    ASSERT_NE(from, nullptr);
    ASSERT_EQ(chunk_of(from), victim);
    ASSERT_EQ(live.count(from), 1U) << "named a block that is not live";
    void* to = pool.allocate();
    ASSERT_NE(chunk_of(to), victim) << "handed out a block of the victim";
    std::memset(to, 0x5a, pool.block_bytes());
    live.erase(from);
    live.insert(to);
    pool.release(from);
    ASSERT_LT(++moves, per_chunk);
  }
  EXPECT_EQ(pool.chunk_count(), chunks_before - 1);
  EXPECT_EQ(pool.live(), live.size());
  // It goes on until the unused blocks are at most a chunk or a quarter of
  // the live ones, then stops asking.
  while (pool.wants_compaction()) {
    void* from = pool.block_to_move();
    if (from == nullptr) continue;  // an empty chunk was dropped instead
    void* to = pool.allocate();
    live.erase(from);
    live.insert(to);
    pool.release(from);
  }
  EXPECT_LE(pool.bytes(),
            (pool.live() * pool.block_bytes() * 5 / 4) + NodePool::kChunkThreshold + (2 * NodePool::kChunkBytes));
  for (void* p : live) pool.release(p);
  EXPECT_EQ(pool.bytes(), 0U);
}

// The W3 pattern: a tree filled with one-granule entries, then every other
// one erased. Without compaction every chunk stays (each keeps half its
// nodes); with it the tree holds little more than its live nodes.
TEST(NodePool, ThinnedGapTreeGivesChunksBack) {
  GapTree tree(std::uint64_t{1} << 36);
  constexpr std::uint64_t kEntries = 600000;
  for (std::uint64_t i = 0; i < kEntries; ++i) tree.insert({(2 * i) + 1, (2 * i) + 1, false});
  const std::size_t full = tree.memory_bytes();
  ASSERT_GE(tree.chunk_bytes(), 3 * NodePool::kChunkBytes);
  for (std::uint64_t i = 0; i < kEntries; i += 2) ASSERT_TRUE(tree.erase((2 * i) + 1).has_value());
  ASSERT_EQ(tree.check(), "");
  EXPECT_EQ(tree.size(), kEntries / 2);
  // Measured: 11.8 MB full; 6.9 MB after the erases (5.6 MB of live nodes),
  // 9.0 MB without compaction (only the blocks from operator new went back).
  EXPECT_LT(tree.memory_bytes(), full * 2 / 3);
  for (std::uint64_t i = 1; i < kEntries; i += 2) {
    ASSERT_EQ(tree.find((2 * i) + 1).value().first, (2 * i) + 1);
  }
}

// Compaction moves nodes while the tree shrinks and grows again at random:
// after every phase the tree holds exactly the model's entries, its
// invariants hold, and emptied it gives everything back.
TEST(NodePool, CompactingTreeMatchesItsModelThroughShrinkAndRegrowth) {
  GapTree tree(std::uint64_t{1} << 40);
  const std::size_t empty = tree.memory_bytes();
  std::map<std::uint64_t, std::uint64_t> model;  // first -> last
  std::vector<std::uint64_t> firsts;
  testing::SplitMix64 rng(2026);
  const auto add = [&](std::uint64_t slot) {
    const std::uint64_t first = slot * 8;
    const std::uint64_t last = first + rng.below(8);
    if (!model.emplace(first, last).second) return;
    tree.insert({first, last, false});
    firsts.push_back(first);
  };
  const auto remove_random = [&]() {
    const std::size_t k = rng.below(firsts.size());
    std::swap(firsts[k], firsts.back());
    const std::uint64_t first = firsts.back();
    firsts.pop_back();
    const auto erased = tree.erase(first);
    ASSERT_TRUE(erased.has_value());
    ASSERT_EQ(erased->last, model.at(first));
    model.erase(first);
  };
  // Grow to 400k, shrink to 60k, grow to 300k, shrink to 10k.
  for (const std::size_t target : {400000U, 60000U, 300000U, 10000U}) {
    while (model.size() < target) add(rng.below(std::uint64_t{1} << 22));
    while (model.size() > target) remove_random();
    std::vector<GapTree::Entry> expected;
    expected.reserve(model.size());
    for (const auto& [first, last] : model) expected.push_back({first, last, false});
    ASSERT_NO_FATAL_FAILURE(testing::expect_entries(tree, expected));
    // Each pool keeps at most one chunk's worth of unused blocks, or a
    // quarter of its live ones, plus a victim being emptied. At 10k entries:
    // 2.1 MB of chunks, against 6.3 MB without compaction.
    EXPECT_LE(tree.chunk_bytes(), (tree.node_bytes() * 5 / 4) + (2 * NodePool::kChunkBytes)) << target;
  }
  while (!firsts.empty()) remove_random();
  EXPECT_EQ(tree.memory_bytes(), empty);
}

}  // namespace
}  // namespace iovakit::iova
