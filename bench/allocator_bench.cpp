// The IOVA allocator against two baselines on the workloads of
// ../shared/reference/iova-allocator-anchor.md (issue 7), side by side.
//
//   W1  N live allocations of 1..64 pages (uniform, 4 KiB pages, size-aligned,
//       top-down below a 32- or 48-bit limit, the DMA API's request); then
//       pairs: free a random live one, allocate a new random size into its
//       slot. Timed: the pairs.
//   W2  as W1 with 1..32 pages (the sizes Linux caches per CPU); ours uses
//       its fast path (allocate_fast / free_fast).
//   W3  the 32-bit space filled with 1-page allocations (pfn 1..0xfffff),
//       every other one freed; timed: a 2-page size-aligned request, which
//       cannot fit.
//   W4  64 reserved regions of 16..1024 pages (one per equal slice of the
//       window: the 32-bit space, or the top 2^23 pages below 2^48), then W1.
//
// Allocators: "ours" (iova::Allocator over [4 KiB, 2^64 - 1], i.e. IOVA 0
// excluded as dma-iommu's start_pfn = 1 does), "map" (std::map<first, last>
// of the allocations, first fit walking down from the limit, as in the
// anchor), "icl" (boost::icl::interval_set of the allocated pages, the same
// walk over its gaps; adjacent allocations coalesce, so it cannot tell where
// an allocation ends and frees need the caller's range).
//
// Counters: bytes_per_alloc = the structure's own bytes per live allocation
// (ours: what the tree holds for nodes, spare chunk space included;
// baselines: not available, 0); malloc_per_alloc = glibc's mallinfo2()
// in-use delta over the fill, plus what the subject maps outside malloc
// (ours: its node chunks), per live allocation (every allocator, malloc
// overhead included).
//
// The fill is untimed and done once per configuration (later runs of the
// same configuration continue from its steady state). The baselines' fill
// places the same sizes where a top-down first fit would (the layout ours
// produces), since searching is O(N) per allocation for them (hours at 1e6).
//
// Modes:
//   (default)                     every configuration, full sizes
//   --benchmark_min_time below 10 ms (ctest -L bench): small sizes only
//   --pairs=W1|W2|W3|W4 --n=N --bits=B --count=C
//                                 builds the state for "ours", then runs C
//                                 pairs through the extern "C" functions
//                                 iovakit_bench_alloc / iovakit_bench_free
//                                 and nothing else: for
//                                 valgrind --tool=callgrind --collect-atstart=no
//                                 --toggle-collect=iovakit_bench_alloc
//                                 --toggle-collect=iovakit_bench_free
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <bit>
#include <boost/icl/interval_set.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/iova/allocator.h"

namespace {

using iovakit::iova::Allocator;
using iovakit::iova::AllocRequest;
using iovakit::iova::Range;
using iovakit::iova::RangeSet;
using iovakit::iova::uint128;

constexpr std::uint64_t kPage = 4096;
constexpr std::uint32_t kShift = 12;

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

 private:
  std::uint64_t state_;
};

enum class Workload { kW1, kW2, kW3, kW4 };
enum class Kind { kOurs, kMap, kIcl };

const char* name_of(Kind k) {
  switch (k) {
    case Kind::kOurs: return "ours";
    case Kind::kMap: return "map";
    case Kind::kIcl: return "icl";
  }
  return "?";
}

std::size_t malloc_in_use() { return mallinfo2().uordblks; }

// Top-down first fit, walking down from the limit over the gaps between
// occupied ranges with an iterator (one step per occupied range, as the
// anchor's std::map baseline), with the kernel's size-aligned candidate
// (high - size) & ~(bit_ceil(size) - 1). `Cursor` is a bidirectional
// iterator over [first, last] page ranges, `start` the first range whose
// last page is at or above the limit + 1 (or end).
template <typename Cursor, typename First, typename Last>
std::optional<std::uint64_t> walk_down(std::uint64_t size, std::uint64_t limit_pfn, Cursor begin, Cursor end,
                                       Cursor start, First first_of, Last last_of) {
  const std::uint64_t mask = ~(std::bit_ceil(size) - 1);
  std::uint64_t high = limit_pfn + 1;  // exclusive
  Cursor it = start;
  // A range straddling the limit: the search starts below it.
  if (it != end && first_of(it) < high) high = first_of(it);
  for (;;) {
    const bool below = it != begin;
    const std::uint64_t floor = below ? last_of(std::prev(it)) + 1 : 1;
    if (high >= size && high - size >= floor) {
      const std::uint64_t cand = (high - size) & mask;
      if (cand >= floor) return cand;
    }
    if (!below) return std::nullopt;
    --it;
    high = first_of(it);
  }
}

