#include "iovakit/iova/allocator.h"

#include <algorithm>
#include <bit>
#include <new>
#include <utility>

#include <fmt/core.h>

namespace iovakit::iova {

namespace {

// Bounds on the cache options: a stack per size up to 64 granules (256 KiB
// with 4 KiB granules), up to 64 Ki ranges deep.
constexpr std::uint32_t kMaxCacheGranules = RangeCache::kMaxGranules;
constexpr std::uint32_t kMaxCacheDepth = 1U << 16;

std::uint32_t ceil_log2(uint128 v) {
  if (v <= 1) return 0;
  const uint128 x = v - 1;
  const auto hi = static_cast<std::uint64_t>(x >> 64);
  if (hi != 0) return 64U + static_cast<std::uint32_t>(std::bit_width(hi));
  return static_cast<std::uint32_t>(std::bit_width(static_cast<std::uint64_t>(x)));
}

// "64 KiB (0x10000)": people read the size, programs grep the hex.
std::string describe(uint128 bytes) {
  if (bytes > kU64Max) return format_size(bytes);
  return fmt::format("{} ({:#x})", format_size(bytes), static_cast<std::uint64_t>(bytes));
}

bool whole_granules(const Range& r, std::uint64_t granule) {
  return (r.first() & (granule - 1)) == 0 && (r.last() & (granule - 1)) == granule - 1;
}

}  // namespace

Allocator::Allocator(std::uint64_t granule, RangeSet usable, const AllocatorOptions& options)
    : granule_(granule),
      shift_(static_cast<std::uint32_t>(std::countr_zero(granule))),
      usable_(std::move(usable)),
      tree_(kU64Max >> shift_, options.tuning),
      cache_(options.cache_max_granules, options.cache_depth),
      verify_fast_free_(options.verify_fast_free),
      fast_free_parks_(!options.verify_fast_free) {}

Result<Allocator> Allocator::create(const RangeSet& usable, const AllocatorOptions& options) {
  if (!std::has_single_bit(options.granule)) {
    return Error(Errc::kInvalidArgument, fmt::format("granule {:#x} is not a power of two", options.granule));
  }
  if (options.cache_max_granules > kMaxCacheGranules || options.cache_depth > kMaxCacheDepth) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("cache of {} granules x {} deep is outside 0..{} x 0..{}", options.cache_max_granules,
                             options.cache_depth, kMaxCacheGranules, kMaxCacheDepth));
  }
  const GapTree::Tuning& t = options.tuning;
  if (t.leaf_capacity < 4 || t.leaf_capacity > 64 || t.fanout < 4 || t.fanout > 64) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("tree nodes of {} entries and {} children are outside 4..64", t.leaf_capacity, t.fanout));
  }
  // Only whole granules of a usable range can be handed out.
  const std::uint64_t g = options.granule;
  RangeSet granular;
  for (const Range& r : usable) {
    const uint128 first = (uint128{r.first()} + g - 1) & ~uint128{g - 1};
    const uint128 end = (uint128{r.last()} + 1) & ~uint128{g - 1};  // exclusive
    if (first < end) granular.insert(Range(static_cast<std::uint64_t>(first), static_cast<std::uint64_t>(end - 1)));
  }
  Allocator a(g, granular, options);
  // Everything else is reserved for good. The holes of a granule-aligned
  // set are granule-aligned too.
  for (const Range& hole : granular.complement()) {
    a.tree_.insert(GapTree::Entry{hole.first() >> a.shift_, hole.last() >> a.shift_, true});
  }
  return a;
}

Result<Allocator> Allocator::create(const Range& aperture, std::span<const ResvRegion> reserved,
                                    const AllocatorOptions& options) {
  auto a = create(RangeSet{aperture}, options);
  if (!a) return a;
  for (const ResvRegion& region : reserved) {
    const std::optional<Range> r = region.range();
    if (!r) {
      return Error(Errc::kInvalidArgument,
                   fmt::format("reserved region at {:#x} of length {:#x} is empty or wraps past 2^64 - 1", region.start,
                               region.length));
    }
    auto report = a->reserve(*r);
    if (!report) return std::move(report).error();
  }
  return a;
}

