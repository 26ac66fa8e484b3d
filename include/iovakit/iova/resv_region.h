// iovakit/iova/resv_region.h: IOMMU reserved regions and the kernel's list
// that merges them.
//
// Design
// ------
// A reserved region is the kernel's struct iommu_resv_region: a start, a
// length, a type and protection bits (include/linux/iommu.h). We keep the
// kernel's (start, length) form rather than a Range because the kernel does:
// it computes the end as start + length - 1 modulo 2^64 and never validates
// it, so a region of length 0, or one that wraps past 2^64 - 1, exists in the
// kernel and must exist here if we are to predict what it prints. range()
// gives the well-formed view when there is one.
//
// ResvList is the list a group's devices' regions are merged into
// (iommu_get_group_resv_regions). ResvList::insert reproduces
// iommu_insert_resv_region (drivers/iommu/iommu.c) step by step, including its
// arithmetic modulo 2^64. Two algorithms have shipped:
//
//   kSortedStack (v5.3+, commit 4dbd258ff63e "iommu: Revisit
//     iommu_insert_resv_region() implementation", unchanged through 7.1):
//     the list is sorted by (start, numeric type); same-type regions merge
//     when they overlap or are adjacent; regions of different types never
//     merge and may overlap. A region ending at 2^64 - 1 makes top_end + 1
//     wrap to 0, so a later same-type region is not absorbed; a merge whose
//     span would be 2^64 bytes stores length 0.
//   kRecursiveOverlap (v4.11 .. v5.2, from commit bc7d12b91bd3): same-type
//     regions merge only when they overlap (adjacent ones stay separate); the
//     new region is placed before the first entry that starts after its end.
//
// Which one applies is a kernel-profile decision (linux layer); the default is
// the current one.
//
// Thread safety: values; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/iova/range.h"

namespace iovakit::iova {

// enum iommu_resv_type, same numbers as the kernel; the order is the tie-break
// key when two regions start at the same address.
enum class ResvType : std::uint8_t {
  kDirect = 0,           // IOMMU_RESV_DIRECT: identity mapped, must stay so
  kDirectRelaxable = 1,  // IOMMU_RESV_DIRECT_RELAXABLE: identity mapped, may be dropped for assignment
  kReserved = 2,         // IOMMU_RESV_RESERVED: never mapped
  kMsi = 3,              // IOMMU_RESV_MSI: hardware MSI doorbell window, untranslated
  kSwMsi = 4,            // IOMMU_RESV_SW_MSI: software-managed MSI IOVA window
};

inline constexpr std::size_t kResvTypeCount = 5;

// What sysfs prints (iommu_group_resv_type_string[]): sw-msi prints "msi".
std::string_view sysfs_name(ResvType type);
// iovakit's own unambiguous name: "direct", "direct-relaxable", "reserved",
// "msi", "sw-msi".
std::string_view type_name(ResvType type);
// Accepts the iovakit names (so "sw-msi" too); "msi" is kMsi.
std::optional<ResvType> parse_resv_type(std::string_view name);

// IOMMU_READ etc. (include/linux/iommu.h). Not visible in sysfs.
namespace prot {
inline constexpr std::uint32_t kRead = 1;
inline constexpr std::uint32_t kWrite = 2;
inline constexpr std::uint32_t kCache = 4;
inline constexpr std::uint32_t kNoExec = 8;
inline constexpr std::uint32_t kMmio = 16;
inline constexpr std::uint32_t kPriv = 32;
}  // namespace prot

struct ResvRegion {
  std::uint64_t start = 0;
  std::uint64_t length = 0;  // bytes; 0 is possible (see the header comment)
  ResvType type = ResvType::kReserved;
  std::uint32_t prot = 0;

  static ResvRegion from_range(const Range& range, ResvType type, std::uint32_t prot = 0);

  // start + length - 1, modulo 2^64, exactly as the kernel computes it.
  [[nodiscard]] std::uint64_t last() const { return start + length - 1; }
  // The range covered, when the region is well formed: a length of at least 1
  // that does not wrap. A length of 0 at start 0 is the kernel's encoding of
  // the full space after a merge, and is returned as the full range.
  [[nodiscard]] std::optional<Range> range() const;

  // One line of /sys/kernel/iommu_groups/N/reserved_regions, newline included:
  // "0x%016llx 0x%016llx %s\n" (iommu_group_show_resv_regions).
  [[nodiscard]] std::string sysfs_line() const;

  friend bool operator==(const ResvRegion&, const ResvRegion&) = default;
};

enum class ResvMergeAlgorithm : std::uint8_t {
  kSortedStack,       // v5.3+
  kRecursiveOverlap,  // v4.11 .. v5.2
};

class ResvList {
 public:
  using const_iterator = std::vector<ResvRegion>::const_iterator;

  explicit ResvList(ResvMergeAlgorithm algorithm = ResvMergeAlgorithm::kSortedStack) : algorithm_(algorithm) {}

  // iommu_insert_resv_region(new, list).
  void insert(const ResvRegion& region);
  // Inserts each in order (iommu_insert_device_resv_regions).
  void insert_all(const std::vector<ResvRegion>& regions);

  [[nodiscard]] ResvMergeAlgorithm algorithm() const { return algorithm_; }
  [[nodiscard]] bool empty() const { return regions_.empty(); }
  [[nodiscard]] std::size_t size() const { return regions_.size(); }
  [[nodiscard]] const_iterator begin() const { return regions_.begin(); }
  [[nodiscard]] const_iterator end() const { return regions_.end(); }
  [[nodiscard]] const ResvRegion& operator[](std::size_t i) const { return regions_[i]; }
  [[nodiscard]] const std::vector<ResvRegion>& regions() const { return regions_; }

  // The reserved_regions file as iommu_group_show_resv_regions writes it.
  // `limit` models the sysfs page: 6.1 writes past it (unbounded sprintf),
  // 7.0 stops at 4095 bytes (sysfs_emit_at), possibly mid-line. Pass
  // kNoLimit for the former, kSysfsEmitLimit for the latter.
  static constexpr std::size_t kNoLimit = ~std::size_t{0};
  static constexpr std::size_t kSysfsEmitLimit = 4095;
  [[nodiscard]] std::string to_sysfs(std::size_t limit = kNoLimit) const;

  friend bool operator==(const ResvList& a, const ResvList& b) { return a.regions_ == b.regions_; }

 private:
  void insert_sorted_stack(const ResvRegion& region);
  void insert_recursive_overlap(const ResvRegion& region);

  ResvMergeAlgorithm algorithm_;
  std::vector<ResvRegion> regions_;
};

}  // namespace iovakit::iova
