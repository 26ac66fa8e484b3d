// pci_device_group() (drivers/iommu/iommu.c, as in Android common 6.1 and a 2025
// linux-next): get_pci_alias_or_group, the upstream ACS walk,
// get_pci_alias_group and get_pci_function_alias_group, replayed in probe
// order, machine by machine.
#include "iovakit/kernel/iommu_groups.h"

#include <gtest/gtest.h>

#include <functional>

#include "kernel/iommu_groups_test_support.h"

namespace iovakit::kernel {
namespace {

using pci::PcieType;
using testing::at;
using testing::endpoint;
using testing::groups_text;
using testing::kAcsOff;
using testing::kAcsOn;
using testing::member;
using testing::port;

struct GroupCase {
  const char* what;
  std::function<std::vector<pci::DeviceRecord>()> machine;
  std::function<void(GroupOptions&)> configure;
  std::vector<std::string> groups;
};

GroupPrediction predict(const pci::Topology& t, const std::function<void(GroupOptions&)>& configure) {
  GroupOptions options;
  if (configure) configure(options);
  return predict_iommu_groups(t, options);
}

// The machines of the brief, each with the groups the kernel forms.
TEST(IommuGroups, KernelGroupingPerMachine) {
  const auto mf_nic_behind = [](std::optional<testing::Acs> port_acs, std::optional<testing::Acs> nic_acs) {
    return [port_acs, nic_acs] {
      return std::vector<pci::DeviceRecord>{
          testing::record("0000:00:00.0", testing::conventional(0x8086, 0x3e30, 0x060000)),
          testing::record("0000:00:1c.0", port(0x8086, 0xa33c, PcieType::kRootPort, 0, 3, 3, port_acs)),
          testing::record("0000:03:00.0", endpoint(0x8086, 0x1572, 0x020000, true, nic_acs)),
          testing::record("0000:03:00.1", endpoint(0x8086, 0x1572, 0x020000, true, nic_acs)),
      };
    };
  };
  const auto switch_machine = [](std::optional<testing::Acs> dsp_acs) {
    return [dsp_acs] {
      return std::vector<pci::DeviceRecord>{
          testing::record("0000:00:01.0", port(0x8086, 0x1901, PcieType::kRootPort, 0, 1, 4, kAcsOn)),
          testing::record("0000:01:00.0", port(0x10b5, 0x8747, PcieType::kUpstreamPort, 1, 2, 4, std::nullopt)),
          testing::record("0000:02:08.0", port(0x10b5, 0x8747, PcieType::kDownstreamPort, 2, 3, 3, dsp_acs)),
          testing::record("0000:02:10.0", port(0x10b5, 0x8747, PcieType::kDownstreamPort, 2, 4, 4, dsp_acs)),
          testing::record("0000:03:00.0", endpoint(0x10de, 0x1b80, 0x030000, true)),
          testing::record("0000:03:00.1", endpoint(0x10de, 0x10f0, 0x040300, true)),
          testing::record("0000:04:00.0", endpoint(0x144d, 0xa808, 0x010802)),
      };
    };
  };
  const GroupCase cases[] = {
      {"q35, root ports with ACS: ICH9 functions share a group, everything else alone",
       [] { return testing::q35(kAcsOn); },
       nullptr,
       {"0: 00:00.0", "1: 00:01.0", "2: 00:02.0", "3: 00:02.1", "4: 00:1f.0 00:1f.2 00:1f.3", "5: 01:00.0",
        "6: 02:00.0"}},
      {"q35, root ports without ACS: the multifunction ports and what is below them form one group",
       [] { return testing::q35(std::nullopt); },
       nullptr,
       {"0: 00:00.0", "1: 00:01.0", "2: 00:02.0 00:02.1 01:00.0 02:00.0", "3: 00:1f.0 00:1f.2 00:1f.3"}},
      {"multifunction NIC behind a root port without ACS groups with the port",
       mf_nic_behind(std::nullopt, std::nullopt),
       nullptr,
       {"0: 00:00.0", "1: 00:1c.0 03:00.0 03:00.1"}},
      {"root port with ACS, NIC functions without ACS: the functions share one group",
       mf_nic_behind(kAcsOn, std::nullopt),
       nullptr,
       {"0: 00:00.0", "1: 00:1c.0", "2: 03:00.0 03:00.1"}},
      {"root port and NIC functions with ACS: every function alone",
       mf_nic_behind(kAcsOn, kAcsOn),
       nullptr,
       {"0: 00:00.0", "1: 00:1c.0", "2: 03:00.0", "3: 03:00.1"}},
      {"NIC functions with ACS present but disabled group together",
       mf_nic_behind(kAcsOn, kAcsOff),
       nullptr,
       {"0: 00:00.0", "1: 00:1c.0", "2: 03:00.0 03:00.1"}},
      {"pcie_acs_override=downstream,multifunction splits them",
       mf_nic_behind(std::nullopt, std::nullopt),
       [](GroupOptions& o) {
         o.acs.acs_override = AcsOverride{true, true, {}};
       },
       {"0: 00:00.0", "1: 00:1c.0", "2: 03:00.0", "3: 03:00.1"}},
      {"pcie_acs_override=downstream alone keeps the NIC functions together",
       mf_nic_behind(std::nullopt, std::nullopt),
       [](GroupOptions& o) {
         o.acs.acs_override = AcsOverride{true, false, {}};
       },
       {"0: 00:00.0", "1: 00:1c.0", "2: 03:00.0 03:00.1"}},
      {"PCIe-to-PCI bridge: conventional devices join the bridge's group through its alias",
       pci::testing::pcie_to_pci,
       nullptr,
       {"0: 00:1c.0", "1: 00:1c.1", "2: 01:00.0 02:04.0 02:05.0 02:05.1 02:06.0", "3: 03:00.0 04:01.0"}},
      {"switch with ACS on the downstream ports: GPU functions (no ACS) together, the rest alone",
       switch_machine(kAcsOn),
       nullptr,
       {"0: 00:01.0", "1: 01:00.0", "2: 02:08.0", "3: 02:10.0", "4: 03:00.0 03:00.1", "5: 04:00.0"}},
      {"switch without ACS: each device joins its downstream port (ports stay apart: the unmerged 2025 rework "
       "would join them)",
       switch_machine(std::nullopt),
       nullptr,
       {"0: 00:01.0", "1: 01:00.0", "2: 02:08.0 03:00.0 03:00.1", "3: 02:10.0 04:00.0"}},
      {"pci=disable_acs_redir on the first downstream port merges the GPU into its group",
       switch_machine(kAcsOn),
       [](GroupOptions& o) {
         apply_command_line(o.acs, parse_acs_command_line("pci=disable_acs_redir=0000:02:08.0"), false, true);
       },
       {"0: 00:01.0", "1: 01:00.0", "2: 02:08.0 03:00.0 03:00.1", "3: 02:10.0", "4: 04:00.0"}},
      {"pcie_acs_override is ignored by kernels without the patch",
       mf_nic_behind(std::nullopt, std::nullopt),
       [](GroupOptions& o) {
         apply_command_line(o.acs, parse_acs_command_line("pcie_acs_override=downstream,multifunction"), false, true);
       },
       {"0: 00:00.0", "1: 00:1c.0 03:00.0 03:00.1"}},
      {"Intel multifunction RCiEPs: pci_quirk_rciep_acs isolates them; AMD ones without ACS share a group",
       [] {
         return std::vector<pci::DeviceRecord>{
             testing::record("0000:00:14.0",
                             endpoint(0x8086, 0xa0ed, 0x0c0330, true, std::nullopt, PcieType::kRcIntegratedEndpoint)),
             testing::record("0000:00:14.2",
                             endpoint(0x8086, 0xa0ef, 0x050000, true, std::nullopt, PcieType::kRcIntegratedEndpoint)),
             testing::record("0000:00:18.0",
                             endpoint(0x1022, 0x1650, 0x060000, true, std::nullopt, PcieType::kRcIntegratedEndpoint)),
             testing::record("0000:00:18.1",
                             endpoint(0x1022, 0x1651, 0x060000, true, std::nullopt, PcieType::kRcIntegratedEndpoint)),
         };
       },
       nullptr,
       {"0: 00:14.0", "1: 00:14.2", "2: 00:18.0 00:18.1"}},
      // HP DL360 G7 (pci/support/machines.h). 05:00.0's header lacks the
      // multifunction bit, so a real scan would not have found 05:00.1;
      // given both, get_pci_function_alias_group is one-sided: 05:00.0 is a
      // single-function endpoint and therefore isolated.
      {"DL360 G7: UHCI/EHCI functions together, VGA with its DMI-to-PCI bridge, iLO functions together",
       pci::testing::dl360_g7,
       nullptr,
       {"0: 00:00.0", "1: 00:01.0", "2: 00:03.0", "3: 00:09.0", "4: 00:1c.0", "5: 00:1c.4",
        "6: 00:1d.0 00:1d.1 00:1d.2 00:1d.3 00:1d.7", "7: 00:1e.0 02:03.0", "8: 00:1f.0", "9: 03:00.0 03:00.1",
        "10: 04:00.0 04:00.1", "11: 05:00.0", "12: 05:00.1", "13: 01:00.0 01:00.2 01:00.4"}},
  };
  for (const auto& c : cases) {
    const pci::Topology t = testing::build(c.machine());
    const GroupPrediction p = predict(t, c.configure);
    EXPECT_EQ(groups_text(t, p), c.groups) << c.what;
    EXPECT_TRUE(p.certain()) << c.what << ": " << (p.uncertainties.empty() ? "" : p.uncertainties.front().reason);
  }
}

// The reason each member is where it is, in the kernel's terms.
TEST(IommuGroups, MemberReasons) {
  const pci::Topology conv = testing::build(pci::testing::pcie_to_pci());
  const GroupPrediction p = predict_iommu_groups(conv, GroupOptions{});
  EXPECT_EQ(member(conv, p, "01:00.0").reason, MemberReason::kOwnGroup);
  const GroupMember& m = member(conv, p, "02:05.1");
  EXPECT_EQ(m.reason, MemberReason::kAliasThroughBridge);
  EXPECT_EQ(m.joined, at(conv, "01:00.0"));
  ASSERT_EQ(m.steps.size(), 1U);
  EXPECT_EQ(m.steps[0].kind, GroupStepKind::kAliasOwner);
  EXPECT_NE(m.explanation.find("01:00.0"), std::string::npos) << m.explanation;
  EXPECT_EQ(member(conv, p, "04:01.0").reason, MemberReason::kAliasThroughBridge);

  const pci::Topology q = testing::build(testing::q35(std::nullopt));
  const GroupPrediction pq = predict_iommu_groups(q, GroupOptions{});
  EXPECT_EQ(member(q, pq, "00:1f.2").reason, MemberReason::kSlotFunction);
  EXPECT_EQ(member(q, pq, "00:02.1").reason, MemberReason::kSlotFunction);
  const GroupMember& behind = member(q, pq, "02:00.0");
  EXPECT_EQ(behind.reason, MemberReason::kBehindBridge);
  EXPECT_EQ(behind.joined, at(q, "00:02.1"));
  EXPECT_NE(behind.explanation.find("pci_acs_path_enabled"), std::string::npos) << behind.explanation;
  EXPECT_EQ(member_reason_name(behind.reason), "behind-non-acs-bridge");
}

// A quirked Intel PCH root port: no ACS capability, pci_quirk_intel_pch_acs
// says it isolates once the boot-time workaround found RCBA enabled.
TEST(IommuGroups, IntelPchQuirkIsolatesPorts) {
  const auto machine = [](std::uint32_t rcba) {
    pci::testing::ConfigBuilder lpc = testing::conventional(0x8086, 0x1c44, 0x060100, true);
    lpc.u32(0xf0, rcba);
    return testing::build({
        testing::record("0000:00:1c.0", port(0x8086, 0x1c10, PcieType::kRootPort, 0, 2, 2, std::nullopt, true)),
        testing::record("0000:00:1c.1", port(0x8086, 0x1c12, PcieType::kRootPort, 0, 3, 3, std::nullopt, true)),
        testing::record("0000:00:1f.0", lpc),
        testing::record("0000:02:00.0", endpoint(0x10ec, 0x8168, 0x020000)),
        testing::record("0000:03:00.0", endpoint(0x1b21, 0x1042, 0x0c0330)),
    });
  };
  const pci::Topology on = machine(0xfed1c001U);
  EXPECT_EQ(groups_text(on, predict_iommu_groups(on, GroupOptions{})),
            (std::vector<std::string>{"0: 00:1c.0", "1: 00:1c.1", "2: 00:1f.0", "3: 02:00.0", "4: 03:00.0"}));
  const pci::Topology off = machine(0xfed1c000U);
  EXPECT_EQ(groups_text(off, predict_iommu_groups(off, GroupOptions{})),
            (std::vector<std::string>{"0: 00:1c.0 00:1c.1 02:00.0 03:00.0", "1: 00:1f.0"}));
}

// DMA alias quirks: a Marvell 9230 (quirk_dma_func1_alias) pulls function 1
// into its group even though both functions have ACS enabled.
TEST(IommuGroups, DmaAliasQuirkJoinsFunctions) {
  const auto machine = [](std::uint16_t device) {
    return testing::build({
        testing::record("0000:00:1c.0", port(0x8086, 0xa33c, PcieType::kRootPort, 0, 5, 5, kAcsOn)),
        testing::record("0000:05:00.0", endpoint(0x1b4b, device, 0x010601, true, kAcsOn)),
        testing::record("0000:05:00.1", endpoint(0x1b4b, 0x91a4, 0x01018f, true, kAcsOn)),
    });
  };
  const pci::Topology marvell = machine(0x9230);
  const GroupPrediction p = predict_iommu_groups(marvell, GroupOptions{});
  EXPECT_EQ(groups_text(marvell, p), (std::vector<std::string>{"0: 00:1c.0", "1: 05:00.0 05:00.1"}));
  EXPECT_EQ(member(marvell, p, "05:00.1").reason, MemberReason::kDmaAlias);
  const pci::Topology plain = machine(0x9999);
  EXPECT_EQ(groups_text(plain, predict_iommu_groups(plain, GroupOptions{})),
            (std::vector<std::string>{"0: 00:1c.0", "1: 05:00.0", "2: 05:00.1"}));
}

// AMD: setup_aliases adds a same-bus IVRS alias to the DMA alias mask (the
// SATA/IDE pair of Alex Williamson's 2014 "Rework iommu_group_get_for_pci_dev"
// report); an alias on another bus only copies the DTE.
TEST(IommuGroups, AmdIvrsAliases) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:11.0",
                      endpoint(0x1002, 0x4391, 0x010601, false, std::nullopt, PcieType::kRcIntegratedEndpoint)),
      testing::record("0000:00:14.1",
                      endpoint(0x1002, 0x439c, 0x01018a, false, std::nullopt, PcieType::kRcIntegratedEndpoint)),
      testing::record("0000:00:18.0",
                      endpoint(0x1022, 0x1480, 0x060000, false, std::nullopt, PcieType::kRcIntegratedEndpoint)),
  });
  GroupOptions amd;
  amd.driver = IommuDriver::kAmdVi;
  amd.ivrs_aliases = {{at(t, "00:14.1"), 0x0088}, {at(t, "00:18.0"), 0x0500}};
  const GroupPrediction p = predict_iommu_groups(t, amd);
  EXPECT_EQ(groups_text(t, p), (std::vector<std::string>{"0: 00:11.0 00:14.1", "1: 00:18.0"}));
  EXPECT_EQ(member(t, p, "00:14.1").reason, MemberReason::kDmaAlias);
  ASSERT_EQ(p.notes.size(), 1U);
  EXPECT_NE(p.notes[0].find("clone_alias"), std::string::npos);
  GroupOptions intel = amd;
  intel.driver = IommuDriver::kIntelVtd;
  EXPECT_EQ(groups_text(t, predict_iommu_groups(t, intel)),
            (std::vector<std::string>{"0: 00:11.0", "1: 00:14.1", "2: 00:18.0"}));
}

