#include "iovakit/iova/range_cache.h"

#include <algorithm>
#include <bit>

namespace iovakit::iova {

namespace {

constexpr std::uint64_t kEmpty = ~std::uint64_t{0};

}  // namespace

RangeCache::RangeCache(std::uint32_t max_granules, std::uint32_t depth) : max_granules_(max_granules), depth_(depth) {}

void RangeCache::allocate_storage() {
  const std::size_t slots = std::size_t{max_granules_} * depth_;
  stacks_.assign(slots, 0);
  counts_.assign(max_granules_, 0);
  // At least twice as many buckets as ranges can be parked, so that linear
  // probes stay short and never wrap around a full table.
  const std::size_t buckets = std::bit_ceil(std::max<std::size_t>(16, 2 * slots));
  table_.assign(buckets, kEmpty);
  table_shift_ = 64U - static_cast<std::uint32_t>(std::countr_zero(buckets));
}

// Fibonacci hashing: the multiply spreads neighbouring granule numbers (the
// common case: ranges parked next to each other) over the whole table.
std::size_t RangeCache::bucket(std::uint64_t key) const {
  return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> table_shift_);
}

bool RangeCache::table_insert(std::uint64_t key) {
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = bucket(key);; i = (i + 1) & mask) {
    if (table_[i] == key) return false;
    if (table_[i] == kEmpty) {
      table_[i] = key;
      return true;
    }
  }
}

bool RangeCache::contains(std::uint64_t key) const {
  // kEmpty marks free buckets, so it is never a parked key (the allocator
  // does not park a range starting at granule 2^64 - 1).
  if (table_.empty() || key == kEmpty) return false;
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = bucket(key);; i = (i + 1) & mask) {
    if (table_[i] == key) return true;
    if (table_[i] == kEmpty) return false;
  }
}

// Backward-shift deletion: later keys of the same probe run move up into the
// hole, so lookups never need tombstones.
void RangeCache::table_erase(std::uint64_t key) {
  const std::size_t mask = table_.size() - 1;
  std::size_t hole = bucket(key);
  while (table_[hole] != key) {
    if (table_[hole] == kEmpty) return;
    hole = (hole + 1) & mask;
  }
  for (std::size_t next = (hole + 1) & mask; table_[next] != kEmpty; next = (next + 1) & mask) {
    const std::size_t home = bucket(table_[next]);
    // The key at `next` may move to `hole` iff `hole` lies on its probe
    // path, i.e. cyclically within [home, next).
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      table_[hole] = table_[next];
      hole = next;
    }
  }
  table_[hole] = kEmpty;
}

RangeCache::Push RangeCache::push(std::uint64_t first, std::uint64_t granules) {
  if (!enabled()) return Push::kFull;
  if (stacks_.empty()) allocate_storage();
  const auto c = static_cast<std::size_t>(granules - 1);
  if (counts_[c] == depth_) return Push::kFull;
  if (!table_insert(first)) return Push::kDuplicate;
  stacks_[c * depth_ + counts_[c]++] = first;
  ++size_;
  return Push::kParked;
}

std::optional<std::uint64_t> RangeCache::pop(std::uint64_t granules, std::uint64_t high) {
  if (size_ == 0 || granules == 0 || granules > max_granules_) return std::nullopt;
  const auto c = static_cast<std::size_t>(granules - 1);
  const std::uint32_t n = counts_[c];
  std::uint64_t* stack = stacks_.data() + c * depth_;
  for (std::uint32_t i = n; i-- > 0;) {
    const std::uint64_t first = stack[i];
    if (first + (granules - 1) > high) continue;
    stack[i] = stack[n - 1];
    --counts_[c];
    --size_;
    table_erase(first);
    return first;
  }
  return std::nullopt;
}

bool RangeCache::remove(std::uint64_t first, std::uint64_t granules) {
  if (size_ == 0 || granules == 0 || granules > max_granules_) return false;
  const auto c = static_cast<std::size_t>(granules - 1);
  std::uint64_t* stack = stacks_.data() + c * depth_;
  for (std::uint32_t i = 0; i < counts_[c]; ++i) {
    if (stack[i] != first) continue;
    stack[i] = stack[--counts_[c]];
    --size_;
    table_erase(first);
    return true;
  }
  return false;
}

void RangeCache::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  std::fill(table_.begin(), table_.end(), kEmpty);
  size_ = 0;
}

}  // namespace iovakit::iova
