// Shared builders for the VFIO type1 tests: groups as the per-vendor models
// will hand them to Type1Container.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/kernel/vfio_type1.h"

namespace iovakit::kernel::testing {

inline constexpr std::uint64_t kMsiStart = 0xfee00000;
inline constexpr std::uint64_t kMsiLast = 0xfeefffff;

inline KernelProfile profile(const std::string& name) { return *find_preset(name); }

inline iova::ResvRegion region(std::uint64_t first, std::uint64_t last, iova::ResvType type) {
  return iova::ResvRegion::from_range(iova::Range(first, last), type);
}

inline iova::ResvRegion msi_region() { return region(kMsiStart, kMsiLast, iova::ResvType::kMsi); }

// An Intel VT-d group: aperture [0, 2^bits - 1], the IOAPIC/MSI window.
inline Type1GroupSpec intel_group(std::uint32_t id, unsigned bits = 39) {
  Type1GroupSpec g;
  g.group_id = id;
  g.regions = {msi_region()};
  g.aperture = iova::Range(0, (std::uint64_t{1} << bits) - 1);
  g.pgsize_bitmap = 0x40201000;  // 4K | 2M | 1G
  g.iommu_ops = 1;
  return g;
}

// An AMD-Vi 6.1 v1 group: the whole 64-bit aperture, MSI and HT windows.
inline Type1GroupSpec amd_group(std::uint32_t id) {
  Type1GroupSpec g;
  g.group_id = id;
  g.regions = {msi_region(), region(0xfd00000000, 0xffffffffff, iova::ResvType::kReserved)};
  g.aperture = iova::Range::full();
  g.pgsize_bitmap = 0xffffff7ffffff000;
  g.iommu_ops = 2;
  return g;
}

// A container of `profile` with `group` attached through the ioctls
// (SET_CONTAINER, SET_IOMMU type1v2).
inline Type1Container container_with(const std::string& name, const Type1GroupSpec& group,
                                     std::uint32_t dma_limit = kDefaultDmaEntryLimit) {
  Type1Container c(profile(name), dma_limit);
  (void)c.set_container(group);
  (void)c.set_iommu(kVfioType1v2Iommu);
  return c;
}

inline Outcome map(Type1Container& c, std::uint64_t iova, std::uint64_t size, std::uint64_t vaddr = 0x7f0000000000) {
  DmaMapRequest r;
  r.iova = iova;
  r.size = size;
  r.vaddr = vaddr;
  return c.map_dma(r);
}

inline DmaUnmapReply unmap(Type1Container& c, std::uint64_t iova, std::uint64_t size, std::uint32_t flags = 0) {
  DmaUnmapRequest r;
  r.iova = iova;
  r.size = size;
  r.flags = flags;
  return c.unmap_dma(r);
}

inline std::vector<IovaNode> nodes(std::initializer_list<IovaNode> list) { return list; }

}  // namespace iovakit::kernel::testing
