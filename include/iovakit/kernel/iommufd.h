// iovakit/kernel/iommufd.h: an iommufd IOAS (v6.2+) as the kernel keeps it:
// reservations with owners, user mappings (areas), allowed ranges; and the
// ioctls over it with the kernel's errnos.
//
// Design
// ------
// drivers/iommu/iommufd/io_pagetable.c gives each IOAS an io_pagetable with
// three interval trees: area_itree (mappings), reserved_itree (reservations,
// each tagged with an owner: a domain or a device; overlapping, never
// merged, removed by owner) and allowed_itree (IOMMU_IOAS_ALLOW_IOVAS).
// IoasModel keeps the same three collections:
//   areas       std::map by start: O(log n) overlap tests
//   reserved    a vector of {start, last, owner}: tens of entries, scanned
//   allowed     a sorted vector of user ranges
// The usable ranges are not stored: IOMMU_IOAS_IOVA_RANGES computes the
// holes of the reserved tree over [0, ULONG_MAX] each time, as the kernel
// does, so a fresh IOAS reports [0, U64_MAX] (type1 reports nothing).
//
// Calls (linux-iommu-semantics.md section 12):
//   add_domain / remove_domain      iopt_table_add_domain / _remove_domain
//   attach_device / detach_device   iopt_table_enforce_dev_resv_regions and
//                                   its undo (per-device list, DIRECT_RELAXABLE
//                                   skipped, MSI + SW_MSI or two SW_MSI: EINVAL)
//   attach_device_new_domain        the auto-domain orders: immediate attach
//                                   (device, then aperture) or replace
//                                   (aperture, then device)
//   iova_ranges / iova_ranges_ioctl IOMMU_IOAS_IOVA_RANGES (EMSGSIZE protocol)
//   allow_iovas                     IOMMU_IOAS_ALLOW_IOVAS
//   map                             IOMMU_IOAS_MAP, fixed or automatic IOVA
//   unmap                           IOMMU_IOAS_UNMAP
// Kernels without iommufd (profile.features.iommufd false) answer ENODEV
// for every call: there is no /dev/iommu.
//
// Not modelled: pinning, accesses (mdev), dirty tracking, HWPT objects
// beyond their domain's aperture and page sizes.
//
// Thread safety: none; lock around it (the kernel holds iova_rwsem).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iovakit/iova/range.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/kernel/errno.h"
#include "iovakit/kernel/kernel_profile.h"

namespace iovakit::kernel {

// include/uapi/linux/iommufd.h IOMMU_IOAS_MAP flags.
inline constexpr std::uint32_t kIoasMapFixedIova = 1;
inline constexpr std::uint32_t kIoasMapWriteable = 2;
inline constexpr std::uint32_t kIoasMapReadable = 4;
// THP size on x86_64 (CONFIG_TRANSPARENT_HUGEPAGE=y in Debian): the cap on
// the automatic IOVA alignment.
inline constexpr std::uint64_t kHugePageSize = 2ULL << 20;

struct ResvOwner {
  enum class Kind : std::uint8_t { kDomain, kDevice };
  Kind kind = Kind::kDevice;
  std::uint32_t id = 0;
  friend bool operator==(const ResvOwner&, const ResvOwner&) = default;
};

// struct iopt_reserved: [start, last], unchecked (a zero-length region
// gives last = start - 1, as the kernel computes it).
struct IoasReservation {
  std::uint64_t start = 0;
  std::uint64_t last = 0;
  ResvOwner owner;
};

struct IoasArea {
  std::uint64_t iova = 0;
  std::uint64_t last = 0;
  std::uint64_t uptr = 0;
};

// An [start, last] pair as user space passes it (struct iommu_iova_range).
struct IommuIovaRange {
  std::uint64_t start = 0;
  std::uint64_t last = 0;
  friend bool operator==(const IommuIovaRange&, const IommuIovaRange&) = default;
};

struct IoasDomain {
  std::uint32_t id = 0;
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = ~std::uint64_t{0xfff};
};

enum class AutoDomainOrder : std::uint8_t {
  // Attaching a device straight to an IOAS id (auto domain): device
  // reservations first, then the domain's aperture reservations.
  kImmediateAttach,
  // The replace path: the domain (aperture) first, then the device.
  kReplace,
};

struct IoasMapRequest {
  std::uint32_t flags = kIoasMapReadable | kIoasMapWriteable;  // without kIoasMapFixedIova: automatic
  std::uint64_t uptr = 0;
  std::uint64_t length = 0;
  std::uint64_t iova = 0;  // used with kIoasMapFixedIova
};

struct IoasMapReply {
  Outcome outcome;
  std::optional<std::uint64_t> iova;  // the IOVA mapped (chosen, for automatic)
};

struct IoasUnmapReply {
  Outcome outcome;
  std::uint64_t unmapped = 0;  // bytes removed before success or the failing area
};

struct IovaRangesReply {
  Outcome outcome;                     // EMSGSIZE when the capacity is short
  std::uint32_t num_iovas = 0;         // total holes (written back in every case)
  std::vector<IommuIovaRange> ranges;  // the ones that fit the capacity
  std::uint64_t out_iova_alignment = 1;
};

class IoasModel {
 public:
  explicit IoasModel(KernelProfile profile);

