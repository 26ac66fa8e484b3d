// iovakit/iova/allocator.h: an IOVA allocator that never hands out a reserved
// address, decides requests in O(log n) (all up to 65535 granules aligned
// to at most 2^16, and every size-aligned request, as the DMA API makes
// them; the exceptions are under "Exact means"), and embeds in C programs.
//
// == Overview ==
// An Allocator hands out ranges of I/O virtual addresses inside a usable list
// (the valid IOVA ranges of a VFIO container or an iommufd IOAS), or inside an
// aperture minus reserved regions. Everything outside the usable list, and
// every range given to reserve(), is a permanent reserved entry: it is never
// allocated, freed, or reported by find() as an allocation.
//
//   allocate(request)    a size, an alignment, a window [min_address, limit]
//                        and a policy: kTopDown (the highest fit below the
//                        limit, as the Linux DMA API's alloc_iova;
//                        AllocRequest::dma() also aligns to the size rounded
//                        up to a power of two), kFirstFit, kBestFit
//   allocate_at(range)   a fixed IOVA (a guest's virtio-iommu MAP, an
//                        identity map)
//   free(iova)           the allocation that starts at iova; returns it
//   find(iova)           the allocation or reserved range holding iova
//   reserve(range)       at any time. Live allocations it overlaps are
//                        reported, not silently kept and not refused (the
//                        guest hotplug hazard of virtio-iommu): the part of
//                        the range they cover becomes reserved when they are
//                        freed, the rest is reserved at once
//   allocate_fast, free_fast   the small-size fast path (below)
//
// == Data structure ==
// A B+-tree of the occupied ranges, in granules (GapTree, gap_tree.h). Free
// space is not stored: it is the gaps between entries. Each inner node keeps,
// per child, a summary of the child's gaps: the largest gap, the largest size
// that fits at each alignment 2^k (k = 1..16, capped at 65535 granules) and
// the power-of-two length classes present. A search enters only children
// whose summary guarantees the fit, so it costs O(log n) whether it succeeds
// or fails; a failure is decided at the root. That is the difference from
// Linux's alloc_iova, which walks the allocations one by one from a cached
// node (9.5 ms for one failing request in a fragmented 32-bit space: W3 in
// docs/performance.md).
//
// Why per-alignment summaries, not just the largest gap (an augmented
// rbtree, FreeBSD's iommu_gas): for a request of s granules aligned to 2^k,
// a gap of at least s granules may still not fit, and those near misses must
// be visited one by one. In the W1 workload (sizes 1-64 pages, size-aligned)
// the largest gap alone costs about 80,000 instructions per allocation at
// 1e5 live allocations. Alternatives considered: Zircon's region-alloc (two
// trees, by base and by size: exact best fit, but aligned top-down search
// below a limit is again a walk, and two nodes per region); a buddy
// allocator (exact for power-of-two sizes only).
//
// The summaries decide every request exactly, whatever its size and
// alignment (gap_tree.h): a search never enters a subtree that cannot hold
// the request, and a failing one stops at the boundary paths of its window.
// Up to 2^16 granules of alignment through 16-bit lanes per alignment (and
// for sizes past 65535 granules, such as 1 GiB aligned to 2 MiB, through
// shortfalls from the largest gap); past it through exact 64-bit rows kept
// on the heap for the few subtrees that hold a gap across a multiple of
// 2^17 granules, the only gaps that fit anything at those alignments (3 GiB
// aligned to 1 GiB, a page aligned to 2^40 granules).
//
// Units: the allocator works in granules (Options::granule, 4 KiB by
// default, any power of two), which is what lets a leaf entry be 16 bytes.
// Sizes and fixed ranges must be whole granules (kInvalidArgument
// otherwise); an alignment below the granule is the granule. A usable range
// shrinks inwards and a reserved range grows outwards to whole granules, as
// the kernel's pfn arithmetic does (iova_reserve_iommu_regions).
//
// == Complexity == (n = live allocations + reserved ranges)
//   allocate, success or failure     O(log n)            any size and alignment
//   allocate_at, free, find          O(log n)
//   reserve(range)                   O((k + 1) log n)    k = entries the range overlaps
//   entries, conflicts, free_ranges  O(log n + k)        k = results
//   allocate_fast, free_fast         O(1) on a cache hit, else as allocate, free
// A failing allocate() first returns the parked ranges to the tree: O(p log
// n) for p parked ranges (at most the cache capacity, 32 x 256 by default),
// which is amortised O(log n) per free_fast; with nothing parked it fails in
// O(log n).
//
// == Memory ==
// 16 B per entry in a leaf (first and last granule) at the leaves' fill,
// plus each leaf's slot in its parent (104 B per leaf of up to 32 entries,
// and a wide row on the heap, 160 B for a 48-bit space of 4 KiB granules
// and 376 B at most, for the few slots with a gap across a multiple of
// 2^17 granules: W1 at 1e6 holds 27.3 B per allocation after
// 1e5 pairs, 29.4 B with the 144 B slots before the wide rows; the figures
// that follow were measured with 64 B slots, docs/performance.md):
// 21.8 B per live allocation measured at 1e5 and 1e6 allocations right after
// they are made (the tree's own bytes divided by live allocations, the
// unused part of its node chunks included; 21.9-22.4 B counted through
// malloc and the chunk mappings; bench/allocator_bench reports both), 23.9
// B after 2e7 random free + allocate pairs at 1e6. A tree past 4 MiB of
// nodes takes new nodes from 2 MiB huge-page chunks (node_pool.h). A node
// left at most half full merges with a sibling that has room, so freeing
// every other allocation of a full space (W3) leaves 18.7 B of live nodes
// per remaining allocation; the blocks the merged nodes leave are spread
// over every chunk, so the tree moves live nodes out of its least used
// chunk (two per erase) and unmaps it: W3 holds 22.2 B per allocation
// (34.2 B when the chunks stayed). Only quarter-full nodes are guaranteed
// (the B+-tree bound), which makes the worst case about 100 B. Linux's
// struct iova is 40 B (48 B with glibc malloc, 64 B in the kernel's
// cache-aligned slab). The fast path adds 576 KiB per allocator, allocated
// on its first use.
//
// == Out of memory ==
// The allocator throws std::bad_alloc when the host is out of memory, and
// nothing else. allocate, allocate_at, free, allocate_fast and free_fast
// change nothing when they throw (the tree reserves what an
// update may need before it edits: gap_tree.h), so a caller can catch it
// and go on. reserve is several tree updates, and so is a free that a
// waiting reservation takes over: when one of them throws halfway, a
// reserved neighbour may be merged away and not yet put back, so the
// allocator marks itself broken and every later update returns
// Errc::kBroken ("destroy it"); queries still answer from what it holds.
// tests/iova/out_of_memory_test.cpp checks both, making each allocation in
// turn fail.
//
// == Thread safety ==
// An Allocator is not thread-safe: one thread at a time, as for a std::map.
// Const member functions may run concurrently with each other, not with a
// mutating one. LockedAllocator (locked_allocator.h) wraps one in a mutex;
// a C handle can be created locked.
//
// == The small-size fast path ==
// allocate_fast(size, limit) and free_fast(range) are the kernel's
// alloc_iova_fast and free_iova_fast: free_fast parks a range of 1 to
// Options::cache_max_granules granules in a per-size stack instead of
// returning it to the tree, and allocate_fast hands a parked range of exactly
// that size out again when its end is within the limit. Both touch no tree
// node. Their hit cases are inline (below the class): about 135
// instructions per free + allocate pair on a hit, the caller's Range and
// Result included (Linux's magazines: 115; the difference is the argument
// checks below and an O(1) hash set of parked ranges that catches double
// frees and lets find() see them as free: one multiply-hash probe per free
// and per allocate). What a parked range is:
//   * still an entry of the tree, so no other allocation can overlap it;
//   * free to the user: find() does not report it, free() of it is a double
//     free, and free_fast() of it again is reported as a double free;
//   * given back to the tree first by allocate_at() and reserve() when they
//     overlap it, so a reservation never reports it as a conflict and never
//     leaves it parked;
//   * occupied to allocate(): its exact policies place requests among the
//     tree's gaps; when a request would fail, the parked ranges go back to
//     the tree and it is tried again, so allocate() fails only when no
//     fitting gap exists.
// A range is parked only when it starts aligned to its size rounded up to a
// power of two, so what allocate_fast hands out is always size-aligned (the
// DMA API's rule). free_fast trusts, like free_iova_fast, that its range is
// a live allocation: it checks in O(1) only what it can (whole granules,
// cacheable size, not already parked). Options::verify_fast_free adds the
// O(log n) check against the tree; free() always checks.
//
// == Example ==
//   using namespace iovakit::iova;
//   auto alloc = Allocator::create(RangeSet{Range(0, (1ULL << 48) - 1)});
//   auto msi = alloc->reserve(Range(0xfee00000, 0xfeefffff));       // MSI window
//   auto buf = alloc->allocate(AllocRequest::dma(64 * 1024, 0xffffffff));
//   if (!buf) return buf.error();            // kExhausted: nothing fits
//   // buf->first() is 64 KiB aligned, below 4 GiB, outside the MSI window
//   auto hit = alloc->find(buf->first() + 100);    // the same range
//   (void)alloc->free(buf->first());
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iovakit/iova/gap_tree.h"
#include "iovakit/iova/range.h"
#include "iovakit/iova/range_cache.h"
#include "iovakit/iova/range_set.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/result.h"

