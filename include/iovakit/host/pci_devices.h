// iovakit/host/pci_devices.h: the PCI functions of a sysfs root.
//
// Design
// ------
// Layout read (Documentation/ABI/testing/sysfs-bus-pci; drivers/pci/pci-sysfs.c,
// as in 6.1 and 7.0):
//   sys/bus/pci/devices/<bdf>   a symlink to the device's directory under
//                               sys/devices/pci<seg>:<bus>/..., whose path
//                               spells the bridge hierarchy (pci::SysfsDevicePath)
//   <dir>/config                config space: 4096 bytes (PCIe) or 256 for root,
//                               64 (128 for CardBus) otherwise (pci_read_config)
//   <dir>/vendor, device, subsystem_vendor, subsystem_device   "0x%04x\n"
//   <dir>/class                 "0x%06x\n", the kernel's pci_dev->class (after
//                               quirks and the header-type check)
//   <dir>/revision              "0x%02x\n"
//   <dir>/numa_node             "%d\n" (-1 without NUMA information)
//   <dir>/secondary_bus_number, subordinate_bus_number   bridges, "%u\n"
//   <dir>/sriov_totalvfs, sriov_numvfs   SR-IOV physical functions, "%u\n"
//   <dir>/physfn                a link to the PF, on SR-IOV virtual functions
//   <dir>/driver                a link to sys/bus/pci/drivers/<name> when bound
//   <dir>/iommu_group           a link to sys/kernel/iommu_groups/<n>
//                               (drivers/iommu/iommu.c iommu_group_add_device)
//   <dir>/iommu                 a link to the IOMMU unit's class device
//                               (iommu_device_link, drivers/iommu/iommu-sysfs.c)
// The sysfs ID files are preferred to config space: a VF's config reads 0xffff
// for its IDs (the PF's are in sysfs), and a non-root reader's 64-byte config
// still has them, but the kernel's class can differ from the register.
//
// A problem with one device (an entry that is not a PCI address, a dangling
// link, no config file, config space the pci layer rejects) is an issue naming
// the path, and the device is left out; a malformed attribute is an issue and
// the value falls back to config space. Nothing here stops the whole read.
//
// Complexity: O(devices) file reads. Thread safety: uses one FileSource.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/host/file_source.h"
#include "iovakit/pci/bdf.h"
#include "iovakit/pci/class_code.h"
#include "iovakit/pci/config_space.h"
#include "iovakit/pci/topology.h"
#include "iovakit/result.h"

namespace iovakit::host {

struct PciDevice {
  pci::Bdf bdf;
  std::string sysfs_path;  // resolved directory, root-relative ("sys/devices/pci0000:00/0000:00:02.0")
  std::uint16_t vendor = 0;
  std::uint16_t device = 0;
  std::optional<std::uint16_t> subsystem_vendor;
  std::optional<std::uint16_t> subsystem_device;
  pci::ClassCode class_code;  // sysfs class, else config space's kernel_class()
  std::uint8_t revision = 0;
  std::size_t config_size = 0;  // bytes of config space read
  std::optional<std::string> driver;
  std::optional<unsigned> iommu_group;
  std::optional<std::string> iommu;  // unit name ("dmar0", "ivhd0")
  std::optional<int> numa_node;
  std::optional<pci::BusRange> bus_range;  // sysfs secondary/subordinate_bus_number
  std::optional<pci::Bdf> physfn;          // set on SR-IOV VFs
  std::vector<pci::Bdf> virtfns;           // VFs whose physfn is this device, BDF order
  std::optional<unsigned> sriov_totalvfs;
  std::optional<unsigned> sriov_numvfs;
  // pci.ids names (pci_names.h); empty when unknown or no database.
  std::string vendor_name;
  std::string device_name;
  std::string subsystem_name;

  [[nodiscard]] bool is_virtfn() const { return physfn.has_value(); }
  friend bool operator==(const PciDevice&, const PciDevice&) = default;
};

struct PciReading {
  PciDevice device;
  pci::DeviceRecord record;  // what Topology::build needs (config space included)
};

// Reads every entry of sys/bus/pci/devices, BDF order. A missing
// sys/bus/pci/devices is no devices (no issue: some platforms have no PCI).
std::vector<PciReading> read_pci_devices(const FileSource& source, std::vector<Error>& issues);

// "0x8086\n" -> 0x8086: the form of sysfs ID attributes; nullopt otherwise.
std::optional<std::uint32_t> parse_sysfs_hex(std::string_view text);
// "-1\n", "0\n", "42\n"; nullopt otherwise.
std::optional<long long> parse_sysfs_decimal(std::string_view text);
// The last component of a link target ("../../bus/pci/drivers/xhci_hcd" -> "xhci_hcd").
std::string link_basename(std::string_view target);

}  // namespace iovakit::host
