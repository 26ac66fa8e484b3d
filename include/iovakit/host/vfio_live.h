// iovakit/host/vfio_live.h: the live half of `iovakit host --probe-vfio`: ask
// the running kernel for a
// VFIO group's usable IOVA list with VFIO_IOMMU_GET_INFO, without mapping
// anything.
//
// What it does to the system: opens /dev/vfio/vfio and /dev/vfio/N, joins the
// group to a fresh container (VFIO_GROUP_SET_CONTAINER), sets the type1v2
// IOMMU (which attaches the group to a new, empty IOMMU domain) and reads
// GET_INFO with the argsz protocol. No MAP_DMA is issued; closing the file
// descriptors detaches the group again. The group must be viable (every
// member bound to vfio-pci or unbound) and the user must be allowed to open
// /dev/vfio/N; otherwise the errno says why, and nothing was changed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "iovakit/kernel/vfio_get_info.h"
#include "iovakit/result.h"

namespace iovakit::host {

struct LiveVfioInfo {
  std::vector<std::uint8_t> bytes;  // the reply of the full-size call
  kernel::Type1InfoDecoded decoded;
};

Result<LiveVfioInfo> read_live_vfio_info(unsigned group);

}  // namespace iovakit::host
