// iovakit/kernel/amd_resv.h: the AMD-Vi driver's per-device rules: which
// devices an IOMMU serves, their reserved regions, and the domain geometry.
//
// Design
// ------
// The AMD driver reads IVRS once (drivers/iommu/amd/init.c) and keeps per
// segment a device-id lookup of the serving IOMMU (from the IVHD device
// entries) and a list of unity ranges (from the IVMDs). Per device it then
// answers amd_iommu_get_resv_regions (drivers/iommu/amd/iommu.c, the same
// structure in 6.1 and 7.0):
//
//   1. for each unity range in IVRS order whose devid span holds the device's
//      devid (bus << 8 | devfn): DIRECT, prot from the IVMD's IR/IW bits.
//      init_unity_map_range rounds the start UP to a page and the length up
//      separately (the exclusive end is PAGE_ALIGN(start) +
//      PAGE_ALIGN(length)), and an ExclusionRange IVMD becomes a read/write
//      unity range, so exclusion ranges appear as `direct`, never
//      `reserved` (the RESERVED branch is dead code for IVMDs).
//      Only IVMDs with the Unity or ExclusionRange flag are used
//      (init_memory_definitions); type 0x20 covers devids 0..last_bdf.
//   2. the MSI window [0xfee00000, 0xfeefffff], prot 0, MSI.
//   3. the HyperTransport window [0xfd00000000, 0xffffffffff], RESERVED,
//      unless the kernel honours EFR2 HT_RANGE_IGNORE (bit 11) and the IOMMU
//      sets it (7.0 amd_iommu_ht_range_ignore).
//
// Which IVHD blocks count: Linux picks one IVHD type for all IOMMUs, the
// highest supported type (0x10, 0x11, 0x40) among the blocks describing the
// first IOMMU (get_highest_supported_ivhd_type), and uses only blocks of that
// type. A device has an IOMMU when its devid is within the segment's last_bdf
// and some such block's entries name it (check_device, rlookup).
//
// An IVRS whose checksum is wrong is rejected outright (check_ivrs_checksum:
// "IVRS invalid checksum", -ENODEV): unlike most ACPI tables, the AMD driver
// does not go on with it.
//
// Geometry (VFIO's UNMANAGED domain): 6.1 v1 page tables cover [0, U64_MAX];
// amd_iommu=pgtbl_v2 gives [0, 2^48 - 1]. 7.0 (generic page tables):
// 2^min(64, (HATS + 3) * 9 + 21) - 1 from the EFR's HATS field. Page sizes:
// v1 every power of two from 4 KiB except 512 GiB (AMD_IOMMU_PGSIZES), v2
// 4 KiB, 2 MiB, 1 GiB.
//
// Thread safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/ivrs.h"
#include "iovakit/kernel/device_region.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

inline constexpr std::uint64_t kAmdMsiStart = 0xfee00000;   // MSI_RANGE_START
inline constexpr std::uint64_t kAmdMsiSize = 0x100000;      // to MSI_RANGE_END 0xfeefffff
inline constexpr std::uint64_t kAmdHtStart = 0xfd00000000;  // HT_RANGE_START
inline constexpr std::uint64_t kAmdHtSize = 0x300000000;    // to HT_RANGE_END 0xffffffffff

// One init_unity_map_range entry.
struct AmdUnityRange {
  std::size_t ivmd_index = 0;  // into acpi::Ivrs::ivmds
  std::uint16_t segment = 0;
  std::uint16_t devid_start = 0;
  std::uint16_t devid_end = 0;
  std::uint64_t address_start = 0;  // PAGE_ALIGN(IVMD start)
  std::uint64_t address_end = 0;    // exclusive: address_start + PAGE_ALIGN(length)
  std::uint32_t prot = 0;           // iova::prot bits
};

struct AmdBootOptions {
  bool enabled = true;    // amd_iommu=off / iommu=off turn it off
  bool pgtbl_v2 = false;  // amd_iommu=pgtbl_v2
};

struct AmdIvrsState {
  bool remapping_enabled = false;
  std::string disabled_reason;
  std::uint8_t ivhd_type = 0;                                  // the type Linux chose
  std::vector<std::size_t> ivhds;                              // indexes of the blocks of that type
  std::vector<AmdUnityRange> unity;                            // IVRS order
  std::vector<std::optional<std::size_t>> device_ivhd;         // per topology device: index into acpi::Ivrs::ivhds
  std::vector<std::pair<std::size_t, std::uint16_t>> aliases;  // (device, alias devid) from IVHD alias entries
  std::vector<std::string> kernel_log;
};

AmdIvrsState amd_ivrs_boot(const pci::Topology& topology, const acpi::Ivrs& ivrs, const AmdBootOptions& options);

std::vector<DeviceRegion> amd_resv_regions(const pci::Topology& topology, const acpi::Ivrs& ivrs,
                                           const AmdIvrsState& state, const KernelFeatures& features,
                                           std::size_t device);

struct AmdGeometry {
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = 0;
  std::string explanation;
};

// `efr`: the Extended Feature Register (IVHD 0x11/0x40 image or the live
// register) when known; without it the 7.0 rule assumes HATS 0 and says so.
AmdGeometry amd_vfio_geometry(std::optional<std::uint64_t> efr, const AmdBootOptions& options,
                              const KernelFeatures& features);

}  // namespace iovakit::kernel
