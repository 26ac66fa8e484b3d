// Fuzzes iova::Allocator with an operation stream. The first bytes choose
// the space (granule, where a 4096-granule region sits: bottom, middle or top
// of the 64-bit space, node sizes, a usable list); the rest is a sequence of
// operations with their arguments. After every operation:
//   * Allocator::check() holds (tree structure, recomputed summaries, cache,
//     pending reservations);
//   * a new allocation has the requested size and alignment, lies in its
//     window and in the usable list, overlaps no live allocation and no
//     granule ever reserved;
//   * a failure for want of space happens only when no free range can hold
//     the request (checked by brute force over free_ranges(), which the
//     failure has made exact by returning parked ranges to the tree);
//   * find() and free() agree with the live allocations.
// Any violation aborts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

#include "iovakit/iova/allocator.h"

namespace {

using iovakit::Errc;
using iovakit::iova::Allocator;
using iovakit::iova::AllocatorOptions;
using iovakit::iova::AllocRequest;
using iovakit::iova::EntryKind;
using iovakit::iova::kU64Max;
using iovakit::iova::Policy;
using iovakit::iova::Range;
using iovakit::iova::RangeSet;
using iovakit::iova::uint128;

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint64_t take(int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | (pos_ < size_ ? data_[pos_++] : 0);
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::uint64_t kRegion = 4096;  // granules

struct Fuzz {
  std::uint32_t shift = 12;
  std::uint64_t granule = 4096;
  std::uint64_t base = 0;  // first granule of the region
  std::optional<Allocator> alloc;
  std::map<std::uint64_t, std::uint64_t> live;  // first byte -> last byte
  RangeSet ever_reserved;                       // bytes, including outside the usable list
  RangeSet pending;                             // reserved once the live allocation under it is freed

  void freed(std::uint64_t first, std::uint64_t last) {
    const RangeSet due = pending.intersect(RangeSet{Range(first, last)});
    ever_reserved = ever_reserved.unite(due);
    pending = pending.subtract(due);
    live.erase(first);
  }

  std::uint64_t address(std::uint64_t offset_granules, std::uint64_t byte) const {
    return ((base + offset_granules % kRegion) << shift) + (byte & (granule - 1));
  }

  bool overlaps_live(const Range& r) const {
    auto it = live.upper_bound(r.last());
    return it != live.begin() && std::prev(it)->second >= r.first();
  }

  // Could any free range hold the request? (Brute force.)
  bool fits_somewhere(const AllocRequest& req) const {
    const uint128 size = req.size;
    uint128 align = granule;
    if (req.size_aligned) {
      align = 1;
      while (align < size) align <<= 1;
    } else if (req.alignment > granule) {
      align = req.alignment;
    }
    return std::ranges::any_of(alloc->free_ranges(Range(req.min_address, req.limit)), [&](const Range& f) {
      const uint128 start = (uint128{f.first()} + align - 1) / align * align;
      return start <= f.last() && uint128{f.last()} - start + 1 >= size;
    });
  }

  void allocated(const Range& r, const AllocRequest& req) {
    check(r.size() == req.size);
    check(r.first() >= req.min_address && r.last() <= req.limit);
    uint128 align = granule;
    if (req.size_aligned) {
      align = 1;
      while (align < r.size()) align <<= 1;
    } else if (req.alignment > granule) {
      align = req.alignment;
    }
    check(uint128{r.first()} % align == 0);
    check(alloc->usable().contains(r));
    check(!ever_reserved.intersects(r));
    check(!overlaps_live(r));
    live.emplace(r.first(), r.last());
  }

  void run(Bytes& in) {
    while (!in.empty()) {
      const std::uint64_t op = in.take(1) % 8;
      switch (op) {
        case 0: {  // allocate
          AllocRequest req;
          std::uint64_t granules = in.take(2) % 600;
          req.size = uint128{granules} * granule + (in.take(1) == 0xff ? 1 : 0);
          const std::uint64_t flags = in.take(1);
          if ((flags & 0x40) != 0) {
            // Sizes past the tree's 16-bit lanes (65535 granules): its
            // shortfalls and wide rows decide those.
            granules <<= in.take(1) % 24;
            req.size = uint128{granules} * granule;
          }
          req.size_aligned = (flags & 1) != 0;
          // Alignments mostly within 2^13 granules, now and then up to the
          // whole space (past 2^16 granules the wide rows decide).
          if ((flags & 2) != 0) {
            const std::uint64_t b = in.take(1);
            const std::uint64_t align_order = b >= 0xc0 ? b % (64 - shift) : b % 14;
            req.alignment = std::uint64_t{1} << ((shift + align_order) % 64);
          }
          req.policy = static_cast<Policy>((flags >> 2) % 3);
          if ((flags & 0x10) != 0) {
            req.min_address = address(in.take(2), in.take(1));
            req.limit = address(in.take(2), in.take(1));
            if ((flags & 0x20) != 0) req.limit = kU64Max;
          }
          auto r = alloc->allocate(req);
          if (r) {
            allocated(*r, req);
          } else if (r.error().code() == Errc::kExhausted) {
            check(alloc->parked_count() == 0);  // a failure returns them first
            check(!fits_somewhere(req));
          } else {
            check(r.error().code() == Errc::kInvalidArgument);
          }
          break;
        }
        case 1: {  // allocate_at
          const std::uint64_t first = address(in.take(2), 0);
          const std::uint64_t granules = 1 + in.take(1) % 64;
          const std::uint64_t last =
              kU64Max - first < granules * granule - 1 ? kU64Max : first + granules * granule - 1;
          const Range want(first, last);
          auto r = alloc->allocate_at(want);
          if (r) {
            AllocRequest req;
            req.size = want.size();
            req.min_address = first;
            req.limit = last;
            allocated(*r, req);
          } else {
            check(overlaps_live(want) || !alloc->usable().contains(want) || ever_reserved.intersects(want) ||
                  r.error().code() == Errc::kInvalidArgument);
          }
          break;
        }
        case 2: {  // free: a live allocation, or any address
          std::uint64_t a = address(in.take(2), in.take(1));
          if (!live.empty() && (in.take(1) & 1) != 0) {
            auto it = live.lower_bound(a);
            if (it == live.end()) it = live.begin();
            a = it->first;
          }
          auto it = live.find(a);
          auto r = alloc->free(a);
          check(r.ok() == (it != live.end()));
          if (r) {
            check(r->first() == it->first && r->last() == it->second);
            freed(it->first, it->second);
          }
          break;
        }
        case 3: {  // reserve
          const std::uint64_t first = address(in.take(2), in.take(1));
          const std::uint64_t span = in.take(2);
          const std::uint64_t last = kU64Max - first < span ? kU64Max : first + span;
          auto rep = alloc->reserve(Range(first, last));
          check(rep.ok());
          for (const Range& c : rep->conflicts) check(live.contains(c.first()) && live.at(c.first()) == c.last());
          // The conflicts keep their ranges; what they cover is reserved
          // once they are freed.
          RangeSet reserved{rep->reserved};
          for (const Range& c : rep->conflicts) {
            reserved.erase(c);
            if (auto part = c.intersect(rep->reserved)) pending.insert(*part);
          }
          ever_reserved = ever_reserved.unite(reserved);
          break;
        }
        case 4: {  // free_fast a live allocation
          if (live.empty()) break;
          auto it = live.lower_bound(address(in.take(2), 0));
          if (it == live.end()) it = live.begin();
          check(alloc->free_fast(Range(it->first, it->second)).ok());
          freed(it->first, it->second);
          break;
        }
        case 5: {  // allocate_fast
          const std::uint64_t size = (1 + in.take(1) % 40) * granule;
          const std::uint64_t limit = (in.take(1) & 1) != 0 ? kU64Max : address(in.take(2), 0xffffffff);
          auto r = alloc->allocate_fast(size, limit);
          if (r) {
            allocated(*r, AllocRequest::dma(size, limit));
          } else if (r.error().code() == Errc::kExhausted) {
            check(!fits_somewhere(AllocRequest::dma(size, limit)));
          }
          break;
        }
        case 6: {  // find
          const std::uint64_t a = address(in.take(2), in.take(1));
          const auto e = alloc->find(a);
          auto it = live.upper_bound(a);
          const bool in_live = it != live.begin() && std::prev(it)->second >= a;
          if (in_live) {
            check(e && e->kind == EntryKind::kAllocated && e->range.first() == std::prev(it)->first);
          } else {
            check(!e || e->kind == EntryKind::kReserved);
          }
          break;
        }
        default: alloc->flush_cache(); break;
      }
      check(alloc->check().empty());
      check(alloc->live_count() == live.size());
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  Fuzz f;
  const std::uint64_t cfg = in.take(1);
  constexpr std::uint32_t kShifts[] = {0, 6, 12, 16};  // 1 B, 64 B, 4 KiB, 64 KiB granules
  f.shift = kShifts[cfg & 3];
  f.granule = std::uint64_t{1} << f.shift;
  const std::uint64_t max_pfn = kU64Max >> f.shift;
  switch ((cfg >> 2) % 3) {
    case 0: f.base = 0; break;
    case 1: f.base = max_pfn / 2; break;
    default: f.base = max_pfn - (kRegion - 1); break;
  }
  AllocatorOptions options;
  options.granule = f.granule;
  options.cache_max_granules = 8;
  options.cache_depth = 4;
  options.verify_fast_free = (cfg & 0x40) != 0;
  if ((cfg & 0x80) != 0) options.tuning = {4, 4};
  // The usable list: up to 8 ranges inside the region.
  RangeSet usable;
  const std::uint64_t n = 1 + in.take(1) % 8;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t a = in.take(2) % kRegion;
    const std::uint64_t len = 1 + in.take(2) % kRegion;
    const std::uint64_t b = std::min(kRegion - 1, a + len - 1);
    usable.insert(Range((f.base + a) << f.shift, ((f.base + b) << f.shift) | (f.granule - 1)));
  }
  auto a = Allocator::create(usable, options);
  check(a.ok());
  f.alloc.emplace(std::move(*a));
  f.ever_reserved = usable.complement();
  f.run(in);
  return 0;
}
