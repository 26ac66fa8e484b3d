#include "iovakit/pci/dma_alias.h"

#include <gtest/gtest.h>

#include <functional>

#include "iovakit/pci/dma_quirks.h"
#include "pci/support/machines.h"

namespace iovakit::pci {
namespace {

using testing::build;
using testing::record;

std::size_t at(const Topology& t, const char* bdf) { return t.find(Bdf::parse(bdf).value()).value(); }

// "0000:02:00.0 pcie-to-pci-bridge by 0000:01:00.0" per alias.
std::vector<std::string> summary(const Topology& t, const DmaAliasResult& r) {
  std::vector<std::string> out;
  for (const auto& a : r.aliases) {
    out.push_back(a.rid.to_string() + " " + std::string(alias_reason_name(a.reason)) + " by " +
                  t.bdf(a.attributed_to).to_string());
  }
  return out;
}

struct AliasCase {
  const char* what;
  std::function<std::vector<DeviceRecord>()> machine;
  const char* device;
  std::vector<std::string> aliases;
};

// pci_for_each_dma_alias (drivers/pci/search.c), case by case.
TEST(DmaAlias, KernelWalkPerMachine) {
  const AliasCase cases[] = {
      {"NIC behind a root port: ports add nothing",
       [] { return testing::intel_laptop(true); },
       "0000:02:00.0",
       {"0000:02:00.0 requester-id by 0000:02:00.0"}},
      {"IGD on the root bus",
       [] { return testing::intel_laptop(false); },
       "0000:00:02.0",
       {"0000:00:02.0 requester-id by 0000:00:02.0"}},
      {"conventional device behind a PCIe-to-PCI bridge",
       testing::pcie_to_pci,
       "0000:02:04.0",
       {"0000:02:04.0 requester-id by 0000:02:04.0", "0000:02:00.0 pcie-to-pci-bridge by 0000:01:00.0"}},
      {"second function of a card behind the same bridge",
       testing::pcie_to_pci,
       "0000:02:05.1",
       {"0000:02:05.1 requester-id by 0000:02:05.1", "0000:02:00.0 pcie-to-pci-bridge by 0000:01:00.0"}},
      {"Adaptec 3405: quirk_fixed_dma_alias adds 01.0",
       testing::pcie_to_pci,
       "0000:02:06.0",
       {"0000:02:06.0 requester-id by 0000:02:06.0", "0000:02:01.0 quirk by 0000:02:06.0",
        "0000:02:00.0 pcie-to-pci-bridge by 0000:01:00.0"}},
      {"ASMedia ASM1083 without PCIe capability: PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS",
       testing::pcie_to_pci,
       "0000:04:01.0",
       {"0000:04:01.0 requester-id by 0000:04:01.0", "0000:04:00.0 pcie-bridge-alias-quirk by 0000:03:00.0"}},
      {"VGA behind the conventional DMI-to-PCI bridge (244e on the root bus: no flag)",
       testing::dl360_g7,
       "0000:02:03.0",
       {"0000:02:03.0 requester-id by 0000:02:03.0", "0000:00:1e.0 conventional-bridge by 0000:00:1e.0"}},
      {"iLO function behind a root port",
       testing::dl360_g7,
       "0000:01:00.2",
       {"0000:01:00.2 requester-id by 0000:01:00.2"}},
      {"NVMe below two switches",
       testing::two_level_switch,
       "0000:06:00.0",
       {"0000:06:00.0 requester-id by 0000:06:00.0"}},
  };
  for (const auto& c : cases) {
    const Topology t = build(c.machine());
    const auto result = dma_aliases(t, at(t, c.device));
    EXPECT_EQ(summary(t, result), c.aliases) << c.what;
    EXPECT_TRUE(result.complete) << c.what;
    EXPECT_FALSE(result.stopped_at) << c.what;
    EXPECT_EQ(result.dma_device, at(t, c.device)) << c.what;
  }
}

// Everything behind the PCIe-to-PCI bridge reaches the IOMMU as 02:00.0.
TEST(DmaAlias, ConventionalDevicesBehindOneBridgeShareARequesterId) {
  const Topology t = build(testing::pcie_to_pci());
  for (const char* dev : {"0000:02:04.0", "0000:02:05.0", "0000:02:05.1", "0000:02:06.0"}) {
    const auto rids = dma_aliases(t, at(t, dev)).unique_rids();
    ASSERT_FALSE(rids.empty());
    EXPECT_EQ(rids.back(), Bdf(0, 0x02, 0, 0)) << dev;
  }
}

struct QuirkCase {
  std::uint16_t vendor, device;
  const char* bdf;
  std::vector<std::string> mask;  // alias devfns
  const char* function;
};

TEST(DmaAlias, AliasMaskQuirks) {
  const QuirkCase cases[] = {
      {0x1b4b, 0x9230, "0000:05:00.0", {"00.1"}, "quirk_dma_func1_alias"},
      {0x1b4b, 0x9230, "0000:05:00.1", {}, "quirk_dma_func1_alias"},
      {0x1b4b, 0x9128, "0000:05:00.0", {"00.1"}, "quirk_dma_func1_alias"},
      {0x197b, 0x2392, "0000:05:00.2", {"00.1"}, "quirk_dma_func1_alias"},
      {0x1180, 0xe832, "0000:07:00.3", {"00.0"}, "quirk_dma_func0_alias"},
      {0x1180, 0xe832, "0000:07:00.0", {}, "quirk_dma_func0_alias"},
      {0x6766, 0x3d41, "0000:07:00.1", {"00.0"}, "quirk_dma_func0_alias"},
      {0x8086, 0x2264, "0000:09:00.0", {"10.0", "11.0", "12.3"}, "quirk_mic_x200_dma_alias"},
      {0x8086, 0x10d3, "0000:05:00.0", {}, nullptr},
  };
  for (const auto& c : cases) {
    std::vector<DeviceRecord> records;
    records.push_back(record(c.bdf, testing::pcie_endpoint(c.vendor, c.device, 0x010601)));
    const Topology t = build(std::move(records));
    std::vector<std::string> mask;
    for (const auto devfn : dma_alias_devfns(t, 0)) mask.push_back(format_devfn(devfn));
    EXPECT_EQ(mask, c.mask) << c.bdf;
    const auto result = dma_aliases(t, 0);
    ASSERT_EQ(result.aliases.size(), 1 + c.mask.size());
    for (std::size_t k = 1; k < result.aliases.size(); ++k) {
      EXPECT_EQ(result.aliases[k].reason, AliasReason::kQuirkAlias);
      EXPECT_NE(result.aliases[k].explanation.find(c.function), std::string::npos) << result.aliases[k].explanation;
    }
  }
}

TEST(DmaAlias, MarvellFunctionsAreDmaAliasesOfEachOther) {
  std::vector<DeviceRecord> records;
  records.push_back(
      record("0000:05:00.0", testing::pcie_endpoint(0x1b4b, 0x9230, 0x010601, PcieType::kEndpoint, true)));
  records.push_back(
      record("0000:05:00.1", testing::pcie_endpoint(0x1b4b, 0x9230, 0x010185, PcieType::kEndpoint, true)));
  records.push_back(record("0000:06:00.0", testing::pcie_endpoint(0x8086, 0x10d3, 0x020000)));
  const Topology t = build(std::move(records));
  EXPECT_TRUE(devices_are_dma_aliases(t, 0, 1));
  EXPECT_TRUE(devices_are_dma_aliases(t, 1, 0));
  EXPECT_FALSE(devices_are_dma_aliases(t, 1, 2));
}

TEST(DmaAlias, PlxNtbAliasesAll256DevfnsAndRepeatsItsOwn) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:08:00.1", testing::pcie_endpoint(0x10b5, 0x87b0, 0x068000)));
  const Topology t = build(std::move(records));
  const auto result = dma_aliases(t, 0);
  EXPECT_EQ(result.aliases.size(), 257U);
  EXPECT_EQ(result.unique_rids().size(), 256U);
  EXPECT_EQ(result.aliases[2].rid, Bdf(0, 8, 0, 1));  // mask bit 0x01 repeats the own ID
}

TEST(DmaAlias, VcaAliasesFunctionsZeroToFourOfEverySlot) {
  const DmaQuirk* vca = match_dma_quirks(0x8086, 0x2956, std::nullopt, std::nullopt, 0x0680).front();
  EXPECT_EQ(vca->function, "quirk_pex_vca_alias");
  const auto devfns = quirk_alias_devfns(*vca, 0);
  EXPECT_EQ(devfns.size(), 32U * 5U);
  EXPECT_EQ(devfns.back(), make_devfn(31, 4));
}

TEST(DmaAlias, FixedAliasNeedsTheSubsystemIds) {
  EXPECT_EQ(match_dma_quirks(0x9005, 0x0285, 0x9005, 0x02bc, 0x0104).size(), 1U);
  EXPECT_TRUE(match_dma_quirks(0x9005, 0x0285, 0x9005, 0x0286, 0x0104).empty());
  EXPECT_TRUE(match_dma_quirks(0x9005, 0x0285, std::nullopt, std::nullopt, 0x0104).empty());
}

TEST(DmaAlias, BridgeXlateRootStopsTheWalk) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:00.0", testing::pci_bridge(0x14e4, 0x9000, 0, 0x01, 0x01)));
  records.push_back(record("0000:01:00.0", testing::conventional(0x1000, 0x0072, 0x010700)));
  const Topology t = build(std::move(records));
  const auto result = dma_aliases(t, 1);
  EXPECT_EQ(summary(t, result), std::vector<std::string>{"0000:01:00.0 requester-id by 0000:01:00.0"});
  EXPECT_EQ(result.stopped_at, 0U);
}

