#include "iovakit/pci/topology.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "pci/support/machines.h"

namespace iovakit::pci {
namespace {

using testing::build;
using testing::record;

std::vector<std::string> names(const Topology& t, const std::vector<std::size_t>& indexes) {
  std::vector<std::string> out;
  out.reserve(indexes.size());
  for (const auto i : indexes) out.push_back(t.bdf(i).to_string());
  return out;
}

std::vector<std::string> path_names(const Topology& t, const char* bdf) {
  std::vector<std::string> out;
  for (const auto& hop : t.path_from_root(*t.find(Bdf::parse(bdf).value()))) out.push_back(hop.to_short_string());
  return out;
}

std::size_t at(const Topology& t, const char* bdf) { return t.find(Bdf::parse(bdf).value()).value(); }

bool has_issue(const Topology& t, TopologyIssueKind kind) {
  return std::any_of(t.issues().begin(), t.issues().end(), [kind](const auto& i) { return i.kind == kind; });
}

struct PathCase {
  const char* device;
  std::vector<std::string> path;
  std::uint8_t root_bus;
  const char* parent;  // nullptr: on the root bus
};

// The Intel laptop built twice, from sysfs paths and from bus ranges alone:
// both must give the kernel's hierarchy.
TEST(Topology, IntelLaptopFromSysfsAndFromBusRanges) {
  const PathCase cases[] = {
      {"0000:00:02.0", {"00:02.0"}, 0x00, nullptr},
      {"0000:00:14.0", {"00:14.0"}, 0x00, nullptr},
      {"0000:00:1c.0", {"00:1c.0"}, 0x00, nullptr},
      {"0000:02:00.0", {"00:1c.0", "02:00.0"}, 0x00, "0000:00:1c.0"},
  };
  for (const bool with_sysfs : {true, false}) {
    SCOPED_TRACE(with_sysfs ? "sysfs" : "bus ranges");
    const Topology t = build(testing::intel_laptop(with_sysfs));
    EXPECT_EQ(t.size(), 8U);
    EXPECT_TRUE(t.issues().empty());
    for (const auto& c : cases) {
      const std::size_t i = at(t, c.device);
      EXPECT_EQ(path_names(t, c.device), c.path) << c.device;
      EXPECT_EQ(t.root_bus(i), c.root_bus) << c.device;
      if (c.parent) {
        ASSERT_TRUE(t.parent(i)) << c.device;
        EXPECT_EQ(t.bdf(*t.parent(i)).to_string(), c.parent);
        EXPECT_EQ(t.parent_source(i), with_sysfs ? ParentSource::kSysfs : ParentSource::kBusRange);
        EXPECT_FALSE(t.on_root_bus(i));
      } else {
        EXPECT_FALSE(t.parent(i)) << c.device;
        EXPECT_EQ(t.parent_source(i), ParentSource::kRootBus);
        EXPECT_TRUE(t.on_root_bus(i));
      }
    }
    const std::size_t rp = at(t, "0000:00:1c.0");
    EXPECT_EQ(t.bus_range(rp), (BusRange{0x02, 0x02}));
    EXPECT_EQ(names(t, t.children(rp)), std::vector<std::string>{"0000:02:00.0"});
    EXPECT_EQ(names(t, t.slot_functions(at(t, "0000:00:1f.3"))),
              (std::vector<std::string>{"0000:00:1f.0", "0000:00:1f.3", "0000:00:1f.4"}));
    EXPECT_EQ(t.bus_devices(0, 0x02).size(), 1U);
    EXPECT_TRUE(t.is_below(at(t, "0000:02:00.0"), rp));
    EXPECT_FALSE(t.is_below(rp, at(t, "0000:02:00.0")));
  }
}

TEST(Topology, Dl360RootPortsAndIlo) {
  const Topology t = build(testing::dl360_g7());
  EXPECT_TRUE(t.issues().empty());
  EXPECT_EQ(path_names(t, "0000:01:00.2"), (std::vector<std::string>{"00:1c.4", "01:00.2"}));
  EXPECT_EQ(path_names(t, "0000:04:00.1"), (std::vector<std::string>{"00:03.0", "04:00.1"}));
  EXPECT_EQ(path_names(t, "0000:02:03.0"), (std::vector<std::string>{"00:1e.0", "02:03.0"}));
  EXPECT_EQ(names(t, t.children(at(t, "0000:00:1c.4"))),
            (std::vector<std::string>{"0000:01:00.0", "0000:01:00.2", "0000:01:00.4"}));
  EXPECT_TRUE(t.children(at(t, "0000:00:1c.0")).empty());
}

TEST(Topology, PcieToPciBridgeFromBusRanges) {
  const Topology t = build(testing::pcie_to_pci());
  EXPECT_TRUE(t.issues().empty());
  EXPECT_EQ(path_names(t, "0000:02:05.1"), (std::vector<std::string>{"00:1c.0", "01:00.0", "02:05.1"}));
  EXPECT_EQ(path_names(t, "0000:04:01.0"), (std::vector<std::string>{"00:1c.1", "03:00.0", "04:01.0"}));
  // 00:1c.0's range [01-02] holds bus 02 too, but 01:00.0 is the bridge whose
  // secondary bus it is.
  EXPECT_EQ(t.bdf(*t.parent(at(t, "0000:02:04.0"))).to_string(), "0000:01:00.0");
  EXPECT_EQ(names(t, t.slot_functions(at(t, "0000:02:05.0"))),
            (std::vector<std::string>{"0000:02:05.0", "0000:02:05.1"}));
}

TEST(Topology, TwoLevelSwitchMixesSysfsAndInference) {
  const Topology t = build(testing::two_level_switch());
  EXPECT_TRUE(t.issues().empty());
  EXPECT_EQ(path_names(t, "0000:06:00.0"),
            (std::vector<std::string>{"00:01.0", "01:00.0", "02:09.0", "04:00.0", "05:00.0", "06:00.0"}));
  EXPECT_EQ(path_names(t, "0000:03:00.1"), (std::vector<std::string>{"00:01.0", "01:00.0", "02:08.0", "03:00.1"}));
  EXPECT_EQ(t.parent_source(at(t, "0000:02:09.0")), ParentSource::kSysfs);
  EXPECT_EQ(t.parent_source(at(t, "0000:04:00.0")), ParentSource::kBusRange);
  EXPECT_EQ(t.root_bus(at(t, "0000:06:00.0")), 0x00);
}

TEST(Topology, UnconfiguredBridgeRangeIsAnIssueAndHoldsNothing) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:1c.0", testing::pcie_bridge(0x8086, 0x3a40, PcieType::kRootPort, 0, 0, 0)));
  records.push_back(record("0000:00:1c.1", testing::pcie_bridge(0x8086, 0x3a42, PcieType::kRootPort, 0, 5, 3)));
  const Topology t = build(std::move(records));
  EXPECT_FALSE(t.bus_range(0));
  EXPECT_FALSE(t.bus_range(1));
  EXPECT_EQ(std::count_if(t.issues().begin(), t.issues().end(),
                          [](const auto& i) { return i.kind == TopologyIssueKind::kBusRangeUnconfigured; }),
            2);
}

TEST(Topology, SysfsBusRangeOverridesConfig) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:1c.0", testing::pcie_bridge(0x8086, 0x3a40, PcieType::kRootPort, 0, 0, 0)));
  records.back().bus_range = BusRange{0x02, 0x03};
  records.push_back(record("0000:02:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000)));
  const Topology t = build(std::move(records));
  EXPECT_TRUE(t.issues().empty());
  EXPECT_EQ(t.bus_range(0), (BusRange{0x02, 0x03}));
  EXPECT_EQ(t.parent(1), 0U);
}

TEST(Topology, VirtualBusOfVfsAndHiddenBridges) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:03.0", testing::pcie_bridge(0x8086, 0x2f08, PcieType::kRootPort, 0, 0x03, 0x04)));
  records.push_back(record("0000:03:00.0", testing::pcie_endpoint(0x8086, 0x1572, 0x020000)));
  // A VF numbered past its PF's bus sits on a virtual bus (no bridge); sysfs
  // puts it below the bridge of the PF's bus.
  records.push_back(
      DeviceRecord{.bdf = Bdf(0, 0x04, 0x10, 0),
                   .config = testing::pcie_endpoint(0xffff, 0xffff, 0x020000).parse({.virtual_function = true}),
                   .sysfs_path = parse_sysfs_device_path("/sys/devices/pci0000:00/0000:00:03.0/0000:04:10.0").value(),
                   .is_virtfn = true});
  const Topology t = build(std::move(records));
  EXPECT_TRUE(t.issues().empty());
  EXPECT_EQ(t.bdf(*t.parent(at(t, "0000:04:10.0"))).to_string(), "0000:00:03.0");
  EXPECT_EQ(path_names(t, "0000:04:10.0"), (std::vector<std::string>{"00:03.0", "04:10.0"}));

  std::vector<DeviceRecord> hidden;
  hidden.push_back(record("0000:00:03.0", testing::pcie_bridge(0x8086, 0x2f08, PcieType::kRootPort, 0, 0x03, 0x05)));
  hidden.push_back(record("0000:05:00.0", testing::pcie_endpoint(0x8086, 0x1572, 0x020000)));
  DeviceRecord vf_rec = record("0000:04:10.1", testing::pcie_endpoint(0x8086, 0x154c, 0x020000));
  vf_rec.is_virtfn = true;
  hidden.push_back(std::move(vf_rec));
  const Topology h = build(std::move(hidden));
  EXPECT_EQ(h.parent_source(at(h, "0000:05:00.0")), ParentSource::kEnclosingRange);
  EXPECT_EQ(h.parent_source(at(h, "0000:04:10.1")), ParentSource::kEnclosingRange);
  // Only the non-VF is an issue: a VF past its PF's bus is normal.
  EXPECT_EQ(h.issues().size(), 1U);
  EXPECT_EQ(h.issues()[0].device, Bdf(0, 5, 0, 0));
  EXPECT_TRUE(has_issue(h, TopologyIssueKind::kHiddenBridge));
}

TEST(Topology, SysfsParentMissingFromTheRecordsKeepsThePath) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:02:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000),
                           "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0"));
  const Topology t = build(std::move(records));
  EXPECT_TRUE(has_issue(t, TopologyIssueKind::kParentNotInRecords));
  EXPECT_FALSE(t.parent(0));
  EXPECT_FALSE(t.on_root_bus(0));
  EXPECT_EQ(path_names(t, "0000:02:00.0"), (std::vector<std::string>{"00:1c.0", "02:00.0"}));
}

