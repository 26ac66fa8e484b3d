// iova::Allocator against a brute-force model, over millions of random
// operations in all.
//
// The model keeps the live allocations, the parked ranges (the fast path's
// cache), the reserved granules and the pending reservations in plain
// std::map / RangeSet form and computes every answer by walking all gaps:
// the exact position each policy must choose, whether a request must fail
// (only when no gap fits, after the parked ranges went back), the error
// class of every refusal, the conflicts a reservation reports. After every
// operation the allocator must agree; every few operations its own
// invariants (Allocator::check: tree structure, recomputed summaries, cache)
// and the full list of entries are compared too.
//
// The universe is a region of a few thousand granules placed at the bottom
// of the 64-bit space, in the middle, and at the very top (so that ranges
// end at 2^64 - 1), with 4 KiB granules and with 1-byte granules, with tiny
// tree nodes (deep trees from few entries) and the default ones. Everything
// outside a random usable list inside the region is reserved.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "iovakit/iova/allocator.h"
#include "support/rng.h"

namespace iovakit::iova {
namespace {

using Pfn = std::uint64_t;

struct Config {
  const char* name;
  std::uint64_t granule;
  std::uint64_t region_base_pfn;  // first granule of the region
  std::uint64_t region_pfns;      // granules in the region
  GapTree::Tuning tuning;
  bool verify_fast_free;
  std::uint64_t seed;
  int operations;
};

std::uint32_t ceil_log2(uint128 v) {
  std::uint32_t c = 0;
  while ((uint128{1} << c) < v) ++c;
  return c;
}
std::uint32_t floor_log2(uint128 v) {
  std::uint32_t c = 0;
  while ((v >> (c + 1)) != 0) ++c;
  return c;
}

// gtest prints a parameter in the test's description; the name says it all.
void PrintTo(const Config& c, std::ostream* os) { *os << c.name; }

class Model {
 public:
  Model(const Config& cfg, const RangeSet& usable_pfns, const AllocatorOptions& options)
      : cfg_(cfg), max_pfn_(kU64Max >> std::countr_zero(cfg.granule)), options_(options) {
    reserved_ = usable_pfns.complement(Range(0, max_pfn_));
  }

  // The free granules as sorted maximal ranges: everything that is not
  // allocated, parked or reserved (a merge of the three sorted sources).
  [[nodiscard]] std::vector<std::pair<Pfn, Pfn>> gaps() const {
    std::vector<std::pair<Pfn, Pfn>> out;
    auto r = reserved_.begin();
    auto a = allocated_.begin();
    auto p = parked_.begin();
    Pfn next = 0;
    for (;;) {
      // The occupied range that starts first among the three.
      std::optional<std::pair<Pfn, Pfn>> take;
      if (r != reserved_.end()) take = std::make_pair(r->first(), r->last());
      if (a != allocated_.end() && (!take || a->first < take->first)) take = *a;
      if (p != parked_.end() && (!take || p->first < take->first)) take = *p;
      if (!take) break;
      if (r != reserved_.end() && take->first == r->first()) {
        ++r;
      } else if (a != allocated_.end() && take->first == a->first) {
        ++a;
      } else {
        ++p;
      }
      if (take->first > next) out.emplace_back(next, take->first - 1);
      if (take->second == max_pfn_) return out;
      next = std::max(next, take->second + 1);
    }
    out.emplace_back(next, max_pfn_);
    return out;
  }

