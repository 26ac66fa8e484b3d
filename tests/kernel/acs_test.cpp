// pci_acs_enabled / pci_acs_path_enabled (drivers/pci/pci.c) and the
// pci_dev_acs_enabled[] quirks (drivers/pci/quirks.c), 6.1.y through 6.18.y.
#include "iovakit/kernel/acs.h"

#include <gtest/gtest.h>

#include <functional>

#include "iovakit/kernel/acs_quirks.h"
#include "kernel/iommu_groups_test_support.h"

namespace iovakit::kernel {
namespace {

using pci::PcieType;
using testing::at;
using testing::endpoint;
using testing::kAcsOff;
using testing::kAcsOn;
using testing::port;

struct RuleCase {
  const char* what;
  std::function<std::vector<pci::DeviceRecord>()> machine;
  const char* device;
  Tristate want;
  AcsRule rule;
};

// pci_acs_enabled(pdev, REQ_ACS_FLAGS): the type rules after the quirks.
TEST(AcsEnabled, TypeRules) {
  const auto rp = [](std::optional<testing::Acs> acs) {
    return [acs] {
      return std::vector<pci::DeviceRecord>{
          testing::record("0000:00:1c.0", port(0x1b36, 0x000c, PcieType::kRootPort, 0, 1, 1, acs))};
    };
  };
  const auto single = [](const pci::testing::ConfigBuilder& b) {
    return [b] { return std::vector<pci::DeviceRecord>{testing::record("0000:00:03.0", b)}; };
  };
  const RuleCase cases[] = {
      {"conventional PCI never isolates", single(testing::conventional(0x8086, 0x2922, 0x010601)), "00:03.0",
       Tristate::kNo, AcsRule::kConventional},
      {"PCIe-to-PCI bridge is never isolating",
       single(port(0x104c, 0x8240, PcieType::kPcieToPciBridge, 0, 1, 1, kAcsOn)), "00:03.0", Tristate::kNo,
       AcsRule::kNeverIsolating},
      {"PCI-to-PCIe bridge is never isolating",
       single(port(0x104c, 0x8241, PcieType::kPciToPcieBridge, 0, 1, 1, kAcsOn)), "00:03.0", Tristate::kNo,
       AcsRule::kNeverIsolating},
      {"RC event collector", single(endpoint(0x1b36, 0x0099, 0x080700, false, kAcsOn, PcieType::kRcEventCollector)),
       "00:03.0", Tristate::kNo, AcsRule::kNeverIsolating},
      {"root port with SV RR CR UF enabled", rp(kAcsOn), "00:1c.0", Tristate::kYes, AcsRule::kPortControl},
      {"root port with ACS present but disabled", rp(kAcsOff), "00:1c.0", Tristate::kNo, AcsRule::kPortControl},
      {"root port without ACS capability", rp(std::nullopt), "00:1c.0", Tristate::kNo, AcsRule::kPortControl},
      {"root port implementing only SV RR CR: UF counts as hard-wired", rp(testing::Acs{0x000d, 0x000d}), "00:1c.0",
       Tristate::kYes, AcsRule::kPortControl},
      {"single-function endpoint needs no ACS", single(endpoint(0x144d, 0xa808, 0x010802)), "00:03.0", Tristate::kYes,
       AcsRule::kSingleFunction},
      {"multifunction endpoint without ACS", single(endpoint(0x10de, 0x1b80, 0x030000, true)), "00:03.0", Tristate::kNo,
       AcsRule::kMultifunctionControl},
      {"multifunction endpoint with ACS enabled", single(endpoint(0x10de, 0x1b80, 0x030000, true, kAcsOn)), "00:03.0",
       Tristate::kYes, AcsRule::kMultifunctionControl},
      {"single-function upstream port", single(port(0x10b5, 0x8747, PcieType::kUpstreamPort, 0, 1, 2, std::nullopt)),
       "00:03.0", Tristate::kYes, AcsRule::kSingleFunction},
      {"64-byte config: PCIe or not is unknown",
       single(port(0x1b36, 0x000c, PcieType::kRootPort, 0, 1, 1, kAcsOn).truncate(64)), "00:03.0", Tristate::kUnknown,
       AcsRule::kUnknown},
      {"256-byte config of a root port: ACS capability unknown",
       single(port(0x1b36, 0x000c, PcieType::kRootPort, 0, 1, 1, kAcsOn).truncate(256)), "00:03.0", Tristate::kUnknown,
       AcsRule::kUnknown},
      {"256-byte config of a single-function endpoint still needs no ACS",
       single(endpoint(0x144d, 0xa808, 0x010802).truncate(256)), "00:03.0", Tristate::kYes, AcsRule::kSingleFunction},
  };
  for (const auto& c : cases) {
    const pci::Topology t = testing::build(c.machine());
    const AcsDecision d = pci_acs_enabled(t, at(t, c.device), kReqAcsFlags, AcsOptions{});
    EXPECT_EQ(d.enabled, c.want) << c.what << ": " << d.explanation;
    EXPECT_EQ(d.rule, c.rule) << c.what << ": " << d.explanation;
    EXPECT_FALSE(d.explanation.empty()) << c.what;
  }
}

// pci_scan_slot sets pdev->multifunction for every function after 0, and ARI
// finds devices > 0 below a port only as further functions.
TEST(AcsEnabled, KernelMultifunction) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:1c.0", port(0x8086, 0x1234, PcieType::kRootPort, 0, 1, 1, kAcsOn)),
      testing::record("0000:01:00.0", endpoint(0x15b3, 0x1017, 0x020000, false)),
      testing::record("0000:01:00.1", endpoint(0x15b3, 0x1017, 0x020000, false)),
      testing::record("0000:01:02.0", endpoint(0x15b3, 0x1017, 0x020000, false)),
      testing::record("0000:00:05.0", endpoint(0x8086, 0x2020, 0x088000, false)),
  });
  EXPECT_FALSE(kernel_multifunction(t, at(t, "01:00.0")));
  EXPECT_TRUE(kernel_multifunction(t, at(t, "01:00.1")));  // fn > 0
  EXPECT_TRUE(kernel_multifunction(t, at(t, "01:02.0")));  // ARI function 16
  EXPECT_FALSE(kernel_multifunction(t, at(t, "00:05.0")));
}

