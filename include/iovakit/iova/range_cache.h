// iovakit/iova/range_cache.h: the small-size fast path of iova::Allocator,
// per-size stacks ("magazines") of parked ranges.
//
// Design
// ------
// Linux answers most DMA-API requests from per-CPU magazines (iova_rcache,
// drivers/iommu/iova.c): a freed range of a cacheable size stays allocated in
// the tree and is handed out again for the next request of that size class
// without touching the tree. RangeCache is that idea for one allocator: one
// stack per exact size, 1..max_granules granules, each at most `depth`
// deep, plus an open-addressing hash set (linear probing, backward-shift
// deletion) of the parked ranges' first granules, so that "is this range
// parked?" is O(1) for find() and for double-free detection.
//
// Exact sizes rather than Linux's power-of-two classes: a parked range is
// handed out as it is, so the allocation is never larger than asked for.
//
// What a parked range means to the allocator's users is stated in
// iovakit/iova/allocator.h ("The small-size fast path").
//
// Complexity: push, contains: O(1) expected; pop is O(1) when the top of the
// stack satisfies the limit, else it scans the stack (at most `depth`
// entries); remove scans one stack; drain is O(capacity). push and pop are
// inline, about 30 instructions each when the hash probe finds its bucket
// at once (the usual case: the table is at most a quarter full); a pop
// whose top is above the limit or whose key shares its probe run goes out
// of line.
//
// Depth: with random sizes, the count of one size's stack is a symmetric
// random walk, so about 2 / (depth + 1) of free/allocate pairs find their
// stack full or empty and go to the tree. The default depth of 256 makes
// that 0.8%, for 32 sizes x 256 x 72 B = 576 KiB, allocated on the first
// push (8 B per stack slot, 64 B per slot for the hash set, which has eight
// times as many buckets as slots).
//
// Why eight times: the table is touched at random (the stacks only at
// their tops), and an erase whose next bucket is taken goes the
// backward-shift way, a branch the CPU cannot predict. Measured on W2 at
// N = 1e5 (docs/performance.md), a pair costs 22.1-22.4 ns with depth 256
// and eight times; 23.4-24.1 ns with depth 512 and four times (640 KiB);
// 25.4 ns with depth 256 and four times; 20.6-21.3 ns with depth 384 and
// eight times (864 KiB). Twice was slower again (172 instead of 161
// instructions per pair).
//
// Thread safety: none (see iovakit/iova/locked_allocator.h).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace iovakit::iova {

class RangeCache {
 public:
  // The largest max_granules accepted (the size of the counts array).
  static constexpr std::uint32_t kMaxGranules = 64;

  enum class Push : std::uint8_t {
    kParked,     // kept
    kFull,       // the stack of that size is full (or the cache is off)
    kDuplicate,  // already parked: a double free
    kRefused,    // not cacheable: a size above max_granules, or a first
                 // granule not aligned to the size rounded up to a power of
                 // two (allocate_fast must hand out size-aligned ranges)
  };

  RangeCache() = default;
  // max_granules = 0 or depth = 0 turns the cache off. max_granules is
  // clamped to kMaxGranules.
  RangeCache(std::uint32_t max_granules, std::uint32_t depth);

  [[nodiscard]] bool enabled() const { return max_granules_ != 0 && depth_ != 0; }
  [[nodiscard]] std::uint32_t max_granules() const { return max_granules_; }
  [[nodiscard]] std::uint32_t depth() const { return depth_; }

  // Parks [first, first + granules - 1]. Precondition: first != ~0.
  // Inline: it is half of the fast path. The stack count is checked against
  // capacity_, which stays 0 until the storage exists, so the first push
  // and a full stack take the same (out-of-line) branch.
  Push push(std::uint64_t first, std::uint64_t granules) {
    const std::uint64_t c = granules - 1;
    if (c >= max_granules_) return Push::kRefused;
    if ((first & kAlignMask[c]) != 0) return Push::kRefused;
    const std::uint32_t n = counts_[c];
    if (n >= capacity_) [[unlikely]]
      return push_slow(first, c);
    if (!table_insert(first)) return Push::kDuplicate;
    stacks_[c * depth_ + n] = first;
    counts_[c] = n + 1;
    ++size_;
    return Push::kParked;
  }

