// iovakit/kernel/type1_iova_list.h: VFIO type1's usable IOVA list and the
// helpers that edit it, quirks included.
//
// Design
// ------
// drivers/vfio/vfio_iommu_type1.c keeps the usable IOVA ranges of a container
// as a list of `struct vfio_iova { start; end; }` nodes (inclusive ends),
// edited in place by vfio_iommu_aper_resize, vfio_iommu_resv_exclude and
// vfio_iommu_aper_expand (v5.4+, Shameer Kolothum's usable-IOVA-list series;
// identical in 6.1 and 7.0). We keep the same node list rather than an
// iova::RangeSet because the kernel's edits produce states a coalesced set
// cannot hold:
//   * aper_resize compares with `>=` / `<=`, so a node whose last byte equals
//     the new start, or whose first byte equals the new end, is dropped whole
//     (linux-iommu-semantics.md 15.6);
//   * resv_exclude with a zero-length region (end = start - 1) splits a node
//     into two adjacent nodes (15.7), and iova_dma_valid then refuses a
//     mapping that spans the split.
// Nodes are raw (start, end) pairs; every edit is the kernel's, step by step.
//
// Complexity: the list has a handful of nodes (one per hole plus one);
// every operation is a linear walk, as in the kernel. n nodes, r regions:
// aper_resize O(n), resv_exclude O(r * n), dma_valid O(n).
//
// Thread safety: a value; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iovakit/iova/range_set.h"
#include "iovakit/iova/resv_region.h"

namespace iovakit::kernel {

// struct vfio_iova: one usable range, both ends inclusive.
struct IovaNode {
  std::uint64_t start = 0;
  std::uint64_t end = 0;

  friend bool operator==(const IovaNode&, const IovaNode&) = default;
};

class Type1IovaList {
 public:
  Type1IovaList() = default;
  explicit Type1IovaList(std::vector<IovaNode> nodes) : nodes_(std::move(nodes)) {}

  [[nodiscard]] const std::vector<IovaNode>& nodes() const { return nodes_; }
  [[nodiscard]] bool empty() const { return nodes_.empty(); }
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] const IovaNode& front() const { return nodes_.front(); }
  [[nodiscard]] const IovaNode& back() const { return nodes_.back(); }
  void clear() { nodes_.clear(); }

  // vfio_iommu_aper_resize(list, start, end): intersect with [start, end],
  // or become [start, end] when empty. Keeps the `>=` / `<=` quirks.
  void aper_resize(std::uint64_t start, std::uint64_t end);

  // vfio_iommu_resv_exclude(list, regions): cut every region that is not
  // DIRECT_RELAXABLE out of the list (end = start + length - 1, modulo 2^64,
  // unchecked). Returns false when the list ends up empty (the kernel's
  // -EINVAL); the list is edited either way, as the kernel edits its copy.
  bool resv_exclude(std::span<const iova::ResvRegion> regions);

  // The edit of vfio_iommu_aper_expand: first.start = start, last.end = end.
  // No effect on an empty list.
  void set_bounds(std::uint64_t start, std::uint64_t end);

  // vfio_iommu_iova_dma_valid(start, end): true iff one node holds all of
  // [start, end], or the list is empty.
  [[nodiscard]] bool dma_valid(std::uint64_t start, std::uint64_t end) const;

  // The nodes as a set (nodes with end < start, which no kernel edit makes,
  // are skipped). Adjacent nodes coalesce here, so the set can differ from
  // nodes() only after the zero-length-region split.
  [[nodiscard]] iova::RangeSet to_range_set() const;

  // "[0x0-0xfedfffff, 0xfef00000-0xffffffffff]"
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Type1IovaList&, const Type1IovaList&) = default;

 private:
  std::vector<IovaNode> nodes_;
};

// vfio_iommu_has_sw_msi(regions, &base): the start of the last SW_MSI region
// of the list, unless any hardware MSI region is present (it takes
// precedence: no MSI cookie), or there is no SW_MSI region.
std::optional<std::uint64_t> sw_msi_base(std::span<const iova::ResvRegion> regions);

}  // namespace iovakit::kernel
