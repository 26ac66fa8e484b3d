// Config-space builders and small machines for the ACS and IOMMU group tests:
// ports and endpoints with or without an ACS capability, and helpers that
// print a prediction as "group: members" lines.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/kernel/iommu_groups.h"
#include "pci/support/machines.h"

namespace iovakit::kernel::testing {

using pci::PcieType;
using pci::testing::build;
using pci::testing::ConfigBuilder;
using pci::testing::conventional;
using pci::testing::pci_bridge;
using pci::testing::record;

struct Acs {
  std::uint16_t capabilities = 0x001f;  // SV TB RR CR UF
  std::uint16_t control = 0x001d;       // SV RR CR UF
};
inline constexpr Acs kAcsOn{};
inline constexpr Acs kAcsOff{0x001f, 0x0000};

// A PCIe port (type 1 header): SSVID at 0x40, PCIe at 0x60, AER at 0x100 and
// ACS at 0x140 when given.
inline ConfigBuilder port(std::uint16_t vendor, std::uint16_t device, PcieType type, std::uint8_t primary,
                          std::uint8_t secondary, std::uint8_t subordinate, std::optional<Acs> acs,
                          bool multifunction = false) {
  ConfigBuilder b;
  b.ids(vendor, device).class_code(0x060400).header(1, multifunction).buses(primary, secondary, subordinate);
  b.cap_list(0x40).cap(0x40, pci::kCapIdSsvid, 0x60).pcie_cap(0x60, type);
  b.ext_cap(0x100, 0x0001, 2, acs ? 0x140 : 0);
  if (acs) b.acs(0x140, acs->capabilities, acs->control);
  return b;
}

// A PCIe endpoint (PM, MSI, PCIe; AER) with an ACS capability when given.
inline ConfigBuilder endpoint(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
                              bool multifunction = false, std::optional<Acs> acs = std::nullopt,
                              PcieType type = PcieType::kEndpoint) {
  ConfigBuilder b = pci::testing::pcie_endpoint(vendor, device, class_code, type, multifunction);
  if (acs) b.ext_cap(0x100, 0x0001, 2, 0x140).acs(0x140, acs->capabilities, acs->control);
  return b;
}

inline std::size_t at(const pci::Topology& t, std::string_view bdf) {
  const auto i = t.find(pci::Bdf::parse(bdf).value());
  EXPECT_TRUE(i.has_value()) << bdf;
  return i.value_or(0);
}

// "00:1f.0 00:1f.2 00:1f.3" per group, in id order.
inline std::vector<std::string> groups_text(const pci::Topology& t, const GroupPrediction& p) {
  std::vector<std::string> out;
  for (const auto& g : p.groups) {
    std::string line = std::to_string(g.id) + ":";
    for (const auto& m : g.members) line += " " + t.bdf(m.device).to_short_string();
    out.push_back(line);
  }
  return out;
}

// The member record of one device.
inline const GroupMember& member(const pci::Topology& t, const GroupPrediction& p, std::string_view bdf) {
  const std::size_t i = at(t, bdf);
  const auto g = p.group_of.at(i).value();
  for (const auto& m : p.groups.at(g).members) {
    if (m.device == i) return m;
  }
  ADD_FAILURE() << bdf << " is not in its group";
  return p.groups.at(g).members.front();
}

// QEMU q35-like: host bridge, std VGA, two root ports at 00:02.0/00:02.1
// (multifunction=on, as libvirt lays them out), the ICH9 LPC/SATA/SMBus at
// 00:1f.0/.2/.3 (conventional PCI functions on the PCIe root bus), a
// virtio-net behind the first port, an NVMe behind the second.
inline std::vector<pci::DeviceRecord> q35(std::optional<Acs> root_port_acs) {
  ConfigBuilder lpc = conventional(0x8086, 0x2918, 0x060100, true);
  return {
      record("0000:00:00.0", conventional(0x8086, 0x29c0, 0x060000)),
      record("0000:00:01.0", conventional(0x1234, 0x1111, 0x030000)),
      record("0000:00:02.0", port(0x1b36, 0x000c, PcieType::kRootPort, 0, 1, 1, root_port_acs, true)),
      record("0000:00:02.1", port(0x1b36, 0x000c, PcieType::kRootPort, 0, 2, 2, root_port_acs, true)),
      record("0000:00:1f.0", lpc),
      record("0000:00:1f.2", conventional(0x8086, 0x2922, 0x010601, true)),
      record("0000:00:1f.3", conventional(0x8086, 0x2930, 0x0c0500, true)),
      record("0000:01:00.0", endpoint(0x1af4, 0x1041, 0x020000)),
      record("0000:02:00.0", endpoint(0x1b36, 0x0010, 0x010802)),
  };
}

}  // namespace iovakit::kernel::testing
