// iovakit/kernel/arm_resv.h: the Arm SMMU drivers' per-device rules on ACPI
// systems (IORT): which SMMU serves a PCI device, and its reserved regions.
//
// Design
// ------
// A PCI device reaches its SMMU through the IORT: the root complex node of
// its segment maps requester IDs to StreamIDs on an SMMU node (ID mappings;
// iort_node_map_id in drivers/acpi/arm64/iort.c). arm_smmu_get_resv_regions
// (arm-smmu-v3.c; arm-smmu.c for v1/v2; same in 6.1 and 7.0) then lists:
//   1. the software MSI window [0x08000000, 0x080fffff] (MSI_IOVA_BASE,
//      MSI_IOVA_LENGTH), prot WRITE|NOEXEC|MMIO, SW_MSI;
//   2. iommu_dma_get_resv_regions -> iort_iommu_get_resv_regions:
//      a. HiSilicon Hi161x SMMUv3 only: one MSI page per ITS (needs the ITS
//         bases from MADT, which IORT does not carry: reported as unknown);
//      b. IORT RMRs, only when the table revision is 5 or later (E.d+,
//         iort_find_rmrs): every RMR node with an ID mapping onto this SMMU
//         whose StreamID range [output_base, output_base + count] holds one of
//         the device's StreamIDs (iort_rmr_has_dev). For PCI devices this also
//         needs the host bridge's preserve_config (_DSM function 5), which
//         lives in the DSDT: an input here. Each descriptor becomes a region:
//         DIRECT_RELAXABLE when the node's "remapping permitted" flag is set,
//         else DIRECT; prot READ|WRITE, +PRIV for the privileged flag, +MMIO
//         for device-memory attributes (<= 0x03), +CACHE for 0x05. A base or
//         length not 64 KiB aligned is realigned to pages ("[Firmware Bug]: RMR
//         descriptor[...] not aligned to 64K, continue with [...]").
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/iort.h"
#include "iovakit/kernel/device_region.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

inline constexpr std::uint64_t kArmSwMsiBase = 0x08000000;  // MSI_IOVA_BASE
inline constexpr std::uint64_t kArmSwMsiSize = 0x100000;    // MSI_IOVA_LENGTH

struct ArmBootOptions {
  bool preserve_config = false;    // the PCI host bridge's _DSM #5 (needed for RMRs on PCI devices)
  std::uint64_t page_size = 4096;  // the kernel's PAGE_SIZE (arm64: 4K, 16K or 64K)
};

struct ArmStreamTarget {
  std::size_t smmu_node = 0;  // index into acpi::Iort::nodes
  std::uint32_t stream_id = 0;
};

// iort_node_map_id for one PCI device: its SMMU and StreamID, if any.
std::optional<ArmStreamTarget> arm_stream_target(const pci::Topology& topology, const acpi::Iort& iort,
                                                 std::size_t device);

struct ArmResvResult {
  std::vector<DeviceRegion> regions;
  std::vector<std::string> unknowns;    // what IORT alone cannot tell
  std::vector<std::string> kernel_log;  // firmware-bug lines the kernel would print
};

ArmResvResult arm_resv_regions(const pci::Topology& topology, const acpi::Iort& iort, const ArmBootOptions& options,
                               std::size_t device);

}  // namespace iovakit::kernel
