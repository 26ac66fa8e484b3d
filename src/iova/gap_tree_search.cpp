// The GapTree's searches: top-down, first fit and best fit, each deciding
// from the summaries which subtrees to enter (design and complexity:
// iovakit/iova/gap_tree.h).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>

#include "gap_tree_node.h"
#include "iovakit/iova/gap_tree.h"

namespace iovakit::iova {

namespace {

using gap_tree_impl::floor_log2;
using gap_tree_impl::Lanes;
using gap_tree_impl::low_mask;
using gap_tree_impl::prefetch_fixed;

__extension__ typedef unsigned __int128 u128;  // NOLINT(modernize-use-using)

constexpr std::uint32_t kNoClass = 64;

std::uint32_t floor_log2(u128 v) {
  const auto hi = static_cast<std::uint64_t>(v >> 64);
  return hi != 0 ? 64U + floor_log2(hi) : floor_log2(static_cast<std::uint64_t>(v));
}

// ceil(log2(v)) for v >= 1.
std::uint32_t ceil_log2(u128 v) { return v <= 1 ? 0 : floor_log2(v - 1) + 1; }

// The highest aligned start in gap [a, b] clipped to the window.
bool fit_down(std::uint64_t a, std::uint64_t b, std::uint64_t size, std::uint64_t align_mask, std::uint64_t low,
              std::uint64_t high, std::uint64_t& out) {
  a = std::max(a, low);
  b = std::min(b, high);
  if (a > b || b - a < size - 1) return false;
  const std::uint64_t x = (b - (size - 1)) & ~align_mask;
  if (x < a) return false;
  out = x;
  return true;
}

// The lowest aligned start in gap [a, b] clipped to the window.
bool fit_up(std::uint64_t a, std::uint64_t b, std::uint64_t size, std::uint64_t align_mask, std::uint64_t low,
            std::uint64_t high, std::uint64_t& out) {
  a = std::max(a, low);
  b = std::min(b, high);
  if (a > b) return false;
  const std::uint64_t x = a + ((std::uint64_t{0} - a) & align_mask);
  if (x < a || x > b || b - x < size - 1) return false;
  out = x;
  return true;
}

// The gaps [a, b] of a leaf (entries f[0..count), l[0..count), gaps from
// lo), lowest first, up to the first gap starting above `high`: calls
// visit(a, b) for each until it returns true, and returns whether it did.
// The walk of the bottom-up searches (first fit, best fit).
template <typename Visit>
bool visit_gaps_up(const std::uint64_t* f, const std::uint64_t* l, std::uint32_t count, std::uint64_t lo,
                   std::uint64_t high, Visit visit) {
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t a = i == 0 ? lo : l[i - 1] + 1;
    if (a > high) return false;
    if (f[i] != a && visit(a, f[i] - 1)) return true;  // f[i] == a: no gap below entry i
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Search.

std::optional<std::uint64_t> GapTree::search(const Query& query) const { return search_path(query, nullptr, nullptr); }

std::optional<std::uint64_t> GapTree::search(const Query& query, std::uint32_t& leaves) const {
  return search_path(query, nullptr, &leaves);
}

std::optional<std::uint64_t> GapTree::allocate(const Query& query) {
  Path path;
  const std::optional<std::uint64_t> at = search_path(query, &path, nullptr);
  if (!at) return std::nullopt;
  const Entry e{*at, *at + (query.size - 1), false};
  // A gap between entries: insert into the leaf the search ended in (the
  // gap's owner is there), without descending again. The tail gap, or a
  // tree that is one leaf: the usual way.
  if (path.leaf != nullptr && path.depth > 0) {
    insert_at(path, e);
  } else {
    insert(e);
  }
  return at;
}

// The search; when `path` is given, it receives the path to the leaf whose
// gap the answer lies in (left empty for the tail gap); when `leaves` is,
// the count of leaves the search entered.
std::optional<std::uint64_t> GapTree::search_path(const Query& query, Path* path, std::uint32_t* leaves) const {
  if (path != nullptr) path->leaf = nullptr;
  if (leaves != nullptr) *leaves = 0;
  Window w;
  w.size = query.size;
  w.order = std::min(query.order, orders_ - 1);
  w.align_mask = low_mask(w.order);
  w.low = query.low;
  w.high = std::min(query.high, max_pfn_);
  w.lane = std::min(std::max(w.order, 1U), kLanes) - 1;
  w.shortfalls = w.order >= 1 && w.order <= kLanes && w.size > kLaneCap;
  w.wide = w.order >= kWideMin;
  w.wide_index = w.wide ? w.order - kWideMin : 0;
  if (w.size == 0 || w.low > w.high || w.high - w.low < w.size - 1) return std::nullopt;
  const std::optional<std::uint64_t> at = search_window(w, query.policy, path);
  if (leaves != nullptr) *leaves = w.leaves;
  return at;
}

// The search of a window search_path has set up.
std::optional<std::uint64_t> GapTree::search_window(Window& w, Policy policy, Path* path) const {
  const auto tail = tail_gap();
  std::uint64_t x = 0;

  auto first_fit = [&]() -> std::optional<std::uint64_t> {
    if (size_ > 0 && search_up(root_, 0, w, x, path, 0)) return x;
    if (path != nullptr) path->leaf = nullptr;
    if (tail && fit_up(tail->first, tail->second, w.size, w.align_mask, w.low, w.high, x)) return x;
    return std::nullopt;
  };

  switch (policy) {
    case Policy::kTopDown:
      if (tail && fit_down(tail->first, tail->second, w.size, w.align_mask, w.low, w.high, x)) return x;
      if (size_ > 0 && search_down(root_, 0, w, x, path, 0)) return x;
      if (path != nullptr) path->leaf = nullptr;
      return std::nullopt;
    case Policy::kFirstFit: return first_fit();
    case Policy::kBestFit: {
      const std::uint32_t c0 = ceil_log2(u128{w.size} + w.align_mask);
      if (c0 >= kNoClass) return first_fit();
      w.min_class = c0;
      std::uint32_t best = kNoClass;
      if (size_ > 0) min_class(root_, 0, w, best);
      // The tail's class may be 64 (the whole space at a 1-byte granule).
      constexpr std::uint32_t kNoTail = kNoClass + 1;
      std::uint32_t tail_class = kNoTail;
      std::uint64_t tail_low = 0;
      if (tail) {
        tail_low = std::max(tail->first, w.low);
        const std::uint64_t tail_high = std::min(tail->second, w.high);
        if (tail_low <= tail_high) {
          const std::uint32_t c = floor_log2(u128{tail_high} - tail_low + 1);
          if (c >= c0) tail_class = c;
        }
      }
      // Same class: the tree's gaps lie below the tail, so they come first.
      if (best < kNoClass && best <= tail_class) {
        if (find_class(root_, 0, w, best, x, path, 0)) return x;
        return std::nullopt;  // unreachable: min_class saw a gap of this class
      }
      if (tail_class != kNoTail) {
        if (path != nullptr) path->leaf = nullptr;
        return tail_low + ((std::uint64_t{0} - tail_low) & w.align_mask);
      }
      return first_fit();
    }
  }
  return std::nullopt;
}

namespace {

// Whether a subtree whose largest gap is `gap` and whose shortfall at the
// request's order is `shortfall` holds a size past the lane cap at an order
// within the lanes: its fit there is gap - shortfall (the row is kept
// whenever gap is past the cap, which a gap of at least size is).
bool shortfalls_hold(std::uint64_t gap, std::uint16_t shortfall, std::uint64_t size) {
  return gap >= size && gap - shortfall >= size;
}

// Whether a subtree with this wide row (null: none) holds a size at the
// row's order (past the lanes): the row keeps the largest fit there.
bool wide_holds(const std::uint64_t* row, std::uint32_t index, std::uint64_t size) {
  return row != nullptr && row[index] >= size;
}

}  // namespace

// Whether child i of n holds the request: some gap of its subtree fits it
// (the window aside). Exact for every size and alignment: the max_gaps at
// order 0; within the lanes a lane (a size up to the cap) or the largest gap
// and the shortfalls (past it); past the lanes the wide row.
bool GapTree::holds(const Node* n, std::uint32_t i, const Window& w) const {
  if (w.order == 0) return max_gaps(n)[i] >= w.size;
  if (w.wide) return wide_holds(wides(n)[i], w.wide_index, w.size);
  if (w.shortfalls) return shortfalls_hold(max_gaps(n)[i], shortfalls(n)[std::size_t{i} * kLanes + w.lane], w.size);
  return lanes(n)[std::size_t{i} * kLanes + w.lane] >= w.size;
}

// Notes the step into child i of n (at depth d) in `path`, if one is being
// recorded. The search is const; the path is for the insert that follows.
void GapTree::note(Path* path, std::uint32_t d, const Node* n, std::uint32_t i, std::uint64_t lo) {
  if (path == nullptr) return;
  path->node[d] = const_cast<Node*>(n);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  path->index[d] = i;
  path->lo[d] = lo;
}

void GapTree::note_leaf(Path* path, std::uint32_t d, const Node* leaf, std::uint64_t lo) {
  if (path == nullptr) return;
  path->depth = d;
  path->leaf = const_cast<Node*>(leaf);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  path->leaf_lo = lo;
}

// Highest fit in the subtree n (gaps from lo). Children whose summary
// guarantees a fit are entered once and succeed; only the (at most two per
// level) children cut by the window's ends can fail after being entered.
bool GapTree::search_down(const Node* n, std::uint64_t lo, const Window& w, std::uint64_t& out, Path* path,
                          std::uint32_t d) const {
  if (n->height == 0) {
    ++w.leaves;
    note_leaf(path, d, n, lo);
    const std::uint64_t* f = firsts(n);
    const std::uint64_t* l = lasts(n);
    if (lo >= w.low && f[n->count - 1] - 1 <= w.high) {
      // The window holds all of this leaf's gaps (the usual case below the
      // boundary paths): no clipping, and a test of two comparisons per
      // gap, since the scan passes many gaps too short or too unaligned.
      const std::uint64_t keep = ~w.align_mask;
      for (std::uint32_t i = n->count; i-- > 0;) {
        const std::uint64_t a = i == 0 ? lo : l[i - 1] + 1;
        if (f[i] - a >= w.size && ((f[i] - w.size) & keep) >= a) {
          out = (f[i] - w.size) & keep;
          return true;
        }
      }
      return false;
    }
    for (std::uint32_t i = n->count; i-- > 0;) {
      const std::uint64_t a = i == 0 ? lo : l[i - 1] + 1;
      if (f[i] == a) continue;
      const std::uint64_t b = f[i] - 1;
      if (b < w.low) return false;
      if (fit_down(a, b, w.size, w.align_mask, w.low, w.high, out)) return true;
    }
    return false;
  }
  const std::uint64_t* h = highs(n);
  auto enter = [&](std::uint32_t i) {
    note(path, d, n, i, lo);
    const Node* c = children(n)[i];
    prefetch_node(c, n->height - 1);
    if (c->height > 0) {
      // The search tests children from the last one down: the lanes of the
      // last eight (256 bytes, within five lines).
      const std::uint32_t from = c->count > 8 ? c->count - 8 : 0;
      prefetch_fixed<5>(lanes(c) + std::size_t{from} * kLanes);
    }
    return search_down(c, child_lo(h, i, lo), w, out, path, d + 1);
  };
  if (lo >= w.low && h[n->count - 1] <= w.high) {
    // Every child lies inside the window and one row decides a fit
    // exactly: the highest child that fits is the answer's subtree, found
    // by a scan of one row (about 30 children are passed per W1 pair).
    std::uint32_t i = n->count;
    if (w.order == 0) {
      const std::uint64_t* g = max_gaps(n);
      while (i > 0 && g[i - 1] < w.size) --i;
    } else if (w.wide) {
      const std::uint64_t* const* rows = wides(n);
      while (i > 0 && !wide_holds(rows[i - 1], w.wide_index, w.size)) --i;
    } else if (w.shortfalls) {
      const std::uint64_t* g = max_gaps(n);
      const std::uint16_t* sf = shortfalls(n);
      while (i > 0 && !shortfalls_hold(g[i - 1], sf[std::size_t{i - 1} * kLanes + w.lane], w.size)) --i;
    } else {
      const std::uint16_t* lane = lanes(n) + std::size_t{i - 1} * kLanes + w.lane;
      while (i > 0 && *lane < w.size) {
        --i;
        lane -= kLanes;  // at i == 0: inside the wides row before, not read
      }
    }
    return i > 0 && enter(i - 1);
  }
  for (std::uint32_t i = n->count; i-- > 0;) {
    const std::uint64_t clo = child_lo(h, i, lo);
    if (clo > w.high) continue;
    if (h[i] <= w.low) return false;  // the child's gaps end below h[i]
    if (!holds(n, i, w)) continue;
    if (enter(i)) return true;
  }
  return false;
}

bool GapTree::search_up(const Node* n, std::uint64_t lo, const Window& w, std::uint64_t& out, Path* path,
                        std::uint32_t d) const {
  if (n->height == 0) {
    ++w.leaves;
    note_leaf(path, d, n, lo);
    return visit_gaps_up(firsts(n), lasts(n), n->count, lo, w.high, [&](std::uint64_t a, std::uint64_t b) {
      return fit_up(a, b, w.size, w.align_mask, w.low, w.high, out);
    });
  }
  const std::uint64_t* h = highs(n);
  for (std::uint32_t i = 0; i < n->count; ++i) {
    const std::uint64_t clo = child_lo(h, i, lo);
    if (clo > w.high) return false;
    if (h[i] <= w.low) continue;
    if (!holds(n, i, w)) continue;
    note(path, d, n, i, lo);
    if (search_up(children(n)[i], clo, w, out, path, d + 1)) return true;
  }
  return false;
}

// Lowers `best` to the smallest length class >= w.min_class among the gaps
// of the subtree clipped to the window.
void GapTree::min_class(const Node* n, std::uint64_t lo, const Window& w, std::uint32_t& best) const {
  if (n->height == 0) {
    ++w.leaves;
    visit_gaps_up(firsts(n), lasts(n), n->count, lo, w.high, [&](std::uint64_t start, std::uint64_t end) {
      const std::uint64_t a = std::max(start, w.low);
      const std::uint64_t b = std::min(end, w.high);
      if (a <= b) {
        const std::uint32_t c = floor_log2(b - a + 1);
        if (c >= w.min_class && c < best) best = c;
      }
      return false;
    });
    return;
  }
  const std::uint64_t* h = highs(n);
  for (std::uint32_t i = 0; i < n->count; ++i) {
    const std::uint64_t clo = child_lo(h, i, lo);
    if (clo > w.high) return;
    if (h[i] <= w.low) continue;
    // Clipping only shortens a gap, so a child without a gap of class >=
    // min_class cannot help; a child cut by the window may hold a long gap
    // whose clipped part falls in a smaller class, so only the children
    // wholly inside can be judged by their mask.
    const std::uint64_t candidates = masks(n)[i] & ~low_mask(w.min_class);
    if (candidates == 0) continue;
    if (clo >= w.low && h[i] <= w.high) {
      const std::uint64_t better = candidates & low_mask(best);
      if (better != 0) best = static_cast<std::uint32_t>(std::countr_zero(better));
    } else {
      min_class(children(n)[i], clo, w, best);
    }
  }
}

// The lowest gap whose clipped length has class `cls`, at its lowest aligned
// position (which fits: the gap is at least 2^cls >= size + alignment - 1).
bool GapTree::find_class(const Node* n, std::uint64_t lo, const Window& w, std::uint32_t cls, std::uint64_t& out,
                         Path* path, std::uint32_t d) const {
  if (n->height == 0) {
    ++w.leaves;
    note_leaf(path, d, n, lo);
    return visit_gaps_up(firsts(n), lasts(n), n->count, lo, w.high, [&](std::uint64_t start, std::uint64_t end) {
      const std::uint64_t a = std::max(start, w.low);
      const std::uint64_t b = std::min(end, w.high);
      if (a > b || floor_log2(b - a + 1) != cls) return false;
      out = a + ((std::uint64_t{0} - a) & w.align_mask);
      return true;
    });
  }
  const std::uint64_t* h = highs(n);
  for (std::uint32_t i = 0; i < n->count; ++i) {
    const std::uint64_t clo = child_lo(h, i, lo);
    if (clo > w.high) return false;
    if (h[i] <= w.low) continue;
    const std::uint64_t mask = masks(n)[i];
    const bool inside = clo >= w.low && h[i] <= w.high;
    if (inside ? ((mask >> cls) & 1U) == 0 : (mask & ~low_mask(cls)) == 0) continue;
    note(path, d, n, i, lo);
    if (find_class(children(n)[i], clo, w, cls, out, path, d + 1)) return true;
  }
  return false;
}

}  // namespace iovakit::iova
