// iovakit/pci/topology.h: the PCI hierarchy built from per-device records.
//
// Design
// ------
// The host layer reads sysfs and fills one DeviceRecord per PCI function:
// its address, its parsed config space, and what sysfs says beyond the config
// registers (the device's path under /sys/devices, the bridge bus range the
// kernel holds, whether it is an SR-IOV VF). Topology::build turns the records
// into the tree the kernel walks:
//
// * parent(i): the upstream bridge, the kernel's dev->bus->self (or, for a
//   device on a virtual bus such as an SR-IOV VF numbered past its PF's bus,
//   the bridge of the bus that virtual bus hangs off). The sysfs path decides
//   when given (ParentSource::kSysfs). Otherwise the parent is the bridge in
//   the same segment whose secondary bus is the device's bus
//   (ParentSource::kBusRange); failing that, the innermost bridge whose
//   [secondary, subordinate] range holds the bus (a virtual bus, or a bridge
//   missing from the records: an issue unless the device is a VF). A device
//   with no such bridge is on a root bus.
// * bus_range(i): a bridge's [secondary, subordinate] from the record's
//   bus_range (sysfs secondary_bus_number/subordinate_bus_number, the kernel's
//   subordinate->number and busn_res.end) or else config offsets 0x19/0x1a.
//   A range whose secondary is not above the bridge's own bus, or whose
//   subordinate is below its secondary, is unconfigured (an issue): the kernel
//   would renumber it ("bridge configuration invalid ... reconfiguring").
// * path_from_root(i): the functions from the root bus down to the device,
//   root-most first, ending with the device: the (bus, device, function) hops
//   dmar_alloc_pci_notify_info (drivers/iommu/intel/dmar.c, 6.1 and 7.0)
//   stores in info->path[], with root_bus(i) as info->bus.
//
// Problems the kernel would live with are issues(); contradictions that leave
// no tree (duplicate addresses, a record whose sysfs path names another
// device, parent links forming a cycle) are Errors. Records are stored in BDF
// order; indexes are positions in that order.
//
// Complexity: build is O(n^2) in the worst case of parent inference (n is at
// most a few thousand functions); find() is O(log n); path_from_root() is
// O(depth). Thread safety: immutable after build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/pci/bdf.h"
#include "iovakit/pci/config_space.h"
#include "iovakit/pci/sysfs_path.h"
#include "iovakit/result.h"

namespace iovakit::pci {

struct BusRange {
  std::uint8_t secondary = 0;
  std::uint8_t subordinate = 0;
  [[nodiscard]] constexpr bool contains(std::uint8_t bus) const { return secondary <= bus && bus <= subordinate; }
  friend bool operator==(const BusRange&, const BusRange&) = default;
};

// What the host layer knows about one PCI function.
struct DeviceRecord {
  Bdf bdf;
  ConfigSpace config;
  // parse_sysfs_device_path() of the device's directory under /sys/devices
  // (the target of /sys/bus/pci/devices/<bdf>). Decides the parent when set.
  std::optional<SysfsDevicePath> sysfs_path{};
  // A bridge's bus range as the kernel holds it (sysfs secondary_bus_number,
  // subordinate_bus_number); when unset the config header's is used.
  std::optional<BusRange> bus_range{};
  // sysfs has a "physfn" link: an SR-IOV virtual function. The DMAR notifier
  // ignores VFs (dmar_pci_bus_notifier).
  bool is_virtfn = false;
  // DMA alias devfns (on the device's own bus) known from elsewhere and not
  // computable from config space, e.g. Switchtec NTB proxy IDs that
  // quirk_switchtec_ntb_dma_alias reads from the device's MMIO. Usually empty.
  std::vector<std::uint8_t> extra_dma_alias_devfns{};
};

enum class ParentSource : std::uint8_t {
  kRootBus,         // no upstream bridge: the device is on a root bus
  kSysfs,           // from the sysfs path
  kBusRange,        // inferred: a bridge's secondary bus is the device's bus
  kEnclosingRange,  // inferred: a bridge's range holds the bus (virtual bus or hidden bridge)
};

enum class TopologyIssueKind : std::uint8_t {
  kBusRangeUnconfigured,  // a bridge without a usable [secondary, subordinate]
  kParentNotInRecords,    // the sysfs path names a parent nobody recorded
  kAmbiguousParent,       // several bridges claim the same secondary bus
  kHiddenBridge,          // the bus lies inside a range but no bridge has it as secondary
  kSysfsConflict,         // sysfs hierarchy and bus numbers disagree
};

struct TopologyIssue {
  TopologyIssueKind kind;
  Bdf device;
  std::string message;
};

class Topology {
 public:
  static Result<Topology> build(std::vector<DeviceRecord> records);

  [[nodiscard]] std::size_t size() const { return records_.size(); }
  [[nodiscard]] const DeviceRecord& record(std::size_t i) const { return records_.at(i); }
  [[nodiscard]] const Bdf& bdf(std::size_t i) const { return records_.at(i).bdf; }
  [[nodiscard]] const ConfigSpace& config(std::size_t i) const { return records_.at(i).config; }
  [[nodiscard]] std::optional<std::size_t> find(const Bdf& bdf) const;

  [[nodiscard]] std::optional<std::size_t> parent(std::size_t i) const { return nodes_.at(i).parent; }
  [[nodiscard]] ParentSource parent_source(std::size_t i) const { return nodes_.at(i).source; }
  // True when the device's bus is a root bus (no upstream bridge at all; a
  // parent named by sysfs but missing from the records does not count).
  [[nodiscard]] bool on_root_bus(std::size_t i) const { return nodes_.at(i).path.size() == 1; }
  [[nodiscard]] std::optional<BusRange> bus_range(std::size_t i) const { return nodes_.at(i).range; }
  [[nodiscard]] std::uint8_t root_bus(std::size_t i) const { return nodes_.at(i).root_bus; }
  [[nodiscard]] const std::vector<Bdf>& path_from_root(std::size_t i) const { return nodes_.at(i).path; }
  // Functions whose parent is i, in BDF order.
  [[nodiscard]] const std::vector<std::size_t>& children(std::size_t i) const { return nodes_.at(i).children; }
  // All recorded functions of i's slot (same segment, bus, device), i included.
  [[nodiscard]] std::vector<std::size_t> slot_functions(std::size_t i) const;
  // All recorded functions on one bus.
  [[nodiscard]] std::vector<std::size_t> bus_devices(std::uint32_t segment, std::uint8_t bus) const;
  // True when ancestor is on i's parent chain.
  [[nodiscard]] bool is_below(std::size_t i, std::size_t ancestor) const;

  [[nodiscard]] const std::vector<TopologyIssue>& issues() const { return issues_; }

 private:
  struct Node {
    std::optional<std::size_t> parent;
    ParentSource source = ParentSource::kRootBus;
    std::optional<BusRange> range;
    std::uint8_t root_bus = 0;
    std::vector<Bdf> path;
    std::vector<std::size_t> children;
  };

  Topology() = default;
  void compute_ranges();
  void infer_parent(std::size_t i);
  Status compute_paths();

  std::vector<DeviceRecord> records_;
  std::vector<Node> nodes_;
  std::vector<TopologyIssue> issues_;
};

}  // namespace iovakit::pci
