// Type1Container: VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA, checks in the
// kernel's order for each arithmetic (before / from v6.19).
#include <fmt/core.h>

#include "iovakit/kernel/vfio_type1.h"

namespace iovakit::kernel {

namespace {

constexpr const char* kDoMap = "vfio_dma_do_map";
constexpr const char* kDoUnmap = "vfio_dma_do_unmap";

Outcome no_driver() {
  return Outcome::failure(Errno::kEINVAL, "vfio_fops_unl_ioctl",
                          "the container has no IOMMU driver (VFIO_SET_IOMMU not done); the ioctl is refused");
}

// iova + (size - 1) overflows 64 bits.
bool end_overflows(std::uint64_t base, std::uint64_t size) { return base + (size - 1) < base; }

}  // namespace

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_map_dma + vfio_dma_do_map.
// Before v6.19 (6.1): flags -> size/alignment -> wrap (-EINVAL) -> overlap.
// v6.19+ (6012379ede6a "vfio/type1: sanitize for overflow using
// check_*_overflow()"): size 0 -> overflow (-EOVERFLOW) -> flags ->
// alignment -> overlap. Then, in both, -EEXIST, -ENOSPC, the usable list.
Outcome Type1Container::map_dma(const DmaMapRequest& req) {
  if (!iommu_set_) return no_driver();
  const KernelFeatures& f = profile_.features;
  std::uint32_t mask = kVfioDmaMapFlagRead | kVfioDmaMapFlagWrite;
  if (f.type1_vaddr_unmap_all) mask |= kVfioDmaMapFlagVaddr;
  if (req.argsz < kVfioDmaMapSize || (req.flags & ~mask) != 0) {
    return Outcome::failure(
        Errno::kEINVAL, "vfio_iommu_type1_map_dma",
        req.argsz < kVfioDmaMapSize
            ? fmt::format("argsz {} is below sizeof(struct vfio_iommu_type1_dma_map) = 32", req.argsz)
            : fmt::format("unknown flag bits {:#x}", req.flags & ~mask));
  }
  const bool set_vaddr = (req.flags & kVfioDmaMapFlagVaddr) != 0;
  const bool prot = (req.flags & (kVfioDmaMapFlagRead | kVfioDmaMapFlagWrite)) != 0;
  const std::uint64_t pgsize = min_page_size();
  const std::uint64_t iova = req.iova;
  const std::uint64_t size = req.size;
  const std::uint64_t vaddr = req.vaddr;

  auto flags_bad = [&]() {
    return Outcome::failure(Errno::kEINVAL, kDoMap,
                            prot ? "VFIO_DMA_MAP_FLAG_VADDR cannot be combined with READ/WRITE"
                                 : "neither READ nor WRITE is set (and not a VADDR update)");
  };
  auto misaligned = [&]() {
    return Outcome::failure(Errno::kEINVAL, kDoMap,
                            fmt::format("iova {:#x}, size {:#x} and vaddr {:#x} must all be multiples of the smallest "
                                        "IOMMU page size {:#x}",
                                        iova, size, vaddr, pgsize));
  };
  if (f.type1_inclusive_end) {
    // (the __u64 -> size_t/ulong/dma_addr_t round trip cannot fail on 64-bit)
    if (size == 0) return Outcome::failure(Errno::kEINVAL, kDoMap, "size is 0");
    if (end_overflows(iova, size) || end_overflows(vaddr, size)) {
      return Outcome::failure(Errno::kEOVERFLOW, kDoMap,
                              fmt::format("{} + size - 1 overflows 64 bits (check_add_overflow)",
                                          end_overflows(iova, size) ? "iova" : "vaddr"));
    }
    if (prot == set_vaddr) return flags_bad();
    if (((size | iova | vaddr) & (pgsize - 1)) != 0) return misaligned();
  } else {
    if (prot == set_vaddr) return flags_bad();
    if (size == 0) return Outcome::failure(Errno::kEINVAL, kDoMap, "size is 0");
    if (((size | iova | vaddr) & (pgsize - 1)) != 0) return misaligned();
    if (end_overflows(iova, size) || end_overflows(vaddr, size)) {
      return Outcome::failure(
          Errno::kEINVAL, kDoMap,
          fmt::format("{} + size - 1 wraps past 2^64 (\"Don't allow IOVA or virtual address wrap\")",
                      end_overflows(iova, size) ? "iova" : "vaddr"));
    }
  }
  // vfio_find_dma(iova, size): before v6.19, a map ending at U64_MAX has
  // iova + size == 0 and finds no overlap, whatever exists.
  const std::optional<Type1DmaKey> found = dmas_.find_key(iova, size);
  Type1Dma* dma = found ? &dmas_.at(*found) : nullptr;
  if (set_vaddr) {
    if (dma == nullptr) {
      return Outcome::failure(Errno::kENOENT, kDoMap, fmt::format("VADDR update: no mapping at {:#x}", iova));
    }
    if (!dma->vaddr_invalid || dma->iova != iova || dma->size != size) {
      return Outcome::failure(Errno::kEINVAL, kDoMap,
                              fmt::format("VADDR update must name exactly an invalidated mapping; found "
                                          "{:#x}-{:#x} ({})",
                                          dma->iova, dma->last(), dma->vaddr_invalid ? "invalidated" : "valid"));
    }
    dma->vaddr = vaddr;
    dma->vaddr_invalid = false;
    --vaddr_invalid_count_;
    return Outcome::success(kDoMap, fmt::format("vaddr of {:#x}-{:#x} updated to {:#x}", iova, dma->last(), vaddr));
  }
  if (dma != nullptr) {
    return Outcome::failure(Errno::kEEXIST, kDoMap,
                            fmt::format("{:#x}-{:#x} overlaps the existing mapping {:#x}-{:#x}", iova,
                                        iova + (size - 1), dma->iova, dma->last()));
  }
  if (f.type1_dma_entry_limit && dma_avail_ == 0) {
    return Outcome::failure(
        Errno::kENOSPC, kDoMap,
        fmt::format("no DMA mapping slot left (dma_entry_limit {} mappings per container)", dma_entry_limit_));
  }
  const std::uint64_t end = iova + (size - 1);
  if (f.type1_iova_list && !iova_list_.dma_valid(iova, end)) {
    return Outcome::failure(Errno::kEINVAL, kDoMap,
                            fmt::format("vfio_iommu_iova_dma_valid: {:#x}-{:#x} does not fit in one usable range "
                                        "of {}",
                                        iova, end, iova_list_.to_string()));
  }
  dmas_.insert(Type1Dma{iova, size, vaddr, static_cast<std::uint32_t>(req.flags & 3U), false});
  if (f.type1_dma_entry_limit) --dma_avail_;
  std::string note;
  if (!f.type1_inclusive_end && end == ~std::uint64_t{0}) {
    note =
        " (ends at U64_MAX: before v6.19 the kernel's searches cannot see it, so overlap checks and unmaps "
        "ignore it)";
  }
  return Outcome::success(kDoMap, fmt::format("mapped {:#x}-{:#x}{}", iova, end, note));
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_unmap_dma +
// vfio_dma_do_unmap. v2 containers refuse ranges that bisect a mapping; the
// byte count unmapped is copied back in `size` on success.
DmaUnmapReply Type1Container::unmap_dma(const DmaUnmapRequest& req) {
  if (!iommu_set_) return DmaUnmapReply{no_driver(), std::nullopt};
  const KernelFeatures& f = profile_.features;
  std::uint32_t mask = kVfioDmaUnmapFlagGetDirtyBitmap;
  if (f.type1_vaddr_unmap_all) mask |= kVfioDmaUnmapFlagAll | kVfioDmaUnmapFlagVaddr;
  auto fail = [](Errno err, const char* function, std::string message) {
    return DmaUnmapReply{Outcome::failure(err, function, std::move(message)), std::nullopt};
  };
  constexpr const char* kIoctl = "vfio_iommu_type1_unmap_dma";
  if (req.argsz < kVfioDmaUnmapSize || (req.flags & ~mask) != 0) {
    return fail(Errno::kEINVAL, kIoctl,
                req.argsz < kVfioDmaUnmapSize ? fmt::format("argsz {} is below 24", req.argsz)
                                              : fmt::format("unknown flag bits {:#x}", req.flags & ~mask));
  }
  const bool dirty = (req.flags & kVfioDmaUnmapFlagGetDirtyBitmap) != 0;
  const bool all = (req.flags & kVfioDmaUnmapFlagAll) != 0;
  const bool invalidate = (req.flags & kVfioDmaUnmapFlagVaddr) != 0;
  if (dirty && (all || invalidate)) {
    return fail(Errno::kEINVAL, kIoctl, "GET_DIRTY_BITMAP cannot be combined with ALL or VADDR");
  }
  if (dirty && req.argsz < kVfioDmaUnmapSize + kVfioBitmapSize) {
    return fail(Errno::kEINVAL, kIoctl, "GET_DIRTY_BITMAP needs argsz >= 48 (struct vfio_bitmap follows)");
  }
  if (invalidate && !emulated_.empty()) {
    return fail(Errno::kEBUSY, kDoUnmap, "cannot invalidate vaddrs while an mdev (emulated) group is present");
  }
  const std::uint64_t pgsize = min_page_size();
  const std::uint64_t iova = req.iova;
  std::uint64_t size = req.size;
  if ((iova & (pgsize - 1)) != 0) {
    return fail(Errno::kEINVAL, kDoUnmap, fmt::format("iova {:#x} is not a multiple of {:#x}", iova, pgsize));
  }
  if (all) {
    if (iova != 0 || size != 0) return fail(Errno::kEINVAL, kDoUnmap, "VFIO_DMA_UNMAP_FLAG_ALL needs iova = size = 0");
    // Before v6.19 size becomes U64_MAX; v6.19+ the inclusive end ~0, which
    // unmap_walk(0, 0) computes as 0 + 0 - 1.
    size = f.type1_inclusive_end ? 0 : ~std::uint64_t{0};
  } else if (f.type1_inclusive_end) {
    if (size == 0 || (size & (pgsize - 1)) != 0) {
      return fail(Errno::kEINVAL, kDoUnmap, fmt::format("size {:#x} is 0 or not a multiple of {:#x}", size, pgsize));
    }
    if (end_overflows(iova, size)) return fail(Errno::kEOVERFLOW, kDoUnmap, "iova + size - 1 overflows 64 bits");
  } else if (size == 0 || (size & (pgsize - 1)) != 0 || end_overflows(iova, size)) {
    return fail(Errno::kEINVAL, kDoUnmap,
                fmt::format("size {:#x} is 0, not a multiple of {:#x}, or iova + size - 1 wraps", size, pgsize));
  }
  if (dirty) return fail(Errno::kEINVAL, kDoUnmap, "dirty page tracking is not started");
  if (v2_ && !all) {
    // The range may not start or end inside a mapping.
    if (const Type1Dma* d = dmas_.find(iova, 1); d != nullptr && d->iova != iova) {
      return fail(Errno::kEINVAL, kDoUnmap,
                  fmt::format("v2: {:#x} is inside the mapping {:#x}-{:#x} (unmaps may not bisect a mapping)", iova,
                              d->iova, d->last()));
    }
    const std::uint64_t last = iova + size - 1;
    const Type1Dma* d = f.type1_inclusive_end ? dmas_.find(last, 1) : dmas_.find(last, 0);
    const bool bisects = d != nullptr && (f.type1_inclusive_end ? d->last() != last : d->iova + d->size != iova + size);
    if (bisects) {
      return fail(Errno::kEINVAL, kDoUnmap,
                  fmt::format("v2: the range ends inside the mapping {:#x}-{:#x} (unmaps may not bisect a mapping)",
                              d->iova, d->last()));
    }
  }
  const std::vector<Type1DmaKey> walk = dmas_.unmap_walk(iova, size);
  std::uint64_t unmapped = 0;
  std::vector<Type1DmaKey> removed;
  std::vector<Type1DmaKey> invalidated;
  for (const Type1DmaKey& key : walk) {
    Type1Dma& dma = dmas_.at(key);
    if (!v2_ && iova > dma.iova) break;  // v1: a mapping starting before iova ends the walk
    if (invalidate) {
      if (dma.vaddr_invalid) {
        for (const Type1DmaKey& k : invalidated) dmas_.at(k).vaddr_invalid = false;
        vaddr_invalid_count_ -= static_cast<std::uint32_t>(invalidated.size());
        return fail(Errno::kEINVAL, kDoUnmap,
                    fmt::format("the vaddr of {:#x}-{:#x} is already invalidated; earlier invalidations undone",
                                dma.iova, dma.last()));
      }
      dma.vaddr_invalid = true;
      ++vaddr_invalid_count_;
      invalidated.push_back(key);
      unmapped += dma.size;
      continue;
    }
    unmapped += dma.size;
    if (dma.vaddr_invalid) --vaddr_invalid_count_;
    removed.push_back(key);
  }
  dmas_.erase(removed);
  if (f.type1_dma_entry_limit) dma_avail_ += static_cast<std::uint32_t>(removed.size());
  std::string note;
  if (!f.type1_inclusive_end && !all && iova + size == 0) {
    note = " (the range ends at U64_MAX: before v6.19 iova + size wraps to 0 and the walk finds nothing)";
  }
  return DmaUnmapReply{
      Outcome::success(kDoUnmap, fmt::format("{} {} mapping(s), {:#x} bytes{}", invalidate ? "invalidated" : "unmapped",
                                             invalidate ? invalidated.size() : removed.size(), unmapped, note)),
      unmapped};
}

}  // namespace iovakit::kernel
