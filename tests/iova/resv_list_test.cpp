// ResvList::insert against iommu_insert_resv_region (drivers/iommu/iommu.c).
#include "iovakit/iova/resv_region.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "iovakit/iova/range_set.h"
#include "support/rng.h"

namespace iovakit::iova {
namespace {

ResvRegion region(std::uint64_t first, std::uint64_t last, ResvType type) {
  return ResvRegion::from_range(Range(first, last), type);
}

std::string merged_sysfs(const std::vector<ResvRegion>& in,
                         ResvMergeAlgorithm algorithm = ResvMergeAlgorithm::kSortedStack) {
  ResvList list(algorithm);
  list.insert_all(in);
  return list.to_sysfs();
}

// The declarative form of the v5.3+ algorithm (linux-iommu-semantics.md 3.2):
// per type, the union of its intervals with touching ones merged; all of them
// sorted by (start, type). Exact whenever no region reaches 2^64 - 1.
std::string declarative_model(const std::vector<ResvRegion>& in) {
  std::map<ResvType, RangeSet> by_type;
  for (const auto& r : in) by_type[r.type].insert(*r.range());
  std::vector<ResvRegion> out;
  for (const auto& [type, set] : by_type) {
    for (const Range& rg : set) out.push_back(ResvRegion::from_range(rg, type));
  }
  std::stable_sort(out.begin(), out.end(), [](const ResvRegion& a, const ResvRegion& b) {
    return a.start != b.start ? a.start < b.start : a.type < b.type;
  });
  std::string text;
  for (const auto& r : out) text += r.sysfs_line();
  return text;
}

// linux-iommu-semantics.md section 4, a QEMU q35 LPC/SATA/SMBus group: the
// three devices each contribute the IOAPIC msi window, the ISA bridge also the
// 0-16 MiB floppy workaround.
TEST(ResvList, Q35LpcGroupPrintsTwoLines) {
  const ResvRegion msi = region(0xfee00000, 0xfeefffff, ResvType::kMsi);
  const ResvRegion isa = region(0, 0xffffff, ResvType::kDirectRelaxable);
  ResvList list;
  list.insert_all({isa, msi});  // 00:1f.0, intel_iommu_get_resv_regions order
  list.insert_all({msi});       // 00:1f.2
  list.insert_all({msi});       // 00:1f.3
  EXPECT_EQ(list.to_sysfs(),
            "0x0000000000000000 0x0000000000ffffff direct-relaxable\n"
            "0x00000000fee00000 0x00000000feefffff msi\n");
}

// One RMRR reaches two devices of a group, one relaxable (USB) and one not:
// the same range is listed once per type.
TEST(ResvList, SameRangeWithTwoTypesPrintsBoth) {
  const auto direct = region(0xfed1c000, 0xfed1ffff, ResvType::kDirect);
  const auto relaxable = region(0xfed1c000, 0xfed1ffff, ResvType::kDirectRelaxable);
  const std::string expected =
      "0x00000000fed1c000 0x00000000fed1ffff direct\n"
      "0x00000000fed1c000 0x00000000fed1ffff direct-relaxable\n";
  EXPECT_EQ(merged_sysfs({direct, relaxable}), expected);
  EXPECT_EQ(merged_sysfs({relaxable, direct}), expected);
}

TEST(ResvList, AdjacentSameTypeRegionsMerge) {
  EXPECT_EQ(merged_sysfs({region(0x2000, 0x2fff, ResvType::kDirect), region(0x1000, 0x1fff, ResvType::kDirect)}),
            "0x0000000000001000 0x0000000000002fff direct\n");
}

TEST(ResvList, AdjacentRegionsOfDifferentTypesStaySeparate) {
  EXPECT_EQ(merged_sysfs({region(0x1000, 0x1fff, ResvType::kDirect), region(0x2000, 0x2fff, ResvType::kReserved)}),
            "0x0000000000001000 0x0000000000001fff direct\n"
            "0x0000000000002000 0x0000000000002fff reserved\n");
}

TEST(ResvList, DifferentTypesOverlapWithoutClipping) {
  // An msi window inside a direct region: neither is split or trimmed.
  EXPECT_EQ(
      merged_sysfs({region(0xfe000000, 0xffffffff, ResvType::kDirect), region(0xfee00000, 0xfeefffff, ResvType::kMsi)}),
      "0x00000000fe000000 0x00000000ffffffff direct\n"
      "0x00000000fee00000 0x00000000feefffff msi\n");
}

TEST(ResvList, EqualStartsAreOrderedByNumericType) {
  const std::vector<ResvRegion> in = {region(0x1000, 0x1fff, ResvType::kSwMsi), region(0x1000, 0x1fff, ResvType::kMsi),
                                      region(0x1000, 0x1fff, ResvType::kReserved),
                                      region(0x1000, 0x1fff, ResvType::kDirectRelaxable),
                                      region(0x1000, 0x1fff, ResvType::kDirect)};
  ResvList list;
  list.insert_all(in);
  ASSERT_EQ(list.size(), 5U);
  for (std::size_t i = 0; i < list.size(); ++i) EXPECT_EQ(static_cast<std::size_t>(list[i].type), i);
  // sw-msi prints as "msi": the last two lines read the same.
  EXPECT_EQ(list[3].sysfs_line(), list[4].sysfs_line());
}

TEST(ResvList, AnotherTypeBetweenTwoSameTypeRegionsDoesNotStopTheMerge) {
  EXPECT_EQ(merged_sysfs({region(0x1000, 0x2fff, ResvType::kDirect), region(0x2000, 0x2fff, ResvType::kMsi),
                          region(0x3000, 0x3fff, ResvType::kDirect)}),
            "0x0000000000001000 0x0000000000003fff direct\n"
            "0x0000000000002000 0x0000000000002fff msi\n");
}

// A region that ends at 2^64 - 1 makes top_end + 1 wrap to 0, so a later
// same-type region that starts after it is not absorbed (section 3.2).
TEST(ResvList, RegionEndingAtTheTopDoesNotAbsorbLaterOnes) {
  const auto top = region(kU64Max - 0xfff, kU64Max, ResvType::kReserved);
  const auto inner = region(kU64Max - 0x7ff, kU64Max - 0x400, ResvType::kReserved);
  const std::string expected =
      "0xfffffffffffff000 0xffffffffffffffff reserved\n"
      "0xfffffffffffff800 0xfffffffffffffbff reserved\n";
  EXPECT_EQ(merged_sysfs({top, inner}), expected);
  EXPECT_EQ(merged_sysfs({inner, top}), expected);
  // The declarative model would have merged them: this is the one deviation.
  EXPECT_NE(declarative_model({top, inner}), expected);
}

TEST(ResvList, MergeSpanningTheWholeSpaceStoresLengthZero) {
  ResvList list;
  list.insert(region(0, kU64Max - 1, ResvType::kReserved));
  list.insert(region(kU64Max, kU64Max, ResvType::kReserved));
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].length, 0U);
  EXPECT_EQ(list[0].range(), Range::full());
  EXPECT_EQ(list.to_sysfs(), "0x0000000000000000 0xffffffffffffffff reserved\n");
}