// --- the allocators behind one interface --------------------------------------

class Subject {
 public:
  virtual ~Subject() = default;
  Subject() = default;
  Subject(const Subject&) = delete;
  Subject& operator=(const Subject&) = delete;
  // Allocates `pages` size-aligned top-down at or below limit_pfn; returns
  // the first page.
  virtual std::optional<std::uint64_t> alloc(std::uint64_t pages, std::uint64_t limit_pfn) = 0;
  virtual void free(std::uint64_t first, std::uint64_t pages) = 0;
  // Fill helper: occupies [first, first + pages - 1] without searching.
  virtual void place(std::uint64_t first, std::uint64_t pages) = 0;
  virtual void reserve(std::uint64_t first, std::uint64_t pages) { place(first, pages); }
  [[nodiscard]] virtual std::size_t own_bytes() const { return 0; }
  // Memory the subject maps outside malloc (ours: huge-page node chunks).
  [[nodiscard]] virtual std::size_t mapped_bytes() const { return 0; }
};

class Ours final : public Subject {
 public:
  explicit Ours(bool fast) : fast_(fast), a_(make()) {}
  std::optional<std::uint64_t> alloc(std::uint64_t pages, std::uint64_t limit_pfn) override {
    const std::uint64_t limit = (limit_pfn << kShift) | (kPage - 1);
    auto r =
        fast_ ? a_.allocate_fast(pages * kPage, limit) : a_.allocate(AllocRequest::dma(uint128{pages} * kPage, limit));
    if (!r) return std::nullopt;
    return r->first() >> kShift;
  }
  void free(std::uint64_t first, std::uint64_t pages) override {
    if (fast_) {
      (void)a_.free_fast(Range(first << kShift, ((first + pages) << kShift) - 1));
    } else {
      (void)a_.free(first << kShift);
    }
  }
  void place(std::uint64_t first, std::uint64_t pages) override {
    (void)a_.allocate_at(Range(first << kShift, ((first + pages) << kShift) - 1));
  }
  void reserve(std::uint64_t first, std::uint64_t pages) override {
    (void)a_.reserve(Range(first << kShift, ((first + pages) << kShift) - 1));
  }
  [[nodiscard]] std::size_t own_bytes() const override { return a_.tree_bytes(); }
  [[nodiscard]] std::size_t mapped_bytes() const override { return a_.tree().chunk_bytes(); }
  Allocator& allocator() { return a_; }

 private:
  static Allocator make() {
    auto a = Allocator::create(RangeSet{Range(kPage, iovakit::iova::kU64Max)});
    if (!a) std::abort();
    return std::move(*a);
  }
  bool fast_;
  Allocator a_;
};

class MapFirstFit final : public Subject {
 public:
  using Map = std::map<std::uint64_t, std::uint64_t>;
  std::optional<std::uint64_t> alloc(std::uint64_t pages, std::uint64_t limit_pfn) override {
    // The first allocation starting above the limit, or end: nothing
    // crosses the limit in these workloads, so the one before it is the
    // highest at or below it.
    auto start = map_.upper_bound(limit_pfn);
    auto at = walk_down(
        pages, limit_pfn, map_.begin(), map_.end(), start, [](Map::iterator i) { return i->first; },
        [](Map::iterator i) { return i->second; });
    if (at) map_.emplace(*at, *at + pages - 1);
    return at;
  }
  void free(std::uint64_t first, std::uint64_t /*pages*/) override { map_.erase(first); }
  void place(std::uint64_t first, std::uint64_t pages) override { map_.emplace(first, first + pages - 1); }

 private:
  Map map_;
};

class IclSet final : public Subject {
 public:
  using Set = boost::icl::interval_set<std::uint64_t>;
  using Interval = Set::interval_type;
  std::optional<std::uint64_t> alloc(std::uint64_t pages, std::uint64_t limit_pfn) override {
    // The first interval reaching above the limit (it may straddle it).
    auto start = set_.lower_bound(Interval::closed(limit_pfn + 1, limit_pfn + 1));
    auto at = walk_down(
        pages, limit_pfn, set_.begin(), set_.end(), start, [](Set::iterator i) { return boost::icl::first(*i); },
        [](Set::iterator i) { return boost::icl::last(*i); });
    if (at) set_.add(Interval::closed(*at, *at + pages - 1));
    return at;
  }
  void free(std::uint64_t first, std::uint64_t pages) override {
    set_.subtract(Interval::closed(first, first + pages - 1));
  }
  void place(std::uint64_t first, std::uint64_t pages) override {
    set_.add(Interval::closed(first, first + pages - 1));
  }

