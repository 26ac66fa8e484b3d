// Issue 5: attaching a group with 64 reserved regions to a VFIO type1
// container that already holds 1,000,000 mappings.
//
//   BM_Type1AttachModel       Type1Container::attach_group, end to end (list
//                             copy, aper_conflict, resv_conflict, aper_resize,
//                             resv_exclude, domain bookkeeping)
//   BM_Type1AttachKernelWalk  the kernel's algorithm written out as
//                             vfio_iommu_type1_attach_group runs it: two
//                             vfio_find_dma searches for aper_conflict and one
//                             per region for resv_conflict, on a red-black
//                             tree keyed by iova (std::map), then the list edits
//   BM_Type1AttachLinearWalk  a straightforward list walk: every region
//                             against every mapping (regions x n)
//
// The kernel also replays every mapping into the new domain
// (vfio_iommu_replay: pin + iommu_map, O(n) and far slower per mapping);
// no model does that, so it is in none of the figures.
//
// IOVAKIT_BENCH_SMOKE (set by `ctest -L bench`) scales n down to 10,000.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <list>
#include <map>
#include <vector>

#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/kernel/type1_iova_list.h"
#include "iovakit/kernel/vfio_type1.h"

namespace {

using iovakit::iova::Range;
using iovakit::iova::ResvRegion;
using iovakit::iova::ResvType;
using iovakit::kernel::IovaNode;
using iovakit::kernel::Type1Container;
using iovakit::kernel::Type1GroupSpec;
using iovakit::kernel::Type1IovaList;

constexpr std::uint64_t kBase = 0x100000000;  // 4 GiB: above the MSI window
constexpr std::uint64_t kStride = 0x2000;     // a 4 KiB mapping every 8 KiB
constexpr std::uint64_t kRegions = 64;

std::uint64_t mapping_count() { return std::getenv("IOVAKIT_BENCH_SMOKE") != nullptr ? 10000 : 1000000; }

Type1GroupSpec host_group() {
  Type1GroupSpec g;  // AMD 6.1-like: the whole space minus MSI and HT
  g.group_id = 1;
  g.aperture = Range::full();
  g.iommu_ops = 2;
  g.regions = {ResvRegion::from_range(Range(0xfee00000, 0xfeefffff), ResvType::kMsi),
               ResvRegion::from_range(Range(0xfd00000000, 0xffffffffff), ResvType::kReserved)};
  return g;
}

// 64 one-page regions in the gaps between mappings, spread over all of them:
// no conflict, so the whole attach runs.
Type1GroupSpec new_group(std::uint64_t n) {
  Type1GroupSpec g;
  g.group_id = 2;
  g.aperture = Range(0, (std::uint64_t{1} << 48) - 1);
  g.iommu_ops = 1;
  for (std::uint64_t k = 0; k < kRegions; ++k) {
    const std::uint64_t start = kBase + (k * (n / kRegions)) * kStride + 0x1000;
    g.regions.push_back(ResvRegion::from_range(Range(start, start + 0xfff), ResvType::kDirect));
  }
  return g;
}

struct Fixture {
  explicit Fixture(std::uint64_t n) : container(*iovakit::kernel::find_preset("7.0"), 2000000) {
    (void)container.set_container(host_group());
    (void)container.set_iommu(iovakit::kernel::kVfioType1v2Iommu);
    for (std::uint64_t i = 0; i < n; ++i) {
      iovakit::kernel::DmaMapRequest r;
      r.iova = kBase + i * kStride;
      r.size = 0x1000;
      r.vaddr = r.iova;
      (void)container.map_dma(r);
      tree.emplace(r.iova, r.size);
      list.emplace_back(r.iova, r.size);
    }
  }
  Type1Container container;
  std::map<std::uint64_t, std::uint64_t> tree;              // iova -> size
  std::list<std::pair<std::uint64_t, std::uint64_t>> list;  // the same, unindexed
};

Fixture& fixture() {
  static Fixture f(mapping_count());
  return f;
}

// vfio_find_dma on the tree: the first mapping ending at or after `start`,
// then whether it begins at or before `last`.
bool tree_overlaps(const std::map<std::uint64_t, std::uint64_t>& tree, std::uint64_t start, std::uint64_t last) {
  auto it = tree.upper_bound(start);
  if (it != tree.begin() && std::prev(it)->first + std::prev(it)->second - 1 >= start) it = std::prev(it);
  return it != tree.end() && it->first <= last;
}

bool list_overlaps(const std::list<std::pair<std::uint64_t, std::uint64_t>>& list, std::uint64_t start,
                   std::uint64_t last) {
  return std::ranges::any_of(list, [&](const auto& m) { return m.first <= last && m.first + m.second - 1 >= start; });
}

template <typename Overlaps>
bool kernel_style_attach(const Type1IovaList& current, const Type1GroupSpec& g, Overlaps overlaps, Type1IovaList& out) {
  // vfio_iommu_aper_conflict
  const IovaNode& first = current.front();
  const IovaNode& last = current.back();
  const std::uint64_t start = g.aperture.first();
  const std::uint64_t end = g.aperture.last();
  if (start > last.end || end < first.start) return false;
  if (start > first.start && overlaps(first.start, start - 1)) return false;
  if (end < last.end && overlaps(end + 1, last.end)) return false;
  // vfio_iommu_resv_conflict
  for (const ResvRegion& r : g.regions) {
    if (r.type != ResvType::kDirectRelaxable && overlaps(r.start, r.last())) return false;
  }
  // vfio_iommu_aper_resize + vfio_iommu_resv_exclude on a copy
  out = current;
  out.aper_resize(start, end);
  return out.resv_exclude(g.regions);
}

void BM_Type1AttachModel(benchmark::State& state) {
  Fixture& f = fixture();
  const Type1GroupSpec g = new_group(mapping_count());
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.container.attach_group(g).ok());
    state.PauseTiming();
    (void)f.container.detach_group(g.group_id);
    state.ResumeTiming();
  }
  state.counters["mappings"] = static_cast<double>(f.container.mappings().size());
  state.counters["regions"] = static_cast<double>(g.regions.size());
}
BENCHMARK(BM_Type1AttachModel)->Unit(benchmark::kMicrosecond);

