#include "iovakit/iova/range_cache.h"

#include <algorithm>
#include <bit>
#include <utility>
#include <vector>

namespace iovakit::iova {

RangeCache::RangeCache(std::uint32_t max_granules, std::uint32_t depth)
    : max_granules_(std::min(max_granules, kMaxGranules)), depth_(depth) {}

// The first push (the storage does not exist yet) or a full stack.
RangeCache::Push RangeCache::push_slow(std::uint64_t first, std::uint64_t c) {
  if (capacity_ != 0 || depth_ == 0) return Push::kFull;
  allocate_storage();
  return push(first, c + 1);
}

// Both arrays before anything else changes: out of memory for the second,
// the cache must stay without storage (capacity_ 0), not half set up.
void RangeCache::allocate_storage() {
  const std::size_t slots = std::size_t{max_granules_} * depth_;
  // Eight times as many buckets as ranges can be parked (see the header's
  // design comment for why not fewer), so that linear probes stay short
  // and never wrap around a full table.
  const std::size_t buckets = std::bit_ceil(std::max<std::size_t>(16, 8 * slots));
  std::vector<std::uint64_t> stacks(slots, 0);
  std::vector<std::uint64_t> table(buckets, kEmpty);
  stacks_ = std::move(stacks);
  table_ = std::move(table);
  counts_.fill(0);
  capacity_ = depth_;
  table_shift_ = 64U - static_cast<std::uint32_t>(std::countr_zero(buckets));
  table_mask_ = buckets - 1;
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
void RangeCache::table_erase_slow(std::uint64_t key) {
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

// What pop() does not do inline: the top of the stack is above the limit
// (take the most recent one below it), or its key does not sit alone in its
// home bucket.
std::uint64_t RangeCache::pop_slow(std::uint64_t c, std::uint64_t high) {
  const std::uint32_t n = counts_[c];
  std::uint64_t* stack = stacks_.data() + c * depth_;
  if (const std::uint64_t top = stack[n - 1]; top + c <= high) {
    counts_[c] = n - 1;
    --size_;
    table_erase_slow(top);
    return top;
  }
  for (std::uint32_t i = n; i-- > 0;) {
    const std::uint64_t first = stack[i];
    if (first + c > high) continue;
    stack[i] = stack[n - 1];
    counts_[c] = n - 1;
    --size_;
    table_erase(first);
    return first;
  }
  return kNone;
}

bool RangeCache::remove(std::uint64_t first, std::uint64_t granules) {
  if (size_ == 0 || granules == 0 || granules > max_granules_) return false;  // size_ != 0: the storage exists
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
  counts_.fill(0);
  std::fill(table_.begin(), table_.end(), kEmpty);
  size_ = 0;
}

}  // namespace iovakit::iova
