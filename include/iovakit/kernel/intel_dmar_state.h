// iovakit/kernel/intel_dmar_state.h: what the Intel VT-d driver knows after
// boot: which remapping unit (DRHD) owns each PCI device, which devices sit in
// each RMRR's scope slots, and whether DMA remapping came up at all.
//
// Design
// ------
// Linux does not resolve DMAR device scopes once, from the table. When each
// PCI device is added (dmar_dev_scope_init at boot, then the bus notifier),
// dmar_pci_bus_add_dev (drivers/iommu/intel/dmar.c, same in 6.1 and 7.0)
// offers it to every unit's scope list in the units' list order and stores it
// in the first free slot of every unit whose scope path names it:
//
//  * DRHDs in dmar_drhd_units order: dmar_register_drhd_unit puts a unit with
//    INCLUDE_PCI_ALL at the tail and every other unit at the head, so specific
//    units are tried newest-first (reverse table order) and include-all units
//    are skipped here. The first unit that takes the device ends the DRHD
//    walk.
//  * then dmar_iommu_notify_scope_dev (drivers/iommu/intel/iommu.c): every
//    RMRR (dmar_rmrr_units, list_add at the head: reverse table order), every
//    ATSR without ALL_PORTS, every SATC. A device may take a slot in many.
//
// A scope whose path names a device of the wrong kind (an endpoint scope on a
// bridge) makes dmar_insert_dev_scope return -EINVAL: the walk for that device
// stops there and dmar_dev_scope_status keeps the error, so
// dmar_dev_scope_init fails and intel_iommu_init gives up DMA remapping for the
// whole platform. The QEMU oracle confirmed this on Debian's 6.1 and 6.12
// (scenario rmrr-scope-type-mismatch): no IOMMU groups at all.
//
// Device ownership then follows device_to_iommu (6.1; 7.0
// device_lookup_iommu): the units in list order, skipping ignored ones
// (init_no_remapping_devices: a unit that is not include-all and got no
// device), a unit owns a device that sits in one of its slots or lies below a
// bridge that does (is_downstream_to_pci_bridge), and an include-all unit of
// the device's segment owns whatever is left. A device that no unit owns has
// no IOMMU: no group, no reserved regions (oracle scenario
// drhd-scope-missing).
//
// Devices are offered in probe order (pci_probe_order, iommu_groups.h), which decides the
// order of slots and so the order of duplicate regions; never membership.
//
// Complexity: O(devices x structures x scopes x depth). Thread safety: values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/dmar.h"
#include "iovakit/pci/scope_match.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

// Kernel command line and configuration inputs of intel_iommu_init.
struct IntelBootOptions {
  // intel_iommu=on, or CONFIG_INTEL_IOMMU_DEFAULT_ON; false models
  // intel_iommu=off (DMA remapping never starts).
  bool enabled = true;
  // intel_iommu=igfx_off: units that serve only graphics devices are ignored.
  bool igfx_off = false;
};

struct IntelSlot {
  std::size_t device;         // topology index
  std::size_t scope_index;    // which scope entry of the structure matched
  pci::PathMatch path_match;  // exact root path, or the one-element fallback
};

struct IntelUnitState {
  std::size_t drhd_index = 0;  // into acpi::Dmar::drhds
  bool include_all = false;
  bool ignored = false;  // init_no_remapping_devices
  std::vector<IntelSlot> slots;
};

struct IntelRmrrState {
  std::size_t rmrr_index = 0;  // into acpi::Dmar::rmrrs (table order)
  std::vector<IntelSlot> slots;
};

struct IntelDmarState {
  // DMA remapping is up: the table parsed, no scope error, not disabled.
  bool remapping_enabled = false;
  std::string disabled_reason;        // when not enabled, in the kernel's terms
  std::vector<IntelUnitState> units;  // dmar_drhd_units order
  std::vector<IntelRmrrState> rmrrs;  // dmar_rmrr_units order (reverse table order)
  // Per topology device: index into `units` of the unit that owns it.
  std::vector<std::optional<std::size_t>> device_unit;
  // What the kernel logs while doing this, "DMAR: " prefix included.
  std::vector<std::string> kernel_log;
};

IntelDmarState intel_dmar_boot(const pci::Topology& topology, const acpi::Dmar& dmar, const IntelBootOptions& options);

// The scopes of one structure in the pci layer's form (type, start bus, path).
std::vector<pci::DeviceScope> to_pci_scopes(const std::vector<acpi::DeviceScope>& scopes);

}  // namespace iovakit::kernel