namespace iovakit::iova {

struct AllocatorOptions {
  // Allocation unit in bytes: a power of two (1 is allowed).
  std::uint64_t granule = 4096;
  // Sizes 1..cache_max_granules granules use the fast path; 0 turns it off.
  // 32 granules is the kernel's IOVA_RANGE_CACHE_MAX_SIZE (128 KiB).
  std::uint32_t cache_max_granules = 32;
  // Parked ranges kept per size (see range_cache.h for the trade-off).
  std::uint32_t cache_depth = 256;
  // free_fast checks its range against the tree (O(log n)).
  bool verify_fast_free = false;
  // Node sizes (tests use tiny ones).
  GapTree::Tuning tuning{};
};

struct AllocRequest {
  // Bytes: a whole number of granules, at least one, at most 2^64.
  uint128 size = 0;
  // Bytes: a power of two; 0 means the granule. Ignored when size_aligned.
  std::uint64_t alignment = 0;
  // Align to the size rounded up to a power of two (alloc_iova's
  // size_aligned, which every DMA-API allocation uses).
  bool size_aligned = false;
  // The allocation lies in [min_address, limit] (limit inclusive, e.g.
  // DMA_BIT_MASK(32) = 0xffffffff).
  std::uint64_t min_address = 0;
  std::uint64_t limit = kU64Max;
  Policy policy = Policy::kTopDown;

