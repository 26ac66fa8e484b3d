// iovakit/iova/range_set.h: a set of 64-bit addresses kept as sorted,
// disjoint, coalesced inclusive ranges.
//
// Design
// ------
// The sets iovakit computes are small: a usable IOVA list has a handful of
// ranges, a group's reserved regions a few dozen, the holes of a guest layout
// a few hundred at most. A sorted std::vector<Range> is the fastest structure
// at that size (one allocation, binary search, cache-friendly scans), so that
// is the representation; the IOVA allocator, which must hold millions of
// ranges, has its own structure (iovakit/iova/allocator.h).
//
// Invariant, checked by the property tests: ranges are sorted by first, and
// between two consecutive ranges there is at least one address that is not in
// the set (a.last + 1 < b.first). So two sets are equal iff their range lists
// are equal, and iteration yields the canonical form.
//
// Every operation is exact at both ends of the space: a range may start at 0
// and end at 2^64 - 1; nothing computes last + 1 or first - 1 without first
// checking for the edge.
//
// Operations (n = ranges in this set, m = in the other):
//   insert(r), erase(r)            O(log n + k) search, O(n) vector shift
//   unite, subtract, intersect     O(n + m) merge walks
//   complement(bound)              O(n)
//   contains(address)              O(log n)
//   find_containing(r)             O(log n): the one range that holds all of
//                                  r, the test VFIO type1 applies to MAP_DMA
//                                  (vfio_iommu_iova_dma_valid)
//
// Thread safety: none; a RangeSet is a value, copy it to share.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iovakit/iova/range.h"

namespace iovakit::iova {

class RangeSet {
 public:
  using const_iterator = std::vector<Range>::const_iterator;

  RangeSet() = default;
  // Any ranges, in any order, overlapping or not.
  RangeSet(std::initializer_list<Range> ranges);
  explicit RangeSet(std::span<const Range> ranges);

  void insert(const Range& range);
  void erase(const Range& range);
  void clear() { ranges_.clear(); }

  [[nodiscard]] RangeSet unite(const RangeSet& other) const;
  [[nodiscard]] RangeSet subtract(const RangeSet& other) const;
  [[nodiscard]] RangeSet intersect(const RangeSet& other) const;
  // Every address of `bound` that is not in this set.
  [[nodiscard]] RangeSet complement(const Range& bound = Range::full()) const;
  // This set clipped to `bound`.
  [[nodiscard]] RangeSet clip(const Range& bound) const;

  [[nodiscard]] bool contains(std::uint64_t address) const;
  // True iff every address of `range` is in the set (necessarily in one range,
  // since the set is coalesced).
  [[nodiscard]] bool contains(const Range& range) const { return find_containing(range).has_value(); }
  [[nodiscard]] std::optional<Range> find_containing(const Range& range) const;
  // The range holding `address`, if any.
  [[nodiscard]] std::optional<Range> find(std::uint64_t address) const;
  [[nodiscard]] bool intersects(const Range& range) const;

  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  // Number of disjoint ranges (not addresses).
  [[nodiscard]] std::size_t size() const { return ranges_.size(); }
  // Number of addresses, up to 2^64.
  [[nodiscard]] uint128 total_size() const;
  [[nodiscard]] const_iterator begin() const { return ranges_.begin(); }
  [[nodiscard]] const_iterator end() const { return ranges_.end(); }
  [[nodiscard]] const Range& operator[](std::size_t i) const { return ranges_[i]; }
  [[nodiscard]] const std::vector<Range>& ranges() const { return ranges_; }

  // "{0x0000000000000000-0x00000000fedfffff, ...}"
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const RangeSet&, const RangeSet&) = default;

 private:
  // Index of the first range whose last >= address (may be size()).
  [[nodiscard]] std::size_t lower_index(std::uint64_t address) const;

  std::vector<Range> ranges_;
};

}  // namespace iovakit::iova
