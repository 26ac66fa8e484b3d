// iovakit/host/iommu_groups.h: /sys/kernel/iommu_groups as the kernel reports it.
//
// Design
// ------
// Layout (Documentation/ABI/testing/sysfs-kernel-iommu_groups;
// drivers/iommu/iommu.c iommu_group_alloc, iommu_group_add_device):
//   sys/kernel/iommu_groups/<n>/                 one directory per group, n decimal
//   sys/kernel/iommu_groups/<n>/devices/<name>   a link to each member's device
//                                                directory (PCI functions, and on
//                                                Arm platform devices too)
//   sys/kernel/iommu_groups/<n>/reserved_regions 0444 (v4.11+), the merged list
//                                                (iommu_group_show_resv_regions,
//                                                format in iova/resv_sysfs.h)
//   sys/kernel/iommu_groups/<n>/type             the default domain type (v5.11+):
//                                                "DMA", "DMA-FQ" (v5.15+),
//                                                "identity", "blocked", "unmanaged"
//   sys/kernel/iommu_groups/<n>/name             only for named groups
//                                                (iommu_group_set_name)
// The kset exists whenever the kernel has CONFIG_IOMMU_API (iommu_init); an
// empty or missing directory means no group at all, which on x86 is what a
// disabled or absent IOMMU looks like.
//
// Members keep their entry name and resolved path; a PCI member also its
// Bdf. A member that is not PCI (an ACPI platform device behind an Arm SMMU)
// gets its ACPI namespace path when sysfs gives one
// (<dir>/firmware_node -> .../LNXSYSTM:00/.../<hid>:<n>, whose "path" file
// holds "\_SB_.DPU0", drivers/acpi/device_sysfs.c acpi_device_path_show): the
// name IORT named components carry, so IORT RMRs can be matched to it.
//
// reserved_regions is kept byte for byte (raw) and parsed with
// iova::parse_reserved_regions; a file that does not parse is an issue and
// `parsed` stays empty. Groups are sorted by number; members by name.
//
// Complexity: O(groups + members) file reads. Thread safety: one FileSource.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "iovakit/host/file_source.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/pci/bdf.h"
#include "iovakit/result.h"

namespace iovakit::host {

struct GroupMember {
  std::string name;                      // the entry name ("0000:00:02.0", "CIXH5010:00")
  std::string sysfs_path;                // resolved, root-relative; empty for a dangling link
  std::optional<pci::Bdf> bdf;           // for PCI functions
  std::optional<std::string> acpi_path;  // "\_SB_.DPU0" for ACPI platform devices
  friend bool operator==(const GroupMember&, const GroupMember&) = default;
};

struct IommuGroup {
  unsigned number = 0;
  std::optional<std::string> type;  // "DMA", "DMA-FQ", "identity", ... (trailing newline removed)
  std::optional<std::string> name;
  std::vector<GroupMember> members;
  bool has_reserved_regions = false;      // the file exists (v4.11+)
  std::string reserved_regions;           // raw bytes
  std::vector<iova::ResvRegion> regions;  // parsed; empty when the file did not parse
  bool regions_parsed = false;

  friend bool operator==(const IommuGroup&, const IommuGroup&) = default;
};

std::vector<IommuGroup> read_iommu_groups(const FileSource& source, std::vector<Error>& issues);

}  // namespace iovakit::host
