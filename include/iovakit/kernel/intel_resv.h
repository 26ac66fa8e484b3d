// iovakit/kernel/intel_resv.h: the Intel VT-d driver's per-device rules:
// reserved regions, RMRR-locked devices, and the geometry of a VFIO domain.
//
// Design
// ------
// Everything here is a function of the boot state (intel_dmar_state.h), the
// device's PCI identity and a KernelProfile; nothing reads files.
//
// intel_resv_regions() is intel_iommu_get_resv_regions
// (drivers/iommu/intel/iommu.c, identical in 6.1 and 7.0), in its order:
//   1. for every RMRR in dmar_rmrr_units order (reverse table order), for every
//      filled slot of it that is the device or a bridge above it
//      (is_downstream_to_pci_bridge, v5.3+; before, the device itself only):
//      [base, end] with IOMMU_READ|IOMMU_WRITE, DIRECT_RELAXABLE when the
//      device is USB (class 0x0c03) or display (base class 0x03) and the kernel
//      has the relaxable type (v5.3, 1c5c59fbad20), else DIRECT. One region
//      per matching slot: duplicates are the kernel's too.
//   2. an ISA bridge (class 0x0601) gets [0, 16 MiB) DIRECT_RELAXABLE when the
//      floppy workaround is built (CONFIG_INTEL_IOMMU_FLOPPY_WA) and the
//      kernel reports it as a reserved region (v5.3, d850c2ee5fe22).
//   3. the IOAPIC window [0xfee00000, 0xfeefffff], prot 0, MSI.
//
// intel_rmrr_lock() is device_is_rmrr_locked (v3.17+): a device reached by an
// RMRR slot and not USB or display. Which errno that turns into, and when, is
// the profile's business (assignability.h).
//
// intel_vfio_geometry() computes the aperture and page sizes VFIO reads from
// an UNMANAGED domain after attach, per IntelAperture:
//   kNarrowedAtAttach (6.1: __iommu_calculate_agaw, prepare_domain_attach_device,
//     domain_update_iommu_cap): width = min(30 + 9*agaw, mgaw), where agaw is
//     the largest supported level <= 3 of the effective SAGAW; second-level
//     tables give [0, 2^width - 1], first-level [0, 2^(width-1) - 1]; VFIO
//     domains are second level whenever the unit has second-level tables.
//   kFixedAtAlloc (7.0 compute_vasz_lg2_fs/_ss): first stage when the unit is
//     in scalable mode with FLTS, [0, 2^(vasz-1) - 1], vasz = min(57, mgaw) with
//     5-level support and mgaw > 48, else min(48, mgaw); otherwise second
//     stage [0, 2^vasz - 1], vasz the widest of 57/48/39 that SAGAW offers and
//     mgaw exceeds the level below, capped at mgaw.
// Page sizes: 4 KiB, plus 2 MiB and 1 GiB as the capability register's
// second-level large-page bits offer them (cap_super_page_val).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/dmar.h"
#include "iovakit/iova/range.h"
#include "iovakit/kernel/device_region.h"
#include "iovakit/kernel/intel_dmar_state.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

inline constexpr std::uint64_t kIntelIoapicStart = 0xfee00000;  // IOAPIC_RANGE_START
inline constexpr std::uint64_t kIntelIoapicSize = 0x100000;     // to IOAPIC_RANGE_END 0xfeefffff
inline constexpr std::uint64_t kIsaFloppySize = 1ULL << 24;     // 16 MiB

// device_rmrr_is_relaxable: PCI, and USB or display by the device's own class.
bool intel_rmrr_relaxable(const pci::Topology& topology, std::size_t device);

std::vector<DeviceRegion> intel_resv_regions(const pci::Topology& topology, const acpi::Dmar& dmar,
                                             const IntelDmarState& state, const KernelFeatures& features,
                                             std::size_t device);

struct IntelRmrrLock {
  bool locked = false;
  std::optional<std::size_t> rmrr_index;  // the first RMRR reaching the device (list order)
  std::optional<std::size_t> via_device;  // the slot device (itself or a bridge above)
};

// device_is_rmrr_locked.
IntelRmrrLock intel_rmrr_lock(const pci::Topology& topology, const IntelDmarState& state,
                              const KernelFeatures& features, std::size_t device);

// The capability and extended capability registers of one remapping unit
// (/sys/class/iommu/dmarN/intel-iommu/cap and ecap).
struct IntelUnitRegisters {
  std::uint64_t cap = 0;
  std::uint64_t ecap = 0;

  [[nodiscard]] unsigned mgaw() const { return static_cast<unsigned>((cap >> 16U) & 0x3fU) + 1; }  // cap_mgaw
  [[nodiscard]] unsigned sagaw() const { return static_cast<unsigned>((cap >> 8U) & 0x1fU); }      // cap_sagaw
  [[nodiscard]] unsigned super_page() const { return static_cast<unsigned>((cap >> 34U) & 0xfU); }
  [[nodiscard]] bool caching_mode() const { return ((cap >> 7U) & 1U) != 0; }  // cap_caching_mode
  [[nodiscard]] bool fl5lp() const { return ((cap >> 60U) & 1U) != 0; }
  [[nodiscard]] bool fl1gp() const { return ((cap >> 56U) & 1U) != 0; }
  [[nodiscard]] bool smts() const { return ((ecap >> 43U) & 1U) != 0; }  // scalable mode
  [[nodiscard]] bool flts() const { return ((ecap >> 47U) & 1U) != 0; }  // first-level translation
  [[nodiscard]] bool slts() const { return ((ecap >> 46U) & 1U) != 0; }  // second-level translation
};

struct IntelGeometry {
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = 0x1000;
  unsigned width = 0;        // address bits of the domain
  bool first_level = false;  // first-stage page table
  std::string explanation;   // how the width was chosen, for people
};

// `scalable_mode`: intel_iommu=sm_on (or CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON)
// on a unit with ECAP.SMTS.
Result<IntelGeometry> intel_vfio_geometry(const IntelUnitRegisters& regs, bool scalable_mode,
                                          const KernelFeatures& features);

}  // namespace iovakit::kernel