Range Allocator::to_range(std::uint64_t first_pfn, std::uint64_t last_pfn) const {
  return {first_pfn << shift_, (last_pfn << shift_) | (granule_ - 1)};
}

Entry Allocator::to_entry(const GapTree::Entry& e) const {
  return Entry{to_range(e.first, e.last), e.reserved ? EntryKind::kReserved : EntryKind::kAllocated};
}

bool Allocator::parked(const GapTree::Entry& e) const {
  return !e.reserved && cache_.size() != 0 && cache_.contains(e.first);
}

// The tree first: its erase may throw, having changed nothing.
void Allocator::unpark(const GapTree::Entry& e) {
  tree_.erase(e.first);
  cache_.remove(e.first, e.last - e.first + 1);
  --allocated_;
}

void Allocator::mark_broken() {
  broken_ = true;
  update_fast_free_parks();
}

Error Allocator::broken_error() {
  return {Errc::kBroken,
          "the allocator ran out of memory in the middle of a reservation and cannot be trusted: destroy it"};
}

void Allocator::flush_cache() {
  cache_.drain([this](std::uint64_t first, std::uint64_t /*granules*/) {
    tree_.erase(first);
    --allocated_;
  });
}

// ---------------------------------------------------------------------------
// Allocation.

Result<Range> Allocator::allocate(uint128 size, std::uint64_t alignment, std::uint64_t limit, Policy policy) {
  AllocRequest r;
  r.size = size;
  r.alignment = alignment;
  r.limit = limit;
  r.policy = policy;
  return allocate(r);
}

Result<Range> Allocator::allocate(const AllocRequest& request) {
  if (broken_) [[unlikely]]
    return broken_error();
  const uint128 g = granule_;
  if (request.size == 0) return Error(Errc::kInvalidArgument, "zero-size allocation");
  if (request.size > kSpaceSize) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("allocation of {} bytes is larger than the 64-bit space", to_decimal(request.size)));
  }
  if (request.size % g != 0) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("size {} is not a multiple of the granule {}", describe(request.size), describe(g)));
  }
  const uint128 size = request.size >> shift_;  // granules
  std::uint32_t order = 0;
  if (request.size_aligned) {
    order = ceil_log2(size);
  } else {
    const std::uint64_t alignment = request.alignment == 0 ? granule_ : request.alignment;
    if (!std::has_single_bit(alignment)) {
      return Error(Errc::kInvalidArgument, fmt::format("alignment {:#x} is not a power of two", alignment));
    }
    if (alignment > granule_) order = static_cast<std::uint32_t>(std::countr_zero(alignment)) - shift_;
  }
  if (request.min_address > request.limit) {
    return Error(Errc::kInvalidArgument, fmt::format("empty window: min_address {:#x} is above the limit {:#x}",
                                                     request.min_address, request.limit));
  }
  // The window in granules: those lying wholly inside [min_address, limit].
  const uint128 low = (uint128{request.min_address} + g - 1) >> shift_;
  const uint128 end = (uint128{request.limit} + 1) >> shift_;  // exclusive
  if (low >= end || size > end - low) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("oversized: {} does not fit in the window {:#x}-{:#x} even when it is empty",
                             describe(request.size), request.min_address, request.limit));
  }
  if (size > kU64Max) return allocate_at(Range::full());  // 2^64 bytes at a 1-byte granule: the whole space

  GapTree::Query query;
  query.size = static_cast<std::uint64_t>(size);
  query.order = order;
  query.low = static_cast<std::uint64_t>(low);
  query.high = static_cast<std::uint64_t>(end - 1);
  query.policy = request.policy;
  std::optional<std::uint64_t> at = tree_.allocate(query);
  if (!at && cache_.size() != 0) {
    flush_cache();
    at = tree_.allocate(query);
  }
  if (!at) {
    // One plain format: a failing allocation is an ordinary outcome for a
    // caller that falls back (the DMA API retries with a wider mask), so the
    // message should not cost ten times the search.
    const std::uint32_t align_bits = std::min(order + shift_, 63U);
    return Error(Errc::kExhausted,
                 fmt::format("no free range of {:#x} bytes aligned to {:#x} in {:#x}-{:#x}", request.size,
                             std::uint64_t{1} << align_bits, request.min_address, request.limit));
  }
  ++allocated_;
  return to_range(*at, *at + (query.size - 1));
}

