// The synthetic hosts of fixtures.h are laid out by hand; their groups must
// still be what the kernel's grouping rules give for the config space they
// carry (ACS capabilities, multifunction bits, the Intel PCH quirk's RCBA,
// the IVHD's device entries). The kernel model checks that: predicted from
// firmware and topology, every fixture agrees with its own iommu_groups.
// A fixture that fails here has a layout no kernel would print, and the
// tests built on it would test the wrong thing.
#include <gtest/gtest.h>

#include <string>

#include "host/support/fixtures.h"
#include "host/support/host_test_util.h"
#include "iovakit/check/host_comparison.h"
#include "iovakit/kernel/host_platform.h"

namespace iovakit::host {
namespace {

struct PredictionCase {
  const char* name;
  testing::SysfsFixture (*make)();
  std::size_t modelled;  // groups with a PCI member (the model predicts those)
};

void PrintTo(const PredictionCase& c, std::ostream* os) { *os << c.name; }

class FixturePrediction : public ::testing::TestWithParam<PredictionCase> {};

TEST_P(FixturePrediction, GroupsAreWhatTheKernelModelPredicts) {
  const PredictionCase& c = GetParam();
  const Host h = testing::build(c.make().build());
  auto platform = kernel::platform_from_host(h, nullptr);
  ASSERT_TRUE(platform.ok()) << platform.error().to_string();
  auto p = kernel::predict_platform(platform->input, platform->profile);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  const check::HostComparison cmp = check::compare_prediction(h, *p);
  std::size_t modelled = 0;
  for (const auto& g : cmp.groups) {
    SCOPED_TRACE("group " + std::to_string(g.number));
    if (!g.modelled) continue;
    ++modelled;
    EXPECT_TRUE(g.devices_match()) << "reported " << ::testing::PrintToString(g.reported_devices) << ", predicted "
                                   << ::testing::PrintToString(g.predicted_devices);
    EXPECT_TRUE(g.regions_match()) << "reported\n" << g.reported_regions << "predicted\n" << g.predicted_regions;
  }
  EXPECT_EQ(cmp.differences(), 0U);
  EXPECT_EQ(modelled, c.modelled);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixturePrediction,
                         ::testing::Values(PredictionCase{"intel_laptop", testing::intel_laptop, 6},
                                           PredictionCase{"server_nic_rmrr", testing::server_nic_rmrr, 8},
                                           PredictionCase{"amd_ivmd", testing::amd_ivmd, 4},
                                           PredictionCase{"arm_iort_rmr", testing::arm_iort_rmr, 2},
                                           PredictionCase{"pcie_to_pci", testing::pcie_to_pci, 9},
                                           PredictionCase{"lg_gram_example", testing::lg_gram_example, 11}),
                         [](const ::testing::TestParamInfo<PredictionCase>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace iovakit::host
