// iovakit/kernel/vfio_type1.h: a VFIO type1 container as the kernel keeps
// it, and the ioctls that change it, answered with the kernel's errnos in
// the kernel's order.
//
// Design
// ------
// Type1Container is struct vfio_iommu of drivers/vfio/vfio_iommu_type1.c
// plus the container-level steps of drivers/vfio/container.c that decide
// when type1 sees a group:
//   state    iova_list (Type1IovaList: the kernel's node list, quirks kept),
//            user mappings (Type1DmaTree: ordered map, O(log n) searches),
//            pgsize_bitmap, dma_avail, attached groups and their domains,
//            emulated (mdev) groups, groups waiting for VFIO_SET_IOMMU.
//   calls    set_container / unset_container  (VFIO_GROUP_{SET,UNSET}_CONTAINER)
//            set_iommu                        (VFIO_SET_IOMMU)
//            attach_group / detach_group      (the type1 callbacks themselves)
//            map_dma / unmap_dma              (VFIO_IOMMU_{MAP,UNMAP}_DMA)
//            hazards_of / explain_map         (iovakit's questions: what
//                                              breaks, and why a map fails)
// Every call returns an Outcome: errno, symbolic name, the kernel function
// whose check decided, and a sentence. Behaviour that changed between
// versions is chosen by the KernelProfile's flags (type1_iova_list,
// type1_inclusive_end, type1_nesting, type1_dma_entry_limit,
// type1_vaddr_unmap_all); nothing compares version numbers.
//
// What the caller feeds in, per group (Type1GroupSpec): the group's reserved
// regions as iommu_get_group_resv_regions returns them (merged, in list
// order), the geometry of the group's new domain as VFIO reads it after the
// attach (the per-vendor model computes it: Intel 6.1 narrows it at attach),
// the domain's pgsize_bitmap, whether MSIs are isolated, the IOMMU driver's
// identity (domain reuse), and an optional DriverRefusal: the errno and
// message the IOMMU driver or core answers and the stage where it surfaces
// (DMA-ownership claim at SET_CONTAINER, domain allocation, or domain
// attach). The container models where in the sequence each answer appears.
//
// Not modelled: pinning and RLIMIT_MEMLOCK (-ENOMEM), -EFAULT from user
// copies, dirty-page tracking (never started here), iommu_map failures.
//
// Complexity: attach is O(r log n + r * k) for r regions, n mappings and k
// list nodes; map/unmap O(log n + k) (+ the unmapped count); detach
// O(total regions * k). Memory: one std::map node (~80 bytes) per mapping.
//
// Thread safety: none. One container per thread, or lock around it (the
// kernel holds iommu->lock for every one of these calls).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/iova/range.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/kernel/errno.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/kernel/type1_dma_tree.h"
#include "iovakit/kernel/type1_iova_list.h"