Error Allocator::describe_conflict(const GapTree::Entry& e, const Range& wanted) const {
  if (!e.reserved) {
    return {Errc::kExhausted, fmt::format("{} is not free: it overlaps the allocation {}", wanted.to_string(),
                                          to_range(e.first, e.last).to_string())};
  }
  if (!usable_.contains(wanted)) {
    return {Errc::kPermission,
            fmt::format("{} is not inside the usable list {}", wanted.to_string(), usable_.to_string())};
  }
  return {Errc::kPermission,
          fmt::format("{} overlaps the reserved range {}", wanted.to_string(), to_range(e.first, e.last).to_string())};
}

Result<Range> Allocator::allocate_at(const Range& range) {
  if (broken_) return broken_error();
  if (!whole_granules(range, granule_)) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("{} is not a whole number of granules of {}", range.to_string(), describe(granule_)));
  }
  const std::uint64_t first = range.first() >> shift_;
  const std::uint64_t last = range.last() >> shift_;
  // Parked ranges are free: take them back and look again.
  for (;;) {
    const std::optional<GapTree::Entry> e = tree_.lower_bound(first);
    if (!e || e->first > last) break;
    if (!parked(*e)) return describe_conflict(*e, range);
    unpark(*e);
  }
  tree_.insert(GapTree::Entry{first, last, false});
  ++allocated_;
  return range;
}

// ---------------------------------------------------------------------------
// Free and find.

Result<Range> Allocator::free(std::uint64_t iova) { return free_entry(iova, std::nullopt); }

Result<Range> Allocator::free_entry(std::uint64_t iova, const std::optional<Range>& expected) {
  if (broken_) [[unlikely]]
    return broken_error();
  if ((iova & (granule_ - 1)) != 0) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("{:#x} is not granule-aligned, so it does not start an allocation", iova));
  }
  const std::uint64_t pfn = iova >> shift_;
  // The common case in one descent: an allocation starts there, and it is
  // not parked. Everything else is diagnosed below, with nothing changed.
  if (!expected && (cache_.size() == 0 || !cache_.contains(pfn))) {
    if (const std::optional<GapTree::Entry> gone = tree_.erase_allocated(pfn)) {
      --allocated_;
      release_pending(gone->first, gone->last);
      return to_range(gone->first, gone->last);
    }
  }
  const std::optional<GapTree::Entry> e = tree_.find(pfn);
  if (!e) {
    return Error(Errc::kNotFound,
                 fmt::format("no allocation at {:#x}: never allocated, or already freed (double free)", iova));
  }
  const Range found = to_range(e->first, e->last);
  if (e->reserved) {
    if (!usable_.contains(iova)) {
      return Error(Errc::kPermission, fmt::format("{:#x} is outside the usable list, not an allocation", iova));
    }
    return Error(Errc::kPermission,
                 fmt::format("{:#x} is in the reserved range {}, which cannot be freed", iova, found.to_string()));
  }
  if (parked(*e)) {
    return Error(Errc::kNotFound, fmt::format("double free: the allocation {} was already freed", found.to_string()));
  }
  if (e->first != pfn) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("{:#x} is inside the allocation {}, not at its start", iova, found.to_string()));
  }
  if (expected && *expected != found) {
    return Error(Errc::kInvalidArgument, fmt::format("{} is not an allocation: the one at {:#x} is {}",
                                                     expected->to_string(), iova, found.to_string()));
  }
  tree_.erase(pfn);
  --allocated_;
  release_pending(e->first, e->last);
  return found;
}

std::optional<Entry> Allocator::find(std::uint64_t iova) const {
  const std::optional<GapTree::Entry> e = tree_.find(iova >> shift_);
  if (!e || parked(*e)) return std::nullopt;
  return to_entry(*e);
}

// ---------------------------------------------------------------------------
// Reservations.

