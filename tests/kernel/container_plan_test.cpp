// plan_container: the usable list of a container holding some devices'
// groups, and the cause of each hole (the question of `iovakit ranges`).
#include "iovakit/kernel/container_plan.h"

#include <gtest/gtest.h>

#include "kernel/platform_test_support.h"
#include "pci/support/machines.h"

namespace iovakit::kernel {
namespace {

std::size_t at(const pci::Topology& t, std::string_view bdf) { return t.find(pci::Bdf::parse(bdf).value()).value(); }

TEST(ContainerPlan, SeedReportProfilePunchesRmrrHoles) {
  // IGD and xHCI of the ASUS Q325UAR in one VM. With the usable list
  // backported without the relaxable type (4.18+iova-list), their RMRRs are
  // plain direct regions and become holes; from 5.3 they are relaxable:
  // usable, listed as lost identity maps.
  const pci::Topology t = pci::testing::build(pci::testing::intel_laptop(false));
  const acpi::Dmar dmar = testing::corpus_dmar("asustek-computer_q325uar_7E4A9E65FDE9.dat");
  PlatformInput in;
  in.topology = &t;
  in.dmar = &dmar;
  const std::vector<std::size_t> devices = {at(t, "0000:00:02.0"), at(t, "0000:00:14.0")};

  const ContainerPlan seed = plan_container(testing::predict(in, "4.18+iova-list"), t, devices);
  ASSERT_TRUE(seed.attached);
  EXPECT_TRUE(seed.enforced);
  EXPECT_EQ(seed.usable,
            (iova::RangeSet{
                {0, 0x98e6ffff}, {0x98e90000, 0x9b7fffff}, {0xa0000000, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  ASSERT_EQ(seed.holes.size(), 4U);
  EXPECT_EQ(seed.holes[0].range, iova::Range(0x98e70000, 0x98e8ffff));
  ASSERT_EQ(seed.holes[0].causes.size(), 1U);
  EXPECT_NE(seed.holes[0].causes[0].text.find("RMRR #0"), std::string::npos) << seed.holes[0].causes[0].text;
  EXPECT_NE(seed.holes[0].causes[0].text.find("0000:00:14.0"), std::string::npos);
  EXPECT_EQ(seed.holes[3].range, iova::Range(0x8000000000, ~0ULL));
  EXPECT_EQ(seed.holes[3].causes.front().kind, HoleCause::Kind::kAperture);

  const ContainerPlan v61 = plan_container(testing::predict(in, "6.1"), t, devices);
  EXPECT_EQ(v61.usable, (iova::RangeSet{{0, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  EXPECT_EQ(v61.relaxable.size(), 2U);

  // 4.18 without the list: nothing is enforced, the plan still says where
  // maps would hurt.
  const ContainerPlan v418 = plan_container(testing::predict(in, "4.18"), t, devices);
  EXPECT_FALSE(v418.enforced);
  EXPECT_EQ(v418.usable, seed.usable);
}

TEST(ContainerPlan, RefusedGroupIsAProblem) {
  const pci::Topology t = pci::testing::build(pci::testing::dl360_g7());
  const acpi::Dmar dmar = testing::corpus_dmar("hewlett-packard_proliant-dl360-g7_60DCEE46526A.dat");
  PlatformInput in;
  in.topology = &t;
  in.dmar = &dmar;
  in.assigned = {at(t, "0000:03:00.0")};
  const ContainerPlan plan = plan_container(testing::predict(in, "6.1"), t, {at(t, "0000:03:00.0")});
  EXPECT_FALSE(plan.attached);
  ASSERT_EQ(plan.problems.size(), 1U);
  EXPECT_NE(plan.problems[0].find("EPERM"), std::string::npos) << plan.problems[0];
  EXPECT_NE(plan.problems[0].find("Device is ineligible"), std::string::npos);
}

}  // namespace
}  // namespace iovakit::kernel