  // Where the tree must put (size, order) in [low, high] under `policy`.
  [[nodiscard]] std::optional<Pfn> place(uint128 size, std::uint32_t order, Pfn low, Pfn high, Policy policy) const {
    const std::uint32_t orders = std::min<std::uint32_t>(64, static_cast<std::uint32_t>(std::bit_width(max_pfn_)) + 1);
    order = std::min(order, orders - 1);
    const uint128 align = uint128{1} << order;
    std::vector<std::pair<Pfn, Pfn>> clipped;
    for (auto [a, b] : gaps()) {
      a = std::max(a, low);
      b = std::min(b, high);
      if (a <= b) clipped.emplace_back(a, b);
    }
    auto up = [&](Pfn a, Pfn b) -> std::optional<Pfn> {
      const uint128 x = ((uint128{a} + align - 1) >> order) << order;
      if (x > b || uint128{b} - x + 1 < size) return std::nullopt;
      return static_cast<Pfn>(x);
    };
    auto down = [&](Pfn a, Pfn b) -> std::optional<Pfn> {
      if (uint128{b} - a + 1 < size) return std::nullopt;
      const uint128 x = ((uint128{b} + 1 - size) >> order) << order;
      if (x < a) return std::nullopt;
      return static_cast<Pfn>(x);
    };
    auto first_fit = [&]() -> std::optional<Pfn> {
      for (auto [a, b] : clipped) {
        if (auto x = up(a, b)) return x;
      }
      return std::nullopt;
    };
    switch (policy) {
      case Policy::kTopDown:
        for (std::size_t k = clipped.size(); k-- > 0;) {
          if (auto x = down(clipped[k].first, clipped[k].second)) return x;
        }
        return std::nullopt;
      case Policy::kFirstFit: return first_fit();
      case Policy::kBestFit: {
        const std::uint32_t c0 = ceil_log2(size + align - 1);
        if (c0 >= 64) return first_fit();
        std::optional<std::uint32_t> best;
        std::optional<Pfn> at;
        for (auto [a, b] : clipped) {
          const std::uint32_t c = floor_log2(uint128{b} - a + 1);
          if (c >= c0 && (!best || c < *best)) {
            best = c;
            at = up(a, b);
          }
        }
        return best ? at : first_fit();
      }
    }
    return std::nullopt;
  }

  const Config& cfg_;
  Pfn max_pfn_;
  AllocatorOptions options_;
  std::map<Pfn, Pfn> allocated_;  // live
  std::map<Pfn, Pfn> parked_;
  std::map<Pfn, int> parked_per_size_;  // size in granules -> count
  RangeSet reserved_;
  RangeSet pending_;
};

class AllocatorProperty : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override { shift_ = static_cast<std::uint32_t>(std::countr_zero(GetParam().granule)); }

  // A fresh allocator and model over a random usable list in the region.
  void start_epoch(std::uint64_t seed) {
    const Config& cfg = GetParam();
    testing::SplitMix64 rng(seed);
    RangeSet usable_pfns;
    Pfn p = cfg.region_base_pfn;
    const Pfn end = cfg.region_base_pfn + (cfg.region_pfns - 1);
    while (true) {
      const Pfn run = 1 + rng.below(cfg.region_pfns / 3);
      const bool use = rng.below(4) != 0;
      const Pfn last = end - p < run ? end : p + run - 1;
      if (use) usable_pfns.insert(Range(p, last));
      if (last == end) break;
      p = last + 1;
    }
    options_.granule = cfg.granule;
    options_.tuning = cfg.tuning;
    options_.cache_max_granules = 8;
    options_.cache_depth = 6;
    options_.verify_fast_free = cfg.verify_fast_free;
    RangeSet usable_bytes;
    for (const Range& r : usable_pfns) usable_bytes.insert(bytes(r.first(), r.last()));
    auto a = Allocator::create(usable_bytes, options_);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    model_.reset();
    alloc_.reset();
    alloc_.emplace(std::move(*a));
    model_.emplace(cfg, usable_pfns, options_);
    initial_tree_bytes_ = alloc_->tree_bytes();
    initial_single_leaf_ = alloc_->tree().height() == 0;
  }

  [[nodiscard]] Range bytes(Pfn first, Pfn last) const {
    return {first << shift_, (last << shift_) | (GetParam().granule - 1)};
  }
  [[nodiscard]] static Pfn region_pfn(testing::SplitMix64& rng) {
    return GetParam().region_base_pfn + rng.below(GetParam().region_pfns);
  }
  [[nodiscard]] std::uint64_t region_address(testing::SplitMix64& rng) const {
    const std::uint64_t a = region_pfn(rng) << shift_;
    return a + rng.below(GetParam().granule);
  }

