// build_host on each synthetic host of fixtures.h: what it finds (devices,
// groups, units, address widths, the IOMMU status) and how each firmware
// reservation is joined to devices (table, structure, offset, scope). One
// table row per fixture; the expectations were worked out from the real
// tables (iovakit acpi on tests/data/acpi) and the kernel's matching rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "host/support/host_test_util.h"
#include "iovakit/host/firmware_reservations.h"
#include "iovakit/host/iommu_status.h"
#include "iovakit/pci/dma_alias.h"

namespace iovakit::host {
namespace {

using testing::build;
using testing::SysfsFixture;

struct Reservation {
  ReservationKind kind;
  std::string member;
  std::size_t index;
  std::size_t offset;
  ReservationMatch match;
  std::uint64_t first;
  std::uint64_t last;
};

struct FixtureCase {
  std::string name;
  SysfsFixture (*make)();
  IommuVendor vendor;
  std::size_t devices;
  std::size_t groups;
  std::vector<UnitKind> units;
  // Intel: cap_mgaw of the first unit; AMD: 4 + HATS levels; 0: not in sysfs.
  unsigned width;
  std::vector<Reservation> reservations;  // a subset, each must be found exactly
  std::size_t total_reservations;
  std::size_t notes;
};

std::vector<FixtureCase> cases() {
  using K = ReservationKind;
  using M = ReservationMatch;
  return {
      {"intel_laptop",
       testing::intel_laptop,
       IommuVendor::kIntel,
       11,
       6,
       {UnitKind::kIntel, UnitKind::kIntel},
       39,
       {{K::kRmrr, "0000:00:14.0", 0, 0x90, M::kScopeExact, 0x3e2e0000, 0x3e2fffff},
        {K::kRmrr, "0000:00:02.0", 1, 0xb0, M::kScopeExact, 0x8d000000, 0x8f7fffff}},
       2,
       0},
      {"server_nic_rmrr",
       testing::server_nic_rmrr,
       IommuVendor::kIntel,
       23,
       8,
       {UnitKind::kIntel},
       48,
       // The NIC behind root port 00:01.0: a two-element scope path.
       {{K::kRmrr, "0000:03:00.0", 2, 0xc6, M::kScopeExact, 0xdf61e000, 0xdf61ffff},
        {K::kRmrr, "0000:01:00.2", 1, 0x70, M::kScopeExact, 0xdf7df000, 0xdf7e4fff},
        {K::kRmrr, "0000:00:1d.7", 0, 0x50, M::kScopeExact, 0xdf7e6000, 0xdf7e7fff}},
       14,
       1},  // 00:09.0/00.1 names no function of this host
      {"amd_ivmd",
       testing::amd_ivmd,
       IommuVendor::kAmd,
       8,
       4,  // 00:00.0 has no IVHD entry; c4:00.0, .1 and .7 share one
       {UnitKind::kAmd},
       6,
       {{K::kIvmd, "0000:c4:00.7", 1, 0xe8, M::kIvmdDevid, 0x75e00000, 0x75e1ffff}},
       1,
       1},  // IVMD #0 names 00:0c.0, absent
      {"arm_iort_rmr",
       testing::arm_iort_rmr,
       IommuVendor::kArm,
       2,
       4,
       {UnitKind::kArmSmmuV3, UnitKind::kArmSmmuV3},
       0,
       {{K::kRmr, "CIXH5010:00", 0, 0x9e0, M::kRmrStreamId, 0x84800000, 0x84ffffff}},
       1,
       0},
      {"pcie_to_pci",
       testing::pcie_to_pci,
       IommuVendor::kIntel,
       13,
       9,
       {UnitKind::kIntel},
       39,
       {{K::kRmrr, "0000:00:1a.0", 0, 0x50, M::kScopeExact, 0xdf69e000, 0xdf6acfff},
        {K::kRmrr, "0000:00:1d.0", 0, 0x50, M::kScopeExact, 0xdf69e000, 0xdf6acfff}},
       2,
       0},
  };
}

class HostFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(HostFixture, ReadsTheHostWithoutIssues) {
  const FixtureCase& c = GetParam();
  const Host h = build(c.make().build());
  for (const auto& e : h.issues) ADD_FAILURE() << e.to_string();
  EXPECT_TRUE(h.firmware.errors.empty());
  EXPECT_EQ(h.devices.size(), c.devices);
  EXPECT_EQ(h.groups.size(), c.groups);
  ASSERT_TRUE(h.topology.has_value());
  EXPECT_EQ(h.topology->size(), h.devices.size());
  ASSERT_EQ(h.units.size(), c.units.size());
  for (std::size_t i = 0; i < c.units.size(); ++i) EXPECT_EQ(h.units[i].kind, c.units[i]) << h.units[i].name;
  EXPECT_TRUE(h.kernel.version.has_value());
  EXPECT_TRUE(h.kernel.cmdline_known);
  ASSERT_EQ(h.firmware.tables.size(), 1U);
  EXPECT_TRUE(h.firmware.tables[0].decoded.has_value());
}

TEST_P(HostFixture, EveryGroupMemberIsAListedDeviceThatLinksBack) {
  const FixtureCase& c = GetParam();
  const Host h = build(c.make().build());
  for (const auto& g : h.groups) {
    EXPECT_FALSE(g.members.empty()) << g.number;
    EXPECT_TRUE(g.regions_parsed) << g.number;
    EXPECT_TRUE(g.type.has_value()) << g.number;
    for (const auto& m : g.members) {
      EXPECT_FALSE(m.sysfs_path.empty()) << m.name;
      if (!m.bdf) {
        EXPECT_TRUE(m.acpi_path.has_value()) << m.name;  // platform devices: the IORT name
        continue;
      }
      const auto index = h.find_device(*m.bdf);
      ASSERT_TRUE(index.has_value()) << m.name;
      EXPECT_EQ(h.devices[*index].iommu_group, g.number);
    }
  }
}

TEST_P(HostFixture, StatusAndAddressWidth) {
  const FixtureCase& c = GetParam();
  const Host h = build(c.make().build());
  const IommuStatus s = assess_iommu(h);
  EXPECT_EQ(s.vendor, c.vendor);
  EXPECT_TRUE(s.present);
  EXPECT_TRUE(s.enabled);
  EXPECT_TRUE(s.hints.empty());
  const IommuUnit& u = h.units.front();
  if (u.intel) {
    EXPECT_EQ(u.intel->mgaw(), c.width);
  } else if (u.amd) {
    ASSERT_TRUE(u.amd->hats().has_value());
    EXPECT_EQ(4 + *u.amd->hats(), c.width);
  } else {
    EXPECT_EQ(c.width, 0U);
  }
}

TEST_P(HostFixture, FirmwareReservationsJoinedToDevices) {
  const FixtureCase& c = GetParam();
  const Host h = build(c.make().build());
  const ReservationMap map = map_firmware_reservations(h);
  EXPECT_EQ(map.reservations.size(), c.total_reservations);
  EXPECT_EQ(map.notes.size(), c.notes) << ::testing::PrintToString(map.notes);
  for (const auto& want : c.reservations) {
    const auto n = std::count_if(map.reservations.begin(), map.reservations.end(), [&](const FirmwareReservation& r) {
      return r.kind == want.kind && r.member == want.member && r.index == want.index && r.offset == want.offset;
    });
    ASSERT_EQ(n, 1) << want.member << " " << reservation_kind_name(want.kind) << " #" << want.index;
    const auto it = std::find_if(map.reservations.begin(), map.reservations.end(), [&](const FirmwareReservation& r) {
      return r.kind == want.kind && r.member == want.member && r.index == want.index;
    });
    EXPECT_EQ(it->match, want.match);
    ASSERT_TRUE(it->range.has_value());
    EXPECT_EQ(it->range->first(), want.first);
    EXPECT_EQ(it->range->last(), want.last);
    EXPECT_FALSE(it->how.empty());
    EXPECT_NE(it->table.find("sys/firmware/acpi/tables/"), std::string::npos) << it->table;
  }
}

TEST_P(HostFixture, SameHostInMemoryAndOnDisk) {
  const FixtureCase& c = GetParam();
  const FileTree tree = c.make().build();
  testing::ScratchDir dir(c.name);
  ASSERT_TRUE(write_tree_to_directory(tree, dir.path()).ok());
  auto source = open_root(dir.path());
  ASSERT_TRUE(source.ok()) << source.error().to_string();
  auto on_disk = build_host(**source);
  ASSERT_TRUE(on_disk.ok());
  EXPECT_TRUE(same_host(build(tree), *on_disk));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HostFixture, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return param_info.param.name; });

// --- What each fixture is for, beyond the table.

TEST(HostFixtures, ServerNicRmrrIsNonRelaxableInItsGroup) {
  const Host h = build(testing::server_nic_rmrr().build());
  const IommuGroup* g = h.find_group(1);
  ASSERT_NE(g, nullptr);
  const auto direct = std::find_if(g->regions.begin(), g->regions.end(),
                                   [](const iova::ResvRegion& r) { return r.type == iova::ResvType::kDirect; });
  ASSERT_NE(direct, g->regions.end());
  EXPECT_EQ(direct->start, 0xdf61e000U);
  // The NIC is below root port 00:01.0, reached through the scope's path.
  const auto nic = h.find_device(pci::Bdf::parse("0000:03:00.0").value());
  ASSERT_TRUE(nic.has_value());
  const auto parent = h.topology->parent(*nic);
  ASSERT_TRUE(parent.has_value());
  EXPECT_EQ(h.topology->bdf(*parent).to_string(), "0000:00:01.0");
}

TEST(HostFixtures, AmdFeaturesTellEfrFromEfr2ThroughTheIvhd) {
  const Host h = build(testing::amd_ivmd().build());
  ASSERT_EQ(h.units.size(), 1U);
  const auto& amd = h.units[0].amd;
  ASSERT_TRUE(amd.has_value());
  ASSERT_TRUE(amd->efr.has_value());
  EXPECT_EQ(*amd->efr, 0x246577efa2254afaU);
  EXPECT_EQ(amd->efr2, 0x10U);
  EXPECT_EQ(h.units[0].parent, "sys/devices/pci0000:00/0000:00:00.2");
  // The IOMMU's own function has an iommu/ class folder, not a link.
  const auto self = h.find_device(pci::Bdf::parse("0000:00:00.2").value());
  ASSERT_TRUE(self.has_value());
  EXPECT_FALSE(h.devices[*self].iommu.has_value());
  EXPECT_FALSE(h.devices[*self].iommu_group.has_value());
}

TEST(HostFixtures, PcieToPciBridgeDevicesShareOneRequesterId) {
  const Host h = build(testing::pcie_to_pci().build());
  const auto firewire = h.find_device(pci::Bdf::parse("0000:03:00.0").value());
  const auto nic = h.find_device(pci::Bdf::parse("0000:03:01.0").value());
  ASSERT_TRUE(firewire && nic);
  const auto a = pci::dma_aliases(*h.topology, *firewire).unique_rids();
  const auto b = pci::dma_aliases(*h.topology, *nic).unique_rids();
  const pci::Bdf bridge_alias = pci::Bdf::parse("0000:03:00.0").value();
  EXPECT_NE(std::find(a.begin(), a.end(), bridge_alias), a.end());
  EXPECT_NE(std::find(b.begin(), b.end(), bridge_alias), b.end());
  // ... which is why the kernel put the bridge and both devices in one group.
  EXPECT_EQ(h.devices[*firewire].iommu_group, 6U);
  EXPECT_EQ(h.devices[*nic].iommu_group, 6U);
  EXPECT_EQ(h.find_group(6)->members.size(), 3U);
}

TEST(HostFixtures, ArmPlatformMembersCarryTheirAcpiPath) {
  const Host h = build(testing::arm_iort_rmr().build());
  const IommuGroup* g = h.find_group(2);
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->members.size(), 1U);
  EXPECT_EQ(g->members[0].name, "CIXH5010:00");
  EXPECT_EQ(g->members[0].acpi_path, "\\_SB_.DPU0");
  EXPECT_FALSE(g->members[0].bdf.has_value());
}

