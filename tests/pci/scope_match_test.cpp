#include "iovakit/pci/scope_match.h"

#include <gtest/gtest.h>

#include <functional>

#include "pci/support/machines.h"

namespace iovakit::pci {
namespace {

using testing::build;
using testing::record;

std::size_t at(const Topology& t, const char* bdf) { return t.find(Bdf::parse(bdf).value()).value(); }

DeviceScope endpoint(std::uint8_t bus, std::vector<ScopePathElement> path) {
  return {kScopeEndpoint, bus, std::move(path)};
}
DeviceScope bridge(std::uint8_t bus, std::vector<ScopePathElement> path) {
  return {kScopeBridge, bus, std::move(path)};
}

std::vector<std::string> slot_names(const Topology& t, const UnitResolution& u) {
  std::vector<std::string> out;
  for (const auto& s : u.slots) out.push_back(t.bdf(s.device).to_string());
  return out;
}

// "0000:02:00.0 via 0000:00:1c.0" or just the device when direct.
std::vector<std::string> reach_names(const Topology& t, const UnitResolution& u) {
  std::vector<std::string> out;
  for (const auto& r : u.reach) {
    out.push_back(r.via_bridge() ? t.bdf(r.device).to_string() + " via " + t.bdf(r.slot).to_string()
                                 : t.bdf(r.device).to_string());
  }
  return out;
}

struct UnitCase {
  const char* what;
  std::function<std::vector<DeviceRecord>()> machine;
  std::uint16_t segment;
  std::vector<DeviceScope> scopes;
  std::vector<std::string> slots;
  std::vector<std::string> reach;
  std::vector<std::string> log;
};

// dmar_insert_dev_scope + is_downstream_to_pci_bridge over whole machines.
TEST(ScopeMatch, UnitsOverMachines) {
  const auto laptop = [] { return testing::intel_laptop(true); };
  const UnitCase cases[] = {
      {"IGD RMRR", laptop, 0, {endpoint(0, {{0x02, 0}})}, {"0000:00:02.0"}, {"0000:00:02.0"}, {}},
      {"USB RMRR with two scopes, one absent",
       laptop,
       0,
       {endpoint(0, {{0x14, 0}}), endpoint(0, {{0x1a, 0}})},
       {"0000:00:14.0"},
       {"0000:00:14.0"},
       {}},
      {"exact two-hop path to the NIC",
       laptop,
       0,
       {endpoint(0, {{0x1c, 0}, {0x00, 0}})},
       {"0000:02:00.0"},
       {"0000:02:00.0"},
       {}},
      {"one-element fallback: start bus is the NIC's own bus",
       laptop,
       0,
       {endpoint(0x02, {{0x00, 0}})},
       {"0000:02:00.0"},
       {"0000:02:00.0"},
       {"DMAR: [Firmware Bug]: RMRR entry for device 02:00.0 is broken - applying workaround"}},
      {"no fallback for two-element paths", laptop, 0, {endpoint(0x02, {{0x00, 0}, {0x00, 0}})}, {}, {}, {}},
      {"endpoint scope on a bridge header is rejected",
       laptop,
       0,
       {endpoint(0, {{0x1c, 0}})},
       {},
       {},
       {"DMAR: Device scope type does not match for 0000:00:1c.0"}},
      {"bridge scope on a normal header with a non-bridge class is rejected",
       laptop,
       0,
       {bridge(0, {{0x14, 0}})},
       {},
       {},
       {"DMAR: Device scope type does not match for 0000:00:14.0"}},
      {"bridge scope on the ISA bridge: a normal header with bridge class passes (the NTB exception)",
       laptop,
       0,
       {bridge(0, {{0x1f, 0}})},
       {"0000:00:1f.0"},
       {"0000:00:1f.0"},
       {}},
      {"bridge scope: the root port and its sub-hierarchy",
       laptop,
       0,
       {bridge(0, {{0x1c, 0}})},
       {"0000:00:1c.0"},
       {"0000:00:1c.0", "0000:02:00.0 via 0000:00:1c.0"},
       {}},
      {"another segment is skipped", laptop, 1, {endpoint(0, {{0x02, 0}})}, {}, {}, {}},
      {"IOAPIC and namespace entries are not PCI scopes",
       laptop,
       0,
       {DeviceScope{kScopeIoapic, 0xf0, {{0x1f, 0}}}, DeviceScope{kScopeNamespace, 0, {{0x02, 0}}}},
       {},
       {},
       {}},
      {"DL360 G7: RMRR with start bus 00 and (1c.4),(00.x) hops",
       testing::dl360_g7,
       0,
       {endpoint(0, {{0x1d, 0}}), endpoint(0, {{0x1d, 1}}), endpoint(0, {{0x1d, 2}}), endpoint(0, {{0x1d, 3}}),
        endpoint(0, {{0x1c, 4}, {0x00, 0}}), endpoint(0, {{0x1c, 4}, {0x00, 2}}), endpoint(0, {{0x1c, 4}, {0x00, 4}})},
       {"0000:00:1d.0", "0000:00:1d.1", "0000:00:1d.2", "0000:00:1d.3", "0000:01:00.0", "0000:01:00.2", "0000:01:00.4"},
       {"0000:00:1d.0", "0000:00:1d.1", "0000:00:1d.2", "0000:00:1d.3", "0000:01:00.0", "0000:01:00.2", "0000:01:00.4"},
       {}},
      {"DL360 G7: NIC functions behind root ports 01.0, 03.0, 09.0",
       testing::dl360_g7,
       0,
       {endpoint(0, {{0x01, 0}, {0x00, 0}}), endpoint(0, {{0x09, 0}, {0x00, 0}}), endpoint(0, {{0x09, 0}, {0x00, 1}}),
        endpoint(0, {{0x03, 0}, {0x00, 0}}), endpoint(0, {{0x03, 0}, {0x00, 1}})},
       {"0000:03:00.0", "0000:04:00.0", "0000:04:00.1", "0000:05:00.0", "0000:05:00.1"},
       {"0000:03:00.0", "0000:04:00.0", "0000:04:00.1", "0000:05:00.0", "0000:05:00.1"},
       {}},
      {"DL360 G7 ATSR: bridge scopes on the 5520 root ports (02.0, 07.0, 08.0, 0a.0 absent)",
       testing::dl360_g7,
       0,
       {bridge(0, {{0x0a, 0}}), bridge(0, {{0x09, 0}}), bridge(0, {{0x08, 0}}), bridge(0, {{0x07, 0}}),
        bridge(0, {{0x03, 0}}), bridge(0, {{0x02, 0}}), bridge(0, {{0x01, 0}})},
       {"0000:00:01.0", "0000:00:03.0", "0000:00:09.0"},
       {"0000:00:01.0", "0000:00:03.0", "0000:00:09.0", "0000:03:00.0 via 0000:00:01.0",
        "0000:03:00.1 via 0000:00:01.0", "0000:04:00.0 via 0000:00:03.0", "0000:04:00.1 via 0000:00:03.0",
        "0000:05:00.0 via 0000:00:09.0", "0000:05:00.1 via 0000:00:09.0"},
       {}},
      {"bridge scope on a switch downstream port reaches the second switch and the NVMe",
       testing::two_level_switch,
       0,
       {bridge(0, {{0x01, 0}, {0x00, 0}, {0x09, 0}})},
       {"0000:02:09.0"},
       {"0000:02:09.0", "0000:04:00.0 via 0000:02:09.0", "0000:05:00.0 via 0000:02:09.0",
        "0000:06:00.0 via 0000:02:09.0"},
       {}},
      {"six-hop endpoint path to the NVMe",
       testing::two_level_switch,
       0,
       {endpoint(0, {{0x01, 0}, {0x00, 0}, {0x09, 0}, {0x00, 0}, {0x00, 0}, {0x00, 0}})},
       {"0000:06:00.0"},
       {"0000:06:00.0"},
       {}},
      {"PCIe-to-PCI bridge scope covers the conventional bus",
       testing::pcie_to_pci,
       0,
       {bridge(0, {{0x1c, 0}, {0x00, 0}})},
       {"0000:01:00.0"},
       {"0000:01:00.0", "0000:02:04.0 via 0000:01:00.0", "0000:02:05.0 via 0000:01:00.0",
        "0000:02:05.1 via 0000:01:00.0", "0000:02:06.0 via 0000:01:00.0"},
       {}},
  };
  for (const auto& c : cases) {
    const Topology t = build(c.machine());
    const auto unit = resolve_unit(t, c.segment, c.scopes);
    EXPECT_EQ(slot_names(t, unit), c.slots) << c.what;
    EXPECT_EQ(reach_names(t, unit), c.reach) << c.what;
    EXPECT_EQ(unit.kernel_log, c.log) << c.what;
  }
}

TEST(ScopeMatch, MatchPciPathExactAndFallback) {
  const NotifyInfo nic{0, 0x00, {Bdf(0, 0x00, 0x1c, 0), Bdf(0, 0x02, 0, 0)}};
  const ScopePathElement rp{0x1c, 0};
  const ScopePathElement dev{0x00, 0};
  EXPECT_EQ(match_pci_path(nic, 0x00, std::vector{rp, dev}), PathMatch::kExact);
  EXPECT_EQ(match_pci_path(nic, 0x02, std::vector{dev}), PathMatch::kFallback);
  EXPECT_EQ(match_pci_path(nic, 0x00, std::vector{dev}), PathMatch::kNone);      // depth differs, bus 00 != 02
  EXPECT_EQ(match_pci_path(nic, 0x01, std::vector{rp, dev}), PathMatch::kNone);  // wrong root bus
  EXPECT_EQ(match_pci_path(nic, 0x00, std::vector{rp, ScopePathElement{0, 1}}), PathMatch::kNone);
  EXPECT_EQ(match_pci_path(nic, 0x00, std::vector<ScopePathElement>{}), PathMatch::kNone);
  // A device on a second root bus 0x80.
  const NotifyInfo far{0, 0x80, {Bdf(0, 0x80, 0x02, 0)}};
  EXPECT_EQ(match_pci_path(far, 0x80, std::vector{ScopePathElement{0x02, 0}}), PathMatch::kExact);
  EXPECT_EQ(fallback_log_line(0x02, dev),
            "DMAR: [Firmware Bug]: RMRR entry for device 02:00.0 is broken - applying workaround");
}

TEST(ScopeMatch, FirstMatchingEntryDecidesAndAMismatchAbortsLaterUnits) {
  const Topology t = build(testing::intel_laptop(true));
  const std::size_t rp = at(t, "0000:00:1c.0");
  // Entry 0 (endpoint) path-matches the root port and is rejected, although
  // entry 1 (bridge) would have fitted.
  const std::vector<DeviceScope> scopes = {endpoint(0, {{0x1c, 0}}), bridge(0, {{0x1c, 0}})};
  const auto match = insert_dev_scope(t, rp, 0, scopes);
  EXPECT_EQ(match.outcome, ScopeOutcome::kTypeMismatch);
  EXPECT_EQ(match.scope_index, 0U);
  EXPECT_TRUE(match.aborts_later_units());
  // The other order inserts through entry 0.
  const std::vector<DeviceScope> swapped = {bridge(0, {{0x1c, 0}}), endpoint(0, {{0x1c, 0}})};
  const auto ok = insert_dev_scope(t, rp, 0, swapped);
  EXPECT_EQ(ok.outcome, ScopeOutcome::kInserted);
  EXPECT_EQ(ok.scope_index, 0U);
  EXPECT_FALSE(ok.aborts_later_units());
}

TEST(ScopeMatch, VfsAndVmdDomainsAreIgnored) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:01.0", testing::pcie_bridge(0x8086, 0x1901, PcieType::kRootPort, 0, 1, 1)));
  records.push_back(record("0000:01:00.0", testing::pcie_endpoint(0x8086, 0x1572, 0x020000)));
  DeviceRecord vf = record("0000:01:02.0", testing::pcie_endpoint(0x8086, 0x154c, 0x020000));
  vf.is_virtfn = true;
  records.push_back(std::move(vf));
  records.push_back(record("10000:e1:00.0", testing::pcie_endpoint(0x144d, 0xa80a, 0x010802)));
  const Topology t = build(std::move(records));
  EXPECT_FALSE(notify_info(t, at(t, "0000:01:02.0")));
  EXPECT_FALSE(notify_info(t, at(t, "10000:e1:00.0")));
  EXPECT_EQ(insert_dev_scope(t, at(t, "0000:01:02.0"), 0, std::vector{endpoint(1, {{0x02, 0}})}).outcome,
            ScopeOutcome::kIgnored);
  const auto info = notify_info(t, at(t, "0000:01:00.0"));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->root_bus, 0x00);
  EXPECT_EQ(info->path.size(), 2U);
}