  // --- operations: each draws its arguments, predicts, runs, compares -----

  std::optional<Pfn> expect_allocate(const AllocRequest& req, Errc& error) {
    Model& m = *model_;
    const uint128 g = GetParam().granule;
    if (req.size == 0 || req.size > kSpaceSize || req.size % g != 0) {
      error = Errc::kInvalidArgument;
      return std::nullopt;
    }
    const uint128 size = req.size >> shift_;
    std::uint32_t order = 0;
    if (req.size_aligned) {
      order = ceil_log2(size);
    } else {
      const std::uint64_t align = req.alignment == 0 ? GetParam().granule : req.alignment;
      if (!std::has_single_bit(align)) {
        error = Errc::kInvalidArgument;
        return std::nullopt;
      }
      if (align > GetParam().granule) order = static_cast<std::uint32_t>(std::countr_zero(align)) - shift_;
    }
    const uint128 low = (uint128{req.min_address} + g - 1) >> shift_;
    const uint128 end = (uint128{req.limit} + 1) >> shift_;
    if (req.min_address > req.limit || low >= end || size > end - low) {
      error = Errc::kInvalidArgument;
      return std::nullopt;
    }
    auto at = m.place(size, order, static_cast<Pfn>(low), static_cast<Pfn>(end - 1), req.policy);
    if (!at && !m.parked_.empty()) {
      m.parked_.clear();
      m.parked_per_size_.clear();
      at = m.place(size, order, static_cast<Pfn>(low), static_cast<Pfn>(end - 1), req.policy);
    }
    if (!at) error = Errc::kExhausted;
    return at;
  }

  AllocRequest random_request(testing::SplitMix64& rng) const {
    const Config& cfg = GetParam();
    AllocRequest req;
    const std::uint64_t r = rng.below(100);
    std::uint64_t granules = r < 70 ? 1 + rng.below(8) : (r < 95 ? 1 + rng.below(64) : 1 + rng.below(512));
    if (rng.below(200) == 0) granules = 0;
    req.size = uint128{granules} * cfg.granule;
    if (rng.below(100) == 0) req.size += 1;  // not whole granules
    const std::uint64_t a = rng.below(10);
    if (a < 3) {
      req.size_aligned = true;
    } else if (a < 6) {
      req.alignment = std::uint64_t{1} << std::min<std::uint64_t>(63, shift_ + rng.below(13));
      if (rng.below(50) == 0) req.alignment = 3 * cfg.granule;  // not a power of two
    }
    if (rng.below(5) < 2) {
      std::uint64_t lo = region_address(rng);
      std::uint64_t hi = region_address(rng);
      if (lo > hi) std::swap(lo, hi);
      if (rng.coin()) lo = 0;
      if (rng.below(4) == 0) hi = kU64Max;
      req.min_address = lo;
      req.limit = hi;
    }
    req.policy = static_cast<Policy>(rng.below(3));
    return req;
  }

  void op_allocate(testing::SplitMix64& rng) {
    const AllocRequest req = random_request(rng);
    Errc error{};
    const std::optional<Pfn> want = expect_allocate(req, error);
    auto got = alloc_->allocate(req);
    if (!want) {
      ASSERT_FALSE(got.ok()) << "expected failure, got " << got->to_string();
      ASSERT_EQ(got.error().code(), error) << got.error().to_string();
      ASSERT_FALSE(got.error().message().empty());
      ++(error == Errc::kExhausted ? exhausted_ : invalid_);
      return;
    }
    ASSERT_TRUE(got.ok()) << "expected granule " << *want << ": " << got.error().to_string();
    ++allocated_ok_;
    const Pfn last = *want + static_cast<Pfn>((req.size >> shift_) - 1);
    ASSERT_EQ(*got, bytes(*want, last)) << "policy " << static_cast<int>(req.policy);
    model_->allocated_.emplace(*want, last);
  }

