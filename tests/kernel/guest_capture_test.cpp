// The kernel model against real kernels, without booting one: each
// tests/data/guests/<scenario>-<kernel> is a sysfs capture from a Debian
// guest of the oracle. The prediction uses only what the machine is (PCI
// config, DMAR, cap/ecap, kernel version); the kernel's own
// /sys/kernel/iommu_groups must then match it: the same groups with the
// same members, types, and reserved_regions byte for byte.
#include <gtest/gtest.h>

#include <filesystem>

#include "iovakit/check/host_comparison.h"
#include "iovakit/host/file_source.h"
#include "iovakit/host/host.h"
#include "iovakit/kernel/host_platform.h"

namespace iovakit::kernel {
namespace {

std::vector<std::filesystem::path> captures() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(IOVAKIT_TEST_DATA_DIR) / "guests")) {
    if (e.is_directory()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GuestCaptures, PredictionEqualsWhatTheKernelReported) {
  const auto dirs = captures();
  ASSERT_GE(dirs.size(), 6U);
  for (const auto& dir : dirs) {
    SCOPED_TRACE(dir.filename().string());
    auto source = host::open_root(dir.string());
    ASSERT_TRUE(source.ok()) << source.error().to_string();
    auto h = host::build_host(**source);
    ASSERT_TRUE(h.ok()) << h.error().to_string();
    auto platform = platform_from_host(*h, nullptr);
    ASSERT_TRUE(platform.ok()) << platform.error().to_string();
    auto p = predict_platform(platform->input, platform->profile);
    ASSERT_TRUE(p.ok()) << p.error().to_string();

    ASSERT_EQ(p->group_models.size(), h->groups.size());
    for (std::size_t i = 0; i < h->groups.size(); ++i) {
      const host::IommuGroup& reported = h->groups[i];
      const GroupModel& predicted = p->group_models[i];
      SCOPED_TRACE("group " + std::to_string(reported.number));
      EXPECT_EQ(predicted.id, reported.number);
      std::vector<std::string> want;
      for (const auto& m : reported.members) want.push_back(m.name);
      std::vector<std::string> got;
      for (std::size_t d : predicted.members) got.push_back(h->topology->bdf(d).to_string());
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want);
      EXPECT_EQ(predicted.sysfs, reported.reserved_regions);
      EXPECT_EQ(predicted.domain_type, reported.type.value_or(""));
    }
  }
}

}  // namespace
}  // namespace iovakit::kernel

namespace iovakit::check {
namespace {

// compare_prediction pairs groups by membership and counts a difference only
// where the kernel and the model disagree.
TEST(HostComparison, AgreesOnACaptureAndFlagsAnEditedFile) {
  const auto dir = std::filesystem::path(IOVAKIT_TEST_DATA_DIR) / "guests" / "rmrr-endpoint-locked-6.12";
  auto source = host::open_root(dir.string());
  ASSERT_TRUE(source.ok());
  auto h = host::build_host(**source);
  ASSERT_TRUE(h.ok());
  auto platform = kernel::platform_from_host(*h, nullptr);
  ASSERT_TRUE(platform.ok());
  auto p = kernel::predict_platform(platform->input, platform->profile);
  ASSERT_TRUE(p.ok());
  HostComparison same = compare_prediction(*h, *p);
  EXPECT_EQ(same.differences(), 0U);
  ASSERT_EQ(same.groups.size(), 3U);
  EXPECT_EQ(same.groups[1].claim, "EINVAL (__iommu_device_set_domain)");

  h->groups[1].reserved_regions = "0x00000000fee00000 0x00000000feefffff msi\n";  // the RMRR line gone
  const HostComparison edited = compare_prediction(*h, *p);
  EXPECT_EQ(edited.differences(), 1U);
  EXPECT_FALSE(edited.groups[1].regions_match());
  EXPECT_TRUE(edited.groups[1].devices_match());
}

}  // namespace
}  // namespace iovakit::check
