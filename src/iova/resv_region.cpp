#include "iovakit/iova/resv_region.h"

#include <algorithm>

#include <fmt/core.h>

namespace iovakit::iova {

std::string_view sysfs_name(ResvType type) {
  // iommu_group_resv_type_string[] (drivers/iommu/iommu.c, v4.11+; "direct-relaxable" since v5.3).
  switch (type) {
    case ResvType::kDirect: return "direct";
    case ResvType::kDirectRelaxable: return "direct-relaxable";
    case ResvType::kReserved: return "reserved";
    case ResvType::kMsi:
    case ResvType::kSwMsi: return "msi";
  }
  return "unknown";
}

std::string_view type_name(ResvType type) {
  return type == ResvType::kSwMsi ? std::string_view("sw-msi") : sysfs_name(type);
}

std::optional<ResvType> parse_resv_type(std::string_view name) {
  if (name == "direct") return ResvType::kDirect;
  if (name == "direct-relaxable") return ResvType::kDirectRelaxable;
  if (name == "reserved") return ResvType::kReserved;
  if (name == "msi") return ResvType::kMsi;
  if (name == "sw-msi") return ResvType::kSwMsi;
  return std::nullopt;
}

ResvRegion ResvRegion::from_range(const Range& range, ResvType type, std::uint32_t prot) {
  // A 2^64-byte range is stored as length 0, the value the kernel's size_t
  // arithmetic leaves behind for it.
  return ResvRegion{range.first(), static_cast<std::uint64_t>(range.size()), type, prot};
}

std::optional<Range> ResvRegion::range() const {
  if (length == 0) {
    if (start == 0) return Range::full();
    return std::nullopt;
  }
  if (start > kU64Max - (length - 1)) return std::nullopt;  // wraps
  return Range(start, last());
}

std::string ResvRegion::sysfs_line() const {
  return fmt::format("0x{:016x} 0x{:016x} {}\n", start, last(), sysfs_name(type));
}

void ResvList::insert(const ResvRegion& region) {
  if (algorithm_ == ResvMergeAlgorithm::kSortedStack) {
    insert_sorted_stack(region);
  } else {
    insert_recursive_overlap(region);
  }
}

void ResvList::insert_all(const std::vector<ResvRegion>& regions) {
  for (const ResvRegion& r : regions) insert(r);
}

// iommu_insert_resv_region, v5.3+ (4dbd258ff63e). All arithmetic is on
// uint64_t, which wraps exactly like the kernel's phys_addr_t.
void ResvList::insert_sorted_stack(const ResvRegion& region) {
  // 1. Sorted insert: before the first entry that starts later, or starts at
  //    the same address with a type that is not lower.
  auto pos = std::find_if(regions_.begin(), regions_.end(), [&](const ResvRegion& e) {
    return region.start < e.start || (region.start == e.start && region.type <= e.type);
  });
  regions_.insert(pos, region);

  // 2. Merge pass over the new region's type only. `top` is the last element
  //    of that type already moved to the stack; elements of other types are
  //    moved across untouched and do not interrupt a merge.
  std::vector<ResvRegion> stack;
  stack.reserve(regions_.size());
  std::optional<std::size_t> top;
  for (const ResvRegion& it : regions_) {
    if (it.type != region.type || !top) {
      if (it.type == region.type) top = stack.size();
      stack.push_back(it);
      continue;
    }
    ResvRegion& t = stack[*top];
    const std::uint64_t top_end = t.start + t.length - 1;
    const std::uint64_t it_end = it.start + it.length - 1;
    if (it.start > top_end + 1) {  // a gap of at least one byte (top_end + 1 wraps at 2^64 - 1)
      top = stack.size();
      stack.push_back(it);
    } else {
      t.length = std::max(top_end, it_end) - t.start + 1;
    }
  }
  regions_ = std::move(stack);
}

// iommu_insert_resv_region, v4.11 .. v5.2 (bc7d12b91bd3): merges overlapping
// same-type regions by re-inserting the union; adjacency does not merge.
void ResvList::insert_recursive_overlap(const ResvRegion& region) {
  const std::uint64_t start = region.start;
  const std::uint64_t end = region.start + region.length - 1;
  std::size_t pos = 0;
  while (pos < regions_.size()) {
    const ResvRegion& e = regions_[pos];
    const std::uint64_t a = e.start;
    const std::uint64_t b = e.start + e.length - 1;
    if (end < a) break;
    // The kernel's branches: disjoint above (start > b) or another type: walk
    // on; same type and inside: already covered; same type and partial: merge.
    if (start <= b && region.type == e.type) {
      if (start >= a && end <= b) return;
      const std::uint64_t new_start = std::min(a, start);
      const std::uint64_t new_end = std::max(b, end);
      const ResvRegion merged{new_start, new_end - new_start + 1, e.type, e.prot};
      regions_.erase(regions_.begin() + static_cast<std::ptrdiff_t>(pos));
      insert_recursive_overlap(merged);
      return;
    }
    ++pos;
  }
  regions_.insert(regions_.begin() + static_cast<std::ptrdiff_t>(pos), region);
}

std::string ResvList::to_sysfs(std::size_t limit) const {
  std::string out;
  for (const ResvRegion& r : regions_) {
    out += r.sysfs_line();
    if (out.size() >= limit) {
      out.resize(limit);
      break;
    }
  }
  return out;
}

}  // namespace iovakit::iova
