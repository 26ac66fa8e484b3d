// The helpers of drivers/vfio/vfio_iommu_type1.c that edit the usable list,
// one rule per test (linux-iommu-semantics.md 11.2, 15.6, 15.7, 15.9).
#include "iovakit/kernel/type1_iova_list.h"

#include <gtest/gtest.h>

#include "kernel/type1_test_support.h"

namespace iovakit::kernel {
namespace {

using iova::ResvType;
using testing::nodes;
using testing::region;

constexpr std::uint64_t kMax = ~std::uint64_t{0};

// vfio_iommu_aper_resize: an empty list becomes the aperture.
TEST(Type1IovaList, AperResizeEmptyBecomesAperture) {
  Type1IovaList l;
  l.aper_resize(0, 0x7fffffffff);
  EXPECT_EQ(l.nodes(), nodes({{0, 0x7fffffffff}}));
}

// vfio_iommu_aper_resize: intersection, nodes outside dropped, edges trimmed.
TEST(Type1IovaList, AperResizeIntersects) {
  Type1IovaList l(nodes({{0, 0xfedfffff}, {0xfef00000, kMax}}));
  l.aper_resize(0x1000, 0xffffffffff);
  EXPECT_EQ(l.nodes(), nodes({{0x1000, 0xfedfffff}, {0xfef00000, 0xffffffffff}}));
  l.aper_resize(0xff000000, 0xffffffffff);
  EXPECT_EQ(l.nodes(), nodes({{0xff000000, 0xffffffffff}}));
}

// vfio_iommu_aper_resize quirk (15.6): a node whose LAST byte equals the new
// start is deleted whole (`start < node->end` is strict), and so is a node
// whose FIRST byte equals the new end (`end > node->start`).
TEST(Type1IovaList, AperResizeOffByOneQuirks) {
  Type1IovaList a(nodes({{0, 0xfff}, {0x3000, 0x3fff}}));
  a.aper_resize(0xfff, kMax);  // [0xfff] would survive an exact intersection
  EXPECT_EQ(a.nodes(), nodes({{0x3000, 0x3fff}}));

  Type1IovaList b(nodes({{0, 0xfff}, {0x3000, 0x3fff}}));
  b.aper_resize(0, 0x3000);  // [0x3000] would survive an exact intersection
  EXPECT_EQ(b.nodes(), nodes({{0, 0xfff}}));

  // A one-byte node at the new start is lost as well.
  Type1IovaList c(nodes({{0x10, 0x10}, {0x20, 0x30}}));
  c.aper_resize(0x10, 0x30);
  EXPECT_EQ(c.nodes(), nodes({{0x20, 0x30}}));
}

// vfio_iommu_resv_exclude: splitting around a region, relaxable skipped.
TEST(Type1IovaList, ResvExcludeSplitsAndSkipsRelaxable) {
  Type1IovaList l(nodes({{0, 0x7fffffffff}}));
  const std::vector<iova::ResvRegion> regions = {
      region(0, 0xffffff, ResvType::kDirectRelaxable),                        // ISA floppy range: ignored
      testing::msi_region(), region(0x8000000, 0x80fffff, ResvType::kSwMsi),  // SW_MSI is excluded too
  };
  EXPECT_TRUE(l.resv_exclude(regions));
  EXPECT_EQ(l.nodes(), nodes({{0, 0x7ffffff}, {0x8100000, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
}

// vfio_iommu_resv_exclude: everything excluded -> false (-EINVAL in attach).
TEST(Type1IovaList, ResvExcludeEmptyListFails) {
  Type1IovaList l(nodes({{0x1000, 0x1fff}}));
  EXPECT_FALSE(l.resv_exclude(std::vector{region(0, 0xffff, ResvType::kReserved)}));
  EXPECT_TRUE(l.empty());
}

// vfio_iommu_resv_exclude with a zero-length region (15.7): end = start - 1
// splits a node into two ADJACENT nodes; iova_dma_valid then refuses a map
// across the split although every byte is usable.
TEST(Type1IovaList, ZeroLengthRegionSplitsNode) {
  Type1IovaList l(nodes({{0, 0xffff}}));
  iova::ResvRegion zero{0x8000, 0, ResvType::kReserved, 0};
  EXPECT_TRUE(l.resv_exclude(std::vector{zero}));
  EXPECT_EQ(l.nodes(), nodes({{0, 0x7fff}, {0x8000, 0xffff}}));
  EXPECT_FALSE(l.dma_valid(0x7000, 0x8fff));
  EXPECT_TRUE(l.dma_valid(0x8000, 0x8fff));
  EXPECT_EQ(l.to_range_set().size(), 1U);  // as a set it is one range
}

// vfio_iommu_iova_dma_valid: whole mapping inside ONE node (15.19), or an
// empty list.
TEST(Type1IovaList, DmaValidNeedsOneNode) {
  Type1IovaList empty;
  EXPECT_TRUE(empty.dma_valid(0, kMax));
  Type1IovaList l(nodes({{0, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  EXPECT_TRUE(l.dma_valid(0, 0xfedfffff));
  EXPECT_FALSE(l.dma_valid(0xfed00000, 0xfeffffff));  // straddles the MSI hole
  EXPECT_FALSE(l.dma_valid(0xfee00000, 0xfee00fff));  // inside it
  EXPECT_FALSE(l.dma_valid(0x7ffffff000, 0x8000000fff));
}

// vfio_iommu_aper_expand's edit: first.start and last.end only.
TEST(Type1IovaList, SetBoundsTouchesOnlyTheEnds) {
  Type1IovaList l(nodes({{0x1000, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  l.set_bounds(0, kMax);
  EXPECT_EQ(l.nodes(), nodes({{0, 0xfedfffff}, {0xfef00000, kMax}}));
  Type1IovaList empty;
  empty.set_bounds(0, kMax);
  EXPECT_TRUE(empty.empty());
}

// vfio_iommu_has_sw_msi (15.9): any hardware MSI cancels the cookie; else
// the LAST SW_MSI region's start.
TEST(Type1IovaList, SwMsiBasePrecedence) {
  const auto sw1 = region(0x8000000, 0x80fffff, ResvType::kSwMsi);
  const auto sw2 = region(0x9000000, 0x90fffff, ResvType::kSwMsi);
  EXPECT_EQ(sw_msi_base(std::vector{sw1, sw2}), std::optional<std::uint64_t>(0x9000000));
  EXPECT_EQ(sw_msi_base(std::vector{sw1, testing::msi_region()}), std::nullopt);
  EXPECT_EQ(sw_msi_base(std::vector{testing::msi_region(), sw1}), std::nullopt);
  EXPECT_EQ(sw_msi_base(std::vector<iova::ResvRegion>{}), std::nullopt);
}

}  // namespace
}  // namespace iovakit::kernel
