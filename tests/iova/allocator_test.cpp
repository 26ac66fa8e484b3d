// iova::Allocator, one behaviour per test: argument checks (table-driven),
// the edges of the 64-bit space, policies, reservations and the hotplug
// conflict report, the fast path's semantics, construction, memory, and the
// locked wrapper.
#include "iovakit/iova/allocator.h"

#include <gtest/gtest.h>

#include <ostream>

#include <thread>
#include <vector>

#include "iovakit/iova/locked_allocator.h"

namespace iovakit::iova {
namespace {

constexpr std::uint64_t kMax = kU64Max;
constexpr std::uint64_t k4G = 0xffffffff;

Allocator make(const RangeSet& usable, AllocatorOptions options = {}) {
  auto a = Allocator::create(usable, options);
  if (!a) throw std::runtime_error(a.error().to_string());
  return std::move(*a);
}

Allocator make48() { return make(RangeSet{Range(0, (1ULL << 48) - 1)}); }

// --- argument checks --------------------------------------------------------

struct BadRequest {
  const char* name;
  AllocRequest request;
  Errc code;
  const char* message_part;
};

void PrintTo(const BadRequest& c, std::ostream* os) { *os << c.name; }

class AllocatorRejects : public ::testing::TestWithParam<BadRequest> {};

TEST_P(AllocatorRejects, WithAClearError) {
  Allocator a = make48();
  auto got = a.allocate(GetParam().request);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), GetParam().code);
  EXPECT_NE(got.error().message().find(GetParam().message_part), std::string::npos) << got.error().message();
  EXPECT_EQ(a.check(), "");
  EXPECT_EQ(a.live_count(), 0U);
}

AllocRequest req(uint128 size, std::uint64_t alignment = 0, std::uint64_t min = 0, std::uint64_t limit = kMax) {
  AllocRequest r;
  r.size = size;
  r.alignment = alignment;
  r.min_address = min;
  r.limit = limit;
  return r;
}

INSTANTIATE_TEST_SUITE_P(
    Requests, AllocatorRejects,
    ::testing::Values(
        BadRequest{"zero_size", req(0), Errc::kInvalidArgument, "zero-size"},
        BadRequest{"not_whole_granules", req(4097), Errc::kInvalidArgument, "not a multiple of the granule"},
        BadRequest{"larger_than_the_space", req(kSpaceSize + 4096), Errc::kInvalidArgument,
                   "larger than the 64-bit space"},
        BadRequest{"oversized_for_the_window", req(1ULL << 33, 0, 0, k4G), Errc::kInvalidArgument, "oversized"},
        BadRequest{"alignment_not_a_power_of_two", req(4096, 3ULL * 4096), Errc::kInvalidArgument,
                   "not a power of two"},
        BadRequest{"empty_window", req(4096, 0, 0x2000, 0x1000), Errc::kInvalidArgument, "empty window"},
        BadRequest{"window_without_a_whole_granule", req(4096, 0, 0x1001, 0x1ffe), Errc::kInvalidArgument, "oversized"},
        BadRequest{"limit_below_one_granule", req(4096, 0, 0, 0xffe), Errc::kInvalidArgument, "oversized"},
        BadRequest{"larger_than_the_usable_list", req(1ULL << 49), Errc::kExhausted, "no free range"},
        BadRequest{"above_the_usable_list", req(4096, 0, 1ULL << 48, kMax), Errc::kExhausted, "no free range"}),
    [](const ::testing::TestParamInfo<BadRequest>& param_info) { return std::string(param_info.param.name); });

TEST(Allocator, CreateRejectsBadOptions) {
  AllocatorOptions o;
  o.granule = 3000;
  EXPECT_EQ(Allocator::create(RangeSet{Range::full()}, o).error().code(), Errc::kInvalidArgument);
  o = AllocatorOptions{};
  o.cache_max_granules = 65;
  EXPECT_EQ(Allocator::create(RangeSet{Range::full()}, o).error().code(), Errc::kInvalidArgument);
  o = AllocatorOptions{};
  o.tuning.fanout = 2;
  EXPECT_EQ(Allocator::create(RangeSet{Range::full()}, o).error().code(), Errc::kInvalidArgument);
}

// --- the edges of the space -------------------------------------------------