void BM_Type1AttachKernelWalk(benchmark::State& state) {
  Fixture& f = fixture();
  const Type1GroupSpec g = new_group(mapping_count());
  Type1IovaList out;
  auto overlaps = [&](std::uint64_t s, std::uint64_t l) { return tree_overlaps(f.tree, s, l); };
  for (auto _ : state) benchmark::DoNotOptimize(kernel_style_attach(f.container.iova_list(), g, overlaps, out));
  state.counters["mappings"] = static_cast<double>(f.tree.size());
}
BENCHMARK(BM_Type1AttachKernelWalk)->Unit(benchmark::kMicrosecond);

void BM_Type1AttachLinearWalk(benchmark::State& state) {
  Fixture& f = fixture();
  const Type1GroupSpec g = new_group(mapping_count());
  Type1IovaList out;
  auto overlaps = [&](std::uint64_t s, std::uint64_t l) { return list_overlaps(f.list, s, l); };
  for (auto _ : state) benchmark::DoNotOptimize(kernel_style_attach(f.container.iova_list(), g, overlaps, out));
  state.counters["mappings"] = static_cast<double>(f.list.size());
}
BENCHMARK(BM_Type1AttachLinearWalk)->Unit(benchmark::kMillisecond);

// Detach of the same group: vfio_iommu_aper_expand + vfio_iommu_resv_refresh
// (re-merging every remaining group's regions, rebuilding the list).
void BM_Type1DetachModel(benchmark::State& state) {
  Fixture& f = fixture();
  const Type1GroupSpec g = new_group(mapping_count());
  for (auto _ : state) {
    state.PauseTiming();
    (void)f.container.attach_group(g);
    state.ResumeTiming();
    benchmark::DoNotOptimize(f.container.detach_group(g.group_id).ok());
  }
}
BENCHMARK(BM_Type1DetachModel)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
