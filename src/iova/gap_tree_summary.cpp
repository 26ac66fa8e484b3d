// The GapTree's gap summaries: a leaf's from its entries, an inner node's
// from its slots, and their upward propagation after an insert or erase
// (design: iovakit/iova/gap_tree.h, "Every inner node keeps").
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "gap_tree_node.h"
#include "iovakit/iova/gap_tree.h"

namespace iovakit::iova {

namespace {

using gap_tree_impl::floor_log2;
using gap_tree_impl::Lanes;

constexpr std::uint32_t kLanes = GapTree::kLanes;
constexpr std::uint64_t kLaneCap = GapTree::kLaneCap;

// The 16 lanes of a summary are two 8 x 16-bit vectors (SSE2 registers on
// x86-64, NEON on arm64). GCC does not vectorise the plain loops (it sees the
// row accesses as a complicated access pattern), so the update path spells
// the vector operations out with the GCC/Clang vector extension.
typedef std::uint16_t LaneVec __attribute__((vector_size(16)));  // NOLINT(modernize-use-using)
constexpr std::size_t kVecLanes = sizeof(LaneVec) / sizeof(std::uint16_t);
static_assert(kLanes == 2 * kVecLanes, "a summary is two lane vectors");

LaneVec load_lanes(const std::uint16_t* p) {
  LaneVec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store_lanes(std::uint16_t* p, LaneVec v) { std::memcpy(p, &v, sizeof v); }
LaneVec max_vec(LaneVec a, LaneVec b) { return a > b ? a : b; }
// max(a - b, 0) per lane. On x86-64 through the SSE2 intrinsic (psubusw,
// one instruction): GCC 12 turns the generic form below into an unsigned
// max (two instructions on SSE2) and a subtraction, and a leaf summary does
// this twice per gap (45 -> 36 instructions per gap, docs/performance.md).
// Elsewhere the generic form.
LaneVec sub_sat(LaneVec a, LaneVec b) {
#if defined(__SSE2__)
  return std::bit_cast<LaneVec>(_mm_subs_epu16(std::bit_cast<__m128i>(a), std::bit_cast<__m128i>(b)));
#else
  return max_vec(a, b) - b;
#endif
}
// min(a + b, 0xffff) per lane (paddusw on x86-64).
LaneVec add_sat(LaneVec a, LaneVec b) {
#if defined(__SSE2__)
  return std::bit_cast<LaneVec>(_mm_adds_epu16(std::bit_cast<__m128i>(a), std::bit_cast<__m128i>(b)));
#else
  const LaneVec sum = a + b;
  return sum | reinterpret_cast<LaneVec>(sum < a);
#endif
}
LaneVec min_vec(LaneVec a, LaneVec b) { return a < b ? a : b; }
LaneVec splat(std::uint64_t v) { return LaneVec{} + static_cast<std::uint16_t>(v); }
bool any_set(LaneVec v) {
  std::array<std::uint64_t, 2> words{};
  std::memcpy(words.data(), &v, sizeof v);
  return (words[0] | words[1]) != 0;
}

}  // namespace

bool GapTree::same(const Summary& a, const Summary& b) {
  const LaneVec diff = (load_lanes(a.lanes.data()) ^ load_lanes(b.lanes.data())) |
                       (load_lanes(a.lanes.data() + kVecLanes) ^ load_lanes(b.lanes.data() + kVecLanes));
  const LaneVec short_diff =
      (load_lanes(a.shortfalls.data()) ^ load_lanes(b.shortfalls.data())) |
      (load_lanes(a.shortfalls.data() + kVecLanes) ^ load_lanes(b.shortfalls.data() + kVecLanes));
  return !any_set(diff | short_diff) && a.high == b.high && a.mask == b.mask && a.gap == b.gap && a.wide == b.wide;
}

namespace {

// The lanes of the gap [a, a + length - 1]: lane k-1 is min(kLaneCap,
// largest size that fits at alignment 2^k). Aligning the start to 2^k wastes
// w = (-a) mod 2^k < 2^16 granules, so the size is length - w (or nothing
// when w >= length).
constexpr LaneVec kLowMasks = {0x1, 0x3, 0x7, 0xf, 0x1f, 0x3f, 0x7f, 0xff};
constexpr LaneVec kHighMasks = {0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff, 0xffff};

std::array<LaneVec, 2> gap_lanes(std::uint64_t a, std::uint64_t length) {
  const LaneVec neg = splat(std::uint64_t{0} - a);
  const LaneVec waste_low = neg & kLowMasks;
  const LaneVec waste_high = neg & kHighMasks;
  if (length <= kLaneCap) {
    const LaneVec len = splat(length);
    return {sub_sat(len, waste_low), sub_sat(len, waste_high)};
  }
  if (length < 2 * kLaneCap) {
    // length - w exceeds the cap exactly when w < length - cap.
    const LaneVec cap = splat(kLaneCap);
    const LaneVec excess = splat(length - kLaneCap);
    return {cap - sub_sat(waste_low, excess), cap - sub_sat(waste_high, excess)};
  }
  return {splat(kLaneCap), splat(kLaneCap)};
}

// Shortfalls (gap_tree.h, "shortfalls"): a slot whose largest gap g is past
// the lane cap keeps, per order k <= kLanes, g - fit[k] where fit[k] is the
// largest size that fits at 2^k in one of its long gaps (those past the
// cap: only they hold a size past the cap). The gap of length g alone fits
// g - w at 2^k (w < 2^k the granules lost to the alignment), so the value
// is below 2^16 and a 16-bit row holds it exactly; a part whose candidate
// saturates at 0xffff cannot be the minimum.
struct Shortfalls {
  LaneVec low = splat(kLaneCap);
  LaneVec high = splat(kLaneCap);

