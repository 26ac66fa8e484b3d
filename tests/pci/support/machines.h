// Device records of whole machines for topology, DMA-alias and scope tests.
// Each function returns records the way the host layer would fill them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "iovakit/pci/sysfs_path.h"
#include "iovakit/pci/topology.h"
#include "pci/support/config_builder.h"

namespace iovakit::pci::testing {

inline DeviceRecord record(std::string_view bdf, const ConfigBuilder& config, std::string_view sysfs = {}) {
  DeviceRecord rec{.bdf = Bdf::parse(bdf).value(), .config = config.parse()};
  if (!sysfs.empty()) rec.sysfs_path = parse_sysfs_device_path(sysfs).value();
  return rec;
}

inline Topology build(std::vector<DeviceRecord> records) {
  auto topology = Topology::build(std::move(records));
  EXPECT_TRUE(topology.ok()) << (topology.ok() ? "" : topology.error().to_string());
  return std::move(topology).value();
}

// An Intel laptop: IGD 00:02.0, xHCI 00:14.0, root port 00:1c.0 with a NIC
// at 02:00.0, the PCH's LPC/ISA bridge, audio and SMBus at 00:1f.*.
inline std::vector<DeviceRecord> intel_laptop(bool with_sysfs) {
  const auto path = [with_sysfs](std::string_view p) { return with_sysfs ? p : std::string_view{}; };
  ConfigBuilder host = conventional(0x8086, 0x9b61, 0x060000);
  return {
      record("0000:00:00.0", host, path("/sys/devices/pci0000:00/0000:00:00.0")),
      record("0000:00:02.0", pcie_endpoint(0x8086, 0x9b41, 0x030000, PcieType::kRcIntegratedEndpoint),
             path("/sys/devices/pci0000:00/0000:00:02.0")),
      record("0000:00:14.0", conventional(0x8086, 0x02ed, 0x0c0330, true),
             path("/sys/devices/pci0000:00/0000:00:14.0")),
      record("0000:00:1c.0", pcie_bridge(0x8086, 0x02b8, PcieType::kRootPort, 0x00, 0x02, 0x02),
             path("/sys/devices/pci0000:00/0000:00:1c.0")),
      record("0000:00:1f.0", conventional(0x8086, 0x0284, 0x060100, true),
             path("/sys/devices/pci0000:00/0000:00:1f.0")),
      record("0000:00:1f.3", conventional(0x8086, 0x02c8, 0x040380, true),
             path("/sys/devices/pci0000:00/0000:00:1f.3")),
      record("0000:00:1f.4", conventional(0x8086, 0x02a3, 0x0c0500, true),
             path("/sys/devices/pci0000:00/0000:00:1f.4")),
      record("0000:02:00.0", pcie_endpoint(0x10ec, 0x8168, 0x020000),
             path("/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0")),
  };
}

// An HP ProLiant DL360 G7 style server (Intel 5520 + ICH10): NICs behind root
// ports 00:01.0, 00:03.0, 00:09.0, iLO functions behind root port 00:1c.4
// (its DMAR RMRRs use two-hop scopes such as start bus 00, (1c.4),(00.2)),
// UHCI/EHCI at 00:1d.*, and a Matrox VGA behind the conventional DMI-to-PCI
// bridge 00:1e.0. The bus numbers behind the root ports are this fixture's.
inline std::vector<DeviceRecord> dl360_g7() {
  const std::string_view root = "/sys/devices/pci0000:00/";
  const auto at = [root](std::string_view rest) { return std::string(root) + std::string(rest); };
  std::vector<DeviceRecord> out;
  const auto add = [&](std::string_view bdf, const ConfigBuilder& config, std::string_view rest) {
    const std::string sysfs = at(rest);
    out.push_back(record(bdf, config, sysfs));
  };
  add("0000:00:00.0", conventional(0x8086, 0x3406, 0x060000), "0000:00:00.0");
  add("0000:00:01.0", pcie_bridge(0x8086, 0x3408, PcieType::kRootPort, 0, 0x03, 0x03), "0000:00:01.0");
  add("0000:00:03.0", pcie_bridge(0x8086, 0x340a, PcieType::kRootPort, 0, 0x04, 0x04), "0000:00:03.0");
  add("0000:00:09.0", pcie_bridge(0x8086, 0x3410, PcieType::kRootPort, 0, 0x05, 0x05), "0000:00:09.0");
  add("0000:00:1c.0", pcie_bridge(0x8086, 0x3a40, PcieType::kRootPort, 0, 0x06, 0x06), "0000:00:1c.0");
  add("0000:00:1c.4", pcie_bridge(0x8086, 0x3a48, PcieType::kRootPort, 0, 0x01, 0x01), "0000:00:1c.4");
  add("0000:00:1d.0", conventional(0x8086, 0x3a34, 0x0c0300, true), "0000:00:1d.0");
  add("0000:00:1d.1", conventional(0x8086, 0x3a35, 0x0c0300, true), "0000:00:1d.1");
  add("0000:00:1d.2", conventional(0x8086, 0x3a36, 0x0c0300, true), "0000:00:1d.2");
  add("0000:00:1d.3", conventional(0x8086, 0x3a39, 0x0c0300, true), "0000:00:1d.3");
  add("0000:00:1d.7", conventional(0x8086, 0x3a3a, 0x0c0320, true), "0000:00:1d.7");
  add("0000:00:1e.0", pci_bridge(0x8086, 0x244e, 0, 0x02, 0x02, 0x060401), "0000:00:1e.0");
  add("0000:00:1f.0", conventional(0x8086, 0x3a18, 0x060100, true), "0000:00:1f.0");
  add("0000:01:00.0", pcie_endpoint(0x103c, 0x3306, 0x088000, PcieType::kLegacyEndpoint, true),
      "0000:00:1c.4/0000:01:00.0");
  add("0000:01:00.2", pcie_endpoint(0x103c, 0x3307, 0x088000, PcieType::kLegacyEndpoint, true),
      "0000:00:1c.4/0000:01:00.2");
  add("0000:01:00.4", pcie_endpoint(0x103c, 0x3300, 0x0c0300, PcieType::kLegacyEndpoint, true),
      "0000:00:1c.4/0000:01:00.4");
  add("0000:02:03.0", conventional(0x102b, 0x0533, 0x030000), "0000:00:1e.0/0000:02:03.0");
  add("0000:03:00.0", pcie_endpoint(0x14e4, 0x1639, 0x020000, PcieType::kEndpoint, true), "0000:00:01.0/0000:03:00.0");
  add("0000:03:00.1", pcie_endpoint(0x14e4, 0x1639, 0x020000, PcieType::kEndpoint, true), "0000:00:01.0/0000:03:00.1");
  add("0000:04:00.0", pcie_endpoint(0x14e4, 0x1639, 0x020000, PcieType::kEndpoint, true), "0000:00:03.0/0000:04:00.0");
  add("0000:04:00.1", pcie_endpoint(0x14e4, 0x1639, 0x020000, PcieType::kEndpoint, true), "0000:00:03.0/0000:04:00.1");
  add("0000:05:00.0", pcie_endpoint(0x103c, 0x323a, 0x010400), "0000:00:09.0/0000:05:00.0");
  add("0000:05:00.1", pcie_endpoint(0x103c, 0x323a, 0x010400), "0000:00:09.0/0000:05:00.1");
  return out;
}

// Conventional PCI behind bridges (no sysfs paths: parents come from bus
// ranges): a TI XIO2001 PCIe-to-PCI bridge at 01:00.0 below root port 00:1c.0
// with a 1394 controller, a two-function USB card and an Adaptec 3405 on bus
// 02; an ASMedia ASM1083 (a PCIe-to-PCI bridge without a PCIe capability)
// below root port 00:1c.1 with one device on bus 04.
inline std::vector<DeviceRecord> pcie_to_pci() {
  ConfigBuilder adaptec = conventional(0x9005, 0x0285, 0x010400);
  adaptec.subsystem(0x9005, 0x02bb);
  return {
      record("0000:00:1c.0", pcie_bridge(0x8086, 0x3a40, PcieType::kRootPort, 0, 0x01, 0x02)),
      record("0000:00:1c.1", pcie_bridge(0x8086, 0x3a42, PcieType::kRootPort, 0, 0x03, 0x04)),
      record("0000:01:00.0", pcie_bridge(0x104c, 0x8240, PcieType::kPcieToPciBridge, 0x01, 0x02, 0x02)),
      record("0000:02:04.0", conventional(0x104c, 0x8023, 0x0c0010)),
      record("0000:02:05.0", conventional(0x1106, 0x3038, 0x0c0300, true)),
      record("0000:02:05.1", conventional(0x1106, 0x3038, 0x0c0300, true)),
      record("0000:02:06.0", adaptec),
      record("0000:03:00.0", pci_bridge(0x1b21, 0x1080, 0x03, 0x04, 0x04)),
      record("0000:04:01.0", conventional(0x1102, 0x0002, 0x040100)),
  };
}

// Two PCIe switches in a row: root port 00:01.0, switch A (upstream 01:00.0,
// downstream 02:08.0 to a GPU with its audio function, downstream 02:09.0 to
// switch B), switch B (upstream 04:00.0, downstream 05:00.0) with an NVMe
// drive at 06:00.0. Sysfs paths for the first switch only.
inline std::vector<DeviceRecord> two_level_switch() {
  const std::string_view rp = "/sys/devices/pci0000:00/0000:00:01.0";
  const auto below = [rp](std::string_view rest) { return std::string(rp) + std::string(rest); };
  return {
      record("0000:00:01.0", pcie_bridge(0x8086, 0x1901, PcieType::kRootPort, 0x00, 0x01, 0x06), rp),
      record("0000:01:00.0", pcie_bridge(0x10b5, 0x8747, PcieType::kUpstreamPort, 0x01, 0x02, 0x06),
             below("/0000:01:00.0")),
      record("0000:02:08.0", pcie_bridge(0x10b5, 0x8747, PcieType::kDownstreamPort, 0x02, 0x03, 0x03),
             below("/0000:01:00.0/0000:02:08.0")),
      record("0000:02:09.0", pcie_bridge(0x10b5, 0x8747, PcieType::kDownstreamPort, 0x02, 0x04, 0x06),
             below("/0000:01:00.0/0000:02:09.0")),
      record("0000:03:00.0", pcie_endpoint(0x10de, 0x1b80, 0x030000, PcieType::kLegacyEndpoint, true)),
      record("0000:03:00.1", pcie_endpoint(0x10de, 0x10f0, 0x040300, PcieType::kEndpoint, true)),
      record("0000:04:00.0", pcie_bridge(0x1b21, 0x1184, PcieType::kUpstreamPort, 0x04, 0x05, 0x06)),
      record("0000:05:00.0", pcie_bridge(0x1b21, 0x1184, PcieType::kDownstreamPort, 0x05, 0x06, 0x06)),
      record("0000:06:00.0", pcie_endpoint(0x144d, 0xa808, 0x010802)),
  };
}

}  // namespace iovakit::pci::testing