// A few rows of pci_dev_acs_enabled[], each through its quirk function.
TEST(AcsQuirks, TableRowsDecideFirst) {
  struct QuirkCase {
    const char* what;
    pci::testing::ConfigBuilder config;
    Tristate want;
    AcsQuirkKind kind;
  };
  const QuirkCase cases[] = {
      {"pci_quirk_mf_endpoint_acs: Intel 82576 functions without ACS", endpoint(0x8086, 0x10c9, 0x020000, true),
       Tristate::kYes, AcsQuirkKind::kMultifunctionEndpoint},
      {"pci_quirk_mf_endpoint_acs: Emulex Skyhawk-R (vendor 10df)", endpoint(0x10df, 0x0720, 0x020000, true),
       Tristate::kYes, AcsQuirkKind::kMultifunctionEndpoint},
      {"pci_quirk_rciep_acs: Intel RCiEP",
       endpoint(0x8086, 0x9a0b, 0x088000, true, std::nullopt, PcieType::kRcIntegratedEndpoint), Tristate::kYes,
       AcsQuirkKind::kIntelRciep},
      {"pci_quirk_qcom_rp_acs", port(0x17cb, 0x0401, PcieType::kRootPort, 0, 1, 1, std::nullopt), Tristate::kYes,
       AcsQuirkKind::kQcomRootPort},
      {"pci_quirk_cavium_acs: ThunderX2 root port", port(0x177d, 0xaf84, PcieType::kRootPort, 0, 1, 1, std::nullopt),
       Tristate::kYes, AcsQuirkKind::kCavium},
      {"pci_quirk_xgene_acs: Ampere", port(0x1def, 0xe00a, PcieType::kRootPort, 0, 1, 1, std::nullopt), Tristate::kYes,
       AcsQuirkKind::kXgene},
      {"pci_quirk_al_acs: Annapurna root port", port(0x1c36, 0x0031, PcieType::kRootPort, 0, 1, 1, std::nullopt),
       Tristate::kYes, AcsQuirkKind::kAnnapurnaRootPort},
      {"pci_quirk_nxp_rp_acs: LX2xx0A", port(0x1957, 0x8d81, PcieType::kRootPort, 0, 1, 1, std::nullopt),
       Tristate::kYes, AcsQuirkKind::kNxpRootPort},
      {"pci_quirk_zhaoxin_pcie_ports_acs: in the list",
       port(0x1d17, 0x0716, PcieType::kDownstreamPort, 0, 1, 1, std::nullopt), Tristate::kYes,
       AcsQuirkKind::kZhaoxinPorts},
      {"pci_quirk_zhaoxin_pcie_ports_acs: outside the list is 'not isolated' even with ACS",
       port(0x1d17, 0x0800, PcieType::kRootPort, 0, 1, 1, kAcsOn), Tristate::kNo, AcsQuirkKind::kZhaoxinPorts},
      {"pci_quirk_wangxun_nic_acs: SP", endpoint(0x8088, 0x1001, 0x020000, true), Tristate::kYes,
       AcsQuirkKind::kWangxunNic},
      {"pci_quirk_wangxun_nic_acs: other Wangxun devices are 'not isolated'",
       endpoint(0x8088, 0x7777, 0x020000, true, kAcsOn), Tristate::kNo, AcsQuirkKind::kWangxunNic},
      {"pci_quirk_loongson_acs (after 6.6.14)", port(0x0014, 0x7a19, PcieType::kRootPort, 0, 1, 1, std::nullopt),
       Tristate::kYes, AcsQuirkKind::kLoongsonRootPort},
  };
  for (const auto& c : cases) {
    const pci::Topology t = testing::build({testing::record("0000:00:03.0", c.config)});
    const AcsDecision d = pci_acs_enabled(t, 0, kReqAcsFlags, AcsOptions{});
    EXPECT_EQ(d.enabled, c.want) << c.what << ": " << d.explanation;
    ASSERT_EQ(d.rule, AcsRule::kQuirk) << c.what << ": " << d.explanation;
    EXPECT_EQ(acs_quirks()[*d.quirk_row].kind, c.kind) << c.what;
    EXPECT_NE(d.explanation.find(acs_quirk_function(c.kind)), std::string::npos) << d.explanation;
  }
}

