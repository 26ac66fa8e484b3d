// iovakit/kernel/device_region.h: one reserved region of one device, with
// the reason it exists.
//
// Design
// ------
// The kernel's per-device list (ops->get_resv_regions, drivers/iommu/iommu.c
// iommu_get_resv_regions) is a plain list of struct iommu_resv_region: once
// the group merges it, nobody can say which RMRR or which driver rule put an
// address there. iovakit's users ask exactly that ("why is 0x9c000000 not
// usable?"), so every predicted region carries its cause: the firmware
// structure (with its index and byte offset in the table), the scope slot
// through which it reached the device, or the driver rule that adds it.
//
// The region itself is the kernel's (start, length, type, prot), in the
// order the driver appends it, so that the group merge of these regions is
// byte for byte what sysfs prints.
//
// Thread safety: values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "iovakit/iova/resv_region.h"

namespace iovakit::kernel {

enum class RegionSource : std::uint8_t {
  kRmrr,         // Intel DMAR RMRR reaching the device (intel_iommu_get_resv_regions)
  kIsaFloppy,    // Intel: 0-16 MiB for ISA bridges (CONFIG_INTEL_IOMMU_FLOPPY_WA)
  kIoapicMsi,    // Intel: the IOAPIC/MSI window 0xfee00000-0xfeefffff
  kIvmd,         // AMD IVRS IVMD unity or exclusion range (amd_iommu_get_resv_regions)
  kAmdMsi,       // AMD: MSI_RANGE_START..MSI_RANGE_END
  kAmdHtHole,    // AMD: the HyperTransport window 0xfd00000000-0xffffffffff
  kSwMsi,        // Arm SMMU / virtio-iommu software MSI window 0x8000000-0x80fffff
  kIortRmr,      // Arm IORT RMR descriptor (iort_iommu_get_resv_regions)
  kItsMsi,       // Arm: HiSilicon Hi161x ITS doorbell page
  kVirtioProbe,  // virtio-iommu PROBE reply (RESV_MEM)
};

// "rmrr", "isa-floppy", "ioapic-msi", "ivmd", "amd-msi", "amd-ht-hole",
// "sw-msi", "iort-rmr", "its-msi", "virtio-probe".
std::string_view region_source_name(RegionSource source);

struct RegionCause {
  RegionSource source = RegionSource::kIoapicMsi;
  // Firmware structure: 0-based index among its kind in table order (RMRR
  // #i, IVMD #i, IORT node #i) and its byte offset in the table.
  std::optional<std::size_t> table_index;
  std::optional<std::size_t> table_offset;
  // Topology index of the scope slot device that brought the region to this
  // device: the device itself, or a bridge above it (RMRR bridge scopes).
  std::optional<std::size_t> via_device;
  // One sentence: "RMRR #1 at offset 0x100 names 00:14.0 (endpoint scope)".
  std::string detail;
};

struct DeviceRegion {
  iova::ResvRegion region;
  RegionCause cause;
};

}  // namespace iovakit::kernel