TEST(Topology, AmbiguousParentsAndSysfsConflicts) {
  std::vector<DeviceRecord> records;
  records.push_back(record("0000:00:1c.0", testing::pcie_bridge(0x8086, 0x3a40, PcieType::kRootPort, 0, 2, 2)));
  records.push_back(record("0000:00:1c.1", testing::pcie_bridge(0x8086, 0x3a42, PcieType::kRootPort, 0, 2, 2)));
  records.push_back(record("0000:02:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000)));
  records.push_back(record("0000:00:1c.2", testing::pcie_bridge(0x8086, 0x3a44, PcieType::kRootPort, 0, 3, 3),
                           "/sys/devices/pci0000:00/0000:00:1c.2"));
  records.push_back(record("0000:04:00.0", testing::pcie_endpoint(0x10ec, 0x8168, 0x020000),
                           "/sys/devices/pci0000:00/0000:00:1c.2/0000:04:00.0"));
  const Topology t = build(std::move(records));
  EXPECT_TRUE(has_issue(t, TopologyIssueKind::kAmbiguousParent));
  EXPECT_TRUE(has_issue(t, TopologyIssueKind::kSysfsConflict));
  EXPECT_EQ(t.bdf(*t.parent(at(t, "0000:02:00.0"))).to_string(), "0000:00:1c.0");
}

struct BadBuild {
  const char* what;
  std::vector<DeviceRecord> records;
  const char* reason;
};

TEST(Topology, ContradictionsAreErrors) {
  std::vector<BadBuild> cases;
  {
    std::vector<DeviceRecord> r;
    r.push_back(record("0000:00:02.0", testing::conventional(1, 2, 0x030000)));
    r.push_back(record("0000:00:02.0", testing::conventional(1, 2, 0x030000)));
    cases.push_back({"duplicate", std::move(r), "recorded twice"});
  }
  {
    std::vector<DeviceRecord> r;
    r.push_back(record("0000:00:02.0", testing::conventional(1, 2, 0x030000), "/sys/devices/pci0000:00/0000:00:03.0"));
    cases.push_back({"foreign sysfs path", std::move(r), "carries the sysfs path of 0000:00:03.0"});
  }
  {
    std::vector<DeviceRecord> r;
    r.push_back(record("0000:01:00.0", testing::pcie_bridge(1, 2, PcieType::kDownstreamPort, 1, 2, 2),
                       "/sys/devices/pci0000:02/0000:02:00.0/0000:01:00.0"));
    r.push_back(record("0000:02:00.0", testing::pcie_bridge(1, 2, PcieType::kDownstreamPort, 2, 3, 3),
                       "/sys/devices/pci0000:01/0000:01:00.0/0000:02:00.0"));
    cases.push_back({"cycle", std::move(r), "form a cycle"});
  }
  for (auto& c : cases) {
    auto t = Topology::build(std::move(c.records));
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_EQ(t.error().code(), Errc::kInvalidArgument) << c.what;
    EXPECT_NE(t.error().message().find(c.reason), std::string::npos) << t.error().to_string();
  }
}

}  // namespace
}  // namespace iovakit::pci
