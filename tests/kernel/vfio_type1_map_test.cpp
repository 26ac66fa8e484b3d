// VFIO_IOMMU_MAP_DMA / UNMAP_DMA: vfio_dma_do_map and vfio_dma_do_unmap,
// table-driven per profile (linux-iommu-semantics.md 11.5, 15.2, 15.18).
#include <gtest/gtest.h>

#include "iovakit/kernel/vfio_type1.h"
#include "kernel/type1_test_support.h"

namespace iovakit::kernel {
namespace {

using testing::amd_group;
using testing::container_with;
using testing::intel_group;
using testing::map;
using testing::unmap;

constexpr std::uint64_t kMax = ~std::uint64_t{0};

struct MapCase {
  const char* what;
  std::uint32_t flags;
  std::uint64_t iova;
  std::uint64_t size;
  std::uint64_t vaddr;
  Errno want61;  // 6.1 and 6.6 (type1_inclusive_end off)
  Errno want70;  // 7.0 (type1_inclusive_end on)
};

constexpr std::uint32_t kRW = kVfioDmaMapFlagRead | kVfioDmaMapFlagWrite;
constexpr std::uint64_t kVa = 0x7f0000000000;

// Intel 39-bit group: usable [0, 0xfedfffff] and [0xfef00000, 0x7fffffffff].
const MapCase kIntelCases[] = {
    {"inside a usable range", kRW, 0x100000, 0x200000, kVa, Errno::kOk, Errno::kOk},
    {"in the MSI hole 0xfee00000", kRW, 0xfee00000, 0x1000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"straddling the MSI hole", kRW, 0xfed00000, 0x200000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"last page below the aperture edge", kRW, 0x7ffffff000, 0x1000, kVa, Errno::kOk, Errno::kOk},
    {"crossing the aperture edge", kRW, 0x7ffffff000, 0x2000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"zero size", kRW, 0x100000, 0, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"misaligned iova", kRW, 0x100800, 0x1000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"misaligned vaddr", kRW, 0x100000, 0x1000, kVa + 8, Errno::kEINVAL, Errno::kEINVAL},
    {"iova wraps", kRW, 0xfffffffffffff000, 0x2000, kVa, Errno::kEINVAL, Errno::kEOVERFLOW},
    {"vaddr wraps", kRW, 0x100000, 0x2000, 0xfffffffffffff000, Errno::kEINVAL, Errno::kEOVERFLOW},
    // Order: 6.1 checks flags before the wrap, 7.0 the overflow first.
    {"no READ/WRITE and a wrap", 0, 0xfffffffffffff000, 0x2000, kVa, Errno::kEINVAL, Errno::kEOVERFLOW},
    // Order: 6.1 alignment before the wrap (both EINVAL), 7.0 overflow first.
    {"misaligned and wrapping", kRW, 0xfffffffffffff800, 0x2000, kVa, Errno::kEINVAL, Errno::kEOVERFLOW},
    {"no READ/WRITE", 0, 0x100000, 0x1000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"VADDR with READ", kRW | kVfioDmaMapFlagVaddr, 0x100000, 0x1000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"unknown flag bit", kRW | 8, 0x100000, 0x1000, kVa, Errno::kEINVAL, Errno::kEINVAL},
    {"VADDR update of nothing", kVfioDmaMapFlagVaddr, 0x900000, 0x1000, kVa, Errno::kENOENT, Errno::kENOENT},
};

class Type1MapTable : public ::testing::TestWithParam<const char*> {};

TEST_P(Type1MapTable, VfioDmaDoMapChecksInOrder) {
  const std::string name = GetParam();
  const bool inclusive = testing::profile(name).features.type1_inclusive_end;
  for (const MapCase& mc : kIntelCases) {
    Type1Container c = container_with(name, intel_group(1));
    DmaMapRequest r;
    r.flags = mc.flags;
    r.iova = mc.iova;
    r.size = mc.size;
    r.vaddr = mc.vaddr;
    const Outcome o = c.map_dma(r);
    EXPECT_EQ(o.err, inclusive ? mc.want70 : mc.want61) << name << ": " << mc.what << " -> " << o.to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, Type1MapTable, ::testing::Values("6.1", "6.6", "7.0"), [](const auto& param_info) {
  std::string n = param_info.param;
  for (char& ch : n) {
    if (ch == '.') ch = '_';
  }
  return "v" + n;
});

// vfio_find_dma: overlap -> EEXIST, in both arithmetics.
TEST(Type1Map, OverlapIsEexist) {
  for (const char* name : {"6.1", "7.0"}) {
    Type1Container c = container_with(name, intel_group(1));
    ASSERT_TRUE(map(c, 0x100000, 0x10000).ok());
    EXPECT_EQ(map(c, 0x108000, 0x10000).err, Errno::kEEXIST) << name;
    EXPECT_EQ(map(c, 0xf0000, 0x20000).err, Errno::kEEXIST) << name;
    EXPECT_TRUE(map(c, 0x110000, 0x1000).ok()) << name;  // adjacent is fine
  }
}

// dma_avail: one slot per mapping; none left -> ENOSPC (after EEXIST, before
// the usable-list check); unmapping gives the slot back.
TEST(Type1Map, DmaAvailExhaustionIsEnospc) {
  Type1Container c = container_with("6.1", intel_group(1), /*dma_limit=*/2);
  ASSERT_TRUE(map(c, 0x100000, 0x1000).ok());
  ASSERT_TRUE(map(c, 0x200000, 0x1000).ok());
  EXPECT_EQ(c.dma_avail(), 0U);
  EXPECT_EQ(map(c, 0x300000, 0x1000).err, Errno::kENOSPC);
  EXPECT_EQ(map(c, 0x100000, 0x1000).err, Errno::kEEXIST);    // EEXIST first
  EXPECT_EQ(map(c, 0xfee00000, 0x1000).err, Errno::kENOSPC);  // ENOSPC before the list
  ASSERT_TRUE(unmap(c, 0x100000, 0x1000).outcome.ok());
  EXPECT_TRUE(map(c, 0x300000, 0x1000).ok());
  // Before v5.1 there is no limit.
  Type1Container old = container_with("4.18", intel_group(1), 1);
  ASSERT_TRUE(map(old, 0x100000, 0x1000).ok());
  EXPECT_TRUE(map(old, 0x200000, 0x1000).ok());
}

// 15.2 on 6.1: a mapping ending at U64_MAX (AMD v1's full aperture) is
// created, but vfio_find_dma computes iova + size = 0 and never sees it: a
// second identical map succeeds (no EEXIST) and an exact unmap finds
// nothing (success, size 0). 6.19+ (7.0) is correct.
TEST(Type1Map, TopOfSpaceMappingOn61VersusInclusive) {
  const std::uint64_t top = kMax - 0xfff;
  Type1Container c61 = container_with("6.1", amd_group(1));
  ASSERT_TRUE(map(c61, top, 0x1000).ok());
  EXPECT_TRUE(map(c61, top, 0x1000).ok());  // the 6.1 bug: overlap missed
  EXPECT_EQ(c61.mappings().top().size(), 2U);
  DmaUnmapReply u61 = unmap(c61, top, 0x1000);
  ASSERT_TRUE(u61.outcome.ok());
  EXPECT_EQ(u61.size, std::optional<std::uint64_t>(0));
  EXPECT_EQ(c61.mappings().size(), 2U);
  // Even UNMAP_ALL misses them: vfio_find_dma_first_node tests
  // `start < dma->iova + dma->size`, i.e. 0 < 0, and finds no first node.
  DmaUnmapReply all61 = unmap(c61, 0, 0, kVfioDmaUnmapFlagAll);
  EXPECT_EQ(all61.size, std::optional<std::uint64_t>(0));
  // With an ordinary mapping to start from, the walk reaches them through
  // rb_next (this model places them last in the tree's order).
  ASSERT_TRUE(map(c61, 0x100000, 0x1000).ok());
  all61 = unmap(c61, 0, 0, kVfioDmaUnmapFlagAll);
  EXPECT_EQ(all61.size, std::optional<std::uint64_t>(0x3000));
  EXPECT_TRUE(c61.mappings().empty());

  Type1Container c70 = container_with("7.0", amd_group(1));
  ASSERT_TRUE(map(c70, top, 0x1000).ok());
  EXPECT_EQ(map(c70, top, 0x1000).err, Errno::kEEXIST);
  DmaUnmapReply u70 = unmap(c70, top, 0x1000);
  EXPECT_EQ(u70.size, std::optional<std::uint64_t>(0x1000));
  EXPECT_TRUE(c70.mappings().empty());
}

// 6.1: a normal map overlapping a top-of-space mapping is not refused either
// (the tree search cannot see the top mapping).
TEST(Type1Map, OverlapWithTopMappingMissedOn61) {
  Type1Container c = container_with("6.1", amd_group(1));
  ASSERT_TRUE(map(c, kMax - 0x1fff, 0x2000).ok());
  EXPECT_TRUE(map(c, kMax - 0x1fff, 0x1000).ok());
  Type1Container c70 = container_with("7.0", amd_group(1));
  ASSERT_TRUE(map(c70, kMax - 0x1fff, 0x2000).ok());
  EXPECT_EQ(map(c70, kMax - 0x1fff, 0x1000).err, Errno::kEEXIST);
}

// vfio_dma_do_unmap, v2: a range may not bisect a mapping; the unmapped
// size is written back; an empty range succeeds with 0.
TEST(Type1Unmap, V2BisectRuleAndSize) {
  for (const char* name : {"6.1", "7.0"}) {
    Type1Container c = container_with(name, intel_group(1));
    ASSERT_TRUE(map(c, 0x100000, 0x10000).ok());
    ASSERT_TRUE(map(c, 0x200000, 0x10000).ok());
    EXPECT_EQ(unmap(c, 0x108000, 0x8000).outcome.err, Errno::kEINVAL) << name;  // starts inside
    EXPECT_EQ(unmap(c, 0x100000, 0x8000).outcome.err, Errno::kEINVAL) << name;  // ends inside
    EXPECT_EQ(unmap(c, 0x400000, 0x1000).size, std::optional<std::uint64_t>(0)) << name;
    const DmaUnmapReply r = unmap(c, 0x0, 0x300000);
    ASSERT_TRUE(r.outcome.ok()) << name;
    EXPECT_EQ(r.size, std::optional<std::uint64_t>(0x20000)) << name;
    EXPECT_TRUE(c.mappings().empty());
    EXPECT_EQ(c.dma_avail(), 65535U);
  }
}

// v1 containers (type 1): no bisect error; a mapping starting before iova
// ends the walk (unmapped size 0).
TEST(Type1Unmap, V1StopsAtBisectedMapping) {
  Type1Container c(testing::profile("6.1"));
  ASSERT_TRUE(c.set_container(intel_group(1)).ok());
  ASSERT_TRUE(c.set_iommu(kVfioType1Iommu).ok());
  ASSERT_TRUE(map(c, 0x100000, 0x10000).ok());
  const DmaUnmapReply r = unmap(c, 0x108000, 0x8000);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.size, std::optional<std::uint64_t>(0));
  EXPECT_EQ(unmap(c, 0x100000, 0x1000).size, std::optional<std::uint64_t>(0x10000));  // covers the first byte
}

// UNMAP_ALL needs iova = size = 0; misaligned iova and wraps are refused
// (6.1 EINVAL, 7.0 EOVERFLOW).
TEST(Type1Unmap, FlagAndRangeChecks) {
  for (const char* name : {"6.1", "7.0"}) {
    const bool inclusive = testing::profile(name).features.type1_inclusive_end;
    Type1Container c = container_with(name, intel_group(1));
    ASSERT_TRUE(map(c, 0x100000, 0x1000).ok());
    EXPECT_EQ(unmap(c, 0x1000, 0x1000, kVfioDmaUnmapFlagAll).outcome.err, Errno::kEINVAL);
    EXPECT_EQ(unmap(c, 0x100800, 0x1000).outcome.err, Errno::kEINVAL);
    EXPECT_EQ(unmap(c, 0x100000, 0).outcome.err, Errno::kEINVAL);
    EXPECT_EQ(unmap(c, 0xfffffffffffff000, 0x2000).outcome.err, inclusive ? Errno::kEOVERFLOW : Errno::kEINVAL);
    EXPECT_EQ(unmap(c, 0x100000, 0x1000, 16).outcome.err, Errno::kEINVAL);  // unknown flag
    EXPECT_EQ(unmap(c, 0x100000, 0x1000, kVfioDmaUnmapFlagGetDirtyBitmap | kVfioDmaUnmapFlagAll).outcome.err,
              Errno::kEINVAL);
    const DmaUnmapReply all = unmap(c, 0, 0, kVfioDmaUnmapFlagAll);
    EXPECT_EQ(all.size, std::optional<std::uint64_t>(0x1000));
  }
}

// UPDATE_VADDR: invalidate twice -> EINVAL and the first invalidation of
// the same call is undone; VADDR unmaps are refused beside mdev groups.
TEST(Type1Unmap, VaddrInvalidation) {
  Type1Container c = container_with("6.1", intel_group(1));
  ASSERT_TRUE(map(c, 0x100000, 0x1000).ok());
  ASSERT_TRUE(map(c, 0x200000, 0x1000).ok());
  ASSERT_TRUE(unmap(c, 0x200000, 0x1000, kVfioDmaUnmapFlagVaddr).outcome.ok());
  EXPECT_EQ(unmap(c, 0x100000, 0x101000, kVfioDmaUnmapFlagVaddr).outcome.err, Errno::kEINVAL);
  EXPECT_FALSE(c.mappings().ordered().at(0x100000).vaddr_invalid);  // undone
  EXPECT_TRUE(c.mappings().ordered().at(0x200000).vaddr_invalid);

  Type1GroupSpec mdev;
  mdev.group_id = 5;
  mdev.emulated = true;
  Type1Container m = container_with("6.1", intel_group(1));
  ASSERT_TRUE(m.attach_group(mdev).ok());
  ASSERT_TRUE(map(m, 0x100000, 0x1000).ok());
  EXPECT_EQ(unmap(m, 0x100000, 0x1000, kVfioDmaUnmapFlagVaddr).outcome.err, Errno::kEBUSY);
}

// explain_map names the reserved region in the way and the usable ranges.
TEST(Type1Explain, NamesTheRegionInTheWay) {
  Type1Container c = container_with("6.1", intel_group(4));
  const MapExplanation ex = c.explain_map(0xfed00000, 0x200000);
  EXPECT_FALSE(ex.valid);
  ASSERT_EQ(ex.overlapping_nodes.size(), 1U);
  ASSERT_FALSE(ex.obstacles.empty());
  EXPECT_EQ(ex.obstacles[0].kind, MapExplanation::Obstacle::Kind::kReservedRegion);
  EXPECT_EQ(ex.obstacles[0].group_id, 4U);
  EXPECT_EQ(ex.obstacles[0].overlap, iova::Range(0xfee00000, 0xfeefffff));
  EXPECT_NE(ex.summary.find("group 4's msi region"), std::string::npos);
  const MapExplanation ok = c.explain_map(0x1000, 0x1000);
  EXPECT_TRUE(ok.valid);
  EXPECT_TRUE(ok.obstacles.empty());
}

// explain_map for the zero-length-region split (15.7).
TEST(Type1Explain, NodeSplit) {
  Type1GroupSpec g = intel_group(1, 48);
  g.regions = {iova::ResvRegion{0x8000000, 0, iova::ResvType::kReserved, 0}};
  Type1Container c = container_with("7.0", g);
  ASSERT_EQ(c.iova_list().size(), 2U);
  const MapExplanation ex = c.explain_map(0x7fff000, 0x2000);
  EXPECT_FALSE(ex.valid);
  ASSERT_EQ(ex.obstacles.size(), 1U);
  EXPECT_EQ(ex.obstacles[0].kind, MapExplanation::Obstacle::Kind::kNodeSplit);
  EXPECT_EQ(map(c, 0x7fff000, 0x2000).err, Errno::kEINVAL);
}

// hazards_of: relaxable regions and aperture edges are reported too.
TEST(Type1Explain, HazardsIncludeRelaxableAndAperture) {
  Type1GroupSpec g = intel_group(1);
  g.regions.push_back(testing::region(0, 0xffffff, iova::ResvType::kDirectRelaxable));
  Type1Container c = container_with("6.1", g);
  const auto hz = c.hazards_of(0x7fffff0000, 0x20000);
  ASSERT_EQ(hz.size(), 1U);
  EXPECT_EQ(hz[0].kind, Hazard::Kind::kOutsideAperture);
  EXPECT_EQ(hz[0].overlap, iova::Range(0x8000000000, 0x800000ffff));
  const auto low = c.hazards_of(0x100000, 0x1000);
  ASSERT_EQ(low.size(), 1U);
  EXPECT_EQ(low[0].kind, Hazard::Kind::kRelaxableRegion);
}

}  // namespace
}  // namespace iovakit::kernel