TEST(Allocator, FullApertureAtOneByteGranules) {
  AllocatorOptions o;
  o.granule = 1;
  Allocator a = make(RangeSet{Range::full()}, o);
  // All 2^64 bytes at once.
  auto all = a.allocate(req(kSpaceSize));
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  EXPECT_TRUE(all->is_full());
  EXPECT_EQ(a.allocate(req(1)).error().code(), Errc::kExhausted);
  ASSERT_TRUE(a.free(0).ok());
  // The very top byte, then everything below it.
  auto top = a.allocate(req(1));
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(*top, Range(kMax, kMax));
  auto rest = a.allocate(req(kMax));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, Range(0, kMax - 1));
  EXPECT_EQ(a.find(kMax)->range, Range(kMax, kMax));
  EXPECT_EQ(a.find(0)->range, Range(0, kMax - 1));
  EXPECT_EQ(a.check(), "");
}

TEST(Allocator, AllocationsMayStartAtZeroAndEndAtTheTop) {
  Allocator a = make(RangeSet{Range::full()});
  auto top = a.allocate(req(4096));
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(*top, Range(kMax - 4095, kMax));
  AllocRequest low = req(4096);
  low.policy = Policy::kFirstFit;
  auto zero = a.allocate(low);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, Range(0, 4095));
  ASSERT_TRUE(a.allocate_at(Range(kMax - 8191, kMax - 4096)).ok());
  EXPECT_EQ(a.allocate_at(Range(kMax - 4095, kMax)).error().code(), Errc::kExhausted);
  EXPECT_EQ(a.free(kMax - 4095)->last(), kMax);
  EXPECT_EQ(a.check(), "");
}

TEST(Allocator, TopDownLimitIsInclusive) {
  Allocator a = make48();
  auto r = a.allocate(AllocRequest::dma(8192, k4G));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Range(0xffffe000, 0xffffffff));
  // A limit that ends mid-granule only counts whole granules below it.
  auto s = a.allocate(AllocRequest::dma(4096, 0xffff0fff));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->last(), 0xffff0fffU);
  auto t = a.allocate(AllocRequest::dma(4096, 0xffff0ffe));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->last(), 0xfffeffffU);
}

TEST(Allocator, UsableListShrinksToWholeGranules) {
  Allocator a = make(RangeSet{Range(0x1800, 0x47ff)});
  EXPECT_EQ(a.usable(), (RangeSet{Range(0x2000, 0x3fff)}));
  EXPECT_EQ(a.allocate(req(0x3000)).error().code(), Errc::kExhausted);
  EXPECT_TRUE(a.allocate(req(0x2000)).ok());
  EXPECT_EQ(a.find(0x1fff)->kind, EntryKind::kReserved);
}

// --- policies ---------------------------------------------------------------

TEST(Allocator, DmaRequestsAreSizeAlignedToThePowerOfTwo) {
  Allocator a = make48();
  for (std::uint64_t pages : {1, 3, 5, 17, 33, 64}) {
    auto r = a.allocate(AllocRequest::dma(uint128{pages} * 4096, k4G));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first() % (std::bit_ceil(pages) * 4096), 0U) << pages;
    EXPECT_LE(r->last(), k4G);
    EXPECT_EQ(r->size(), pages * 4096);
  }
}

TEST(Allocator, PoliciesOnOneLayout) {
  // Free: [0x10000, 0x1ffff] (64 KiB) and [0x40000, 0x43fff] (16 KiB).
  Allocator a = make(RangeSet{Range(0x10000, 0x1ffff), Range(0x40000, 0x43fff)});
  AllocRequest r = req(0x2000);
  r.policy = Policy::kTopDown;
  EXPECT_EQ(a.allocate(r)->first(), 0x42000U);
  r.policy = Policy::kFirstFit;
  EXPECT_EQ(a.allocate(r)->first(), 0x10000U);
  r.policy = Policy::kBestFit;  // the 8 KiB left at 0x40000 is the smallest class
  EXPECT_EQ(a.allocate(r)->first(), 0x40000U);
}

TEST(Allocator, MinAddressKeepsIovaZeroOut) {
  Allocator a = make48();
  AllocRequest r = req(4096);
  r.policy = Policy::kFirstFit;
  r.min_address = 1;  // dma-iommu never returns IOVA 0 (start_pfn >= 1)
  EXPECT_EQ(a.allocate(r)->first(), 0x1000U);
}