TEST(ResvList, ZeroLengthRegionPrintsEndBelowStart) {
  ResvList list;
  list.insert(ResvRegion{0x1000, 0, ResvType::kReserved, 0});
  EXPECT_EQ(list.to_sysfs(), "0x0000000000001000 0x0000000000000fff reserved\n");
  EXPECT_EQ(list[0].range(), std::nullopt);
}

TEST(ResvList, SurvivingProtIsTheEarlierEntrys) {
  ResvList list;
  list.insert(ResvRegion{0x1000, 0x1000, ResvType::kDirect, prot::kRead});
  list.insert(ResvRegion{0x1800, 0x1000, ResvType::kDirect, prot::kRead | prot::kWrite});
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].prot, prot::kRead);
  // Equal start and type: the new copy goes first and survives.
  list.insert(ResvRegion{0x1000, 0x10, ResvType::kDirect, prot::kWrite});
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].prot, prot::kWrite);
  EXPECT_EQ(list[0].last(), 0x27ffU);
}

// Random lists: the result equals the declarative model, and any permutation
// of the insertions gives the same list.
TEST(ResvList, MatchesTheDeclarativeModelInAnyInsertionOrder) {
  testing::SplitMix64 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::vector<ResvRegion> in;
    const std::uint64_t n = 1 + rng.below(10);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t first = rng.below(64) * 0x1000;
      const std::uint64_t pages = 1 + rng.below(8);
      in.push_back(region(first, first + pages * 0x1000 - 1, static_cast<ResvType>(rng.below(kResvTypeCount))));
    }
    const std::string expected = declarative_model(in);
    ASSERT_EQ(merged_sysfs(in), expected);
    for (int shuffle = 0; shuffle < 3; ++shuffle) {
      for (std::size_t i = in.size(); i > 1; --i) std::swap(in[i - 1], in[rng.below(i)]);
      ASSERT_EQ(merged_sysfs(in), expected);
    }
  }
}