  void op_allocate_at(testing::SplitMix64& rng) {
    Model& m = *model_;
    const Pfn f = region_pfn(rng);
    const Pfn d = rng.below(rng.coin() ? 4 : 64);
    const Pfn l = m.max_pfn_ - f < d ? m.max_pfn_ : f + d;
    Range r = bytes(f, l);
    const bool unaligned = rng.below(30) == 0;
    if (unaligned && GetParam().granule > 1) r = Range(r.first() + 1, r.last());
    auto got = alloc_->allocate_at(r);
    if (unaligned && GetParam().granule > 1) {
      ASSERT_EQ(got.error().code(), Errc::kInvalidArgument);
      return;
    }
    // In address order: parked ranges give way, the first other entry
    // decides the refusal.
    for (;;) {
      std::optional<std::pair<Pfn, Errc>> first_hit;
      auto consider = [&](Pfn a, Pfn b, Errc code) {
        if (a <= l && b >= f && (!first_hit || a < first_hit->first)) first_hit = {a, code};
      };
      for (const Range& x : m.reserved_) consider(x.first(), x.last(), Errc::kPermission);
      for (const auto& [a, b] : m.allocated_) consider(a, b, Errc::kExhausted);
      std::optional<Pfn> parked_hit;
      for (const auto& [a, b] : m.parked_) {
        if (a <= l && b >= f && (!parked_hit || a < *parked_hit)) parked_hit = a;
      }
      if (parked_hit && (!first_hit || *parked_hit < first_hit->first)) {
        const Pfn pl = m.parked_[*parked_hit];
        --m.parked_per_size_[pl - *parked_hit + 1];
        m.parked_.erase(*parked_hit);
        continue;
      }
      if (first_hit) {
        ASSERT_FALSE(got.ok());
        ASSERT_EQ(got.error().code(), first_hit->second) << got.error().to_string();
        return;
      }
      break;
    }
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    m.allocated_.emplace(f, l);
  }

  void model_free(Pfn f) {
    Model& m = *model_;
    const Pfn l = m.allocated_.at(f);
    m.allocated_.erase(f);
    const RangeSet due = m.pending_.intersect(RangeSet{Range(f, l)});
    for (const Range& r : due) {
      m.pending_.erase(r);
      m.reserved_.insert(r);
    }
  }

  std::optional<std::pair<Pfn, Pfn>> random_live(testing::SplitMix64& rng) const {
    const auto& a = model_->allocated_;
    if (a.empty()) return std::nullopt;
    auto it = a.lower_bound(region_pfn(rng));
    if (it == a.end()) it = a.begin();
    return *it;
  }

  void op_free(testing::SplitMix64& rng) {
    Model& m = *model_;
    const std::uint64_t kind = rng.below(10);
    if (kind < 7) {
      const auto live = random_live(rng);
      if (!live) return;
      auto got = alloc_->free(live->first << shift_);
      ASSERT_TRUE(got.ok()) << got.error().to_string();
      ASSERT_EQ(*got, bytes(live->first, live->second));
      model_free(live->first);
      return;
    }
    // Refusals: a random address, a parked range (double free), the inside
    // of an allocation.
    std::uint64_t address = region_address(rng);
    if (kind == 7 && !m.parked_.empty()) address = m.parked_.begin()->first << shift_;
    if (kind == 8) {
      if (const auto live = random_live(rng); live && live->second > live->first) address = (live->first + 1) << shift_;
    }
    const Pfn pfn = address >> shift_;
    Errc want = Errc::kNotFound;
    bool ok = false;
    if ((address & (GetParam().granule - 1)) != 0) {
      want = Errc::kInvalidArgument;
    } else if (m.reserved_.contains(pfn)) {
      want = Errc::kPermission;
    } else {
      auto it = m.allocated_.upper_bound(pfn);
      if (it != m.allocated_.begin() && std::prev(it)->second >= pfn) {
        ok = std::prev(it)->first == pfn;
        want = Errc::kInvalidArgument;
      }
    }
    auto got = alloc_->free(address);
    if (ok) {
      ASSERT_TRUE(got.ok()) << got.error().to_string();
      model_free(pfn);
      return;
    }
    ASSERT_FALSE(got.ok()) << "freed " << got->to_string();
    ASSERT_EQ(got.error().code(), want) << got.error().to_string();
  }

