// gap_tree_node.h (private to the library): what the GapTree sources
// share: the node layout, the structures an operation builds on its stack,
// and the accessors every hot path is made of.
//
// The tree's code is split by concept; its design is in
// iovakit/iova/gap_tree.h:
//
//   gap_tree.cpp          construction, node memory, slot moves, descent,
//                         lookups, the invariant check
//   gap_tree_summary.cpp  gap summaries and their upward propagation
//   gap_tree_wide.cpp     wide rows: exact fits past the lanes
//   gap_tree_edit.cpp     insert and erase: leaf and slot edits, shifts into
//                         siblings, splits, merges, borrows
//   gap_tree_search.cpp   the searches of the three policies
//
// The accessors are defined here, inline, because every file's hot path is
// made of them and the library is built without link-time optimisation (an
// out-of-line call per row access would cost more than the access).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "iovakit/iova/gap_tree.h"

namespace iovakit::iova {

namespace gap_tree_impl {

// Inner levels on a path. Every non-root inner node keeps at least two
// children, so 2^64 entries fit in 64 levels.
constexpr std::uint32_t kMaxDepth = 72;

using Lanes = std::array<std::uint16_t, GapTree::kLanes>;

// A slot's exact fits past the lanes (gap_tree.h, "wide rows"): fit[k -
// kWideMin] is the largest size that fits at alignment 2^k in one of the
// subtree's gaps (0: none), max over gaps [a, b] of b + 1 - align_up(a,
// 2^k), for k = kWideMin up to the space's largest order. On the heap, the
// tree's wide_row_bytes(), for a slot that has a gap across a multiple of
// 2^kWideMin; room for every order when built on the stack.
using WideFits = std::array<std::uint64_t, GapTree::kWideOrders>;

// An inner node's rows of one 64-bit word per child: highs, children, masks,
// max_gaps, wides. The lanes follow them.
constexpr std::size_t kScalarRows = 5;
// Then rows of kLanes 16-bit values per child: lanes, shortfalls.
constexpr std::size_t kLaneRows = 2;

inline std::uint64_t low_mask(std::uint32_t bits) {
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

// floor(log2(v)); 0 for 0, which no caller passes (it keeps shifts by the
// result defined whatever the input).
inline std::uint32_t floor_log2(std::uint64_t v) {
  return v == 0 ? 0 : 63U - static_cast<std::uint32_t>(std::countl_zero(v));
}

// The anchor order of the gap [a, b]: the largest t such that it holds a
// multiple of 2^t. For a >= 1, a - 1 and b agree above their highest
// differing bit t and b has bit t set, so b with the bits below t cleared
// (the gap's anchor, its point with the most trailing zeros) is a multiple
// of 2^t and of no higher power; 64 for a gap starting at 0. A gap fits
// something at alignment 2^k only if k <= t.
inline std::uint32_t anchor_order(std::uint64_t a, std::uint64_t b) { return a == 0 ? 64 : floor_log2((a - 1) ^ b); }

// A cache line: 64 bytes on x86-64 and most arm64 cores (on a core with
// larger lines, some prefetches are redundant).
constexpr std::uintptr_t kLine = 64;

// `bytes` from p: what a descent reads of a node (a leaf's header, firsts and
// lasts; an inner node's header, highs and children). Fetching those lines
// at once turns the dependent misses of the binary search into one wait.
// Two lines per step (the loop's own instructions cost as much as the
// prefetches, about 470 per W1 pair one line at a time); the second may
// fall one line past the end, which costs a little bandwidth at most (a
// prefetch never faults).
[[gnu::always_inline]] inline void prefetch_lines(const void* p, std::size_t bytes) {
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t end = start + bytes;
  for (std::uintptr_t at = start & ~(kLine - 1); at < end; at += 2 * kLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(at));          // NOLINT(performance-no-int-to-ptr)
    __builtin_prefetch(reinterpret_cast<const void*>(at + kLine));  // NOLINT(performance-no-int-to-ptr)
  }
}

// kLines lines from p's, a count the compiler unrolls: for up to (kLines -
// 1) * 64 bytes, whatever p's alignment. Where the span is that small and
// known to be, this replaces prefetch_lines' loop, whose trip count
// varied with the node's alignment (4 or 5 steps for 528 bytes): about
// 185 instructions per W1 pair, and mispredicted exits
// (docs/performance.md).
//
// Always inlined, as is every function whose only work is prefetches: GCC
// sees a prefetch as free of side effects, so a call to such a function
// that it did not inline early is found "const" and deleted, prefetches
// and all (GCC 12 did so to prefetch_node once this loop was unrolled).
template <std::size_t kLines>
[[gnu::always_inline]] inline void prefetch_fixed(const void* p) {
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(p) & ~(kLine - 1);
  for (std::uintptr_t i = 0; i < kLines; ++i) {
    __builtin_prefetch(reinterpret_cast<const void*>(start + (i * kLine)));  // NOLINT(performance-no-int-to-ptr)
  }
}

// The first position in row[0 .. count) whose value is at or above key
// (row sorted), or count: std::lower_bound without its branch. The
// comparisons of a descent are data, not pattern: GCC 12 compiles
// std::lower_bound, and a ternary in this loop, to a conditional jump that
// missed about half the time (callgrind's branch model: about 13 misses
// per W1 pair over the descents and leaf searches, docs/performance.md).
// The step is masked in instead, so the loop's only branch is its count.
inline std::uint32_t first_not_below(const std::uint64_t* row, std::uint32_t count, std::uint64_t key) {
  if (count == 0) return 0;
  std::uint32_t base = 0;
  std::uint32_t len = count;
  while (len > 1) {
    const std::uint32_t half = len / 2;
    base += half & (0U - static_cast<std::uint32_t>(row[base + half - 1] < key));
    len -= half;
  }
  return base + static_cast<std::uint32_t>(row[base] < key);
}

}  // namespace gap_tree_impl

// Node header. A leaf is followed by firsts[leaf_cap] and lasts[leaf_cap];
// an inner node by arrays of fanout elements: highs, children, masks (length
// classes), max_gaps, wides (a WideRow or null), then lanes[fanout][kLanes]
// and shortfalls[fanout][kLanes]. The lanes of one child are contiguous (32
// bytes) so that the maximum over children is a loop of vector max
// operations. The shortfalls come last: only a slot with a gap past the lane
// cap has them, so W1 almost never reads them and they cost it no cache
// line. The wides row is read on every update (whether the slot has a wide
// row), so it sits with the scalar rows the update reads.
struct GapTree::Node {
  std::uint32_t count = 0;
  std::uint32_t height = 0;    // 0 for leaves
  std::uint64_t reserved = 0;  // leaves: bit i set when entry i is reserved
};

// Filled in full by whoever writes one; left uninitialised on purpose (it is
// built on the update path of every insert and erase).
struct GapTree::Summary {
  std::uint64_t high;
  std::uint64_t mask;
  std::uint64_t gap;
  bool wide;  // some gap crosses a multiple of 2^kWideMin: the slot has a wide row
  gap_tree_impl::Lanes lanes;
  gap_tree_impl::Lanes shortfalls;  // all zero unless gap > kLaneCap
};

// Only node/index/lo[0 .. depth) are meaningful; the arrays are left
// uninitialised on purpose (a path is built on every operation).
struct GapTree::Path {
  std::array<Node*, gap_tree_impl::kMaxDepth> node;           // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::array<std::uint32_t, gap_tree_impl::kMaxDepth> index;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::array<std::uint64_t, gap_tree_impl::kMaxDepth>
      lo;                   // NOLINT(cppcoreguidelines-pro-type-member-init): where node[d]'s gaps start
  std::uint32_t depth = 0;  // inner levels; node[depth - 1] is the leaf's parent
  Node* leaf = nullptr;
  std::uint64_t leaf_lo = 0;
};

struct GapTree::Window {
  std::uint64_t size = 1;
  std::uint32_t order = 0;
  std::uint64_t align_mask = 0;
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  std::uint32_t min_class = 0;  // best fit: the smallest sure-fit length class
  // Which rows decide whether a subtree holds the request (GapTree::holds):
  // order 0, the max_gaps; within the lanes, the lane of the order (size up
  // to the cap) or the max_gaps and shortfalls (past it); past the lanes,
  // the wide rows.
  std::uint32_t lane = 0;        // lanes and shortfalls index for an order 1..kLanes
  bool shortfalls = false;       // order 1..kLanes, size past the lane cap
  bool wide = false;             // order >= kWideMin
  std::uint32_t wide_index = 0;  // order - kWideMin
  // Leaves entered so far, the search's cost measure (GapTree::search). A
  // search holds its Window on its stack, so counting in a const search
  // leaves concurrent readers safe.
  mutable std::uint32_t leaves = 0;
};

inline std::size_t GapTree::row_reserve() const { return wide_orders_ == 0 ? 0 : (4 * std::size_t{root_->height}) + 6; }

// Spare rows kept between updates. A large tree keeps all an update may
// need when they come to at most half a byte per entry (an allocator's
// tree spans the 64-bit space: 4 * 3 + 6 rows of 288 B for 4 KiB granules
// at height 3, kept from about 10,000 entries): reserving them afresh for
// every split or merge and freeing them after cost about 100 instructions
// per W1 pair at 1e6. A small tree keeps only what an update without a
// split or merge needs, a row per level (W1 at 1e3 holds 27.9 B per
// allocation so, 27.4 B without spares, 33.6 B keeping all).
inline std::size_t GapTree::spare_row_cap() const {
  const std::size_t all = row_reserve();
  return all * wide_row_bytes() <= size_ / 2 ? all : std::size_t{root_->height};
}

// Node layout: rows of a node, found from its header and the tree's sizes.

inline std::uint64_t* GapTree::firsts(Node* n) { return reinterpret_cast<std::uint64_t*>(n + 1); }
inline std::uint64_t* GapTree::lasts(Node* n) const { return firsts(n) + leaf_cap_; }
inline const std::uint64_t* GapTree::firsts(const Node* n) { return reinterpret_cast<const std::uint64_t*>(n + 1); }
inline const std::uint64_t* GapTree::lasts(const Node* n) const { return firsts(n) + leaf_cap_; }
inline std::uint64_t* GapTree::highs(Node* n) { return reinterpret_cast<std::uint64_t*>(n + 1); }
inline const std::uint64_t* GapTree::highs(const Node* n) { return reinterpret_cast<const std::uint64_t*>(n + 1); }
inline GapTree::Node** GapTree::children(Node* n) const { return reinterpret_cast<Node**>(highs(n) + fanout_); }
inline GapTree::Node* const* GapTree::children(const Node* n) const {
  return reinterpret_cast<Node* const*>(highs(n) + fanout_);
}
inline std::uint64_t* GapTree::masks(Node* n) const { return highs(n) + 2 * std::size_t{fanout_}; }
inline const std::uint64_t* GapTree::masks(const Node* n) const { return highs(n) + 2 * std::size_t{fanout_}; }
inline std::uint64_t* GapTree::max_gaps(Node* n) const { return highs(n) + 3 * std::size_t{fanout_}; }
inline const std::uint64_t* GapTree::max_gaps(const Node* n) const { return highs(n) + 3 * std::size_t{fanout_}; }
inline std::uint64_t** GapTree::wides(Node* n) const {
  return reinterpret_cast<std::uint64_t**>(highs(n) + 4 * std::size_t{fanout_});
}
inline std::uint64_t* const* GapTree::wides(const Node* n) const {
  return reinterpret_cast<std::uint64_t* const*>(highs(n) + 4 * std::size_t{fanout_});
}
inline std::uint16_t* GapTree::lanes(Node* n) const {
  return reinterpret_cast<std::uint16_t*>(highs(n) + gap_tree_impl::kScalarRows * std::size_t{fanout_});
}
inline const std::uint16_t* GapTree::lanes(const Node* n) const {
  return reinterpret_cast<const std::uint16_t*>(highs(n) + gap_tree_impl::kScalarRows * std::size_t{fanout_});
}
inline std::uint16_t* GapTree::shortfalls(Node* n) const { return lanes(n) + std::size_t{fanout_} * kLanes; }
inline const std::uint16_t* GapTree::shortfalls(const Node* n) const {
  return lanes(n) + std::size_t{fanout_} * kLanes;
}

// Inline: raise_leaf reads a slot on every erase. The lanes are copied with
// memcpy of a constant size, which GCC turns into two vector moves
// (std::copy_n became a call to memmove). The shortfalls are read only when
// the slot's largest gap says they may be nonzero (they are zero otherwise,
// which check() verifies against the stored row with `full`): they are a
// cache line of their own that the update path of a W1 erase would
// otherwise fetch (measured: 6-7% of a pair at N = 1e6,
// docs/performance.md). A slot's wide row is not read here: only whether it
// has one.
inline void GapTree::read_slot(const Node* n, std::uint32_t i, Summary& out, bool full) const {
  out.high = highs(n)[i];
  out.mask = masks(n)[i];
  out.gap = max_gaps(n)[i];
  out.wide = wides(n)[i] != nullptr;
  std::memcpy(out.lanes.data(), lanes(n) + (std::size_t{i} * kLanes), sizeof(gap_tree_impl::Lanes));
  if (full || out.gap > kLaneCap) {
    std::memcpy(out.shortfalls.data(), shortfalls(n) + (std::size_t{i} * kLanes), sizeof(gap_tree_impl::Lanes));
  } else {
    out.shortfalls = gap_tree_impl::Lanes{};
  }
}

// The largest alignment order at which the gap [a, b] fits something in
// this space: its anchor order, capped at the space's largest order. The
// gap has a part in the wide rows when this reaches kWideMin (none does in
// a space without orders past the lanes).
inline std::uint32_t GapTree::gap_top_order(std::uint64_t a, std::uint64_t b) const {
  return std::min(gap_tree_impl::anchor_order(a, b), orders_ - 1);
}

inline GapTree::Entry GapTree::leaf_entry(const Node* leaf, std::uint32_t pos) const {
  return Entry{firsts(leaf)[pos], lasts(leaf)[pos], ((leaf->reserved >> pos) & 1U) != 0};
}

// Of an inner node, the scalar rows: the search and the summary update read
// masks and max_gaps next to highs and children. Every level: leaving out
// the levels above the leaves' parents (a few hundred KiB at 1e6 entries)
// saved about 300 instructions per W1 pair and cost 15% in time.
// Ten lines cover the default tuning's 528 bytes (a leaf of 32 entries, or
// an inner node's first rows at fanout 16); larger tunings take the loop.
[[gnu::always_inline]] inline void GapTree::prefetch_node(const Node* child, std::uint32_t height) const {
  constexpr std::size_t kLines = 10;
  const std::size_t bytes = height == 0 ? leaf_bytes_ : sizeof(Node) + 4 * sizeof(std::uint64_t) * std::size_t{fanout_};
  if (bytes <= (kLines - 1) * gap_tree_impl::kLine) {
    gap_tree_impl::prefetch_fixed<kLines>(child);
  } else {
    gap_tree_impl::prefetch_lines(child, bytes);
  }
}

}  // namespace iovakit::iova