namespace iovakit::kernel {

// include/uapi/linux/vfio.h
inline constexpr std::uint32_t kVfioType1Iommu = 1;
inline constexpr std::uint32_t kVfioType1v2Iommu = 3;
inline constexpr std::uint32_t kVfioType1NestingIommu = 6;
inline constexpr std::uint32_t kVfioDmaMapFlagRead = 1;
inline constexpr std::uint32_t kVfioDmaMapFlagWrite = 2;
inline constexpr std::uint32_t kVfioDmaMapFlagVaddr = 4;
inline constexpr std::uint32_t kVfioDmaUnmapFlagGetDirtyBitmap = 1;
inline constexpr std::uint32_t kVfioDmaUnmapFlagAll = 2;
inline constexpr std::uint32_t kVfioDmaUnmapFlagVaddr = 4;
inline constexpr std::uint32_t kVfioDmaMapSize = 32;    // sizeof(struct vfio_iommu_type1_dma_map)
inline constexpr std::uint32_t kVfioDmaUnmapSize = 24;  // sizeof(struct vfio_iommu_type1_dma_unmap)
inline constexpr std::uint32_t kVfioBitmapSize = 24;    // sizeof(struct vfio_bitmap)
// Module parameter dma_entry_limit's default (U16_MAX).
inline constexpr std::uint32_t kDefaultDmaEntryLimit = 65535;
// x86_64 / arm64 4K kernels.
inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kPageMask = ~(kPageSize - 1);

// Where an IOMMU driver's refusal of a group surfaces.
enum class RefusalStage : std::uint8_t {
  // iommu_group_claim_dma_owner, at VFIO_GROUP_SET_CONTAINER
  // (drivers/vfio/container.c vfio_container_attach_group), before type1
  // sees the group: Intel 6.1's RMRR -EPERM (the blocking domain falls back
  // to UNMANAGED), 6.6+'s core require_direct -EINVAL.
  kClaimDmaOwner,
  // Step 4 of vfio_iommu_type1_attach_group: iommu_domain_alloc (6.1:
  // failure is -EIO) / iommu_paging_domain_alloc (7.0: its errno).
  kDomainAlloc,
  // Step 5: iommu_attach_group, errno propagated.
  kAttachDomain,
};

struct DriverRefusal {
  RefusalStage stage = RefusalStage::kAttachDomain;
  Errno err = Errno::kEPERM;
  std::string function;  // e.g. "intel_iommu_attach_device"
  std::string message;   // the dmesg line, e.g. "Device is ineligible ..."
};

struct Type1GroupSpec {
  std::uint32_t group_id = 0;
  // iommu_get_group_resv_regions(group), in list order.
  std::vector<iova::ResvRegion> regions;
  // The new domain's geometry [aperture_start, aperture_end], read after
  // iommu_attach_group.
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = kPageMask;
  // A VFIO_EMULATED_IOMMU (mdev) group: no domain, list untouched.
  bool emulated = false;
  // irq_domain_check_msi_remap() || IOMMU_CAP_INTR_REMAP (6.1),
  // iommu_group_has_isolated_msi() (7.0).
  bool isolated_msi = true;
  // Identity of the IOMMU driver's iommu_ops; with enforce_cache_coherency
  // it decides whether an existing domain is reused (step 12).
  std::uint32_t iommu_ops = 0;
  bool enforce_cache_coherency = true;
  std::optional<DriverRefusal> refusal;
};

struct Type1Domain {
  std::uint32_t id = 0;
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = kPageMask;
  std::uint32_t iommu_ops = 0;
  bool enforce_cache_coherency = true;
  std::vector<std::uint32_t> groups;      // newest first (list_add)
  std::optional<std::uint64_t> msi_base;  // iommu_get_msi_cookie(domain, base)
};

struct DmaMapRequest {
  std::uint32_t argsz = kVfioDmaMapSize;
  std::uint32_t flags = kVfioDmaMapFlagRead | kVfioDmaMapFlagWrite;
  std::uint64_t vaddr = 0;
  std::uint64_t iova = 0;
  std::uint64_t size = 0;
};

struct DmaUnmapRequest {
  std::uint32_t argsz = kVfioDmaUnmapSize;
  std::uint32_t flags = 0;
  std::uint64_t iova = 0;
  std::uint64_t size = 0;
};

struct DmaUnmapReply {
  Outcome outcome;
  // The `size` field copied back to user space: the bytes unmapped (or
  // invalidated). Only on success; the kernel copies nothing back on error.
  std::optional<std::uint64_t> size;
};

// What a mapping overlaps that will hurt at run time (the kernel may not
// refuse it: before the usable IOVA list nothing is checked).
struct Hazard {
  enum class Kind : std::uint8_t {
    kReservedRegion,   // a non-relaxable reserved region of an attached group
    kRelaxableRegion,  // a DIRECT_RELAXABLE region: its identity map is lost
    kOutsideAperture,  // beyond a domain's aperture
  };
  Kind kind = Kind::kReservedRegion;
  std::uint32_t group_id = 0;                 // the group (regions) or a group of the domain
  iova::ResvRegion region;                    // for the region kinds
  iova::Range overlap = iova::Range::full();  // the part of the mapping affected
  std::string consequence;                    // one sentence
};

// Why a MAP_DMA passes or fails the usable-list check, for a VM admin.
struct MapExplanation {
  std::optional<iova::Range> request;  // nullopt: size 0 or the range wraps
  bool valid = false;                  // vfio_iommu_iova_dma_valid's answer
  bool list_present = false;           // the container has a usable list
  std::vector<IovaNode> overlapping_nodes;
  struct Obstacle {
    enum class Kind : std::uint8_t {
      kReservedRegion,  // a region of an attached group excluded from the list
      kApertureEdge,    // outside the intersection of the domains' apertures
      kListQuirk,       // not usable, but no region or aperture explains it
      kNodeSplit,       // the request spans two adjacent nodes
    };
    Kind kind = Kind::kReservedRegion;
    std::uint32_t group_id = 0;
    iova::ResvRegion region;
    iova::Range overlap = iova::Range::full();
    std::string text;
  };
  std::vector<Obstacle> obstacles;
  std::string summary;
};

class Type1Container {
 public:
  explicit Type1Container(KernelProfile profile, std::uint32_t dma_entry_limit = kDefaultDmaEntryLimit,
                          bool allow_unsafe_interrupts = false);