  Outcome add_domain(const IoasDomain& domain);
  Outcome remove_domain(std::uint32_t domain_id);
  // A device joins an already attached paging domain: only its reservations.
  Outcome attach_device(std::uint32_t device_id, std::span<const iova::ResvRegion> device_regions);
  // A device attaches with a new automatic domain, in `order`; on any
  // failure both steps are undone.
  Outcome attach_device_new_domain(std::uint32_t device_id, std::span<const iova::ResvRegion> device_regions,
                                   const IoasDomain& domain, AutoDomainOrder order);
  Outcome detach_device(std::uint32_t device_id);

  // Holes of the reserved tree over [0, U64_MAX].
  [[nodiscard]] std::vector<IommuIovaRange> iova_ranges() const;
  [[nodiscard]] IovaRangesReply iova_ranges_ioctl(std::uint32_t capacity) const;
  Outcome allow_iovas(std::span<const IommuIovaRange> ranges);
  IoasMapReply map(const IoasMapRequest& request);
  IoasUnmapReply unmap(std::uint64_t iova, std::uint64_t length);

  [[nodiscard]] const KernelProfile& profile() const { return profile_; }
  [[nodiscard]] std::uint64_t iova_alignment() const { return iova_alignment_; }
  [[nodiscard]] const std::vector<IoasReservation>& reservations() const { return reserved_; }
  [[nodiscard]] const std::map<std::uint64_t, IoasArea>& areas() const { return areas_; }
  [[nodiscard]] const std::vector<IommuIovaRange>& allowed() const { return allowed_; }
  [[nodiscard]] const std::vector<IoasDomain>& domains() const { return domains_; }
  // The SW_MSI start recorded for the device's group (PHYS_ADDR_MAX: none).
  [[nodiscard]] std::optional<std::uint64_t> sw_msi_start(std::uint32_t device_id) const;

 private:
  [[nodiscard]] std::optional<Outcome> absent() const;
  [[nodiscard]] const IoasArea* area_intersecting(std::uint64_t start, std::uint64_t last) const;
  [[nodiscard]] const IoasReservation* reserved_intersecting(std::uint64_t start, std::uint64_t last) const;
  [[nodiscard]] const IommuIovaRange* allowed_intersecting(std::uint64_t start, std::uint64_t last) const;
  Outcome reserve(std::uint64_t start, std::uint64_t last, ResvOwner owner, const std::string& what);
  void remove_reserved(ResvOwner owner);
  Outcome enforce_dev_resv_regions(std::uint32_t device_id, std::span<const iova::ResvRegion> regions);
  Outcome check_iova(std::uint64_t iova, std::uint64_t length) const;
  Outcome alloc_iova(std::uint64_t uptr, std::uint64_t length, std::uint64_t* iova) const;
  void recalculate_alignment();

  KernelProfile profile_;
  std::vector<IoasReservation> reserved_;
  std::map<std::uint64_t, IoasArea> areas_;
  std::vector<IommuIovaRange> allowed_;  // sorted, disjoint
  std::vector<IoasDomain> domains_;
  std::map<std::uint32_t, std::uint64_t> sw_msi_;
  std::vector<std::uint32_t> devices_;
  std::uint64_t iova_alignment_ = 1;
};

}  // namespace iovakit::kernel