  // What pop() returns when nothing fits (never a parked first granule).
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};

  // Takes a parked range of `granules` granules that ends at or below
  // `high`, preferring the most recently parked one; kNone when there is
  // none. Any `granules` value is accepted (nothing is parked outside
  // 1..max_granules). Inline for the common case: the top of the stack fits
  // and sits alone in its home bucket; the rest is pop_slow().
  std::uint64_t pop(std::uint64_t granules, std::uint64_t high) {
    const std::uint64_t c = granules - 1;
    if (c >= max_granules_) return kNone;
    const std::uint32_t n = counts_[c];
    if (n == 0) return kNone;
    const std::uint64_t first = stacks_[c * depth_ + n - 1];
    std::uint64_t* const table = table_.data();
    const std::size_t home = bucket(first);
    if (first + c <= high && table[home] == first && table[(home + 1) & table_mask_] == kEmpty) [[likely]] {
      table[home] = kEmpty;
      counts_[c] = n - 1;
      --size_;
      return first;
    }
    return pop_slow(c, high);
  }

  [[nodiscard]] bool contains(std::uint64_t key) const;
  // Unparks one range; false when it is not parked.
  bool remove(std::uint64_t first, std::uint64_t granules);

  // Calls f(first, granules) for every parked range (in no particular
  // order), unparking each once f has returned: when f throws, that range
  // and those not reached stay parked.
  template <typename F>
  void drain(F&& f) {
    if (stacks_.empty()) return;
    for (std::uint32_t c = 0; c < max_granules_; ++c) {
      while (counts_[c] != 0) {
        const std::uint32_t n = counts_[c];
        const std::uint64_t first = stacks_[(std::size_t{c} * depth_) + n - 1];
        f(first, std::uint64_t{c} + 1);
        counts_[c] = n - 1;
        --size_;
        table_erase(first);
      }
    }
  }
  void clear();

  // Calls f(first, granules) for every parked range.
  template <typename F>
  void for_each(F&& f) const {
    if (stacks_.empty()) return;
    for (std::uint32_t c = 0; c < max_granules_; ++c) {
      for (std::uint32_t i = 0; i < counts_[c]; ++i) f(stacks_[std::size_t{c} * depth_ + i], std::uint64_t{c} + 1);
    }
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  // Heap bytes (the counts live in the object).
  [[nodiscard]] std::size_t memory_bytes() const {
    return stacks_.capacity() * sizeof(std::uint64_t) + table_.capacity() * sizeof(std::uint64_t);
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  // kAlignMask[c] = bit_ceil(c + 1) - 1: the low bits that must be clear in
  // the first granule of a parked range of c + 1 granules.
  static constexpr std::array<std::uint8_t, kMaxGranules> kAlignMask = [] {
    std::array<std::uint8_t, kMaxGranules> m{};
    for (std::uint32_t c = 0; c < kMaxGranules; ++c) m[c] = static_cast<std::uint8_t>(std::bit_ceil(c + 1) - 1);
    return m;
  }();

  Push push_slow(std::uint64_t first, std::uint64_t c);
  void allocate_storage();
  std::uint64_t pop_slow(std::uint64_t c, std::uint64_t high);
  // Fibonacci hashing: the multiply spreads neighbouring granule numbers
  // (ranges parked next to each other) over the whole table.
  [[nodiscard]] std::size_t bucket(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> table_shift_);
  }
  bool table_insert(std::uint64_t key) {
    std::uint64_t* const table = table_.data();
    for (std::size_t i = bucket(key);; i = (i + 1) & table_mask_) {
      const std::uint64_t v = table[i];
      if (v == kEmpty) {
        table[i] = key;
        return true;
      }
      if (v == key) return false;
    }
  }
  // Erases a key that is in the table. The common case (the key sits in its
  // home bucket and the next bucket is free) inline, the rest out of line.
  void table_erase(std::uint64_t key) {
    std::uint64_t* const table = table_.data();
    const std::size_t home = bucket(key);
    if (table[home] == key && table[(home + 1) & table_mask_] == kEmpty) [[likely]] {
      table[home] = kEmpty;
      return;
    }
    table_erase_slow(key);
  }
  void table_erase_slow(std::uint64_t key);

  std::uint32_t max_granules_ = 0;
  std::uint32_t depth_ = 0;
  std::uint32_t capacity_ = 0;  // depth_ once the storage exists, else 0
  std::uint32_t table_shift_ = 63;
  std::size_t table_mask_ = 0;
  std::size_t size_ = 0;
  std::array<std::uint32_t, kMaxGranules> counts_{};
  std::vector<std::uint64_t> stacks_;  // [size - 1][depth]
  std::vector<std::uint64_t> table_;   // parked firsts; kEmpty marks a free bucket
};

}  // namespace iovakit::iova