  // --- container level (drivers/vfio/container.c, drivers/vfio/group.c)
  // VFIO_GROUP_SET_CONTAINER: claims DMA ownership (a kClaimDmaOwner
  // refusal fails here), then attaches at once if the IOMMU is set, else
  // waits for VFIO_SET_IOMMU.
  Outcome set_container(Type1GroupSpec group);
  // VFIO_GROUP_UNSET_CONTAINER: type1 detach, then, when the container has
  // no group left, the IOMMU driver is released (all type1 state is gone).
  Outcome unset_container(std::uint32_t group_id);
  // VFIO_SET_IOMMU(type): needs a group and no driver yet; attaches every
  // waiting group (newest first, as container->group_list is walked);
  // any failure undoes them all and leaves no driver set.
  Outcome set_iommu(std::uint32_t type);

  // --- the type1 driver itself (drivers/vfio/vfio_iommu_type1.c)
  // vfio_iommu_type1_open(type) alone, without the container's checks:
  // a fresh vfio_iommu, for callers that model type1 directly.
  Outcome type1_open(std::uint32_t type);
  // vfio_iommu_type1_attach_group: the steps of linux-iommu-semantics.md
  // 11.3 in order (the list steps only with type1_iova_list).
  Outcome attach_group(const Type1GroupSpec& group);
  // vfio_iommu_type1_detach_group (returns void in the kernel; the Outcome
  // says what happened to the list).
  Outcome detach_group(std::uint32_t group_id);
  Outcome map_dma(const DmaMapRequest& request);
  DmaUnmapReply unmap_dma(const DmaUnmapRequest& request);

  // The vfio_iommu_type1 module parameter allow_unsafe_interrupts (mode
  // 0644: root may change it at run time; read at each attach).
  void set_allow_unsafe_interrupts(bool allow) { allow_unsafe_interrupts_ = allow; }

  // --- iovakit's questions
  // Every reserved region and aperture edge a mapping [iova, iova+size-1]
  // overlaps, whether or not the kernel refuses it (it does not before
  // type1_iova_list).
  [[nodiscard]] std::vector<Hazard> hazards_of(std::uint64_t iova, std::uint64_t size) const;
  // Which usable ranges the mapping overlaps and what is in the way.
  [[nodiscard]] MapExplanation explain_map(std::uint64_t iova, std::uint64_t size) const;

  // --- state
  [[nodiscard]] const KernelProfile& profile() const { return profile_; }
  [[nodiscard]] bool iommu_set() const { return iommu_set_; }
  [[nodiscard]] bool v2() const { return v2_; }
  [[nodiscard]] const Type1IovaList& iova_list() const { return iova_list_; }
  [[nodiscard]] std::uint64_t pgsize_bitmap() const { return pgsize_bitmap_; }
  // The smallest page size: MAP/UNMAP alignment.
  [[nodiscard]] std::uint64_t min_page_size() const;
  [[nodiscard]] std::uint32_t dma_avail() const { return dma_avail_; }
  [[nodiscard]] const Type1DmaTree& mappings() const { return dmas_; }
  [[nodiscard]] const std::vector<Type1Domain>& domains() const { return domains_; }
  [[nodiscard]] const std::vector<Type1GroupSpec>& attached_groups() const { return groups_; }
  [[nodiscard]] const std::vector<std::uint32_t>& emulated_groups() const { return emulated_; }
  [[nodiscard]] const std::vector<Type1GroupSpec>& waiting_groups() const { return waiting_; }
  [[nodiscard]] const Type1GroupSpec* find_group(std::uint32_t group_id) const;

 private:
  [[nodiscard]] bool aper_conflict(std::uint64_t start, std::uint64_t end) const;
  [[nodiscard]] const Type1Dma* resv_conflict(const std::vector<iova::ResvRegion>& regions,
                                              const iova::ResvRegion** region) const;
  void update_pgsize_bitmap();
  void remove_all_mappings();
  Outcome resv_refresh(Type1IovaList& copy) const;
  [[nodiscard]] bool in_container(std::uint32_t group_id) const;
  void release_iommu();

  KernelProfile profile_;
  std::uint32_t dma_entry_limit_;
  bool allow_unsafe_interrupts_;

  bool iommu_set_ = false;
  bool v2_ = false;
  bool nesting_ = false;
  Type1IovaList iova_list_;
  Type1DmaTree dmas_;
  std::uint64_t pgsize_bitmap_ = kPageMask;
  std::uint32_t dma_avail_;
  std::uint32_t vaddr_invalid_count_ = 0;
  std::vector<Type1Domain> domains_;  // newest first (list_add)
  std::vector<Type1GroupSpec> groups_;
  std::vector<std::uint32_t> emulated_;
  std::vector<Type1GroupSpec> waiting_;  // in the container, before VFIO_SET_IOMMU; newest first
  std::uint32_t next_domain_id_ = 1;
};

}  // namespace iovakit::kernel