 private:
  Set set_;
};

std::unique_ptr<Subject> make_subject(Kind k, Workload w) {
  switch (k) {
    case Kind::kOurs: return std::make_unique<Ours>(w == Workload::kW2);
    case Kind::kMap: return std::make_unique<MapFirstFit>();
    case Kind::kIcl: return std::make_unique<IclSet>();
  }
  return nullptr;
}

// --- the workloads ---------------------------------------------------------------

struct Config {
  Workload workload;
  Kind kind;
  std::uint64_t n;                   // live allocations (W1, W2, W4)
  std::uint32_t bits;                // limit 2^bits - 1
  std::uint64_t w3_pages = 0xfffff;  // W3: pfns 1..w3_pages filled
};

// Where W1's fill puts allocation i: top-down, size-aligned, contiguous
// below the limit (what every top-down first fit does on an empty space).
struct Fixture {
  Config cfg;
  std::unique_ptr<Subject> subject;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> slots;  // first page, pages
  SplitMix64 rng{12345};
  std::uint64_t limit_pfn = 0;
  std::uint64_t max_pages = 64;
  double own_per_alloc = 0;
  double malloc_per_alloc = 0;
  bool feasible = true;
  std::string why_not;
  static constexpr std::size_t kNoVictim = ~std::size_t{0};
  std::size_t next_victim = kNoVictim;

  explicit Fixture(const Config& c) : cfg(c) {
    limit_pfn = ((std::uint64_t{1} << c.bits) >> kShift) - 1;
    max_pages = c.workload == Workload::kW2 ? 32 : 64;
    if (c.workload == Workload::kW3) {
      build_w3();
    } else {
      build_steady();
    }
  }

  void build_steady() {
    const double mean = (static_cast<double>(max_pages) + 1) / 2;
    if (static_cast<double>(cfg.n) * mean * 1.05 > static_cast<double>(limit_pfn)) {
      feasible = false;
      why_not = "does not fit: N x mean size exceeds the space below the limit";
      return;
    }
    slots.reserve(cfg.n);
    subject = make_subject(cfg.kind, cfg.workload);
    if (cfg.workload == Workload::kW4) reserve_w4();
    // Sizes first (same stream for every allocator), then placement.
    std::vector<std::uint64_t> sizes(cfg.n);
    for (auto& s : sizes) s = 1 + rng.below(max_pages);
    std::vector<std::uint64_t> positions;
    if (cfg.kind != Kind::kOurs) {
      // The layout a top-down first fit produces, computed before measuring.
      Ours reference(false);
      if (cfg.workload == Workload::kW4) reserved_into(reference);
      positions.reserve(cfg.n);
      for (const std::uint64_t s : sizes) {
        const auto at = reference.alloc(s, limit_pfn);
        if (!at) std::abort();
        positions.push_back(*at);
      }
    }
    const std::size_t before = malloc_in_use() + subject->mapped_bytes();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (cfg.kind == Kind::kOurs) {
        const auto at = subject->alloc(sizes[i], limit_pfn);
        if (!at) std::abort();
        slots.emplace_back(*at, sizes[i]);
      } else {
        subject->place(positions[i], sizes[i]);
        slots.emplace_back(positions[i], sizes[i]);
      }
    }
    const std::size_t after = malloc_in_use() + subject->mapped_bytes();
    malloc_per_alloc = static_cast<double>(after - before) / static_cast<double>(cfg.n);
    own_per_alloc = static_cast<double>(subject->own_bytes()) / static_cast<double>(cfg.n);
  }

  // 64 regions of 16..1024 pages, one per equal slice of the window the
  // allocations use.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> w4_regions() const {
    SplitMix64 r(777);
    const std::uint64_t window = cfg.bits <= 32 ? limit_pfn : std::uint64_t{1} << 23;
    const std::uint64_t base = limit_pfn + 1 - window;
    const std::uint64_t slice = window / 64;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::uint64_t i = 0; i < 64; ++i) {
      const std::uint64_t pages = 16 + r.below(1009);
      out.emplace_back(base + i * slice + r.below(slice - pages), pages);
    }
    return out;
  }
  void reserve_w4() const { reserved_into(*subject); }
  void reserved_into(Subject& s) const {
    for (const auto& [first, pages] : w4_regions()) s.reserve(first, pages);
  }

  void build_w3() {
    subject = make_subject(cfg.kind, cfg.workload);
    const std::size_t before = malloc_in_use() + subject->mapped_bytes();
    for (std::uint64_t p = 1; p <= cfg.w3_pages; ++p) subject->place(p, 1);
    for (std::uint64_t p = 2; p <= cfg.w3_pages; p += 2) subject->free(p, 1);
    const std::size_t live = (cfg.w3_pages + 1) / 2;
    malloc_per_alloc =
        static_cast<double>(malloc_in_use() + subject->mapped_bytes() - before) / static_cast<double>(live);
    own_per_alloc = static_cast<double>(subject->own_bytes()) / static_cast<double>(live);
    limit_pfn = cfg.w3_pages;
  }

  // One pair: free a random live allocation, allocate a new one in its slot.
  // The victim of the next pair is drawn now and its slot prefetched: at
  // N = 1e6 `slots` is 16 MB, and a miss on the harness's own array (about
  // 150 ns on the VM of docs/performance.md) is not the allocator's cost.
  // Every subject runs the same harness.
  std::pair<std::uint64_t, std::uint64_t>& take_victim() {
    if (next_victim == kNoVictim) next_victim = rng.below(slots.size());
    auto& slot = slots[next_victim];
    next_victim = rng.below(slots.size());
    __builtin_prefetch(&slots[next_victim]);
    return slot;
  }
  void pair() {
    auto& slot = take_victim();
    subject->free(slot.first, slot.second);
    const std::uint64_t pages = 1 + rng.below(max_pages);
    const auto at = subject->alloc(pages, limit_pfn);
    if (!at) std::abort();
    slot = {*at, pages};
  }

  // W3: a request that cannot fit.
  void failing() const {
    if (subject->alloc(2, limit_pfn)) std::abort();
  }
};