TEST(HostFixtures, KernelAndCommandLine) {
  const Host h = build(testing::intel_laptop().build());
  EXPECT_EQ(h.kernel.release, "6.1.0-18-amd64");
  ASSERT_TRUE(h.kernel.version.has_value());
  EXPECT_EQ(h.kernel.cmdline.iommu.intel_iommu_on, true);
}

TEST(HostFixtures, NoGroupsMeansNotEnabledWithHowToEnable) {
  // The intel laptop's firmware and units without the kernel's groups (as
  // when VT-d is off on the command line).
  testing::SysfsFixture f;
  f.kernel(std::string(testing::kDebian61), "BOOT_IMAGE=/vmlinuz ro intel_iommu=off");
  f.table("DMAR", testing::read_data("acpi/dmar/microsoft_surface-book-2_linux-surface.dat"));
  const Host h = build(f.build());
  const IommuStatus s = assess_iommu(h);
  EXPECT_EQ(s.vendor, IommuVendor::kIntel);
  EXPECT_TRUE(s.present);
  EXPECT_FALSE(s.enabled);
  ASSERT_FALSE(s.hints.empty());
  EXPECT_NE(s.hints[0].find("intel_iommu=on"), std::string::npos) << s.hints[0];
}

TEST(HostFixtures, EmptyRootIsNotASysfsRoot) {
  FileTree empty;
  TreeSource source(empty, "empty");
  auto h = build_host(source);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("no sys/"), std::string::npos);
  EXPECT_EQ(h.error().where().source, "empty");
}

}  // namespace
}  // namespace iovakit::host