// --- the fragmentation pathology (W3) ------------------------------------------

TEST(Allocator, FailsFastInAFragmentedSpace) {
  // Every other page of 64 MiB taken: only 1-page holes.
  Allocator a = make(RangeSet{Range(0, (64ULL << 20) - 1)});
  for (std::uint64_t p = 0; p < (64ULL << 20) / 4096; p += 2)
    ASSERT_TRUE(a.allocate_at(Range(p << 12, (p << 12) + 4095)).ok());
  auto r = a.allocate(AllocRequest::dma(8192));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kExhausted);
  EXPECT_TRUE(a.allocate(req(4096)).ok());  // a single page still fits
}

// --- reservations -----------------------------------------------------------

TEST(Allocator, ReserveNeverHandsOutTheRange) {
  Allocator a = make(RangeSet{Range(0, 0xfffff)});
  auto rep = a.reserve(Range(0x1000, 0xfffff));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->conflicts.empty());
  EXPECT_EQ(a.allocate(req(4096))->first(), 0U);
  EXPECT_EQ(a.allocate(req(4096)).error().code(), Errc::kExhausted);
  EXPECT_EQ(a.allocate_at(Range(0x5000, 0x5fff)).error().code(), Errc::kPermission);
  EXPECT_EQ(a.free(0x5000).error().code(), Errc::kPermission);
  EXPECT_EQ(a.find(0x5000)->kind, EntryKind::kReserved);
}

TEST(Allocator, ReserveWidensToWholeGranulesAndMergesNeighbours) {
  Allocator a = make48();
  auto rep = a.reserve(Range(0xfee00010, 0xfeefff00));
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->reserved, Range(0xfee00000, 0xfeefffff));
  ASSERT_TRUE(a.reserve(Range(0xfef00000, 0xfef0ffff)).ok());  // adjacent
  ASSERT_TRUE(a.reserve(Range(0xfee80000, 0xfef03fff)).ok());  // overlapping both
  EXPECT_EQ(a.find(0xfee00000)->range, Range(0xfee00000, 0xfef0ffff));
  EXPECT_EQ(a.reserved_count(), 2U);  // that one, and everything above 2^48
}

TEST(Allocator, ReserveReportsLiveAllocationsAndDefersTheirPart) {
  // The virtio-iommu hotplug hazard: a device with an RMRR joins a domain
  // whose IOVAs already cover it.
  Allocator a = make(RangeSet{Range(0, 0xfffff)});
  ASSERT_TRUE(a.allocate_at(Range(0x10000, 0x13fff)).ok());
  ASSERT_TRUE(a.allocate_at(Range(0x20000, 0x20fff)).ok());
  auto rep = a.reserve(Range(0x12000, 0x2ffff));
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->conflicts, (std::vector<Range>{Range(0x10000, 0x13fff), Range(0x20000, 0x20fff)}));
  EXPECT_EQ(a.conflicts(Range(0x12000, 0x2ffff)), rep->conflicts);
  // The allocations stay valid; the free parts are reserved already.
  EXPECT_EQ(a.find(0x10000)->kind, EntryKind::kAllocated);
  EXPECT_EQ(a.find(0x14000)->kind, EntryKind::kReserved);
  // Freed, their overlap becomes reserved, the rest becomes free.
  ASSERT_TRUE(a.free(0x10000).ok());
  EXPECT_FALSE(a.find(0x10000).has_value());
  EXPECT_EQ(a.find(0x12000)->kind, EntryKind::kReserved);
  ASSERT_TRUE(a.free(0x20000).ok());
  EXPECT_EQ(a.find(0x12000)->range, Range(0x12000, 0x2ffff));
  EXPECT_EQ(a.check(), "");
}

TEST(Allocator, CreateFromApertureAndResvRegions) {
  const std::vector<ResvRegion> regions = {
      ResvRegion{0xfee00000, 0x100000, ResvType::kMsi, 0},
      ResvRegion{0x7c000000, 0x800000, ResvType::kDirect, 3},
  };
  auto a = Allocator::create(Range(0, (1ULL << 39) - 1), regions);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->find(0xfee00000)->kind, EntryKind::kReserved);
  EXPECT_EQ(a->find(0x7c000000)->kind, EntryKind::kReserved);
  EXPECT_EQ(a->find(1ULL << 39)->kind, EntryKind::kReserved);
  auto r = a->allocate_at(Range(0x7c7ff000, 0x7c800fff));
  EXPECT_EQ(r.error().code(), Errc::kPermission);
  const std::vector<ResvRegion> wrapping = {ResvRegion{kMax - 10, 100, ResvType::kReserved, 0}};
  EXPECT_EQ(Allocator::create(Range::full(), wrapping).error().code(), Errc::kInvalidArgument);
}

