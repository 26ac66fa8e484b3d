#include "iovakit/iova/node_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "iovakit/iova/gap_tree.h"
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

}  // namespace
}  // namespace iovakit::iova
