#include "iovakit/kernel/type1_iova_list.h"

#include <fmt/core.h>

namespace iovakit::kernel {

using iova::ResvRegion;
using iova::ResvType;

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_aper_resize, v5.4 through 7.1
// (unchanged). Two passes over the list, exactly as the kernel walks it.
void Type1IovaList::aper_resize(std::uint64_t start, std::uint64_t end) {
  if (nodes_.empty()) {
    nodes_.push_back(IovaNode{start, end});  // vfio_iommu_iova_insert
    return;
  }
  // Adjust the list start: stop at the first node that starts above `start`;
  // trim the node with node.start <= start < node.end; delete the others.
  // `start < node.end` is strict, so a node whose last byte is `start` (and a
  // one-byte node at `start`) is deleted: the quirk of 15.6.
  std::size_t i = 0;
  while (i < nodes_.size()) {
    IovaNode& node = nodes_[i];
    if (start < node.start) break;
    if (start >= node.start && start < node.end) {
      node.start = start;
      break;
    }
    nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  // Adjust the list end, over every node: keep nodes ending below `end`,
  // trim the node with node.start < end <= node.end, delete the rest. A node
  // whose first byte is `end` fails `end > node.start` and is deleted.
  std::vector<IovaNode> kept;
  kept.reserve(nodes_.size());
  for (IovaNode node : nodes_) {
    if (end > node.end) {
      kept.push_back(node);
      continue;
    }
    if (end > node.start && end <= node.end) {
      node.end = end;
      kept.push_back(node);
    }
  }
  nodes_ = std::move(kept);
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_resv_exclude, v5.4 through 7.1.
// DIRECT_RELAXABLE is skipped since v5.3/v5.4 (1c5c59fbad20 "iommu/vt-d:
// Differentiate relaxable and non relaxable RMRRs" added the type and the
// skip); every other type, SW_MSI included, is cut out.
bool Type1IovaList::resv_exclude(std::span<const ResvRegion> regions) {
  for (const ResvRegion& resv : regions) {
    if (resv.type == ResvType::kDirectRelaxable) continue;
    const std::uint64_t start = resv.start;
    const std::uint64_t end = resv.start + resv.length - 1;  // modulo 2^64, unchecked
    std::vector<IovaNode> out;
    out.reserve(nodes_.size() + 1);
    for (const IovaNode& n : nodes_) {
      if (start > n.end || end < n.start) {  // no overlap
        out.push_back(n);
        continue;
      }
      // The kernel inserts the pieces before the node, then deletes it.
      if (start > n.start) out.push_back(IovaNode{n.start, start - 1});
      if (end < n.end) out.push_back(IovaNode{end + 1, n.end});
    }
    nodes_ = std::move(out);
  }
  return !nodes_.empty();
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_aper_expand, v5.4 through 7.1.
void Type1IovaList::set_bounds(std::uint64_t start, std::uint64_t end) {
  if (nodes_.empty()) return;
  nodes_.front().start = start;
  nodes_.back().end = end;
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_iova_dma_valid, v5.4 through
// 7.1: a linear walk for one node holding the whole mapping; an empty list
// (no IOMMU-backed group yet, or only mdev groups) accepts everything.
bool Type1IovaList::dma_valid(std::uint64_t start, std::uint64_t end) const {
  for (const IovaNode& node : nodes_) {
    if (start >= node.start && end <= node.end) return true;
  }
  return nodes_.empty();
}

iova::RangeSet Type1IovaList::to_range_set() const {
  iova::RangeSet out;
  for (const IovaNode& n : nodes_) {
    if (n.start <= n.end) out.insert(iova::Range(n.start, n.end));
  }
  return out;
}

std::string Type1IovaList::to_string() const {
  std::string out = "[";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    out += fmt::format("{}{:#x}-{:#x}", i == 0 ? "" : ", ", nodes_[i].start, nodes_[i].end);
  }
  return out + "]";
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_has_sw_msi, v4.11 through 7.1:
// any IOMMU_RESV_MSI region ends the walk with false; otherwise the last
// SW_MSI region's start wins.
std::optional<std::uint64_t> sw_msi_base(std::span<const ResvRegion> regions) {
  std::optional<std::uint64_t> base;
  for (const ResvRegion& r : regions) {
    if (r.type == ResvType::kMsi) return std::nullopt;
    if (r.type == ResvType::kSwMsi) base = r.start;
  }
  return base;
}

}  // namespace iovakit::kernel