  void op_find(testing::SplitMix64& rng) {
    const Model& m = *model_;
    const std::uint64_t address = region_address(rng);
    const Pfn pfn = address >> shift_;
    const auto got = alloc_->find(address);
    if (m.reserved_.contains(pfn)) {
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(got->kind, EntryKind::kReserved);
      const Range want = *m.reserved_.find(pfn);
      ASSERT_EQ(got->range, bytes(want.first(), want.last()));
      return;
    }
    auto it = m.allocated_.upper_bound(pfn);
    if (it != m.allocated_.begin() && std::prev(it)->second >= pfn) {
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(got->kind, EntryKind::kAllocated);
      ASSERT_EQ(got->range, bytes(std::prev(it)->first, std::prev(it)->second));
      return;
    }
    ASSERT_FALSE(got.has_value()) << got->range.to_string();  // free or parked
  }

  void op_reserve(testing::SplitMix64& rng) {
    Model& m = *model_;
    const std::uint64_t a = region_address(rng);
    const std::uint64_t span =
        rng.below(4) != 0 ? rng.below(4 * GetParam().granule) : rng.below(40 * GetParam().granule);
    const std::uint64_t b = kU64Max - a < span ? kU64Max : a + span;
    const Pfn f = a >> shift_;
    const Pfn l = b >> shift_;
    std::vector<Range> want;
    for (auto it = m.allocated_.begin(); it != m.allocated_.end(); ++it) {
      if (it->first <= l && it->second >= f) {
        want.push_back(bytes(it->first, it->second));
        m.pending_.insert(Range(std::max(it->first, f), std::min(it->second, l)));
      }
    }
    for (auto it = m.parked_.begin(); it != m.parked_.end();) {
      if (it->first <= l && it->second >= f) {
        --m.parked_per_size_[it->second - it->first + 1];
        it = m.parked_.erase(it);
      } else {
        ++it;
      }
    }
    RangeSet add{Range(f, l)};
    for (const auto& [x, y] : m.allocated_) add.erase(Range(x, y));
    m.reserved_ = m.reserved_.unite(add);
    auto got = alloc_->reserve(Range(a, b));
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    ASSERT_EQ(got->reserved, bytes(f, l));
    ASSERT_EQ(got->conflicts, want);
    ASSERT_EQ(alloc_->conflicts(Range(a, b)), want);  // they stay live
  }

  void op_free_fast(testing::SplitMix64& rng) {
    Model& m = *model_;
    const bool double_free = rng.below(8) == 0 && !m.parked_.empty();
    if (double_free) {
      const auto [f, l] = *m.parked_.begin();
      auto got = alloc_->free_fast(bytes(f, l));
      ASSERT_FALSE(got.ok());
      ASSERT_EQ(got.error().code(), Errc::kNotFound);
      return;
    }
    if (GetParam().verify_fast_free && rng.below(10) == 0) {
      // A range that is not an allocation: refused, nothing changes.
      const Pfn f = region_pfn(rng);
      auto it = m.allocated_.find(f);
      const bool is_alloc = it != m.allocated_.end() && it->second == f;
      if (!is_alloc && !m.parked_.contains(f)) {
        auto got = alloc_->free_fast(bytes(f, f));
        ASSERT_FALSE(got.ok());
        return;
      }
    }
    const auto live = random_live(rng);
    if (!live) return;
    const auto [f, l] = *live;
    const std::uint64_t n = l - f + 1;
    const bool eligible = n <= m.options_.cache_max_granules && (f & (std::bit_ceil(n) - 1)) == 0 && f != kU64Max &&
                          !m.pending_.intersects(Range(f, l)) &&
                          m.parked_per_size_[n] < static_cast<int>(m.options_.cache_depth);
    auto got = alloc_->free_fast(bytes(f, l));
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    if (eligible) {
      m.allocated_.erase(f);
      m.parked_.emplace(f, l);
      ++m.parked_per_size_[n];
    } else {
      model_free(f);
    }
  }

