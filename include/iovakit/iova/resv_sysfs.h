// iovakit/iova/resv_sysfs.h: reading /sys/kernel/iommu_groups/N/reserved_regions.
//
// Design
// ------
// The kernel writes one line per region with
// "0x%016llx 0x%016llx %s\n" (iommu_group_show_resv_regions,
// drivers/iommu/iommu.c, v4.11+): start, inclusive end, type. Writing is
// ResvList::to_sysfs; this is the reverse, strict enough that a file that
// parses re-prints byte for byte. Every rejected line is reported with its
// 1-based line number and the reason.
//
// The end is not checked against the start: a zero-length region prints an end
// one below its start, and the kernel validates neither, so length is taken as
// end - start + 1 modulo 2^64, the inverse of what was printed.
//
// The type cannot always be recovered: hardware and software MSI windows both
// print "msi", which is read back as ResvType::kMsi. As an iovakit extension
// (for hand-written per-device lists) "sw-msi" is accepted too; no kernel
// prints it.
//
// A file whose last line has no newline is rejected: 7.0 kernels cut the
// output at 4095 bytes (sysfs_emit_at), and a partial line is how that shows.
#pragma once

#include <string_view>
#include <vector>

#include "iovakit/iova/resv_region.h"
#include "iovakit/result.h"

namespace iovakit::iova {

// `source` names the input in errors ("…/iommu_groups/7/reserved_regions:3").
Result<std::vector<ResvRegion>> parse_reserved_regions(std::string_view text, std::string_view source = {});

}  // namespace iovakit::iova