// Linux 4.11 - 5.2 (bc7d12b91bd3): only overlapping same-type regions merge.
TEST(ResvListLegacy, AdjacentSameTypeRegionsStaySeparate) {
  EXPECT_EQ(merged_sysfs({region(0x2000, 0x2fff, ResvType::kDirect), region(0x1000, 0x1fff, ResvType::kDirect)},
                         ResvMergeAlgorithm::kRecursiveOverlap),
            "0x0000000000001000 0x0000000000001fff direct\n"
            "0x0000000000002000 0x0000000000002fff direct\n");
}

TEST(ResvListLegacy, OverlappingSameTypeRegionsMerge) {
  EXPECT_EQ(merged_sysfs({region(0x1000, 0x2fff, ResvType::kDirect), region(0x2000, 0x4fff, ResvType::kDirect),
                          region(0x0, 0x1fff, ResvType::kDirect)},
                         ResvMergeAlgorithm::kRecursiveOverlap),
            "0x0000000000000000 0x0000000000004fff direct\n");
}

TEST(ResvListLegacy, DuplicateIsDropped) {
  const auto msi = region(0xfee00000, 0xfeefffff, ResvType::kMsi);
  EXPECT_EQ(merged_sysfs({msi, msi, msi}, ResvMergeAlgorithm::kRecursiveOverlap),
            "0x00000000fee00000 0x00000000feefffff msi\n");
}

TEST(ResvListLegacy, NewRegionGoesAfterOverlappingRegionsOfOtherTypes) {
  // The old walk only stops at an entry that starts after the new region's
  // end, so a region of another type that starts later but overlaps stays first.
  EXPECT_EQ(merged_sysfs({region(0x2000, 0x2fff, ResvType::kMsi), region(0x1000, 0x2fff, ResvType::kDirect)},
                         ResvMergeAlgorithm::kRecursiveOverlap),
            "0x0000000000002000 0x0000000000002fff msi\n"
            "0x0000000000001000 0x0000000000002fff direct\n");
}

TEST(ResvList, SysfsEmitLimitCutsAt4095Bytes) {
  ResvList list;
  for (std::uint64_t i = 0; i < 100; ++i) list.insert(region(i * 0x2000, i * 0x2000 + 0xfff, ResvType::kReserved));
  EXPECT_EQ(list.to_sysfs().size(), 100U * 47U);
  const std::string cut = list.to_sysfs(ResvList::kSysfsEmitLimit);
  EXPECT_EQ(cut.size(), 4095U);
  EXPECT_EQ(cut, list.to_sysfs().substr(0, 4095));
}

TEST(ResvType, NamesAndParsing) {
  EXPECT_EQ(sysfs_name(ResvType::kSwMsi), "msi");
  EXPECT_EQ(type_name(ResvType::kSwMsi), "sw-msi");
  EXPECT_EQ(parse_resv_type("direct-relaxable"), ResvType::kDirectRelaxable);
  EXPECT_EQ(parse_resv_type("msi"), ResvType::kMsi);
  EXPECT_EQ(parse_resv_type("sw-msi"), ResvType::kSwMsi);
  EXPECT_EQ(parse_resv_type("Direct"), std::nullopt);
}

}  // namespace
}  // namespace iovakit::iova
