#include "iovakit/kernel/kernel_profile.h"

#include <gtest/gtest.h>

namespace iovakit::kernel {
namespace {

TEST(KernelVersion, ParsesTheFormsUsersPaste) {
  struct Case {
    const char* text;
    KernelVersion want;
  };
  const Case cases[] = {
      {"6.1", {6, 1, 0}},
      {"6.1.0-18-amd64", {6, 1, 0}},
      {"6.1.119", {6, 1, 119}},
      {"6.12.12+bpo-amd64", {6, 12, 12}},
      {"Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP",
       {6, 1, 0}},
      {"4.18.0-553.el8_10.x86_64", {4, 18, 0}},
      {"7.0", {7, 0, 0}},
  };
  for (const auto& c : cases) {
    auto got = KernelVersion::parse(c.text);
    ASSERT_TRUE(got.ok()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
  for (const char* bad : {"", "six", "6", "6.", ".1", "Linux version", "99999999999.1"}) {
    EXPECT_FALSE(KernelVersion::parse(bad).ok()) << bad;
  }
}

// Each mainline boundary the model relies on, checked on both sides.
TEST(KernelProfile, MainlineBoundaries) {
  auto at = [](unsigned major, unsigned minor) { return profile_for_version({major, minor, 0}).features; };
  EXPECT_EQ(at(5, 2).resv_merge, iova::ResvMergeAlgorithm::kRecursiveOverlap);
  EXPECT_EQ(at(5, 3).resv_merge, iova::ResvMergeAlgorithm::kSortedStack);
  EXPECT_FALSE(at(5, 2).intel_relaxable_rmrr);
  EXPECT_TRUE(at(5, 3).intel_relaxable_rmrr);
  EXPECT_FALSE(at(5, 3).type1_iova_list);
  EXPECT_TRUE(at(5, 4).type1_iova_list);
  EXPECT_FALSE(at(6, 1).iommufd);
  EXPECT_TRUE(at(6, 2).iommufd);
  EXPECT_FALSE(at(6, 3).resv_sysfs_emit);
  EXPECT_TRUE(at(6, 4).resv_sysfs_emit);
  EXPECT_TRUE(at(6, 5).intel_rmrr_attach_refused);
  EXPECT_FALSE(at(6, 5).core_require_direct);
  EXPECT_FALSE(at(6, 6).intel_rmrr_attach_refused);
  EXPECT_TRUE(at(6, 6).core_require_direct);
  EXPECT_FALSE(at(6, 5).type1_caps_aligned);
  EXPECT_TRUE(at(6, 6).type1_caps_aligned);
  EXPECT_TRUE(at(6, 12).type1_nesting);
  EXPECT_FALSE(at(6, 13).type1_nesting);
  EXPECT_FALSE(at(5, 0).type1_dma_entry_limit);
  EXPECT_TRUE(at(5, 1).type1_dma_entry_limit);
  EXPECT_FALSE(at(5, 11).type1_vaddr_unmap_all);
  EXPECT_TRUE(at(5, 12).type1_vaddr_unmap_all);
  EXPECT_FALSE(at(6, 18).type1_inclusive_end);
  EXPECT_TRUE(at(6, 19).type1_inclusive_end);
}

TEST(KernelProfile, PresetsAreOrderedAndNamed) {
  const auto& presets = kernel_presets();
  ASSERT_GE(presets.size(), 8U);
  for (std::size_t i = 1; i < presets.size(); ++i) EXPECT_LE(presets[i - 1].version, presets[i].version);
  EXPECT_TRUE(find_preset("6.1").ok());
  EXPECT_FALSE(find_preset("6.2").ok());
}

// The seed report: the usable IOVA list without the relaxable type.
TEST(KernelProfile, SeedReportPresetHasListWithoutRelaxable) {
  auto p = find_preset("4.18+iova-list");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->features.type1_iova_list);
  EXPECT_FALSE(p->features.intel_relaxable_rmrr);
  EXPECT_TRUE(p->features.intel_rmrr_attach_refused);
}

TEST(KernelProfile, ResolveAcceptsPresetsAndVersions) {
  EXPECT_EQ(resolve_profile("6.1")->features.intel_rmrr_attach_refused, true);
  EXPECT_EQ(resolve_profile("6.8")->name, "6.8");
  EXPECT_FALSE(resolve_profile("4.10").ok());
  EXPECT_FALSE(resolve_profile("banana").ok());
}

TEST(KernelProfile, OverridesFlipOneFlagAndRenameTheProfile) {
  KernelProfile p = *find_preset("5.4");
  ASSERT_TRUE(apply_override(p, "intel_relaxable_rmrr=0").ok());
  EXPECT_FALSE(p.features.intel_relaxable_rmrr);
  EXPECT_TRUE(p.features.type1_iova_list);
  EXPECT_EQ(p.name, "5.4+custom");
  ASSERT_TRUE(apply_override(p, "resv_merge=recursive-overlap").ok());
  EXPECT_EQ(p.features.resv_merge, iova::ResvMergeAlgorithm::kRecursiveOverlap);
  EXPECT_EQ(p.name, "5.4+custom");

  auto unknown = apply_override(p, "relax_rmrr=1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("intel_relaxable_rmrr"), std::string::npos);
  EXPECT_FALSE(apply_override(p, "iommufd=maybe").ok());
  EXPECT_FALSE(apply_override(p, "iommufd").ok());
  EXPECT_FALSE(apply_override(p, "intel_aperture=wide").ok());
}

TEST(KernelProfile, DescribeListsEveryFlag) {
  const auto flags = describe_features(find_preset("6.1")->features);
  EXPECT_EQ(flags.size(), 22U);
  EXPECT_EQ(flags[0], (std::pair<std::string, std::string>{"resv_merge", "sorted-stack"}));
}

}  // namespace
}  // namespace iovakit::kernel