  // What the Linux DMA API asks for: top-down below `limit`, size-aligned.
  static AllocRequest dma(uint128 size, std::uint64_t limit = kU64Max) {
    AllocRequest r;
    r.size = size;
    r.size_aligned = true;
    r.limit = limit;
    return r;
  }
};

enum class EntryKind : std::uint8_t {
  kAllocated,
  kReserved,  // reserve()d, or outside the usable list
};

struct Entry {
  Range range;
  EntryKind kind;
  friend bool operator==(const Entry&, const Entry&) = default;
};

struct ReserveReport {
  // The range reserved, grown to whole granules.
  Range reserved;
  // Live allocations that overlap it, in address order. Each stays valid;
  // its overlap with `reserved` becomes reserved when it is freed.
  std::vector<Range> conflicts;
};

class Allocator {
 public:
  using Options = AllocatorOptions;

  // An allocator over `usable`. Errors: a granule that is not a power of
  // two, cache options out of range.
  static Result<Allocator> create(const RangeSet& usable, const AllocatorOptions& options = {});
  // An allocator over `aperture` with the kernel's reserved regions taken
  // out (any type; a region of length 0 or one that wraps past 2^64 - 1 is
  // an error).
  static Result<Allocator> create(const Range& aperture, std::span<const ResvRegion> reserved,
                                  const AllocatorOptions& options = {});

  Result<Range> allocate(const AllocRequest& request);
  Result<Range> allocate(uint128 size, std::uint64_t alignment, std::uint64_t limit, Policy policy = Policy::kTopDown);
  Result<Range> allocate_at(const Range& range);
  // Frees the allocation that starts at iova and returns it.
  Result<Range> free(std::uint64_t iova);
  [[nodiscard]] std::optional<Entry> find(std::uint64_t iova) const;
  Result<ReserveReport> reserve(const Range& range);

  // Allocations and reserved ranges overlapping `window`, in address order.
  [[nodiscard]] std::vector<Entry> entries(const Range& window = Range::full()) const;
  // Live allocations overlapping `range` (what reserve(range) would report).
  [[nodiscard]] std::vector<Range> conflicts(const Range& range) const;
  // Free ranges inside `window` (parked ranges count as allocated here).
  [[nodiscard]] std::vector<Range> free_ranges(const Range& window = Range::full()) const;

  // The fast path (see the header comment). allocate_fast is
  // allocate(AllocRequest::dma(size, limit)) that may return a parked range.
  Result<Range> allocate_fast(std::uint64_t size, std::uint64_t limit = kU64Max);
  Status free_fast(const Range& range);
  // Returns every parked range to the tree.
  void flush_cache();