// One fixture alive at a time: the N = 1e6 ones take tens of MB each.
Fixture& fixture_for(const Config& c) {
  static std::unique_ptr<Fixture> current;
  static std::string current_key;
  const std::string key = std::to_string(static_cast<int>(c.workload)) + "/" +
                          std::to_string(static_cast<int>(c.kind)) + "/" + std::to_string(c.n) + "/" +
                          std::to_string(c.bits) + "/" + std::to_string(c.w3_pages);
  if (key != current_key) {
    current.reset();
    current = std::make_unique<Fixture>(c);
    current_key = key;
  }
  return *current;
}

void run(benchmark::State& state, const Config& c) {
  Fixture& f = fixture_for(c);
  if (!f.feasible) {
    state.SkipWithError(f.why_not.c_str());
    for (auto _ : state) {
    }
    return;
  }
  if (c.workload == Workload::kW3) {
    for (auto _ : state) f.failing();
  } else {
    for (auto _ : state) f.pair();
  }
  state.counters["bytes_per_alloc"] = f.own_per_alloc;
  state.counters["malloc_per_alloc"] = f.malloc_per_alloc;
}

void register_all(bool smoke) {
  const char* names[] = {"W1", "W2", "W3", "W4"};
  auto add = [&](const Config& c) {
    std::string name = std::string(names[static_cast<int>(c.workload)]) + "/" + name_of(c.kind);
    if (c.workload == Workload::kW3) {
      name += "/pages:" + std::to_string(c.w3_pages);
    } else {
      name += "/n:" + std::to_string(c.n) + "/limit:2^" + std::to_string(c.bits);
    }
    benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& s) { run(s, c); })->Unit(benchmark::kNanosecond);
  };
  const std::vector<std::uint64_t> ns =
      smoke ? std::vector<std::uint64_t>{1000} : std::vector<std::uint64_t>{1000, 100000, 1000000};
  for (const Workload w : {Workload::kW1, Workload::kW2}) {
    for (const std::uint32_t bits : {32U, 48U}) {
      for (const std::uint64_t n : ns) {
        for (const Kind k : {Kind::kOurs, Kind::kMap, Kind::kIcl}) add(Config{w, k, n, bits});
      }
    }
  }
  for (const Kind k : {Kind::kOurs, Kind::kMap, Kind::kIcl}) {
    Config c{Workload::kW3, k, 0, 32};
    c.w3_pages = smoke ? 0xffff : 0xfffff;
    add(c);
  }
  for (const Kind k : {Kind::kOurs, Kind::kMap, Kind::kIcl}) {
    add(Config{Workload::kW4, k, smoke ? 1000U : 10000U, 32});
    add(Config{Workload::kW4, k, smoke ? 1000U : 100000U, 48});
  }
}

}  // namespace

