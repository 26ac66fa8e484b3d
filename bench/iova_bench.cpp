// The iova layer's small-set operations at the sizes the kernel model meets:
// a group's reserved regions (a few to a few hundred), a usable list.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "iovakit/iova/gap_tree.h"
#include "iovakit/iova/range_set.h"
#include "iovakit/iova/resv_region.h"

namespace {

using iovakit::iova::GapTree;
using iovakit::iova::Policy;
using iovakit::iova::Range;
using iovakit::iova::RangeSet;
using iovakit::iova::ResvList;
using iovakit::iova::ResvRegion;
using iovakit::iova::ResvType;

// n devices of a group each reporting one RMRR and the IOAPIC window, as
// intel_iommu_get_resv_regions does; the group list merges them.
void BM_ResvListGroupMerge(benchmark::State& state) {
  const auto devices = static_cast<std::uint64_t>(state.range(0));
  std::vector<ResvRegion> regions;
  for (std::uint64_t d = 0; d < devices; ++d) {
    regions.push_back(ResvRegion{0x80000000 + d * 0x20000, 0x10000, ResvType::kDirect, 3});
    regions.push_back(ResvRegion{0xfee00000, 0x100000, ResvType::kMsi, 0});
  }
  for (auto _ : state) {
    ResvList list;
    list.insert_all(regions);
    benchmark::DoNotOptimize(list.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * regions.size()));
}
BENCHMARK(BM_ResvListGroupMerge)->Arg(1)->Arg(8)->Arg(64)->Arg(256);

// The MAP_DMA test (find_containing) on a usable list with n holes.
void BM_RangeSetFindContaining(benchmark::State& state) {
  const auto holes = static_cast<std::uint64_t>(state.range(0));
  RangeSet usable{Range::full()};
  for (std::uint64_t h = 0; h < holes; ++h) usable.erase(Range(h * 0x100000 + 0x80000, h * 0x100000 + 0x8ffff));
  std::uint64_t i = 0;
  for (auto _ : state) {
    const std::uint64_t base = (i++ % holes) * 0x100000;
    benchmark::DoNotOptimize(usable.find_containing(Range(base, base + 0xfff)));
  }
}
BENCHMARK(BM_RangeSetFindContaining)->Arg(4)->Arg(64)->Arg(1024);

// Usable list = aperture minus reserved regions (RangeSet::complement).
void BM_RangeSetComplement(benchmark::State& state) {
  const auto holes = static_cast<std::uint64_t>(state.range(0));
  RangeSet reserved;
  for (std::uint64_t h = 0; h < holes; ++h) reserved.insert(Range(h * 0x100000, h * 0x100000 + 0xfff));
  for (auto _ : state) benchmark::DoNotOptimize(reserved.complement(Range(0, (1ULL << 39) - 1)));
}
BENCHMARK(BM_RangeSetComplement)->Arg(4)->Arg(64)->Arg(1024);

// A failing request beyond the 16-bit lanes (gap_tree.h) among n near
// misses, gaps long enough for it but not aligned enough, one per period of
// 2^18 granules starting at 2^18. Arg 1 picks the request and its near
// misses:
//   0  2^17 granules aligned to 2^17, a size-aligned power of two, among
//      gaps of 1.5 x 2^17 that hold no multiple of 2^17 with room after it:
//      the wide rows decide at the root (so did the blocks row before them).
//   1  2^17 + 1 aligned to 2^18 (the DMA API's rounding of a size that is no
//      power of two), among gaps of 1.75 x 2^17 that hold an aligned block
//      of 2^17 but only 2^15 granules at their multiple of 2^18: the wide
//      rows decide at the root (so did the next_fits row before them).
//   2  one granule aligned to 2^17, among gaps of 2^17 - 1 that hold no
//      multiple of 2^17: the wide rows decide (so did the 16-bit anchors
//      before them; before those, the last lane was a necessary condition
//      only, and every near miss cost a descent).
//   3  2^17 granules aligned to 2^16 (a size past the lane cap, aligned
//      below its size), among gaps of 2^17 + 100 that start one granule
//      past a multiple of 2^16, so that aligning wastes 2^16 - 1: the
//      shortfalls row decides (periods of 2^19 from 2^19).
//   4  2^18 granules aligned to 2^9 (1 GiB aligned to 2 MiB with 4 KiB
//      granules), among gaps of 2^18 + 100 that start one granule past a
//      multiple of 2^9: the same (periods of 2^19).
//   5  3 x 2^17 granules aligned to 2^17 (1.5 GiB aligned to 512 MiB with
//      4 KiB granules: a size past the cap and past its alignment, aligned
//      past 2^16), among gaps of 3.5 x 2^17 that start one granule past a
//      multiple of 2^17 (periods of 2^20 from 2^20): the wide rows decide
//      (before them, every near miss cost a descent).
void BM_GapTreeFailingBeyondTheLanes(benchmark::State& state) {
  constexpr std::uint64_t kBlock = 1ULL << 17;
  const auto gaps = static_cast<std::uint64_t>(state.range(0));
  const auto kind = state.range(1);
  const std::uint64_t period = kind == 5 ? 8 * kBlock : kind >= 3 ? 4 * kBlock : 2 * kBlock;
  GapTree tree((1ULL << 40) - 1);
  // The gap of period i: [start, start + length - 1]; the period's first
  // granule is taken, and everything after the gap up to the next period.
  std::uint64_t start_offset = 1;
  std::uint64_t length = kBlock + (kBlock / 2);
  if (kind == 1) {
    tree.insert({period, period + (kBlock / 2) - 1, false});
    start_offset = kBlock / 2;
    length = kBlock + (kBlock / 2) + (kBlock / 4);  // next fit: 2^15
  } else if (kind == 2) {
    length = kBlock - 1;
  } else if (kind == 3) {
    length = kBlock + 100;
  } else if (kind == 4) {
    length = (2 * kBlock) + 100;
  } else if (kind == 5) {
    length = (3 * kBlock) + (kBlock / 2);
  }
  for (std::uint64_t i = 0; i < gaps; ++i) {
    const std::uint64_t s = (i + 1) * period;
    if (kind != 1) tree.insert({s, s, false});
    const std::uint64_t next = s + period + (kind == 1 ? start_offset : 0);
    tree.insert({s + start_offset + length, next - 1, false});
  }
  struct Request {
    std::uint64_t size;
    std::uint32_t order;
  };
  constexpr Request kRequests[] = {{kBlock, 17}, {kBlock + 1, 18}, {1, 17},
                                   {kBlock, 16}, {2 * kBlock, 9},  {3 * kBlock, 17}};
  GapTree::Query q;
  q.low = period;
  q.high = ((gaps + 1) * period) - 1;
  q.policy = Policy::kTopDown;
  q.size = kRequests[kind].size;
  q.order = kRequests[kind].order;
  if (tree.search(q).has_value()) state.SkipWithError("the request fits");
  for (auto _ : state) benchmark::DoNotOptimize(tree.search(q));
}
BENCHMARK(BM_GapTreeFailingBeyondTheLanes)->ArgsProduct({{1000, 100000}, {0, 1, 2, 3, 4, 5}});

}  // namespace

BENCHMARK_MAIN();
