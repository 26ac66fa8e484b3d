// The command-line parameters that change pci_acs_enabled(): the out-of-tree
// pcie_acs_override= (pcie_acs_override_setup), pci=disable_acs_redir=
// (v4.19+) and pci=config_acs= (v6.11+), with pci_dev_str_match()'s device
// forms (drivers/pci/pci.c).
#include "iovakit/kernel/acs_cmdline.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "kernel/iommu_groups_test_support.h"

namespace iovakit::kernel {
namespace {

using pci::PcieType;
using testing::at;
using testing::endpoint;
using testing::port;

TEST(AcsCommandLine, OverrideOptions) {
  struct Case {
    const char* cmdline;
    bool downstream;
    bool multifunction;
    std::vector<PciIdPair> ids;
  };
  const Case cases[] = {
      {"BOOT_IMAGE=/vmlinuz pcie_acs_override=downstream,multifunction quiet", true, true, {}},
      {"pcie_acs_override=downstream", true, false, {}},
      {"pcie_acs_override=id:8086:1c10,id:10de:1b80", false, false, {{0x8086, 0x1c10}, {0x10de, 0x1b80}}},
      // Each occurrence adds to the same state.
      {"pcie_acs_override=downstream pcie_acs_override=id:1022:1483", true, false, {{0x1022, 0x1483}}},
      // Prefix matches, as strncmp does.
      {"pcie_acs_override=downstreamXYZ", true, false, {}},
      // kstrtol on a 5-byte copy: "10,m" is not hex, the id is dropped.
      {"pcie_acs_override=id:8086:10,multifunction", false, true, {}},
  };
  for (const auto& c : cases) {
    const AcsCommandLine cl = parse_acs_command_line(c.cmdline);
    ASSERT_TRUE(cl.acs_override.has_value()) << c.cmdline;
    EXPECT_EQ(cl.acs_override->downstream, c.downstream) << c.cmdline;
    EXPECT_EQ(cl.acs_override->multifunction, c.multifunction) << c.cmdline;
    EXPECT_EQ(cl.acs_override->ids, c.ids) << c.cmdline;
  }
  EXPECT_FALSE(parse_acs_command_line("quiet splash intel_iommu=on").acs_override.has_value());
  // After "--" the arguments belong to init.
  EXPECT_FALSE(parse_acs_command_line("ro -- pcie_acs_override=downstream").acs_override.has_value());
}

// NUM_ACS_IDS is 16, but the patch's ">= NUM_ACS_IDS - 1" keeps 15.
TEST(AcsCommandLine, OverrideKeepsFifteenIds) {
  std::string cmdline = "pcie_acs_override=";
  for (int i = 0; i < 17; ++i) cmdline += fmt::format("{}id:8086:{:04x}", i == 0 ? "" : ",", 0x1000 + i);
  const AcsCommandLine cl = parse_acs_command_line(cmdline);
  ASSERT_TRUE(cl.acs_override.has_value());
  EXPECT_EQ(cl.acs_override->ids.size(), kAcsOverrideMaxIds);
  EXPECT_FALSE(cl.warnings.empty());
}

TEST(AcsCommandLine, DisableAcsRedirForms) {
  const AcsCommandLine cl =
      parse_acs_command_line("pci=realloc,disable_acs_redir=0000:00:01.0;02:00.0/00.0;pci:10b5:8747;pci:0:0:1028:0");
  ASSERT_EQ(cl.disable_acs_redir.size(), 4U) << (cl.warnings.empty() ? "" : cl.warnings.front());
  const auto& path = cl.disable_acs_redir[1];
  EXPECT_EQ(path.form, PciDeviceSelector::Form::kPath);
  EXPECT_EQ(path.bus, 0x02);
  EXPECT_EQ(path.devfns, (std::vector<std::uint8_t>{0x00, 0x00}));
  EXPECT_EQ(cl.disable_acs_redir[2].form, PciDeviceSelector::Form::kIds);
  EXPECT_EQ(cl.disable_acs_redir[2].vendor, 0x10b5);
  EXPECT_EQ(cl.disable_acs_redir[3].subsystem_vendor, 0x1028);
  // A later pci=disable_acs_redir= replaces the earlier one.
  EXPECT_EQ(parse_acs_command_line("pci=disable_acs_redir=00:01.0 pci=disable_acs_redir=00:02.0;00:03.0")
                .disable_acs_redir.size(),
            2U);
  // The first entry that does not parse ends the list.
  const AcsCommandLine bad = parse_acs_command_line("pci=disable_acs_redir=00:01.0;zz:1;00:02.0");
  EXPECT_EQ(bad.disable_acs_redir.size(), 1U);
  EXPECT_FALSE(bad.warnings.empty());
}

TEST(AcsCommandLine, ConfigAcsMasks) {
  const AcsCommandLine cl = parse_acs_command_line("pci=config_acs=1111011@0020:02:00.0;101xxxx@0039:00:00.0");
  ASSERT_EQ(cl.config_acs.size(), 2U);
  EXPECT_EQ(cl.config_acs[0].mask, 0x7f);
  EXPECT_EQ(cl.config_acs[0].flags, 0x7b);
  EXPECT_EQ(cl.config_acs[0].device.segment, 0x20U);
  EXPECT_EQ(cl.config_acs[1].mask, 0x70);
  EXPECT_EQ(cl.config_acs[1].flags, 0x50);
  // Bits above DT are refused; an entry without '@' has no flags.
  EXPECT_TRUE(parse_acs_command_line("pci=config_acs=10000000@00:01.0").config_acs.empty());
  EXPECT_TRUE(parse_acs_command_line("pci=config_acs=00:01.0").config_acs.empty());
}

// pci_dev_str_match_path: the last hop is the device, earlier hops its
// upstream bridges, the first also names segment and bus.
TEST(AcsCommandLine, SelectorMatching) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:01.0", port(0x8086, 0x1901, PcieType::kRootPort, 0, 1, 3, testing::kAcsOn)),
      testing::record("0000:01:00.0", port(0x10b5, 0x8747, PcieType::kUpstreamPort, 1, 2, 3, std::nullopt)),
      testing::record("0000:02:08.0", port(0x10b5, 0x8747, PcieType::kDownstreamPort, 2, 3, 3, testing::kAcsOn)),
      testing::record("0000:03:00.0", endpoint(0x144d, 0xa808, 0x010802)),
  });
  const auto sel = [](std::string_view text) {
    return parse_acs_command_line(std::string("pci=disable_acs_redir=") + std::string(text)).disable_acs_redir.at(0);
  };
  EXPECT_EQ(selector_matches(sel("02:08.0"), t, at(t, "02:08.0")), true);
  EXPECT_EQ(selector_matches(sel("0000:00:01.0/00.0/08.0"), t, at(t, "02:08.0")), true);
  EXPECT_EQ(selector_matches(sel("00:01.0/00.0/09.0"), t, at(t, "02:08.0")), false);
  EXPECT_EQ(selector_matches(sel("00:02.0/00.0/08.0"), t, at(t, "02:08.0")), false);
  EXPECT_EQ(selector_matches(sel("pci:10b5:0"), t, at(t, "02:08.0")), true);
  EXPECT_EQ(selector_matches(sel("pci:10b5:8748"), t, at(t, "02:08.0")), false);
  EXPECT_EQ(selector_matches(sel("0001:02:08.0"), t, at(t, "02:08.0")), false);
}

}  // namespace
}  // namespace iovakit::kernel