// --- free and find ----------------------------------------------------------

TEST(Allocator, FreeErrorsSayWhatIsWrong) {
  Allocator a = make(RangeSet{Range(0x100000, 0x1fffff)});
  auto r = a.allocate(req(0x4000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(a.free(r->first() + 1).error().code(), Errc::kInvalidArgument);       // not granule-aligned
  EXPECT_EQ(a.free(r->first() + 0x1000).error().code(), Errc::kInvalidArgument);  // inside
  EXPECT_EQ(a.free(0x0).error().code(), Errc::kPermission);                       // outside the usable list
  EXPECT_EQ(a.free(0x100000).error().code(), Errc::kNotFound);                    // never allocated
  EXPECT_EQ(*a.free(r->first()), *r);
  auto twice = a.free(r->first());
  EXPECT_EQ(twice.error().code(), Errc::kNotFound);
  EXPECT_NE(twice.error().message().find("double free"), std::string::npos);
}

TEST(Allocator, FreesCoalesce) {
  Allocator a = make(RangeSet{Range(0, 0xffff)});
  std::vector<Range> got;
  got.reserve(16);
  for (int i = 0; i < 16; ++i) got.push_back(*a.allocate(req(0x1000)));
  EXPECT_TRUE(a.free_ranges().empty());
  for (int i = 0; i < 16; i += 2) ASSERT_TRUE(a.free(got[static_cast<std::size_t>(i)].first()).ok());
  EXPECT_EQ(a.free_ranges(Range(0, 0xffff)).size(), 8U);
  for (int i = 1; i < 16; i += 2) ASSERT_TRUE(a.free(got[static_cast<std::size_t>(i)].first()).ok());
  EXPECT_EQ(a.free_ranges(Range(0, 0xffff)), (std::vector<Range>{Range(0, 0xffff)}));
  EXPECT_EQ(a.allocate(req(0x10000))->first(), 0U);
}

// --- the fast path --------------------------------------------------------------

TEST(Allocator, FastPathReusesParkedRanges) {
  Allocator a = make48();
  auto r = a.allocate_fast(0x3000, k4G);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(a.free_fast(*r).ok());
  EXPECT_EQ(a.parked_count(), 1U);
  EXPECT_EQ(a.live_count(), 0U);
  EXPECT_FALSE(a.find(r->first()).has_value());                   // free to the user
  EXPECT_EQ(a.free(r->first()).error().code(), Errc::kNotFound);  // a double free
  EXPECT_EQ(a.free_fast(*r).error().code(), Errc::kNotFound);     // also through the fast path
  EXPECT_EQ(*a.allocate_fast(0x3000, k4G), *r);                   // handed out again
  EXPECT_EQ(a.parked_count(), 0U);
  EXPECT_EQ(a.check(), "");
}

TEST(Allocator, FastPathHonoursTheLimit) {
  Allocator a = make48();
  auto high = a.allocate_fast(0x1000);  // near 2^48
  ASSERT_TRUE(high.ok());
  ASSERT_TRUE(a.free_fast(*high).ok());
  auto low = a.allocate_fast(0x1000, k4G);
  ASSERT_TRUE(low.ok());
  EXPECT_LE(low->last(), k4G);
  EXPECT_EQ(a.parked_count(), 1U);  // the high one stays parked
}

TEST(Allocator, FailingAllocationsFlushTheCacheFirst) {
  Allocator a = make(RangeSet{Range(0, 0x7fff)});  // 8 pages
  std::vector<Range> got;
  got.reserve(8);
  for (int i = 0; i < 8; ++i) got.push_back(*a.allocate_fast(0x1000));
  for (const Range& r : got) ASSERT_TRUE(a.free_fast(r).ok());
  EXPECT_EQ(a.parked_count(), 8U);
  // 8 free pages, all parked: an 8-page request must still succeed.
  auto big = a.allocate(req(0x8000));
  ASSERT_TRUE(big.ok()) << big.error().to_string();
  EXPECT_EQ(a.parked_count(), 0U);
}

TEST(Allocator, ReserveAndAllocateAtTakeParkedRangesBack) {
  Allocator a = make(RangeSet{Range(0, 0xfffff)});
  auto r = *a.allocate_fast(0x1000);
  ASSERT_TRUE(a.free_fast(r).ok());
  auto rep = a.reserve(r);
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->conflicts.empty());  // parked is free, not a conflict
  EXPECT_EQ(a.find(r.first())->kind, EntryKind::kReserved);
  auto s = *a.allocate_fast(0x1000);
  ASSERT_TRUE(a.free_fast(s).ok());
  EXPECT_TRUE(a.allocate_at(s).ok());
  EXPECT_EQ(a.parked_count(), 0U);
  EXPECT_EQ(a.check(), "");
}

TEST(Allocator, OnlySizeAlignedRangesAreParked) {
  Allocator a = make48();
  auto odd = a.allocate_at(Range(0x3000, 0x4fff));  // 2 pages at an odd page
  ASSERT_TRUE(odd.ok());
  ASSERT_TRUE(a.free_fast(*odd).ok());
  EXPECT_EQ(a.parked_count(), 0U);  // freed to the tree instead
  EXPECT_FALSE(a.find(0x3000).has_value());
}

TEST(Allocator, VerifiedFastFreeRejectsWhatIsNotAnAllocation) {
  AllocatorOptions o;
  o.verify_fast_free = true;
  Allocator a = make(RangeSet{Range(0, (1ULL << 48) - 1)}, o);
  auto r = *a.allocate_fast(0x2000);
  EXPECT_EQ(a.free_fast(Range(r.first(), r.first() + 0xfff)).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(a.free_fast(Range(0x1000, 0x1fff)).error().code(), Errc::kNotFound);
  EXPECT_TRUE(a.free_fast(r).ok());
}

TEST(Allocator, CacheOffMeansPlainFrees) {
  AllocatorOptions o;
  o.cache_max_granules = 0;
  Allocator a = make(RangeSet{Range(0, 0xfffff)}, o);
  auto r = *a.allocate_fast(0x1000);
  ASSERT_TRUE(a.free_fast(r).ok());
  EXPECT_EQ(a.parked_count(), 0U);
  EXPECT_EQ(a.free_fast(r).error().code(), Errc::kNotFound);
}

// --- memory -------------------------------------------------------------------

TEST(Allocator, MemoryReturnsToTheInitialStateAndStaysUnder32BytesPerAllocation) {
  Allocator a = make48();
  const std::size_t initial = a.tree_bytes();
  std::vector<Range> live;
  for (std::uint64_t i = 0; i < 100000; ++i) live.push_back(*a.allocate(AllocRequest::dma(uint128{1 + i % 64} * 4096)));
  const double per_allocation = static_cast<double>(a.tree_bytes()) / static_cast<double>(a.live_count());
  EXPECT_LT(per_allocation, 32.0);
  for (const Range& r : live) ASSERT_TRUE(a.free(r.first()).ok());
  EXPECT_EQ(a.tree_bytes(), initial);
  EXPECT_EQ(a.check(), "");
}

// --- the locked wrapper ------------------------------------------------------

TEST(LockedAllocator, ThreadsShareOneAllocator) {
  LockedAllocator locked(make48());
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&locked] {
      std::vector<Range> mine;
      for (std::uint64_t i = 0; i < 2000; ++i) {
        const std::uint64_t size = 0x1000 * (1 + i % 8);
        auto r = (i % 2 == 0) ? locked.allocate(AllocRequest::dma(size)) : locked.allocate_fast(size);
        ASSERT_TRUE(r.ok());
        mine.push_back(*r);
        if (i % 3 == 0) {
          ASSERT_TRUE(locked.free_fast(mine.back()).ok());
          mine.pop_back();
        }
      }
      for (const Range& r : mine) ASSERT_TRUE(locked.free(r.first()).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(locked.live_count(), 0U);
  EXPECT_EQ(locked.with_lock([](Allocator& a) { return a.check(); }), "");
}

}  // namespace
}  // namespace iovakit::iova
