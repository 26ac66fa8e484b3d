#include "iovakit/iova/range_set.h"

#include <algorithm>

namespace iovakit::iova {

namespace {

// Appends `r` to a sorted, coalesced list whose ranges all start at or before
// r.first, merging when it touches the last one.
void append_coalescing(std::vector<Range>& out, const Range& r) {
  if (!out.empty() && out.back().touches(r)) {
    out.back() = out.back().hull(r);
  } else {
    out.push_back(r);
  }
}

}  // namespace

RangeSet::RangeSet(std::initializer_list<Range> ranges)
    : RangeSet(std::span<const Range>(ranges.begin(), ranges.size())) {}

RangeSet::RangeSet(std::span<const Range> ranges) {
  std::vector<Range> sorted(ranges.begin(), ranges.end());
  std::sort(sorted.begin(), sorted.end());
  ranges_.reserve(sorted.size());
  for (const Range& r : sorted) append_coalescing(ranges_, r);
}

std::size_t RangeSet::lower_index(std::uint64_t address) const {
  auto it =
      std::partition_point(ranges_.begin(), ranges_.end(), [address](const Range& r) { return r.last() < address; });
  return static_cast<std::size_t>(it - ranges_.begin());
}

void RangeSet::insert(const Range& range) {
  // Ranges ending before range.first - 1 neither overlap nor touch it.
  const std::size_t i = lower_index(range.first() == 0 ? 0 : range.first() - 1);
  std::size_t j = i;
  Range merged = range;
  while (j < ranges_.size() && ranges_[j].touches(range)) {
    merged = merged.hull(ranges_[j]);
    ++j;
  }
  const auto first = ranges_.begin() + static_cast<std::ptrdiff_t>(i);
  if (i == j) {
    ranges_.insert(first, merged);
    return;
  }
  *first = merged;
  ranges_.erase(first + 1, ranges_.begin() + static_cast<std::ptrdiff_t>(j));
}

void RangeSet::erase(const Range& range) {
  const std::size_t i = lower_index(range.first());
  std::size_t j = i;
  while (j < ranges_.size() && ranges_[j].first() <= range.last()) ++j;
  if (i == j) return;  // nothing overlaps

  std::vector<Range> pieces;
  if (ranges_[i].first() < range.first()) pieces.emplace_back(ranges_[i].first(), range.first() - 1);
  if (ranges_[j - 1].last() > range.last()) pieces.emplace_back(range.last() + 1, ranges_[j - 1].last());

  const auto first = ranges_.begin() + static_cast<std::ptrdiff_t>(i);
  ranges_.erase(first, ranges_.begin() + static_cast<std::ptrdiff_t>(j));
  ranges_.insert(ranges_.begin() + static_cast<std::ptrdiff_t>(i), pieces.begin(), pieces.end());
}

RangeSet RangeSet::unite(const RangeSet& other) const {
  RangeSet out;
  out.ranges_.reserve(ranges_.size() + other.ranges_.size());
  auto a = ranges_.begin();
  auto b = other.ranges_.begin();
  while (a != ranges_.end() || b != other.ranges_.end()) {
    const bool take_a = b == other.ranges_.end() || (a != ranges_.end() && a->first() <= b->first());
    append_coalescing(out.ranges_, take_a ? *a++ : *b++);
  }
  return out;
}

RangeSet RangeSet::subtract(const RangeSet& other) const {
  RangeSet out;
  std::size_t j = 0;
  for (const Range& r : ranges_) {
    std::uint64_t cursor = r.first();
    bool alive = true;
    while (j < other.ranges_.size() && other.ranges_[j].last() < cursor) ++j;
    // other[j] may also overlap the next range of this set, so j stays put.
    for (std::size_t k = j; k < other.ranges_.size() && other.ranges_[k].first() <= r.last(); ++k) {
      const Range& hole = other.ranges_[k];
      if (hole.first() > cursor) out.ranges_.emplace_back(cursor, hole.first() - 1);
      if (hole.last() >= r.last()) {
        alive = false;
        break;
      }
      cursor = hole.last() + 1;
    }
    if (alive) out.ranges_.emplace_back(cursor, r.last());
  }
  return out;
}

RangeSet RangeSet::intersect(const RangeSet& other) const {
  RangeSet out;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    const Range& a = ranges_[i];
    const Range& b = other.ranges_[j];
    if (auto both = a.intersect(b)) out.ranges_.push_back(*both);
    if (a.last() < b.last()) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

RangeSet RangeSet::complement(const Range& bound) const {
  RangeSet out;
  std::uint64_t cursor = bound.first();
  for (std::size_t i = lower_index(bound.first()); i < ranges_.size() && ranges_[i].first() <= bound.last(); ++i) {
    const Range& r = ranges_[i];
    if (r.first() > cursor) out.ranges_.emplace_back(cursor, r.first() - 1);
    if (r.last() >= bound.last()) return out;
    cursor = std::max(cursor, r.last() + 1);
  }
  out.ranges_.emplace_back(cursor, bound.last());
  return out;
}

RangeSet RangeSet::clip(const Range& bound) const {
  RangeSet out;
  for (std::size_t i = lower_index(bound.first()); i < ranges_.size() && ranges_[i].first() <= bound.last(); ++i) {
    out.ranges_.push_back(*ranges_[i].intersect(bound));
  }
  return out;
}

bool RangeSet::contains(std::uint64_t address) const { return find(address).has_value(); }

std::optional<Range> RangeSet::find(std::uint64_t address) const {
  const std::size_t i = lower_index(address);
  if (i < ranges_.size() && ranges_[i].first() <= address) return ranges_[i];
  return std::nullopt;
}

std::optional<Range> RangeSet::find_containing(const Range& range) const {
  const std::size_t i = lower_index(range.first());
  if (i < ranges_.size() && ranges_[i].contains(range)) return ranges_[i];
  return std::nullopt;
}

bool RangeSet::intersects(const Range& range) const {
  const std::size_t i = lower_index(range.first());
  return i < ranges_.size() && ranges_[i].first() <= range.last();
}

uint128 RangeSet::total_size() const {
  uint128 total = 0;
  for (const Range& r : ranges_) total += r.size();
  return total;
}

std::string RangeSet::to_string() const {
  std::string out = "{";
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    if (i != 0) out += ", ";
    out += ranges_[i].to_string();
  }
  return out + "}";
}

}  // namespace iovakit::iova