TEST(AcsQuirks, TableShape) {
  const auto rows = acs_quirks();
  EXPECT_EQ(rows.size(), 130U);
  std::size_t late = 0;
  for (const auto& r : rows) late += r.era == AcsQuirkEra::kAfter6614 ? 1U : 0U;
  EXPECT_EQ(late, 15U);
  EXPECT_TRUE(intel_pch_acs_id(0x1c10));
  EXPECT_TRUE(intel_pch_acs_id(0x8d1e));
  EXPECT_FALSE(intel_pch_acs_id(0x8d1f));  // Wellsburg stops at 0x8d1e
  EXPECT_FALSE(intel_pch_acs_id(0x1d11));  // Patsburg: even IDs only
  EXPECT_TRUE(intel_spt_pch_acs_id(0xa16a));
  EXPECT_FALSE(intel_spt_pch_acs_id(0xa16b));
  EXPECT_TRUE(wangxun_acs_id(0x5025, true));
  EXPECT_FALSE(wangxun_acs_id(0x5025, false));
}

// Rows added after 6.6.14 can be left out for older 6.x kernels.
TEST(AcsQuirks, EraSelection) {
  const pci::Topology t = testing::build(
      {testing::record("0000:00:03.0", port(0x0014, 0x7a19, PcieType::kRootPort, 0, 1, 1, std::nullopt))});
  AcsOptions old;
  old.include_after_6_6_14_quirks = false;
  EXPECT_EQ(pci_acs_enabled(t, 0, kReqAcsFlags, AcsOptions{}).enabled, Tristate::kYes);
  const AcsDecision d = pci_acs_enabled(t, 0, kReqAcsFlags, old);
  EXPECT_EQ(d.enabled, Tristate::kNo) << d.explanation;
  EXPECT_EQ(d.rule, AcsRule::kPortControl);
}

// pci_quirk_amd_sb_acs: multifunction southbridge functions on the root bus,
// only with an IVRS table.
TEST(AcsQuirks, AmdSouthbridgeNeedsIvrs) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:14.0", testing::conventional(0x1002, 0x4385, 0x0c0500, true)),
      testing::record("0000:00:14.1", testing::conventional(0x1002, 0x439c, 0x01018a, true)),
  });
  AcsOptions amd;
  amd.ivrs_present = true;
  EXPECT_EQ(pci_acs_enabled(t, 0, kReqAcsFlags, AcsOptions{}).enabled, Tristate::kNo);
  const AcsDecision d = pci_acs_enabled(t, 0, kReqAcsFlags, amd);
  EXPECT_EQ(d.enabled, Tristate::kYes) << d.explanation;
  EXPECT_EQ(d.rule, AcsRule::kQuirk);
}