  // A long gap, or a part whose largest gap h is long, with its own
  // shortfalls (a gap's are its wastes): its fit is h - shortfall, so g -
  // fit = (g - h) + shortfall.
  void add_long(std::uint64_t g, std::uint64_t h, LaneVec short_low, LaneVec short_high) {
    const std::uint64_t below = g - h;
    if (below >= kLaneCap) return;
    low = min_vec(low, add_sat(splat(below), short_low));
    high = min_vec(high, add_sat(splat(below), short_high));
  }
  void store(Lanes& out) const {
    store_lanes(out.data(), low);
    store_lanes(out.data() + kVecLanes, high);
  }
};

// Only a gap whose top order reaches kWideMin (GapTree::gap_top_order)
// fits anything at the orders of the wide rows.
constexpr std::uint32_t kWideMin = GapTree::kWideMin;

// Whether some gap inside [a, b] may have a part in the wide rows: [a, b]
// holds a multiple of 2^kWideMin.
bool crosses_wide(std::uint64_t a, std::uint64_t b) { return (a == 0) | ((((a - 1) ^ b) >> kWideMin) != 0); }

void raise_lanes(Lanes& lanes, std::uint64_t a, std::uint64_t length) {
  const std::array<LaneVec, 2> v = gap_lanes(a, length);
  store_lanes(lanes.data(), max_vec(load_lanes(lanes.data()), v[0]));
  store_lanes(lanes.data() + kVecLanes, max_vec(load_lanes(lanes.data() + kVecLanes), v[1]));
}

// The OR of row[0 .. count), two elements per step.
std::uint64_t or_row(const std::uint64_t* row, std::uint32_t count) {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint32_t c = 0;
  for (; c + 1 < count; c += 2) {
    a |= row[c];
    b |= row[c + 1];
  }
  if (c < count) a |= row[c];
  return a | b;
}

// The maximum of row[0 .. count), two chains without branches (it used to
// stop at the first child reaching the old maximum, a branch per element
// that cost about 115 instructions per recomputation against 50 now).
std::uint64_t max_row(const std::uint64_t* row, std::uint32_t count) {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint32_t c = 0;
  for (; c + 1 < count; c += 2) {
    a = std::max(a, row[c]);
    b = std::max(b, row[c + 1]);
  }
  if (c < count) a = std::max(a, row[c]);
  return std::max(a, b);
}

// The lane-wise maximum over `count` consecutive rows, kept in registers.
void max_rows(Lanes& out, const std::uint16_t* rows, std::uint32_t count) {
  LaneVec low{};
  LaneVec high{};
  for (std::uint32_t c = 0; c < count; ++c) {
    low = max_vec(low, load_lanes(rows + std::size_t{c} * kLanes));
    high = max_vec(high, load_lanes(rows + std::size_t{c} * kLanes + kVecLanes));
  }
  store_lanes(out.data(), low);
  store_lanes(out.data() + kVecLanes, high);
}

}  // namespace

void GapTree::leaf_summary(const Node* leaf, std::uint64_t lo, Summary& out) const {
  std::uint64_t mask = 0;
  std::uint64_t gap = 0;
  LaneVec low{};
  LaneVec high{};
  const std::uint64_t* f = firsts(leaf);
  const std::uint64_t* l = lasts(leaf);
  std::uint64_t a = lo;
  for (std::uint32_t i = 0; i < leaf->count; ++i) {
    if (f[i] > a) {
      // Gap [a, f[i] - 1]; it ends below an entry, so its length fits.
      const std::uint64_t length = f[i] - a;
      mask |= std::uint64_t{1} << floor_log2(length);
      gap = std::max(gap, length);
      const std::array<LaneVec, 2> v = gap_lanes(a, length);
      low = max_vec(low, v[0]);
      high = max_vec(high, v[1]);
    }
    a = l[i] + 1;
  }
  out.mask = mask;
  out.gap = gap;
  out.wide = false;
  out.shortfalls = Lanes{};
  // The shortfalls and whether the leaf has a wide row in a second pass,
  // only in a leaf with a long gap or one whose gaps span a multiple of
  // 2^kWideMin: in the loop above their accumulators took registers that
  // cost the loop about 80 instructions per W1 pair, whose leaves have no
  // long gap but the lowest, and rarely a wide row. The wide row itself is
  // computed apart (child_wide), when the update reaches it.
  // a is now one past the last entry: every gap lies in [lo, a - 1].
  if ((gap > kLaneCap) | crosses_wide(lo, a - 1)) [[unlikely]] {
    Shortfalls shortfalls;
    a = lo;
    for (std::uint32_t i = 0; i < leaf->count; ++i) {
      if (f[i] > a) {
        const std::uint64_t length = f[i] - a;
        if (length > kLaneCap) {
          // Its fit at 2^k is length - w (w < 2^16 < length): its
          // shortfalls are the wastes.
          const LaneVec neg = splat(std::uint64_t{0} - a);
          shortfalls.add_long(gap, length, neg & kLowMasks, neg & kHighMasks);
        }
        out.wide = out.wide || gap_top_order(a, f[i] - 1) >= kWideMin;
      }
      a = l[i] + 1;
    }
    if (gap > kLaneCap) shortfalls.store(out.shortfalls);
  }
  store_lanes(out.lanes.data(), low);
  store_lanes(out.lanes.data() + kVecLanes, high);
  out.high = leaf->count == 0 ? 0 : l[leaf->count - 1];
}

void GapTree::inner_summary(const Node* n, Summary& out) const {
  out.mask = or_row(masks(n), n->count);
  out.gap = max_row(max_gaps(n), n->count);
  out.wide = std::any_of(wides(n), wides(n) + n->count, [](const std::uint64_t* r) { return r != nullptr; });
  max_rows(out.lanes, lanes(n), n->count);
  out.high = highs(n)[n->count - 1];
  shortfall_row(n, out.gap, out.shortfalls);
}

// The shortfalls of a slot whose children are n's and whose largest gap is
// g: zero unless g is past the lane cap. Child `changed`, when given, is
// taken to have the largest gap `changed_gap` instead of its stored one
// (propagate_shortfalls runs before propagate() writes it).
void GapTree::shortfall_row(const Node* n, std::uint64_t g, Lanes& out, std::uint32_t changed,
                            std::uint64_t changed_gap) const {
  out = Lanes{};
  if (g <= kLaneCap) return;
  Shortfalls acc;
  const std::uint64_t* gaps = max_gaps(n);
  for (std::uint32_t c = 0; c < n->count; ++c) {
    const std::uint64_t h = c == changed ? changed_gap : gaps[c];
    if (h <= kLaneCap) continue;
    const std::uint16_t* short_row = shortfalls(n) + std::size_t{c} * kLanes;
    acc.add_long(g, h, load_lanes(short_row), load_lanes(short_row + kVecLanes));
  }
  acc.store(out);
}

void GapTree::child_summary(const Node* child, std::uint64_t lo, Summary& out) const {
  if (child->height == 0) {
    leaf_summary(child, lo, out);
  } else {
    inner_summary(child, out);
  }
}

void GapTree::write_slot(Node* n, std::uint32_t i, const Summary& s) const {
  highs(n)[i] = s.high;
  masks(n)[i] = s.mask;
  max_gaps(n)[i] = s.gap;
  std::uint16_t* row = lanes(n) + std::size_t{i} * kLanes;
  store_lanes(row, load_lanes(s.lanes.data()));
  store_lanes(row + kVecLanes, load_lanes(s.lanes.data() + kVecLanes));
  std::uint16_t* short_row = shortfalls(n) + std::size_t{i} * kLanes;
  store_lanes(short_row, load_lanes(s.shortfalls.data()));
  store_lanes(short_row + kVecLanes, load_lanes(s.shortfalls.data() + kVecLanes));
}

// The wide row too: write_slot leaves it, which only the child can give.
void GapTree::recompute_slot(Node* n, std::uint32_t i, std::uint64_t lo) const {
  Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): child_summary fills it
  const Node* child = children(n)[i];
  child_summary(child, lo, s);
  write_slot(n, i, s);
  if (s.wide) {
    gap_tree_impl::WideFits row;  // NOLINT(cppcoreguidelines-pro-type-member-init): child_wide fills it
    child_wide(child, lo, row.data());
    store_wide(n, i, row.data());
  } else {
    store_wide(n, i, nullptr);
  }
}

// `fresh` is the new summary of the child at path.index[depth-1] of
// path.node[depth-1]. Writes it and walks up, deriving each parent's new
// aggregate from its old one (stored in the grandparent) and the change.
// A maximum is recomputed over the parent's children only when this child
// held it and went down; for the lanes that is a short loop of vector max
// operations. Stops as soon as a slot does not change.
void GapTree::propagate(const Path& path, Summary& fresh) const {
  if (path.depth == 0) return;
  {
    // Only a child with a wide row, before or after, can change one. In W1
    // that is the lowest leaf, whose gap from 0 shrinks with every
    // allocation that lands there: 38% of the operations at N = 1e5, about
    // 125 instructions per pair, no difference in time measured
    // (docs/performance.md).
    const Node* slot_node = path.node[path.depth - 1];
    const std::uint32_t slot = path.index[path.depth - 1];
    if (fresh.wide || wides(slot_node)[slot] != nullptr) [[unlikely]] {
      propagate_wides(path);
    }
    // The shortfalls the same way: without a long gap in the child, before
    // or after, no long gap changed, and no row of shortfalls can.
    if (std::max(fresh.gap, max_gaps(slot_node)[slot]) > kLaneCap) [[unlikely]] {
      propagate_shortfalls(path, fresh.gap, fresh.shortfalls);
    }
  }
  // The child's new summary and its slot's old one, in registers: a level's
  // old slot is the aggregate the level below read from it (the compiler
  // cannot see that and would load it twice, through memory).
  std::uint64_t high = fresh.high;
  std::uint64_t mask = fresh.mask;
  std::uint64_t gap = fresh.gap;
  LaneVec low_lanes = load_lanes(fresh.lanes.data());
  LaneVec high_lanes = load_lanes(fresh.lanes.data() + kVecLanes);
  std::uint32_t d = path.depth - 1;
  Node* parent = path.node[d];
  std::uint32_t i = path.index[d];
  std::uint64_t old_high = highs(parent)[i];
  std::uint64_t old_mask = masks(parent)[i];
  std::uint64_t old_gap = max_gaps(parent)[i];
  LaneVec old_low = load_lanes(lanes(parent) + std::size_t{i} * kLanes);
  LaneVec old_high_lanes = load_lanes(lanes(parent) + std::size_t{i} * kLanes + kVecLanes);
  for (;;) {
    if (!any_set((old_low ^ low_lanes) | (old_high_lanes ^ high_lanes)) && old_high == high && old_mask == mask &&
        old_gap == gap) {
      return;
    }
    highs(parent)[i] = high;
    masks(parent)[i] = mask;
    max_gaps(parent)[i] = gap;
    store_lanes(lanes(parent) + std::size_t{i} * kLanes, low_lanes);
    store_lanes(lanes(parent) + std::size_t{i} * kLanes + kVecLanes, high_lanes);
    if (d == 0) return;

    Node* grand = path.node[d - 1];
    const std::uint32_t j = path.index[d - 1];
    const std::uint32_t count = parent->count;
    const std::uint64_t agg_mask = masks(grand)[j];
    const std::uint64_t agg_gap = max_gaps(grand)[j];
    const LaneVec agg_low = load_lanes(lanes(grand) + std::size_t{j} * kLanes);
    const LaneVec agg_high = load_lanes(lanes(grand) + std::size_t{j} * kLanes + kVecLanes);

    std::uint64_t next_mask = agg_mask | mask;
    if ((mask & old_mask) != old_mask) next_mask = or_row(masks(parent), count);

    std::uint64_t next_gap = agg_gap;
    if (gap >= agg_gap) {
      next_gap = gap;
    } else if (old_gap == agg_gap) {
      next_gap = max_row(max_gaps(parent), count);
    }

    // Per lane: the new maximum is max(old aggregate, this child), unless
    // this child held the aggregate and went down.
    LaneVec next_low = max_vec(agg_low, low_lanes);
    LaneVec next_high = max_vec(agg_high, high_lanes);
    if (any_set(((old_low == agg_low) & (low_lanes < agg_low)) |
                ((old_high_lanes == agg_high) & (high_lanes < agg_high)))) {
      Lanes all;  // NOLINT(cppcoreguidelines-pro-type-member-init): max_rows fills it
      max_rows(all, lanes(parent), count);
      next_low = load_lanes(all.data());
      next_high = load_lanes(all.data() + kVecLanes);
    }

    old_high = highs(grand)[j];
    old_mask = agg_mask;
    old_gap = agg_gap;
    old_low = agg_low;
    old_high_lanes = agg_high;
    high = highs(parent)[count - 1];
    mask = next_mask;
    gap = next_gap;
    low_lanes = next_low;
    high_lanes = next_high;
    parent = grand;
    i = j;
    --d;
  }
}

// The shortfalls rows on their own, like the wide rows: a slot's row follows
// the long gaps below it, so only a child with a long gap, before or after,
// starts this. Writes the child's row into its slot and walks up, deriving
// each parent's largest gap and row from its slots (the one on the path
// with its new largest gap, which propagate() writes afterwards), while a
// slot changes in what its parent reads: its row, or its largest gap when
// that is or was long.
void GapTree::propagate_shortfalls(const Path& path, std::uint64_t gap, const Lanes& fresh_row) const {
  Lanes row = fresh_row;
  for (std::uint32_t d = path.depth; d-- > 0;) {
    Node* parent = path.node[d];
    const std::uint32_t i = path.index[d];
    std::uint16_t* stored = shortfalls(parent) + std::size_t{i} * kLanes;
    const std::uint64_t old_gap = max_gaps(parent)[i];
    const bool row_same = std::memcmp(row.data(), stored, sizeof(Lanes)) == 0;
    if (row_same && (gap == old_gap || std::max(gap, old_gap) <= kLaneCap)) return;
    if (!row_same) std::memcpy(stored, row.data(), sizeof(Lanes));
    if (d == 0) return;  // the root's own aggregate is kept nowhere
    // The parent's largest gap, with this slot's new one (its stored one is
    // still the old one), and its row over its long children.
    const std::uint64_t* gaps = max_gaps(parent);
    std::uint64_t g = gap;
    std::uint32_t other_longs = 0;
    for (std::uint32_t c = 0; c < parent->count; ++c) {
      const std::uint64_t h = c == i ? 0 : gaps[c];
      g = std::max(g, h);
      other_longs += h > kLaneCap ? 1 : 0;
    }
    if (other_longs == 0) {
      // This slot alone may be long (W1's path to its lowest leaf): the
      // parent's row is its row, or none.
      if (g <= kLaneCap) row = Lanes{};
    } else {
      shortfall_row(parent, g, row, i, gap);
    }
    gap = g;
  }
}

// The leaf's gaps only grew or merged (an erase): its new summary is its old
// one raised by the grown gap [a, b], which replaced gaps of `below` and
// `above` granules (0: none). Only the length classes can vanish: a class of
// a replaced gap stays when another gap of the leaf still has it, and the
// scan for those stops as soon as both are found (most leaves repeat their
// few classes; a full pass cost about 330 instructions per erase). When the
// grown gap is longer than the lane cap the leaf is recomputed instead: a
// replaced gap may have been long too, and its part in the shortfalls
// could vanish. A shorter grown gap replaced
// only short gaps, which have none. So too when the grown gap crosses a
// multiple of 2^kWideMin: the leaf's wide row changes (propagate_wides
// recomputes it from the leaf). One that does not replaced only gaps
// without a part in the wide rows.
void GapTree::raise_leaf(const Path& path, std::uint64_t a, std::uint64_t b, std::uint64_t below,
                         std::uint64_t above) const {
  Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): read_slot or leaf_summary fills it
  const Node* leaf = path.leaf;
  const std::uint64_t length = b - a + 1;  // at least below and above
  if (length > kLaneCap || crosses_wide(a, b)) [[unlikely]] {
    leaf_summary(leaf, path.leaf_lo, s);
    propagate(path, s);
    return;
  }
  read_slot(path.node[path.depth - 1], path.index[path.depth - 1], s);
  s.gap = std::max(s.gap, length);
  raise_lanes(s.lanes, a, length);
  const std::uint64_t grown = std::uint64_t{1} << floor_log2(length);
  std::uint64_t gone = 0;
  if (below != 0) gone |= std::uint64_t{1} << floor_log2(below);
  if (above != 0) gone |= std::uint64_t{1} << floor_log2(above);
  gone &= ~grown;
  std::uint64_t kept = 0;
  if (gone != 0) {
    const std::uint64_t* f = firsts(leaf);
    const std::uint64_t* l = lasts(leaf);
    std::uint64_t start = path.leaf_lo;
    for (std::uint32_t i = 0; i < leaf->count && kept != gone; ++i) {
      if (f[i] > start) kept |= gone & (std::uint64_t{1} << floor_log2(f[i] - start));
      start = l[i] + 1;
    }
  }
  s.mask = ((s.mask & ~gone) | kept) | grown;
  s.high = lasts(leaf)[leaf->count - 1];
  propagate(path, s);
}

// The gap holding pfn grew downwards to start at gap_start (its owner, the
// first entry above pfn, is the first entry of the next leaf).
void GapTree::refresh_gap_owner(std::uint64_t pfn, std::uint64_t gap_start) {
  if (size_ == 0 || root_->height == 0 || pfn > node_high(root_)) return;
  Path path;
  descend(pfn, path);
  const std::uint64_t first = firsts(path.leaf)[0];
  raise_leaf(path, gap_start, first - 1, 0, first - (pfn + 1));
}

// Recomputes the summary of the leaf that owns the gap holding pfn.
void GapTree::recompute_gap_owner(std::uint64_t pfn) {
  if (size_ == 0 || root_->height == 0 || pfn > node_high(root_)) return;
  Path path;
  descend(pfn, path);
  Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): leaf_summary fills it
  leaf_summary(path.leaf, path.leaf_lo, s);
  propagate(path, s);
}

}  // namespace iovakit::iova
