// iovakit/pci/scope_match.h: which PCI devices an ACPI DMAR device scope names.
//
// Design
// ------
// DRHD, RMRR, ATSR and SATC structures list device scopes: a type, a start
// bus and a path of (device, function) pairs. The VT-d specification resolves
// a path by walking bridges' secondary bus numbers. Linux does not: when a
// device is added it builds the device's own path from its root bus
// (dmar_alloc_pci_notify_info) and compares. This header reproduces the kernel
// (drivers/iommu/intel/dmar.c, identical in 6.1 and 7.0) and, separately, the
// specification's walk, so a caller can show both and flag where they part:
//
// * notify_info(): nothing for SR-IOV VFs (dmar_pci_bus_notifier returns
//   early) or for segments above 0xffff (VMD); otherwise the segment, root
//   bus and path of Topology::path_from_root.
// * match_pci_path() = dmar_match_pci_path: a match when the root bus equals
//   the scope's start bus, the path depth equals the scope's element count,
//   and every (device, function) agrees. Else, only for one-element scopes,
//   the fallback: start bus == the device's own bus and (device, function)
//   are its own; the kernel logs "[Firmware Bug]: RMRR entry for device
//   %02x:%02x.%x is broken - applying workaround" (the wording says RMRR even
//   for DRHD and ATSR scopes: the function is shared).
// * insert_dev_scope() = dmar_insert_dev_scope for one device and one unit:
//   a unit in another segment is skipped; only ENDPOINT (1) and BRIDGE (2)
//   entries are tried, in order; the first path match decides. An ENDPOINT
//   scope needs a normal header (type 0), a BRIDGE scope a bridge header or a
//   normal header whose class is a bridge (base class 0x06, the NTB
//   exception). A mismatch logs "Device scope type does not match for <bdf>"
//   and returns -EINVAL, which also stops dmar_iommu_notify_scope_dev from
//   trying later RMRR/ATSR/SATC units for that device; the caller that walks
//   units must stop there too (UnitMatch::aborts_later_units()).
// * is_downstream_to_pci_bridge() (drivers/iommu/intel/iommu.c, v5.3+): the
//   device's bus lies in the bridge's [secondary, subordinate]. An RMRR
//   whose scope holds a bridge reaches every device below it
//   (intel_iommu_get_resv_regions, device_has_rmrr).
// * resolve_unit(): all of the above over a topology: the unit's slots, the
//   rejected devices, and every device the unit reaches and through which
//   slot.
// * resolve_spec_path(): the VT-d specification's reading (start bus, then
//   each hop but the last must be a bridge whose secondary bus is the next
//   bus), and compare_scopes() puts both readings side by side.
//
// Scopes are plain inputs (type, start bus, path) so this layer does not
// depend on the acpi layer's table decoder.
//
// Complexity: resolve_unit is O(devices x scopes x depth).
// Thread safety: pure functions of a Topology.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iovakit/pci/bdf.h"
#include "iovakit/pci/topology.h"

namespace iovakit::pci {

// ACPI_DMAR_SCOPE_TYPE_*.
inline constexpr std::uint8_t kScopeEndpoint = 1;
inline constexpr std::uint8_t kScopeBridge = 2;
inline constexpr std::uint8_t kScopeIoapic = 3;
inline constexpr std::uint8_t kScopeHpet = 4;
inline constexpr std::uint8_t kScopeNamespace = 5;

struct ScopePathElement {
  std::uint8_t device = 0;
  std::uint8_t function = 0;
  friend bool operator==(const ScopePathElement&, const ScopePathElement&) = default;
};

struct DeviceScope {
  std::uint8_t type = kScopeEndpoint;  // entry_type
  std::uint8_t start_bus = 0;          // "bus"
  std::vector<ScopePathElement> path;

  // "endpoint 00:1c.4/00.2": type, start bus, then each hop.
  [[nodiscard]] std::string to_string() const;
};

// struct dmar_pci_notify_info for BUS_NOTIFY_ADD_DEVICE.
struct NotifyInfo {
  std::uint16_t segment = 0;
  std::uint8_t root_bus = 0;  // info->bus
  std::vector<Bdf> path;      // info->path[0..level-1], root-most first
};

// nullopt when the kernel builds none: VFs and segments above 0xffff.
std::optional<NotifyInfo> notify_info(const Topology& topology, std::size_t device);

enum class PathMatch : std::uint8_t { kNone, kExact, kFallback };

PathMatch match_pci_path(const NotifyInfo& info, std::uint8_t scope_bus, std::span<const ScopePathElement> path);

// The line dmar_match_pci_path logs when the fallback matches.
std::string fallback_log_line(std::uint8_t scope_bus, const ScopePathElement& element);

enum class ScopeOutcome : std::uint8_t {
  kIgnored,       // no notify info (VF or VMD domain) or another segment
  kNoMatch,       // no ENDPOINT/BRIDGE scope's path matches
  kInserted,      // the device takes a slot of the unit (returns 1)
  kTypeMismatch,  // path matched, header/class did not (returns -EINVAL)
};

struct UnitMatch {
  ScopeOutcome outcome = ScopeOutcome::kNoMatch;
  std::optional<std::size_t> scope_index;  // the entry that matched
  PathMatch path_match = PathMatch::kNone;
  std::vector<std::string> kernel_log;  // as printed, "DMAR: " prefix included

  // dmar_iommu_notify_scope_dev stops at a negative return.
  [[nodiscard]] bool aborts_later_units() const { return outcome == ScopeOutcome::kTypeMismatch; }
};

UnitMatch insert_dev_scope(const Topology& topology, std::size_t device, std::uint16_t unit_segment,
                           std::span<const DeviceScope> scopes);

bool is_downstream_to_pci_bridge(const Topology& topology, std::size_t device, std::size_t bridge);

struct ScopeSlot {
  std::size_t device;
  std::size_t scope_index;
  PathMatch path_match;
};

struct ScopeRejection {
  std::size_t device;
  std::size_t scope_index;
  std::string kernel_log;
};

struct ScopeReach {
  std::size_t device;  // a device the unit applies to
  std::size_t slot;    // the slot device that brings it in (== device when direct)
  std::size_t scope_index;
  [[nodiscard]] bool via_bridge() const { return device != slot; }
};

struct UnitResolution {
  std::vector<ScopeSlot> slots;            // in device (BDF) order
  std::vector<ScopeRejection> rejections;  // type mismatches
  std::vector<ScopeReach> reach;           // slot devices and everything below bridge slots
  std::vector<std::string> kernel_log;
};

UnitResolution resolve_unit(const Topology& topology, std::uint16_t unit_segment, std::span<const DeviceScope> scopes);

struct SpecResolution {
  std::optional<std::size_t> device;
  std::vector<Bdf> walked;             // the function each hop named, as far as the walk got
  std::optional<std::string> failure;  // why the walk stopped short
};

SpecResolution resolve_spec_path(const Topology& topology, std::uint16_t segment, const DeviceScope& scope);

struct ScopeComparison {
  std::size_t scope_index;
  std::vector<std::size_t> kernel_slots;  // devices slotted through this entry
  PathMatch kernel_match = PathMatch::kNone;
  SpecResolution spec;
  bool agree = false;  // the kernel slotted exactly the device the spec names
  std::string explanation;
};

// One comparison per ENDPOINT/BRIDGE entry, in table order.
std::vector<ScopeComparison> compare_scopes(const Topology& topology, std::uint16_t unit_segment,
                                            std::span<const DeviceScope> scopes);

}  // namespace iovakit::pci
