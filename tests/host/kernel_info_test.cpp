// The kernel command line as the kernel splits it (lib/cmdline.c next_arg,
// kernel/params.c parameq) and the IOMMU options decoded from it.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "iovakit/host/kernel_info.h"

namespace iovakit::host {
namespace {

struct CmdlineCase {
  std::string line;
  std::function<void(const KernelCommandLine&)> check;
};

TEST(KernelCommandLine, Table) {
  const std::vector<CmdlineCase> cases = {
      {"BOOT_IMAGE=/vmlinuz ro quiet intel_iommu=on\n",
       [](const KernelCommandLine& c) {
         EXPECT_EQ(c.iommu.intel_iommu_on, true);
         EXPECT_EQ(c.params.size(), 4U);
         EXPECT_EQ(c.raw.back(), 'n');  // newline removed
       }},
      {"intel_iommu=on,igfx_off,sm_on intel_iommu=off",  // the last on/off wins
       [](const KernelCommandLine& c) {
         EXPECT_EQ(c.iommu.intel_iommu_on, false);
         EXPECT_TRUE(c.iommu.intel_igfx_off);
         EXPECT_TRUE(c.iommu.intel_sm_on);
       }},
      {"intel_iommu=on,relax_rmrr,bogus",
       [](const KernelCommandLine& c) {
         EXPECT_TRUE(c.iommu.intel_relax_rmrr);
         EXPECT_EQ(c.iommu.intel_unknown, std::vector<std::string>{"bogus"});
       }},
      {"amd_iommu=off iommu=pt",
       [](const KernelCommandLine& c) {
         EXPECT_TRUE(c.iommu.amd_off);
         EXPECT_EQ(c.iommu.iommu_pt, true);
       }},
      {"amd_iommu=on",  // not a Linux option: kept as unknown
       [](const KernelCommandLine& c) { EXPECT_EQ(c.iommu.amd_unknown, std::vector<std::string>{"on"}); }},
      {"iommu=pt iommu=nopt iommu.passthrough=0 iommu.strict=y",
       [](const KernelCommandLine& c) {
         EXPECT_EQ(c.iommu.iommu_pt, false);
         EXPECT_EQ(c.iommu.passthrough, false);
         EXPECT_EQ(c.iommu.strict, true);
       }},
      {"vfio-pci.ids=10de:1b80,10de:10f0 vfio_iommu_type1.allow_unsafe_interrupts",
       [](const KernelCommandLine& c) {
         EXPECT_EQ(c.iommu.vfio_pci_ids, (std::vector<std::string>{"10de:1b80", "10de:10f0"}));
         EXPECT_EQ(c.iommu.allow_unsafe_interrupts, true);
         EXPECT_TRUE(c.find("vfio_pci.ids").has_value());
       }},
      {"pcie_acs_override=downstream,multifunction vfio_iommu_type1.dma_entry_limit=131072",
       [](const KernelCommandLine& c) {
         EXPECT_EQ(c.iommu.pcie_acs_override, "downstream,multifunction");
         EXPECT_EQ(c.iommu.dma_entry_limit, 131072U);
       }},
      {"root=/dev/sda1 acpi_osi=\"Windows 2015\" -- intel_iommu=on single",
       [](const KernelCommandLine& c) {
         EXPECT_FALSE(c.iommu.intel_iommu_on.has_value());  // after "--": init's
         EXPECT_EQ(c.init_args, (std::vector<std::string>{"intel_iommu=on", "single"}));
         ASSERT_EQ(c.params.size(), 2U);
         EXPECT_EQ(c.params[1].value, "Windows 2015");
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    c.check(parse_kernel_command_line(c.line));
  }
}

TEST(KernelInfo, ReleaseFromVersionText) {
  EXPECT_EQ(release_from_version_text("Linux version 6.1.0-18-amd64 (debian-kernel@...) #1 SMP"), "6.1.0-18-amd64");
  EXPECT_EQ(release_from_version_text("garbage"), "");
}

TEST(KernelInfo, KstrtoboolSpellings) {
  for (const char* yes : {"y", "Y", "1", "on", "ON"}) EXPECT_EQ(parse_kernel_bool(yes), true) << yes;
  for (const char* no : {"n", "N", "0", "off", "OFF"}) EXPECT_EQ(parse_kernel_bool(no), false) << no;
  for (const char* neither : {"", "o", "maybe"}) EXPECT_FALSE(parse_kernel_bool(neither).has_value()) << neither;
}

}  // namespace
}  // namespace iovakit::host