// A 64-byte config (non-root sysfs read) cannot say whether the root port is
// PCIe: the prediction says so and marks what depends on it.
TEST(IommuGroups, UnknownAcsIsStated) {
  const pci::Topology t = testing::build({
      testing::record("0000:00:1c.0", port(0x8086, 0xa33c, PcieType::kRootPort, 0, 3, 3, kAcsOn, true).truncate(64)),
      testing::record("0000:00:1d.0", port(0x8086, 0xa330, PcieType::kRootPort, 0, 4, 4, kAcsOn)),
      testing::record("0000:03:00.0", endpoint(0x10ec, 0x8168, 0x020000)),
      testing::record("0000:04:00.0", endpoint(0x144d, 0xa808, 0x010802)),
  });
  GroupPrediction p = predict_iommu_groups(t, GroupOptions{});
  EXPECT_EQ(groups_text(t, p), (std::vector<std::string>{"0: 00:1c.0 03:00.0", "1: 00:1d.0", "2: 04:00.0"}));
  EXPECT_FALSE(p.certain());
  EXPECT_FALSE(p.groups[0].certain);
  EXPECT_TRUE(p.groups[1].certain);
  EXPECT_TRUE(p.groups[2].certain);
  bool names_03 = false;
  for (const auto& u : p.uncertainties) names_03 = names_03 || u.device == at(t, "03:00.0");
  EXPECT_TRUE(names_03);

  GroupOptions optimistic;
  optimistic.assume_isolated_when_unknown = true;
  p = predict_iommu_groups(t, optimistic);
  EXPECT_EQ(groups_text(t, p), (std::vector<std::string>{"0: 00:1c.0", "1: 00:1d.0", "2: 03:00.0", "3: 04:00.0"}));
  EXPECT_FALSE(p.certain());
}