  [[nodiscard]] std::uint64_t granule() const { return granule_; }
  [[nodiscard]] const RangeSet& usable() const { return usable_; }
  // Live allocations (parked ranges are not live).
  [[nodiscard]] std::size_t live_count() const { return allocated_ - cache_.size(); }
  [[nodiscard]] std::size_t parked_count() const { return cache_.size(); }
  // Reserved entries in the tree (adjacent reservations merge).
  [[nodiscard]] std::size_t reserved_count() const { return tree_.size() - allocated_; }
  // Bytes the allocator holds: tree nodes, the cache's arrays, bookkeeping.
  [[nodiscard]] std::size_t memory_bytes() const;
  // Bytes held by tree nodes only (what a live allocation costs).
  [[nodiscard]] std::size_t tree_bytes() const { return tree_.memory_bytes(); }
  [[nodiscard]] const GapTree& tree() const { return tree_; }

  // Every invariant of the tree and the cache; "" when they hold. O(n).
  [[nodiscard]] std::string check() const;

 private:
  Allocator(std::uint64_t granule, RangeSet usable, const AllocatorOptions& options);

  [[nodiscard]] Range to_range(std::uint64_t first_pfn, std::uint64_t last_pfn) const;
  [[nodiscard]] Entry to_entry(const GapTree::Entry& e) const;
  [[nodiscard]] bool parked(const GapTree::Entry& e) const;
  void unpark(const GapTree::Entry& e);
  void reserve_free_pfns(std::uint64_t first, std::uint64_t last);
  void reserve_entries(std::uint64_t first, std::uint64_t last, const std::vector<GapTree::Entry>& around,
                       std::vector<GapTree::Entry>& live, ReserveReport& report);
  void release_pending(std::uint64_t first, std::uint64_t last);
  [[nodiscard]] Error describe_conflict(const GapTree::Entry& e, const Range& wanted) const;
  Result<Range> free_entry(std::uint64_t iova, const std::optional<Range>& expected);
  Result<Range> allocate_fast_slow(std::uint64_t size, std::uint64_t limit);
  Status free_fast_slow(const Range& range);
  // fast_free_parks_ = !verify_fast_free_ && pending_.empty(), kept up to
  // date wherever pending_ changes: one flag for free_fast's hit path.
  void update_fast_free_parks() { fast_free_parks_ = !verify_fast_free_ && pending_.empty() && !broken_; }
  // After a std::bad_alloc in the middle of a reservation (see "Out of
  // memory" above): every later update fails with broken_error().
  void mark_broken();
  [[nodiscard]] static Error broken_error();

  std::uint64_t granule_;
  std::uint32_t shift_;
  RangeSet usable_;
  GapTree tree_;
  RangeCache cache_;
  bool verify_fast_free_;
  bool fast_free_parks_;
  bool broken_ = false;
  std::size_t allocated_ = 0;  // allocated entries in the tree, parked ones included
  // Reservations waiting for live allocations to be freed, in granules.
  RangeSet pending_;
};

// The fast path's hit cases, inline so that a caller pays neither a call nor
// a Result built in memory for them; everything else is out of line
// (allocate_fast_slow, free_fast_slow), and does the full checks.

inline Result<Range> Allocator::allocate_fast(std::uint64_t size, std::uint64_t limit) {
  const std::uint64_t mask = granule_ - 1;
  // A whole-granule size and a limit that leaves at least one whole granule;
  // pop() refuses sizes outside 1..cache_max_granules.
  if ((size & mask) == 0 && limit >= mask && !broken_) {
    const std::uint64_t granules = size >> shift_;
    // The last granule wholly at or below the limit.
    const std::uint64_t high = (limit - mask) >> shift_;
    const std::uint64_t first = cache_.pop(granules, high);
    if (first != RangeCache::kNone) return Range(first << shift_, ((first + (granules - 1)) << shift_) | mask);
  }
  return allocate_fast_slow(size, limit);
}

inline Status Allocator::free_fast(const Range& range) {
  const std::uint64_t mask = granule_ - 1;
  const std::uint64_t first = range.first() >> shift_;
  const std::uint64_t granules = ((range.last() - range.first()) >> shift_) + 1;
  // Park only what allocate_fast may hand out as it is: whole granules (the
  // first and the one past the last aligned; past 2^64 - 1 wraps to 0), a
  // cacheable size, size-aligned (push() checks those two), with no
  // reservation waiting and no verification asked for. (The cache cannot
  // hold a range that starts at granule 2^64 - 1: that value marks its empty
  // hash buckets. Only a 1-byte granule gets there.)
  if (((range.first() | (range.last() + 1)) & mask) == 0 && fast_free_parks_ && first != kU64Max &&
      cache_.push(first, granules) == RangeCache::Push::kParked) {
    return {};
  }
  return free_fast_slow(range);
}

}  // namespace iovakit::iova