// The two entry points the --pairs mode times, kept out of line and with C
// names so that callgrind can count exactly what is inside them.
extern "C" std::uint64_t iovakit_bench_alloc(Allocator* a, bool fast, std::uint64_t pages, std::uint64_t limit);
extern "C" void iovakit_bench_free(Allocator* a, bool fast, std::uint64_t first, std::uint64_t pages);
extern "C" __attribute__((noinline)) std::uint64_t iovakit_bench_alloc(Allocator* a, bool fast, std::uint64_t pages,
                                                                       std::uint64_t limit) {
  auto r =
      fast ? a->allocate_fast(pages * kPage, limit) : a->allocate(AllocRequest::dma(uint128{pages} * kPage, limit));
  return r ? r->first() : ~std::uint64_t{0};
}
extern "C" __attribute__((noinline)) void iovakit_bench_free(Allocator* a, bool fast, std::uint64_t first,
                                                             std::uint64_t pages) {
  if (fast) {
    (void)a->free_fast(Range(first, first + pages * kPage - 1));
  } else {
    (void)a->free(first);
  }
}

namespace {

int run_pairs(std::string_view workload, std::uint64_t n, std::uint32_t bits, std::uint64_t count) {
  Config c{Workload::kW1, Kind::kOurs, n, bits};
  if (workload == "W2") c.workload = Workload::kW2;
  if (workload == "W3") c.workload = Workload::kW3;
  if (workload == "W4") c.workload = Workload::kW4;
  Fixture f(c);
  if (!f.feasible) {
    std::fprintf(stderr, "%s\n", f.why_not.c_str());
    return 1;
  }
  auto& ours = static_cast<Ours&>(*f.subject);
  Allocator* a = &ours.allocator();
  const bool fast = c.workload == Workload::kW2;
  const std::uint64_t limit = (f.limit_pfn << kShift) | (kPage - 1);
  std::uint64_t failures = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (c.workload == Workload::kW3) {
      failures += iovakit_bench_alloc(a, false, 2, limit) == ~std::uint64_t{0} ? 1 : 0;
      continue;
    }
    auto& slot = f.take_victim();
    iovakit_bench_free(a, fast, slot.first << kShift, slot.second);
    const std::uint64_t pages = 1 + f.rng.below(f.max_pages);
    const std::uint64_t at = iovakit_bench_alloc(a, fast, pages, limit);
    if (at == ~std::uint64_t{0}) std::abort();
    slot = {at >> kShift, pages};
  }
  const auto live = static_cast<double>(a->live_count());
  std::printf(
      "%s n=%llu bits=%u pairs=%llu failures=%llu live=%zu parked=%zu tree_bytes_per_alloc=%.1f "
      "node_bytes_per_alloc=%.1f leaves=%zu inners=%zu height=%u\n",
      std::string(workload).c_str(), static_cast<unsigned long long>(n), bits, static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(failures), a->live_count(), a->parked_count(),
      static_cast<double>(a->tree_bytes()) / live, static_cast<double>(a->tree().node_bytes()) / live,
      a->tree().leaf_count(), a->tree().inner_count(), a->tree().height());
  return 0;
}

std::optional<std::string_view> flag(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.substr(0, name.size()) == name && arg.size() > name.size() && arg[name.size()] == '=') {
      return arg.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto w = flag(argc, argv, "--pairs")) {
    const auto n =
        static_cast<std::uint64_t>(std::atof(std::string(flag(argc, argv, "--n").value_or("100000")).c_str()));
    const auto bits =
        static_cast<std::uint32_t>(std::atoi(std::string(flag(argc, argv, "--bits").value_or("48")).c_str()));
    const auto count =
        static_cast<std::uint64_t>(std::atof(std::string(flag(argc, argv, "--count").value_or("100000")).c_str()));
    return run_pairs(*w, n, bits, count);
  }
  bool smoke = false;
  if (auto t = flag(argc, argv, "--benchmark_min_time")) smoke = std::atof(std::string(*t).c_str()) < 0.01;
  register_all(smoke);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