// Devices the IOMMU does not handle get no group and are never found by the
// searches (iommu_group_get() is NULL for them).
TEST(IommuGroups, DevicesWithoutIommu) {
  const pci::Topology t = testing::build(testing::q35(kAcsOn));
  GroupOptions o;
  o.has_iommu.assign(t.size(), true);
  o.has_iommu[at(t, "00:1f.0")] = false;
  o.first_group_id = 3;
  const GroupPrediction p = predict_iommu_groups(t, o);
  EXPECT_EQ(p.no_iommu, (std::vector<std::size_t>{at(t, "00:1f.0")}));
  EXPECT_FALSE(p.group_of[at(t, "00:1f.0")].has_value());
  EXPECT_EQ(groups_text(t, p), (std::vector<std::string>{"3: 00:00.0", "4: 00:01.0", "5: 00:02.0", "6: 00:02.1",
                                                         "7: 00:1f.2 00:1f.3", "8: 01:00.0", "9: 02:00.0"}));
}

// Probe order: per bus every function, then depth-first into bridges; VFs
// last.
TEST(IommuGroups, ProbeOrderIsScanOrder) {
  std::vector<pci::DeviceRecord> records = pci::testing::two_level_switch();
  records.push_back(testing::record("0000:00:1f.0", testing::conventional(0x8086, 0x2918, 0x060100)));
  pci::DeviceRecord vf = testing::record("0000:06:00.4", endpoint(0x144d, 0xa808, 0x010802));
  vf.is_virtfn = true;
  records.push_back(std::move(vf));
  const pci::Topology t = testing::build(std::move(records));
  std::vector<std::string> order;
  for (const std::size_t i : pci_probe_order(t)) order.push_back(t.bdf(i).to_short_string());
  EXPECT_EQ(order, (std::vector<std::string>{"00:01.0", "00:1f.0", "01:00.0", "02:08.0", "02:09.0", "03:00.0",
                                             "03:00.1", "04:00.0", "05:00.0", "06:00.0", "06:00.4"}));
}

}  // namespace
}  // namespace iovakit::kernel