// [first, last] is free: make it reserved, merged with reserved neighbours.
void Allocator::reserve_free_pfns(std::uint64_t first, std::uint64_t last) {
  std::uint64_t low = first;
  std::uint64_t high = last;
  if (first > 0) {
    const std::optional<GapTree::Entry> below = tree_.find(first - 1);
    if (below && below->reserved) {
      low = below->first;
      tree_.erase(below->first);
    }
  }
  if (last < tree_.max_pfn()) {
    const std::optional<GapTree::Entry> above = tree_.find(last + 1);
    if (above && above->reserved) {
      high = above->last;
      tree_.erase(above->first);
    }
  }
  tree_.insert(GapTree::Entry{low, high, true});
}

// An allocation [first, last] was freed: reservations that waited for it
// take effect. Several updates: out of memory halfway, the allocator is
// broken (the free itself has happened).
void Allocator::release_pending(std::uint64_t first, std::uint64_t last) {
  if (pending_.empty() || !pending_.intersects(Range(first, last))) return;
  try {
    const RangeSet due = pending_.intersect(RangeSet{Range(first, last)});
    for (const Range& r : due) {
      pending_.erase(r);
      reserve_free_pfns(r.first(), r.last());
    }
  } catch (const std::bad_alloc&) {
    mark_broken();
    throw;
  }
  update_fast_free_parks();
}

Result<ReserveReport> Allocator::reserve(const Range& range) {
  if (broken_) return broken_error();
  const std::uint64_t first = range.first() >> shift_;
  const std::uint64_t last = range.last() >> shift_;
  ReserveReport report{to_range(first, last), {}};
  // Reserved neighbours (touching, not only overlapping) merge with it.
  const std::uint64_t look_low = first == 0 ? 0 : first - 1;
  const std::uint64_t look_high = last == tree_.max_pfn() ? last : last + 1;
  // What allocates outside the tree, first: short of memory here, nothing
  // has changed.
  const std::vector<GapTree::Entry> around = tree_.overlapping(look_low, look_high);
  std::vector<GapTree::Entry> live;
  live.reserve(around.size());
  report.conflicts.reserve(around.size());
  try {
    reserve_entries(first, last, around, live, report);
  } catch (const std::bad_alloc&) {
    // A reservation is several updates, and one failed after others:
    // neighbours merged away and not yet put back, a part not yet pending.
    mark_broken();
    throw;
  }
  return report;
}

// reserve()'s updates, in granules. `around` holds the entries overlapping
// or touching [first, last]; `live` and report.conflicts have room for all.
void Allocator::reserve_entries(std::uint64_t first, std::uint64_t last, const std::vector<GapTree::Entry>& around,
                                std::vector<GapTree::Entry>& live, ReserveReport& report) {
  std::uint64_t low = first;
  std::uint64_t high = last;
  for (const GapTree::Entry& e : around) {
    if (e.reserved) {
      low = std::min(low, e.first);
      high = std::max(high, e.last);
      tree_.erase(e.first);
    } else if (e.first <= last && e.last >= first) {
      if (parked(e)) {
        unpark(e);  // free to the user: it simply becomes reserved
      } else {
        live.push_back(e);
      }
    }
  }
  // Reserve what is free now; the parts under live allocations wait.
  std::uint64_t next = low;
  bool done = false;
  for (const GapTree::Entry& e : live) {
    if (e.first > next) tree_.insert(GapTree::Entry{next, e.first - 1, true});
    pending_.insert(Range(std::max(e.first, first), std::min(e.last, last)));
    report.conflicts.push_back(to_range(e.first, e.last));
    if (e.last >= high) {
      done = true;
      break;
    }
    next = e.last + 1;
  }
  if (!done && next <= high) tree_.insert(GapTree::Entry{next, high, true});
  update_fast_free_parks();
}

// ---------------------------------------------------------------------------
// Listings.

std::vector<Entry> Allocator::entries(const Range& window) const {
  std::vector<Entry> out;
  for (const GapTree::Entry& e : tree_.overlapping(window.first() >> shift_, window.last() >> shift_)) {
    if (!parked(e)) out.push_back(to_entry(e));
  }
  return out;
}

std::vector<Range> Allocator::conflicts(const Range& range) const {
  std::vector<Range> out;
  for (const GapTree::Entry& e : tree_.overlapping(range.first() >> shift_, range.last() >> shift_)) {
    if (!e.reserved && !parked(e)) out.push_back(to_range(e.first, e.last));
  }
  return out;
}