TEST(DmaAlias, PciToPcieBridgeAliasesToItself) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:1e.0", testing::pci_bridge(0x8086, 0x244e, 0, 0x01, 0x02, 0x060401)));
  records.push_back(record("0000:01:00.0", testing::pcie_bridge(0x12d8, 0xe130, PcieType::kPciToPcieBridge, 1, 2, 2)));
  records.push_back(record("0000:02:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000)));
  const Topology t = build(std::move(records));
  EXPECT_EQ(summary(t, dma_aliases(t, 2)),
            (std::vector<std::string>{"0000:02:00.0 requester-id by 0000:02:00.0",
                                      "0000:01:00.0 pci-to-pcie-bridge by 0000:01:00.0",
                                      "0000:00:1e.0 conventional-bridge by 0000:00:1e.0"}));
}

TEST(DmaAlias, UnknownsMakeTheResultIncomplete) {
  // A root port read without root: 64 bytes, PCIe-ness unknown.
  std::vector<DeviceRecord> records;
  records.push_back(
      record("0000:00:1c.0", testing::pcie_bridge(0x8086, 0x02b8, PcieType::kRootPort, 0, 2, 2).truncate(64)));
  records.push_back(record("0000:02:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000).truncate(64)));
  const Topology t = build(std::move(records));
  const auto result = dma_aliases(t, 1);
  EXPECT_FALSE(result.complete);
  ASSERT_EQ(result.unknowns.size(), 1U);
  EXPECT_NE(result.unknowns[0].find("0000:00:1c.0"), std::string::npos);
  EXPECT_NE(result.unknowns[0].find("64-byte"), std::string::npos);

  // A bridge named by sysfs but missing from the records.
  std::vector<DeviceRecord> orphan;
  orphan.push_back(record("0000:02:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000),
                          "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0"));
  const Topology o = build(std::move(orphan));
  EXPECT_FALSE(dma_aliases(o, 0).complete);

  // Switchtec NTB: proxy IDs come from MMIO; recorded ones are used.
  std::vector<DeviceRecord> ntb;
  ntb.push_back(record("0000:03:00.1", testing::pcie_endpoint(0x11f8, 0x8531, 0x068000)));
  const Topology n = build(std::move(ntb));
  const auto unknown = dma_aliases(n, 0);
  EXPECT_FALSE(unknown.unknowns.empty());
  std::vector<DeviceRecord> ntb2;
  ntb2.push_back(record("0000:03:00.1", testing::pcie_endpoint(0x11f8, 0x8531, 0x068000)));
  ntb2.back().extra_dma_alias_devfns = {make_devfn(1, 0)};
  const Topology n2 = build(std::move(ntb2));
  const auto known = dma_aliases(n2, 0);
  EXPECT_TRUE(known.unknowns.empty());
  EXPECT_EQ(summary(n2, known), (std::vector<std::string>{"0000:03:00.1 requester-id by 0000:03:00.1",
                                                          "0000:03:01.0 recorded by 0000:03:00.1"}));
}

TEST(DmaAlias, VmdChildrenDmaAsTheVmdEndpoint) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:0e.0",
                           testing::pcie_endpoint(0x8086, 0x467f, 0x010400, PcieType::kRcIntegratedEndpoint),
                           "/sys/devices/pci0000:00/0000:00:0e.0"));
  records.push_back(record("10000:e0:1d.0", testing::pcie_bridge(0x8086, 0x7ab0, PcieType::kRootPort, 0xe0, 0xe1, 0xe1),
                           "/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0"));
  records.push_back(record("10000:e1:00.0", testing::pcie_endpoint(0x144d, 0xa80a, 0x010802),
                           "/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0/10000:e1:00.0"));
  const Topology t = build(std::move(records));
  const std::size_t nvme = at(t, "10000:e1:00.0");
  const auto result = dma_aliases(t, nvme);
  EXPECT_EQ(result.dma_device, at(t, "0000:00:0e.0"));
  EXPECT_EQ(summary(t, result), std::vector<std::string>{"0000:00:0e.0 requester-id by 0000:00:0e.0"});
  EXPECT_TRUE(devices_are_dma_aliases(t, nvme, at(t, "0000:00:0e.0")));

  std::vector<DeviceRecord> without_vmd;
  without_vmd.push_back(record("10000:e1:00.0", testing::pcie_endpoint(0x144d, 0xa80a, 0x010802),
                               "/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0/10000:e1:00.0"));
  const Topology w = build(std::move(without_vmd));
  EXPECT_FALSE(dma_aliases(w, 0).complete);
}

TEST(DmaAlias, QuirkTableEntriesAreWellFormed) {
  for (const auto& quirk : dma_quirks()) {
    EXPECT_FALSE(quirk.function.empty());
    EXPECT_FALSE(quirk.device_name.empty());
    EXPECT_NE(quirk.vendor, kAnyId);
    EXPECT_NE(quirk.device, kAnyId);
  }
  EXPECT_GT(dma_quirks().size(), 100U);
}

}  // namespace
}  // namespace iovakit::pci
