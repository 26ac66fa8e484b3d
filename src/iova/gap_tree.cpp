// The GapTree's construction, node memory, slot moves, descent, lookups
// and invariant check (design: iovakit/iova/gap_tree.h; how the sources of
// the tree divide the work: gap_tree_node.h).
#include "iovakit/iova/gap_tree.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "gap_tree_node.h"

namespace iovakit::iova {

namespace {

using gap_tree_impl::first_not_below;
using gap_tree_impl::kLaneRows;
using gap_tree_impl::kScalarRows;
using gap_tree_impl::Lanes;

constexpr std::uint32_t kMaxOrders = 64;

}  // namespace

// ---------------------------------------------------------------------------
// Construction and node memory.

GapTree::GapTree(std::uint64_t max_pfn, Tuning tuning)
    : max_pfn_(max_pfn),
      orders_(std::min<std::uint32_t>(kMaxOrders, static_cast<std::uint32_t>(std::bit_width(max_pfn)) + 1)),
      wide_orders_(orders_ > kWideMin ? orders_ - kWideMin : 0),
      leaf_cap_(tuning.leaf_capacity),
      fanout_(tuning.fanout),
      min_leaf_(std::max<std::uint32_t>(1, tuning.leaf_capacity / 4)),
      min_inner_(std::max<std::uint32_t>(2, tuning.fanout / 4)),
      leaf_bytes_(sizeof(Node) + 2 * std::size_t{tuning.leaf_capacity} * sizeof(std::uint64_t)),
      inner_bytes_(sizeof(Node) +
                   std::size_t{tuning.fanout} * (kScalarRows * sizeof(std::uint64_t) + kLaneRows * sizeof(Lanes))),
      leaf_pool_(leaf_bytes_),
      inner_pool_(inner_bytes_) {
  static_assert(sizeof(void*) == sizeof(std::uint64_t), "inner node rows are 8-byte elements");
  if (leaf_cap_ < 4 || leaf_cap_ > 64 || fanout_ < 4 || fanout_ > 64) {
    throw std::invalid_argument(
        fmt::format("GapTree: leaf capacity {} and fanout {} must be within 4..64", leaf_cap_, fanout_));
  }
  leaf_budget_ = 1;
  root_ = new_leaf();
}

GapTree::~GapTree() {
  release();
  trim_spares();
}

GapTree::GapTree(GapTree&& other) noexcept
    : max_pfn_(other.max_pfn_),
      orders_(other.orders_),
      wide_orders_(other.wide_orders_),
      leaf_cap_(other.leaf_cap_),
      fanout_(other.fanout_),
      min_leaf_(other.min_leaf_),
      min_inner_(other.min_inner_),
      leaf_bytes_(other.leaf_bytes_),
      inner_bytes_(other.inner_bytes_),
      leaf_pool_(std::move(other.leaf_pool_)),
      inner_pool_(std::move(other.inner_pool_)),
      root_(std::exchange(other.root_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      leaves_(std::exchange(other.leaves_, 0)),
      inners_(std::exchange(other.inners_, 0)),
      wide_rows_(std::exchange(other.wide_rows_, 0)),
      spare_rows_(std::exchange(other.spare_rows_, nullptr)),
      spare_row_count_(std::exchange(other.spare_row_count_, 0)),
      row_budget_(std::exchange(other.row_budget_, 0)),
      leaf_budget_(std::exchange(other.leaf_budget_, 0)),
      inner_budget_(std::exchange(other.inner_budget_, 0)),
      unreserved_(std::exchange(other.unreserved_, 0)) {}

GapTree& GapTree::operator=(GapTree&& other) noexcept {
  if (this != &other) {
    release();
    trim_spares();
    max_pfn_ = other.max_pfn_;
    orders_ = other.orders_;
    wide_orders_ = other.wide_orders_;
    leaf_cap_ = other.leaf_cap_;
    fanout_ = other.fanout_;
    min_leaf_ = other.min_leaf_;
    min_inner_ = other.min_inner_;
    leaf_bytes_ = other.leaf_bytes_;
    inner_bytes_ = other.inner_bytes_;
    leaf_pool_ = std::move(other.leaf_pool_);
    inner_pool_ = std::move(other.inner_pool_);
    root_ = std::exchange(other.root_, nullptr);
    size_ = std::exchange(other.size_, 0);
    leaves_ = std::exchange(other.leaves_, 0);
    inners_ = std::exchange(other.inners_, 0);
    wide_rows_ = std::exchange(other.wide_rows_, 0);
    spare_rows_ = std::exchange(other.spare_rows_, nullptr);
    spare_row_count_ = std::exchange(other.spare_row_count_, 0);
    row_budget_ = std::exchange(other.row_budget_, 0);
    leaf_budget_ = std::exchange(other.leaf_budget_, 0);
    inner_budget_ = std::exchange(other.inner_budget_, 0);
    unreserved_ = std::exchange(other.unreserved_, 0);
  }
  return *this;
}

void GapTree::release() {
  if (root_ != nullptr) free_subtree(root_);
  root_ = nullptr;
  size_ = 0;
}

// The new leaf first, from the heap (so that the chunks can go), then the
// rest: out of memory, nothing has changed.
void GapTree::clear() {
  void* memory = leaf_pool_.allocate_direct();
  release();
  ++leaves_;
  root_ = new (memory) Node{};
  leaf_pool_.drop_unused_chunks();
  trim_spares();
}

std::size_t GapTree::rows_per_update() const { return row_reserve(); }

// The spares a large tree kept for its updates, once it is one leaf again
// (the memory it started with).
void GapTree::trim_spares() {
  leaf_pool_.trim();
  inner_pool_.trim();
  while (spare_rows_ != nullptr) {
    const std::unique_ptr<std::uint64_t[]> owned(spare_rows_);  // NOLINT(modernize-avoid-c-arrays)
    std::memcpy(&spare_rows_, owned.get(), sizeof spare_rows_);
  }
  spare_row_count_ = 0;
}

// A split's node, from what reserve_split set aside.
GapTree::Node* GapTree::new_leaf() {
  if (leaf_budget_ == 0) {
    ++unreserved_;
  } else {
    --leaf_budget_;
  }
  void* memory = leaf_pool_.allocate();
  ++leaves_;
  return new (memory) Node{};
}

GapTree::Node* GapTree::new_inner(std::uint32_t height) {
  if (inner_budget_ == 0) {
    ++unreserved_;
  } else {
    --inner_budget_;
  }
  void* memory = inner_pool_.allocate();
  ++inners_;
  Node* n = new (memory) Node{};
  n->height = height;
  // Slots are filled by copies and recompute_slot, which replaces a slot's
  // wide row: it must start without one.
  std::fill_n(wides(n), fanout_, nullptr);
  return n;
}

void GapTree::free_node(Node* n) {
  const bool leaf = n->height == 0;
  n->~Node();
  if (leaf) {
    --leaves_;
    leaf_pool_.release(n);
  } else {
    --inners_;
    inner_pool_.release(n);
  }
}

void GapTree::free_subtree(Node* n) {
  if (n->height > 0) {
    for (std::uint32_t i = 0; i < n->count; ++i) free_subtree(children(n)[i]);
    drop_wides(n);
  }
  free_node(n);
}

// After an erase: a few nodes out of the chunk each pool is emptying
// (node_pool.h, "So the pool compacts"). Two per pool per erase, at least
// as many as an erase frees there (a merge frees one node per level, and
// the levels above the leaves merge far more rarely), and each move is a
// descent to the node's parent and a copy, so the erase stays O(log n).
// Out of memory for a copy, it stops: the erase has happened and must not
// report a failure, and the next erase tries again.
void GapTree::compact() {
  constexpr int kMovesPerErase = 2;
  try {
    for (NodePool* pool : {&leaf_pool_, &inner_pool_}) {
      for (int k = 0; k < kMovesPerErase; ++k) {
        void* block = pool->block_to_move();
        if (block == nullptr || !move_node(static_cast<Node*>(block), *pool)) break;
      }
    }
  } catch (const std::bad_alloc&) {
    return;
  }
}

// Copies n into a fresh block of `pool` and points its parent (or root_) at
// the copy. Nothing else holds a node pointer between operations.
bool GapTree::move_node(Node* n, NodePool& pool) {
  Node** ref = referrer(n);
  if (ref == nullptr) return false;  // not in the tree: a broken invariant, leave it
  void* fresh = pool.allocate();
  std::memcpy(fresh, n, n->height == 0 ? leaf_bytes_ : inner_bytes_);
  *ref = static_cast<Node*>(fresh);
  pool.release(n);
  return true;
}

// The pointer to n: root_, or its slot in its parent, found by descending
// with a key n's subtree holds (its first entry's first pfn, or the high of
// its first child).
GapTree::Node** GapTree::referrer(const Node* n) {
  if (n == root_) return &root_;
  if (n->count == 0) return nullptr;
  const std::uint64_t key = n->height == 0 ? firsts(n)[0] : highs(n)[0];
  Node* p = root_;
  while (p->height > n->height + 1) p = children(p)[pick_child(highs(p), p->count, key)];
  if (p->height != n->height + 1) return nullptr;
  Node** slot = &children(p)[pick_child(highs(p), p->count, key)];
  return *slot == n ? slot : nullptr;
}

std::uint32_t GapTree::height() const { return root_ == nullptr ? 0 : root_->height; }

// ---------------------------------------------------------------------------
// Slot moves and descent.

// Moves `count` slots of n (every row) from index `from` to index `to`.
void GapTree::shift_slots(Node* n, std::uint32_t from, std::uint32_t to, std::uint32_t count) const {
  auto* base = reinterpret_cast<unsigned char*>(highs(n));
  const std::size_t row8 = std::size_t{fanout_} * 8;
  const std::size_t to_off = std::size_t{to} * 8;
  const std::size_t from_off = std::size_t{from} * 8;
  const std::size_t bytes = std::size_t{count} * 8;
  for (std::size_t r = 0; r < kScalarRows; ++r)
    std::memmove(base + r * row8 + to_off, base + r * row8 + from_off, bytes);
  const std::size_t row_lanes = std::size_t{fanout_} * sizeof(Lanes);
  for (std::size_t r = 0; r < kLaneRows; ++r) {
    unsigned char* row = base + kScalarRows * row8 + r * row_lanes;
    std::memmove(row + std::size_t{to} * sizeof(Lanes), row + std::size_t{from} * sizeof(Lanes),
                 std::size_t{count} * sizeof(Lanes));
  }
}

void GapTree::copy_slots(Node* dst, std::uint32_t dpos, const Node* src, std::uint32_t spos,
                         std::uint32_t count) const {
  auto* d = reinterpret_cast<unsigned char*>(highs(dst));
  const auto* s = reinterpret_cast<const unsigned char*>(highs(src));
  const std::size_t row8 = std::size_t{fanout_} * 8;
  const std::size_t d_off = std::size_t{dpos} * 8;
  const std::size_t s_off = std::size_t{spos} * 8;
  const std::size_t bytes = std::size_t{count} * 8;
  for (std::size_t r = 0; r < kScalarRows; ++r) std::memcpy(d + r * row8 + d_off, s + r * row8 + s_off, bytes);
  const std::size_t row_lanes = std::size_t{fanout_} * sizeof(Lanes);
  for (std::size_t r = 0; r < kLaneRows; ++r) {
    const std::size_t at = (kScalarRows * row8) + (r * row_lanes);
    std::memcpy(d + at + std::size_t{dpos} * sizeof(Lanes), s + at + std::size_t{spos} * sizeof(Lanes),
                std::size_t{count} * sizeof(Lanes));
  }
}

std::uint64_t GapTree::node_high(const Node* n) const {
  return n->height == 0 ? lasts(n)[n->count - 1] : highs(n)[n->count - 1];
}

// The first child whose high is at or above pfn, or else the last child: a
// branchless binary search over the first count - 1 highs (sorted).
std::uint32_t GapTree::pick_child(const std::uint64_t* highs, std::uint32_t count, std::uint64_t pfn) {
  return first_not_below(highs, count - 1, pfn);
}

void GapTree::descend(std::uint64_t pfn, Path& path) const {
  Node* n = root_;
  std::uint64_t lo = 0;
  std::uint32_t depth = 0;
  while (n->height > 0) {
    const std::uint32_t i = pick_child(highs(n), n->count, pfn);
    path.node[depth] = n;
    path.index[depth] = i;
    path.lo[depth] = lo;
    ++depth;
    lo = child_lo(highs(n), i, lo);
    // The lanes of this slot are read again when the change propagates.
    __builtin_prefetch(lanes(n) + std::size_t{i} * kLanes);
    const std::uint32_t height = n->height - 1;
    n = children(n)[i];
    prefetch_node(n, height);
  }
  path.depth = depth;
  path.leaf = n;
  path.leaf_lo = lo;
}

// ---------------------------------------------------------------------------
// Lookups.

std::optional<GapTree::Entry> GapTree::lower_bound(std::uint64_t pfn) const {
  if (size_ == 0) return std::nullopt;
  Path path;
  descend(pfn, path);
  const Node* leaf = path.leaf;
  const std::uint64_t* l = lasts(leaf);
  const auto pos = first_not_below(l, leaf->count, pfn);
  if (pos == leaf->count) return std::nullopt;
  return leaf_entry(leaf, pos);
}

std::optional<GapTree::Entry> GapTree::find(std::uint64_t pfn) const {
  auto e = lower_bound(pfn);
  if (!e || e->first > pfn) return std::nullopt;
  return e;
}

std::vector<GapTree::Entry> GapTree::overlapping(std::uint64_t low, std::uint64_t high) const {
  std::vector<Entry> out;
  if (size_ == 0 || low > high) return out;
  std::uint64_t key = low;
  while (key <= node_high(root_)) {
    Path path;
    descend(key, path);
    const Node* leaf = path.leaf;
    const std::uint64_t* l = lasts(leaf);
    const std::uint64_t* f = firsts(leaf);
    for (auto pos = first_not_below(l, leaf->count, key); pos < leaf->count; ++pos) {
      if (f[pos] > high) return out;
      out.push_back(leaf_entry(leaf, pos));
    }
    const std::uint64_t leaf_high = l[leaf->count - 1];
    if (leaf_high >= high) break;
    key = leaf_high + 1;
  }
  return out;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> GapTree::gaps(std::uint64_t low, std::uint64_t high) const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  if (low > high) return out;
  std::uint64_t next = low;  // first address not yet accounted for
  bool done = false;
  for (const Entry& e : overlapping(low, high)) {
    if (e.first > next) out.emplace_back(next, e.first - 1);
    if (e.last >= high) {
      done = true;
      break;
    }
    next = e.last + 1;
  }
  if (!done) out.emplace_back(next, high);
  return out;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> GapTree::tail_gap() const {
  if (size_ == 0) return std::make_pair(std::uint64_t{0}, max_pfn_);
  const std::uint64_t h = node_high(root_);
  if (h >= max_pfn_) return std::nullopt;
  return std::make_pair(h + 1, max_pfn_);
}

// ---------------------------------------------------------------------------
// Invariants.

std::string GapTree::check() const {
  if (root_ == nullptr) return "no root (moved-from tree)";
  std::uint64_t prev_last = 0;
  bool have_prev = false;
  std::size_t entries = 0;
  std::string error = check_node(root_, 0, true, prev_last, have_prev, entries);
  if (!error.empty()) return error;
  if (entries != size_) return fmt::format("size() is {} but the leaves hold {} entries", size_, entries);
  if (root_->height > 0 && root_->count < 2) return "inner root with fewer than two children";
  // Every wide row is held by exactly one slot: one kept by two would be
  // freed twice, one by none leaks.
  std::size_t held = 0;
  auto count_wides = [&](auto& self, const Node* n) -> void {
    if (n->height == 0) return;
    for (std::uint32_t i = 0; i < n->count; ++i) {
      held += wides(n)[i] != nullptr ? 1 : 0;
      self(self, children(n)[i]);
    }
  };
  count_wides(count_wides, root_);
  if (held != wide_rows_) return fmt::format("{} wide rows in the slots but {} allocated", held, wide_rows_);
  if (unreserved_ != 0) {
    return fmt::format(
        "updates took {} wide rows or nodes beyond what they reserved (a rule in gap_tree_edit.cpp is wrong)",
        unreserved_);
  }
  return "";
}

std::string GapTree::check_node(const Node* n, std::uint64_t lo, bool is_root, std::uint64_t& prev_last,
                                bool& have_prev, std::size_t& entries) const {
  if (n->height == 0) {
    if (!is_root && n->count == 0) return "empty non-root leaf";
    if (n->count > leaf_cap_) return "leaf over capacity";
    if (n->count < 64 && (n->reserved >> n->count) != 0) return "reserved bits beyond the leaf's entries";
    const std::uint64_t expected_lo = have_prev ? prev_last + 1 : 0;
    if (n->count > 0 && lo != expected_lo) {
      return fmt::format("leaf gap start {:#x} but the previous entry ends at {:#x}", lo, prev_last);
    }
    for (std::uint32_t i = 0; i < n->count; ++i) {
      const Entry e = leaf_entry(n, i);
      if (e.first > e.last) return fmt::format("entry {:#x}-{:#x} is reversed", e.first, e.last);
      if (e.last > max_pfn_) return fmt::format("entry {:#x}-{:#x} is beyond max_pfn", e.first, e.last);
      if (have_prev && e.first <= prev_last) {
        return fmt::format("entry {:#x}-{:#x} overlaps or precedes the one ending at {:#x}", e.first, e.last,
                           prev_last);
      }
      prev_last = e.last;
      have_prev = true;
      ++entries;
    }
    return "";
  }
  if (n->count == 0 || n->count > fanout_) return fmt::format("inner node with {} children", n->count);
  if (!is_root && n->count < min_inner_) return fmt::format("inner node with {} < {} children", n->count, min_inner_);
  for (std::uint32_t i = 0; i < n->count; ++i) {
    const Node* c = children(n)[i];
    if (c->height + 1 != n->height) return "child height mismatch";
    const std::uint64_t clo = child_lo(highs(n), i, lo);
    std::string error = check_node(c, clo, false, prev_last, have_prev, entries);
    if (!error.empty()) return error;
    Summary want;  // NOLINT(cppcoreguidelines-pro-type-member-init): filled below
    Summary got;   // NOLINT(cppcoreguidelines-pro-type-member-init): filled below
    child_summary(c, clo, want);
    read_slot(n, i, got, true);
    if (!same(want, got)) {
      for (std::uint32_t l = 0; l < kLanes; ++l) {
        if (want.lanes[l] != got.lanes[l]) {
          return fmt::format("stale summary at height {} slot {}: lane {} is {:#x}, recomputed {:#x}", n->height, i, l,
                             got.lanes[l], want.lanes[l]);
        }
        if (want.shortfalls[l] != got.shortfalls[l]) {
          return fmt::format("stale summary at height {} slot {}: shortfall {} is {:#x}, recomputed {:#x}", n->height,
                             i, l, got.shortfalls[l], want.shortfalls[l]);
        }
      }
      return fmt::format(
          "stale summary at height {} slot {}: high {:#x} mask {:#x} gap {:#x} wide {}, recomputed {:#x} {:#x} {:#x} "
          "{}",
          n->height, i, got.high, got.mask, got.gap, got.wide, want.high, want.mask, want.gap, want.wide);
    }
    gap_tree_impl::WideFits want_wide;  // NOLINT(cppcoreguidelines-pro-type-member-init): child_wide fills it
    if (child_wide(c, clo, want_wide.data()) != (wides(n)[i] != nullptr)) {
      return fmt::format("stale wide row at height {} slot {}: {}", n->height, i,
                         wides(n)[i] == nullptr ? "missing" : "kept for a subtree without one");
    }
    if (wides(n)[i] != nullptr) {
      for (std::uint32_t k = 0; k < wide_orders_; ++k) {
        if (want_wide[k] != wides(n)[i][k]) {
          return fmt::format("stale wide row at height {} slot {}: order {} fit is {:#x}, recomputed {:#x}", n->height,
                             i, kWideMin + k, wides(n)[i][k], want_wide[k]);
        }
      }
    }
  }
  return "";
}

}  // namespace iovakit::iova