TEST(ScopeMatch, DownstreamToPciBridgeIsABusRangeTest) {
  const Topology t = build(testing::two_level_switch());
  const std::size_t dp = at(t, "0000:02:09.0");
  EXPECT_TRUE(is_downstream_to_pci_bridge(t, at(t, "0000:06:00.0"), dp));
  EXPECT_TRUE(is_downstream_to_pci_bridge(t, at(t, "0000:04:00.0"), dp));
  EXPECT_FALSE(is_downstream_to_pci_bridge(t, at(t, "0000:03:00.0"), dp));
  EXPECT_FALSE(is_downstream_to_pci_bridge(t, dp, dp));                     // its own bus is 02
  EXPECT_FALSE(is_downstream_to_pci_bridge(t, dp, at(t, "0000:06:00.0")));  // an endpoint has no subordinate
}

struct CompareCase {
  const char* what;
  std::function<std::vector<DeviceRecord>()> machine;
  DeviceScope scope;
  bool agree;
  const char* spec_device;  // nullptr: the spec walk fails
  const char* explanation;  // a fragment
};

// The VT-d specification's reading next to Linux's.
TEST(ScopeMatch, SpecAndKernelReadings) {
  const auto laptop = [] { return testing::intel_laptop(true); };
  const CompareCase cases[] = {
      {"DL360 two-hop path: both agree", testing::dl360_g7, endpoint(0, {{0x1c, 4}, {0x00, 2}}), true, "0000:01:00.2",
       "Linux matches it by path from root bus 00"},
      {"fallback: both name the NIC, Linux only through its workaround", laptop, endpoint(0x02, {{0x00, 0}}), true,
       "0000:02:00.0", "one-element fallback"},
      {"start bus below the root port: the spec walks it, Linux matches nothing", testing::two_level_switch,
       endpoint(0x02, {{0x08, 0}, {0x00, 0}}), false, "0000:03:00.0",
       "the device's path from root bus 00 is (01.0),(00.0),(08.0),(00.0) (depth 4), the scope's starts at bus 02 "
       "with depth 2"},
      {"switch skipped in the path: both land on the upstream port, Linux rejects the type", testing::two_level_switch,
       endpoint(0, {{0x01, 0}, {0x00, 0}}), false, "0000:01:00.0", "rejects the scope type"},
      {"a hop through a non-bridge", laptop, endpoint(0, {{0x14, 0}, {0x00, 0}}), false, nullptr,
       "not a bridge with a secondary bus"},
      {"a device that is not there", laptop, endpoint(0, {{0x1c, 0}, {0x00, 1}}), false, nullptr,
       "names 0000:02:00.1, which is not present"},
  };
  for (const auto& c : cases) {
    const Topology t = build(c.machine());
    const auto comparisons = compare_scopes(t, 0, std::vector{c.scope});
    ASSERT_EQ(comparisons.size(), 1U) << c.what;
    const auto& cmp = comparisons[0];
    EXPECT_EQ(cmp.agree, c.agree) << c.what << ": " << cmp.explanation;
    if (c.spec_device) {
      ASSERT_TRUE(cmp.spec.device) << c.what << ": " << cmp.explanation;
      EXPECT_EQ(t.bdf(*cmp.spec.device).to_string(), c.spec_device) << c.what;
    } else {
      EXPECT_FALSE(cmp.spec.device) << c.what;
      EXPECT_TRUE(cmp.spec.failure) << c.what;
    }
    EXPECT_NE(cmp.explanation.find(c.explanation), std::string::npos) << c.what << ": " << cmp.explanation;
  }
}