// pci_quirk_intel_pch_acs: isolated only when the boot-time workaround ran,
// which needs ACS requested and RCBA enabled in the LPC's config dword 0xf0.
TEST(AcsQuirks, IntelPchRootPort) {
  const auto machine = [](std::optional<std::uint32_t> rcba, std::size_t lpc_size) {
    pci::testing::ConfigBuilder lpc = testing::conventional(0x8086, 0x1c44, 0x060100, true);
    if (rcba) lpc.u32(0xf0, *rcba);
    lpc.truncate(lpc_size);
    return testing::build({
        testing::record("0000:00:1c.0", port(0x8086, 0x1c10, PcieType::kRootPort, 0, 2, 2, std::nullopt, true)),
        testing::record("0000:00:1f.0", lpc),
    });
  };
  const pci::Topology enabled = machine(0xfed1c001U, 256);
  AcsDecision d = pci_acs_enabled(enabled, 0, kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(d.enabled, Tristate::kYes) << d.explanation;
  EXPECT_EQ(acs_quirks()[*d.quirk_row].kind, AcsQuirkKind::kIntelPch);

  AcsOptions no_iommu;
  no_iommu.acs_requested = false;
  EXPECT_EQ(pci_acs_enabled(enabled, 0, kReqAcsFlags, no_iommu).enabled, Tristate::kNo);

  d = pci_acs_enabled(machine(0xfed1c000U, 256), 0, kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(d.enabled, Tristate::kNo) << d.explanation;
  EXPECT_NE(d.explanation.find("RCBA is disabled"), std::string::npos) << d.explanation;

  d = pci_acs_enabled(machine(std::nullopt, 64), 0, kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(d.enabled, Tristate::kUnknown) << d.explanation;

  // A port ID outside pci_quirk_intel_pch_acs_ids[] falls through to the
  // standard rule: no ACS capability, not isolated.
  const pci::Topology other = testing::build(
      {testing::record("0000:00:1c.0", port(0x8086, 0x1c20, PcieType::kRootPort, 0, 2, 2, std::nullopt))});
  EXPECT_EQ(pci_acs_enabled(other, 0, kReqAcsFlags, AcsOptions{}).rule, AcsRule::kPortControl);
}

// pci_quirk_intel_spt_pch_acs: the control register is the dword at +8.
TEST(AcsQuirks, IntelSunrisePointControlAtPlus8) {
  const auto machine = [](std::uint32_t ctrl_dword) {
    pci::testing::ConfigBuilder b = port(0x8086, 0xa110, PcieType::kRootPort, 0, 1, 1, testing::Acs{0x001f, 0});
    b.u32(0x140 + 4, 0x0000001f).u32(0x140 + 8, ctrl_dword);
    return testing::build({testing::record("0000:00:1c.0", b)});
  };
  // The spec's word at +6 reads 0 (the high half of the capability dword),
  // the quirk reads +8.
  AcsDecision d = pci_acs_enabled(machine(0x1d), 0, kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(d.enabled, Tristate::kYes) << d.explanation;
  EXPECT_EQ(acs_quirks()[*d.quirk_row].kind, AcsQuirkKind::kIntelSptPch);
  d = pci_acs_enabled(machine(0x00), 0, kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(d.enabled, Tristate::kNo) << d.explanation;
  // Replaying boot: pci_quirk_enable_intel_spt_pch_acs sets the bits at +8.
  AcsOptions boot;
  boot.control_source = AcsControlSource::kSimulateBoot;
  EXPECT_EQ(pci_acs_enabled(machine(0x00), 0, kReqAcsFlags, boot).enabled, Tristate::kYes);
}

// pci_enable_acs at boot, then pci=disable_acs_redir= and pci=config_acs=.
TEST(AcsControl, BootAndCommandLine) {
  const pci::Topology t = testing::build(
      {testing::record("0000:00:01.0", port(0x1022, 0x1483, PcieType::kRootPort, 0, 1, 1, testing::Acs{0x5f, 0}))});
  AcsOptions read;
  EXPECT_EQ(effective_acs_control(t, 0, read), 0U);
  AcsOptions boot;
  boot.control_source = AcsControlSource::kSimulateBoot;
  EXPECT_EQ(effective_acs_control(t, 0, boot), 0x1dU);  // SV RR CR UF where implemented
  boot.acs_requested = false;
  EXPECT_EQ(effective_acs_control(t, 0, boot), 0U);

  AcsOptions redir;
  redir.control_source = AcsControlSource::kSimulateBoot;
  redir.disable_acs_redir = parse_acs_command_line("pci=noaer,disable_acs_redir=00:01.0").disable_acs_redir;
  ASSERT_EQ(redir.disable_acs_redir.size(), 1U);
  EXPECT_EQ(effective_acs_control(t, 0, redir), 0x11U);  // SV UF left
  const AcsDecision d = pci_acs_enabled(t, 0, kReqAcsFlags, redir);
  EXPECT_EQ(d.enabled, Tristate::kNo) << d.explanation;
  EXPECT_NE(d.explanation.find("disable_acs_redir"), std::string::npos) << d.explanation;

  AcsOptions config;
  config.config_acs = parse_acs_command_line("pci=config_acs=1x1x1@pci:1022:1483").config_acs;
  ASSERT_EQ(config.config_acs.size(), 1U);
  EXPECT_EQ(effective_acs_control(t, 0, config), 0x15U);  // UF, RR, SV set; CR, TB kept (0)
}

// pcie_acs_override=: after every real quirk, never for devices with an ACS
// capability, never for conventional PCI.
TEST(AcsOverrideParam, AppliesOnlyWithoutCapability) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:1c.0", port(0x8086, 0x3a40, PcieType::kRootPort, 0, 1, 1, std::nullopt)),
      testing::record("0000:00:1c.1", port(0x8086, 0x3a42, PcieType::kRootPort, 0, 2, 2, kAcsOff)),
      testing::record("0000:01:00.0", endpoint(0x14e4, 0x1639, 0x020000, true)),
      testing::record("0000:01:00.1", endpoint(0x14e4, 0x1639, 0x020000, true)),
      testing::record("0000:00:1f.2", testing::conventional(0x8086, 0x3a22, 0x010601, true)),
  });
  AcsOptions ov;
  ov.acs_override = parse_acs_command_line("quiet pcie_acs_override=downstream,multifunction").acs_override;
  ASSERT_TRUE(ov.acs_override.has_value());
  AcsDecision d = pci_acs_enabled(t, at(t, "00:1c.0"), kReqAcsFlags, ov);
  EXPECT_EQ(d.enabled, Tristate::kYes) << d.explanation;
  EXPECT_EQ(d.rule, AcsRule::kOverride);
  d = pci_acs_enabled(t, at(t, "00:1c.1"), kReqAcsFlags, ov);  // has ACS, disabled: the override does not apply
  EXPECT_EQ(d.enabled, Tristate::kNo) << d.explanation;
  EXPECT_EQ(pci_acs_enabled(t, at(t, "01:00.1"), kReqAcsFlags, ov).enabled, Tristate::kYes);
  EXPECT_EQ(pci_acs_enabled(t, at(t, "00:1f.2"), kReqAcsFlags, ov).enabled, Tristate::kNo);

  AcsOptions by_id;
  by_id.acs_override = parse_acs_command_line("pcie_acs_override=id:14e4:1639").acs_override;
  EXPECT_EQ(pci_acs_enabled(t, at(t, "01:00.0"), kReqAcsFlags, by_id).enabled, Tristate::kYes);
  EXPECT_EQ(pci_acs_enabled(t, at(t, "00:1c.0"), kReqAcsFlags, by_id).enabled, Tristate::kNo);
}

// pci_acs_path_enabled(start, NULL): every hop up to the root bus.
TEST(AcsPath, StopsAtFirstNonIsolatingHop) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:01.0", port(0x8086, 0x1901, PcieType::kRootPort, 0, 1, 3, kAcsOn)),
      testing::record("0000:01:00.0", port(0x10b5, 0x8747, PcieType::kUpstreamPort, 1, 2, 3, std::nullopt)),
      testing::record("0000:02:08.0", port(0x10b5, 0x8747, PcieType::kDownstreamPort, 2, 3, 3, std::nullopt)),
      testing::record("0000:00:02.0", port(0x8086, 0x1902, PcieType::kRootPort, 0, 4, 4, std::nullopt)),
      testing::record("0000:04:00.0", port(0x10b5, 0x8747, PcieType::kUpstreamPort, 4, 5, 5, std::nullopt)),
  });
  AcsPathDecision p = pci_acs_path_enabled(t, at(t, "02:08.0"), kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(p.enabled, Tristate::kNo);
  EXPECT_EQ(p.culprit, at(t, "02:08.0"));
  p = pci_acs_path_enabled(t, at(t, "01:00.0"), kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(p.enabled, Tristate::kYes) << p.explanation;
  p = pci_acs_path_enabled(t, at(t, "04:00.0"), kReqAcsFlags, AcsOptions{});
  EXPECT_EQ(p.enabled, Tristate::kNo);
  EXPECT_EQ(p.culprit, at(t, "00:02.0"));
}

}  // namespace
}  // namespace iovakit::kernel