std::vector<Range> Allocator::free_ranges(const Range& window) const {
  std::vector<Range> out;
  for (const auto& [first, last] : tree_.gaps(window.first() >> shift_, window.last() >> shift_)) {
    if (auto r = to_range(first, last).intersect(window)) out.push_back(*r);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The fast path.

// allocate_fast when no parked range answers (the hit path is inline in
// the header).
Result<Range> Allocator::allocate_fast_slow(std::uint64_t size, std::uint64_t limit) {
  return allocate(AllocRequest::dma(size, limit));
}

// Everything free_fast does not do in a few instructions: verification,
// reservations waiting, a full stack, errors.
Status Allocator::free_fast_slow(const Range& range) {
  if (broken_) return broken_error();
  auto slow = [&]() -> Status {
    auto freed = free_entry(range.first(), range);
    if (!freed) return std::move(freed).error();
    return {};
  };
  if (!cache_.enabled() || !whole_granules(range, granule_)) return slow();
  const std::uint64_t first = range.first() >> shift_;
  const std::uint64_t last = range.last() >> shift_;
  const std::uint64_t granules = last - first + 1;
  if (granules > cache_.max_granules() || (first & (std::bit_ceil(granules) - 1)) != 0 || first == kU64Max ||
      (!pending_.empty() && pending_.intersects(Range(first, last)))) {
    return slow();
  }
  if (verify_fast_free_) {
    const std::optional<GapTree::Entry> e = tree_.find(first);
    if (!e || e->reserved || e->first != first || e->last != last) return slow();  // reports the error
  }
  switch (cache_.push(first, granules)) {
    case RangeCache::Push::kParked: return {};
    case RangeCache::Push::kDuplicate:
      return Error(Errc::kNotFound, fmt::format("double free: {} was already freed", range.to_string()));
    case RangeCache::Push::kFull:
    case RangeCache::Push::kRefused: return slow();
  }
  return slow();
}

// ---------------------------------------------------------------------------
// Accounting and invariants.

std::size_t Allocator::memory_bytes() const {
  return sizeof(*this) + tree_.memory_bytes() + cache_.memory_bytes() +
         (usable_.size() + pending_.size()) * sizeof(Range);
}

std::string Allocator::check() const {
  std::string error = tree_.check();
  if (!error.empty()) return error;
  if (fast_free_parks_ != (!verify_fast_free_ && pending_.empty() && !broken_)) return "stale fast_free_parks_ flag";
  std::size_t allocated = 0;
  std::size_t parked_in_tree = 0;
  for (const GapTree::Entry& e : tree_.overlapping(0, tree_.max_pfn())) {
    const Range r = to_range(e.first, e.last);
    if (e.reserved) {
      if (pending_.intersects(Range(e.first, e.last))) {
        return fmt::format("pending reservation overlaps the reserved entry {}", r.to_string());
      }
      continue;
    }
    ++allocated;
    if (!usable_.contains(r)) return fmt::format("allocation {} is outside the usable list", r.to_string());
    if (parked(e)) ++parked_in_tree;
  }
  if (allocated != allocated_) return fmt::format("{} allocated entries, counted {}", allocated, allocated_);
  if (parked_in_tree != cache_.size()) {
    return fmt::format("{} parked ranges, {} of them allocated entries of the tree", cache_.size(), parked_in_tree);
  }
  std::string cache_error;
  cache_.for_each([&](std::uint64_t first, std::uint64_t granules) {
    const std::optional<GapTree::Entry> e = tree_.find(first);
    if (cache_error.empty() && (!e || e->reserved || e->first != first || e->last != first + granules - 1)) {
      cache_error = fmt::format("parked range at granule {:#x} of {} granules is not an allocation", first, granules);
    }
  });
  if (!cache_error.empty()) return cache_error;
  for (const Range& p : pending_) {
    for (const GapTree::Entry& e : tree_.overlapping(p.first(), p.last())) {
      if (e.reserved || parked(e))
        return fmt::format("pending reservation {:#x}-{:#x} is not under a live allocation", p.first(), p.last());
    }
  }
  return "";
}

}  // namespace iovakit::iova