TEST(ScopeMatch, SpecWalkRecordsEachHop) {
  const Topology t = build(testing::two_level_switch());
  const auto spec =
      resolve_spec_path(t, 0, endpoint(0, {{0x01, 0}, {0x00, 0}, {0x09, 0}, {0x00, 0}, {0x00, 0}, {0x00, 0}}));
  ASSERT_TRUE(spec.device);
  EXPECT_EQ(t.bdf(*spec.device).to_string(), "0000:06:00.0");
  std::vector<std::string> hops;
  for (const auto& hop : spec.walked) hops.push_back(hop.to_short_string());
  EXPECT_EQ(hops, (std::vector<std::string>{"00:01.0", "01:00.0", "02:09.0", "04:00.0", "05:00.0", "06:00.0"}));
  EXPECT_TRUE(resolve_spec_path(t, 0, endpoint(0, {})).failure);
  EXPECT_TRUE(resolve_spec_path(t, 0, endpoint(0, {{0x20, 0}})).failure);
  EXPECT_EQ(endpoint(0, {{0x1c, 4}, {0x00, 2}}).to_string(), "endpoint 00:1c.4/00.2");
  EXPECT_EQ(bridge(0x80, {{0x03, 0}}).to_string(), "bridge 80:03.0");
}

}  // namespace
}  // namespace iovakit::pci