  void op_allocate_fast(testing::SplitMix64& rng) {
    Model& m = *model_;
    const std::uint64_t granules = 1 + rng.below(m.options_.cache_max_granules + 2);
    const std::uint64_t size = granules * GetParam().granule;
    const std::uint64_t limit = rng.coin() ? kU64Max : region_address(rng);
    // Any parked range of that size ending within the limit may come back.
    const uint128 end = (uint128{limit} + 1) >> shift_;
    std::vector<Pfn> candidates;
    for (const auto& [f, l] : m.parked_) {
      if (l - f + 1 == granules && end > 0 && l <= end - 1) candidates.push_back(f);
    }
    auto got = alloc_->allocate_fast(size, limit);
    if (!candidates.empty()) {
      ASSERT_TRUE(got.ok()) << got.error().to_string();
      const Pfn f = got->first() >> shift_;
      ASSERT_TRUE(std::find(candidates.begin(), candidates.end(), f) != candidates.end()) << got->to_string();
      ASSERT_EQ(got->size(), size);
      m.parked_.erase(f);
      --m.parked_per_size_[granules];
      m.allocated_.emplace(f, f + granules - 1);
      return;
    }
    Errc error{};
    const std::optional<Pfn> want = expect_allocate(AllocRequest::dma(size, limit), error);
    if (!want) {
      ASSERT_FALSE(got.ok()) << got->to_string();
      ASSERT_EQ(got.error().code(), error) << got.error().to_string();
      return;
    }
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    ASSERT_EQ(*got, bytes(*want, *want + granules - 1));
    m.allocated_.emplace(*want, *want + granules - 1);
  }

  void compare_all() {
    const Model& m = *model_;
    ASSERT_EQ(alloc_->check(), "");
    std::map<Pfn, Pfn> allocated;
    RangeSet reserved;
    for (const Entry& e : alloc_->entries()) {
      if (e.kind == EntryKind::kAllocated) {
        allocated.emplace(e.range.first() >> shift_, e.range.last() >> shift_);
      } else {
        reserved.insert(Range(e.range.first() >> shift_, e.range.last() >> shift_));
      }
    }
    ASSERT_EQ(allocated, m.allocated_);
    ASSERT_EQ(reserved, m.reserved_);
    ASSERT_EQ(alloc_->live_count(), m.allocated_.size());
    ASSERT_EQ(alloc_->parked_count(), m.parked_.size());
    // Frees coalesce: the free ranges are exactly the model's gaps, each
    // one maximal.
    std::vector<Range> free_ranges;
    for (const auto& [a, b] : m.gaps()) free_ranges.push_back(bytes(a, b));
    ASSERT_EQ(alloc_->free_ranges(), free_ranges);
  }

  std::uint32_t shift_ = 0;
  AllocatorOptions options_;
  std::optional<Allocator> alloc_;
  std::optional<Model> model_;
  std::size_t initial_tree_bytes_ = 0;
  bool initial_single_leaf_ = false;
  // Outcomes of allocate(), to check that a run exercises all of them.
  int allocated_ok_ = 0;
  int exhausted_ = 0;
  int invalid_ = 0;
};

// IOVAKIT_PROPERTY_SCALE=N runs N times as many epochs (default 1, the CI
// size: about a second per configuration without load).
int scale() {
  const char* s = std::getenv("IOVAKIT_PROPERTY_SCALE");
  return s == nullptr ? 1 : std::max(1, std::atoi(s));
}

TEST_P(AllocatorProperty, AgreesWithTheModel) {
  const Config& cfg = GetParam();
  constexpr int kEpochs = 6;
  for (int epoch = 0; epoch < kEpochs * scale(); ++epoch) {
    start_epoch(cfg.seed * 1000 + static_cast<std::uint64_t>(epoch));
    if (::testing::Test::HasFatalFailure()) return;
    testing::SplitMix64 rng(cfg.seed * 7919 + static_cast<std::uint64_t>(epoch));
    bool reserved_any = false;
    for (int op = 0; op < cfg.operations / kEpochs; ++op) {
      const std::uint64_t r = rng.below(1000);
      if (r < 300) {
        op_allocate(rng);
      } else if (r < 360) {
        op_allocate_at(rng);
      } else if (r < 640) {
        op_free(rng);
      } else if (r < 700) {
        op_find(rng);
      } else if (r < 704) {
        op_reserve(rng);
        reserved_any = true;
      } else if (r < 850) {
        op_free_fast(rng);
      } else if (r < 995) {
        op_allocate_fast(rng);
      } else {
        alloc_->flush_cache();
        model_->parked_.clear();
        model_->parked_per_size_.clear();
      }
      if (::testing::Test::HasFatalFailure()) FAIL() << "epoch " << epoch << ", operation " << op;
      if (op % 256 == 0) {
        compare_all();
        if (::testing::Test::HasFatalFailure()) FAIL() << "epoch " << epoch << ", operation " << op;
      }
    }
    compare_all();
    // Freeing everything leaves the reserved granules only.
    alloc_->flush_cache();
    model_->parked_.clear();
    model_->parked_per_size_.clear();
    while (!model_->allocated_.empty()) {
      const Pfn f = model_->allocated_.begin()->first;
      ASSERT_TRUE(alloc_->free(f << shift_).ok());
      model_free(f);
    }
    compare_all();
    ASSERT_EQ(alloc_->live_count(), 0U);
    ASSERT_TRUE(model_->pending_.empty());
    // Memory is back to where it started when the starting tree was one
    // leaf (the tree collapses to a leaf once everything fits in one).
    if (!reserved_any && initial_single_leaf_) {
      ASSERT_EQ(alloc_->tree_bytes(), initial_tree_bytes_);
    }
  }
  // The runs were not degenerate: requests succeeded, failed for want of
  // space, and were refused, all in good numbers.
  RecordProperty("operations", cfg.operations * scale());
  EXPECT_GT(allocated_ok_, cfg.operations / 20);
  EXPECT_GT(exhausted_, cfg.operations / 200);
  EXPECT_GT(invalid_, cfg.operations / 400);
  RecordProperty("allocated", allocated_ok_);
  RecordProperty("exhausted", exhausted_);
  RecordProperty("invalid", invalid_);
}

constexpr std::uint64_t kTopRegion4k = (kU64Max >> 12) - 4095;  // the last 4096 granules of the space
constexpr std::uint64_t kTopRegion1 = kU64Max - 2047;

INSTANTIATE_TEST_SUITE_P(
    Spaces, AllocatorProperty,
    ::testing::Values(Config{"bottom_4k_tiny_nodes", 4096, 0, 2048, {4, 4}, false, 1, 120000},
                      Config{"middle_4k_tiny_nodes_verified", 4096, 1ULL << 40, 2048, {4, 4}, true, 2, 120000},
                      Config{"top_4k_default_nodes", 4096, kTopRegion4k, 4096, {}, false, 3, 120000},
                      Config{"top_1byte_tiny_nodes", 1, kTopRegion1, 2048, {4, 5}, false, 4, 120000},
                      Config{"bottom_1byte_default_nodes", 1, 0, 4096, {}, true, 5, 120000},
                      Config{"middle_64k_small_nodes", 65536, 1ULL << 30, 1024, {6, 4}, false, 6, 120000}),
    [](const ::testing::TestParamInfo<Config>& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace iovakit::iova
