// The GapTree's insert and erase: leaf and slot edits, shifts into a
// sibling with room, splits, merges and borrows, and the summary updates
// each one needs (design: iovakit/iova/gap_tree.h, "Nodes are sized").
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "gap_tree_node.h"
#include "iovakit/iova/gap_tree.h"

namespace iovakit::iova {

namespace {

using gap_tree_impl::first_not_below;
using gap_tree_impl::low_mask;

// Bit-vector edits for the per-leaf "reserved" flags.
std::uint64_t bits_open(std::uint64_t bits, std::uint32_t pos, std::uint32_t n) {
  const std::uint64_t low = bits & low_mask(pos);
  const std::uint64_t high = pos >= 64 ? 0 : bits >> pos;
  return low | (pos + n >= 64 ? 0 : high << (pos + n));
}
std::uint64_t bits_close(std::uint64_t bits, std::uint32_t pos, std::uint32_t n) {
  const std::uint64_t low = bits & low_mask(pos);
  const std::uint64_t high = pos + n >= 64 ? 0 : bits >> (pos + n);
  return low | (pos >= 64 ? 0 : high << pos);
}
std::uint64_t bits_take(std::uint64_t bits, std::uint32_t pos, std::uint32_t n) {
  return (pos >= 64 ? 0 : bits >> pos) & low_mask(n);
}

}  // namespace

// ---------------------------------------------------------------------------
// Node edits.

void GapTree::leaf_insert_at(Node* leaf, std::uint32_t pos, const Entry& e) const {
  std::uint64_t* f = firsts(leaf);
  std::uint64_t* l = lasts(leaf);
  const std::uint32_t tail = leaf->count - pos;
  std::memmove(f + pos + 1, f + pos, tail * sizeof(std::uint64_t));
  std::memmove(l + pos + 1, l + pos, tail * sizeof(std::uint64_t));
  f[pos] = e.first;
  l[pos] = e.last;
  leaf->reserved = bits_open(leaf->reserved, pos, 1) | (e.reserved ? low_mask(pos + 1) & ~low_mask(pos) : 0);
  ++leaf->count;
}

void GapTree::leaf_remove_at(Node* leaf, std::uint32_t pos) const {
  std::uint64_t* f = firsts(leaf);
  std::uint64_t* l = lasts(leaf);
  const std::uint32_t tail = leaf->count - pos - 1;
  std::memmove(f + pos, f + pos + 1, tail * sizeof(std::uint64_t));
  std::memmove(l + pos, l + pos + 1, tail * sizeof(std::uint64_t));
  leaf->reserved = bits_close(leaf->reserved, pos, 1);
  --leaf->count;
}

// The new slot starts without a wide row: the shift left a copy of the
// pointer of the slot that moved up, which that slot owns.
void GapTree::inner_insert_slot(Node* n, std::uint32_t pos, Node* child) const {
  shift_slots(n, pos, pos + 1, n->count - pos);
  children(n)[pos] = child;
  wides(n)[pos] = nullptr;
  ++n->count;
}

// The slot's child is gone (freed, or merged into a sibling whose slot is
// recomputed): so is its summary, wide row included.
void GapTree::inner_remove_slot(Node* n, std::uint32_t pos) const {
  drop_wide(n, pos);
  shift_slots(n, pos + 1, pos, n->count - pos - 1);
  --n->count;
}

// Moves `count` entries from src[spos..] into dst at dpos (dst != src).
void GapTree::move_entries(Node* dst, std::uint32_t dpos, Node* src, std::uint32_t spos, std::uint32_t count) const {
  const std::uint64_t moved = bits_take(src->reserved, spos, count);
  std::memmove(firsts(dst) + dpos + count, firsts(dst) + dpos, (dst->count - dpos) * sizeof(std::uint64_t));
  std::memmove(lasts(dst) + dpos + count, lasts(dst) + dpos, (dst->count - dpos) * sizeof(std::uint64_t));
  std::memcpy(firsts(dst) + dpos, firsts(src) + spos, count * sizeof(std::uint64_t));
  std::memcpy(lasts(dst) + dpos, lasts(src) + spos, count * sizeof(std::uint64_t));
  dst->reserved = bits_open(dst->reserved, dpos, count) | (dpos >= 64 ? 0 : moved << dpos);
  dst->count += count;
  const std::uint32_t tail = src->count - spos - count;
  std::memmove(firsts(src) + spos, firsts(src) + spos + count, tail * sizeof(std::uint64_t));
  std::memmove(lasts(src) + spos, lasts(src) + spos + count, tail * sizeof(std::uint64_t));
  src->reserved = bits_close(src->reserved, spos, count);
  src->count -= count;
}

// Moves `count` child slots (child, high, summary) from src[spos..] into dst
// at dpos (dst != src). A summary does not depend on the slot's position,
// only on the entries before it in address order, which a move keeps.
void GapTree::move_slots(Node* dst, std::uint32_t dpos, Node* src, std::uint32_t spos, std::uint32_t count) const {
  shift_slots(dst, dpos, dpos + count, dst->count - dpos);
  copy_slots(dst, dpos, src, spos, count);
  dst->count += count;
  shift_slots(src, spos + count, spos, src->count - spos - count);
  src->count -= count;
}

// ---------------------------------------------------------------------------
// Insert.

// What an update may allocate is reserved before it changes anything
// (gap_tree.h, "Updates ... throw std::bad_alloc"), as tightly as the
// path allows, since spares are memory held for nothing:
//   - an insert into a leaf with room: nothing (no node; its gaps only
//     shrink, and a slot without a wide row never needs one for that),
//     unless it goes into the tail: a row per level;
//   - an erase that leaves the leaves as they are: a row per level (the
//     merged gap grows, in this leaf or the next, up one path);
//   - a full leaf that shifts entries into a sibling: the sibling takes
//     entries with their gaps (the leaf only gives gaps away, and its new
//     entry shrinks one), then one path above the parent: a row per level;
//   - a split, or an erase that merges or borrows: the nodes of the splits
//     (reserve_split) and rows_per_update() rows, trimmed back to
//     spare_row_cap() afterwards (trim_rows).
void GapTree::need_rows(std::size_t need) const {
  row_budget_ = need;
  if (wide_orders_ != 0 && spare_row_count_ < need) [[unlikely]]
    reserve_rows(need);
}

// After a split or a merge: the rows beyond spare_row_cap() go back to the
// heap.
void GapTree::trim_rows() const {
  const std::size_t keep = spare_row_cap();
  while (spare_row_count_ > keep) {
    const std::unique_ptr<std::uint64_t[]> owned(spare_rows_);  // NOLINT(modernize-avoid-c-arrays)
    std::memcpy(&spare_rows_, owned.get(), sizeof spare_rows_);
    --spare_row_count_;
  }
}

// The nodes an insert into the full path.leaf makes when the leaf cannot
// shift into a sibling (insert_rec's choices, made on the counts before
// the insert): the new leaf, then a new inner node for each full node
// above it that cannot shift a slot into a sibling with room (the root
// has none), and a new root when the root splits.
void GapTree::reserve_split(const Path& path) {
  std::uint32_t inner = path.depth == 0 ? 1 : 0;
  for (std::uint32_t d = path.depth; d-- > 0;) {
    if (path.node[d]->count < fanout_) break;
    if (d > 0) {
      const Node* parent = path.node[d - 1];
      const std::uint32_t i = path.index[d - 1];
      if ((i > 0 && children(parent)[i - 1]->count < fanout_) ||
          (i + 1 < parent->count && children(parent)[i + 1]->count < fanout_)) {
        break;
      }
    }
    inner += d == 0 ? 2 : 1;
  }
  leaf_pool_.reserve(1);
  inner_pool_.reserve(inner);
  need_rows(row_reserve());
  leaf_budget_ = 1;
  inner_budget_ = inner;
}

void GapTree::insert(const Entry& entry) {
  Path path;
  descend(entry.first, path);
  insert_at(path, entry);
}

// Inserts into path.leaf, the leaf that owns the gap holding the entry.
void GapTree::insert_at(Path& path, const Entry& entry) {
  Node* leaf = path.leaf;
  if (leaf->count < leaf_cap_) {
    const std::uint64_t* f = firsts(leaf);
    const auto pos = first_not_below(f, leaf->count, entry.first);
    // Past the leaf's last entry lies the tail (tail_gap()), which no
    // summary counts: there the new entry makes a gap the path's slots
    // did not have. Anywhere else a gap only shrinks.
    if (pos == leaf->count) [[unlikely]] {
      need_rows(path.depth);
    } else {
      row_budget_ = 0;
    }
    ++size_;
    leaf_insert_at(leaf, pos, entry);
    if (path.depth > 0) {
      Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): leaf_summary fills it
      leaf_summary(leaf, path.leaf_lo, s);
      propagate(path, s);
    }
    return;
  }
  if (path.depth > 0) {
    need_rows(path.depth);
    const std::uint32_t d = path.depth - 1;
    Node* parent = path.node[d];
    if (shift_into_sibling(parent, path.index[d], path.lo[d], entry)) {
      ++size_;
      // Two children of the parent changed; its aggregate goes up from
      // there the usual way.
      if (d > 0) {
        Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): inner_summary fills it
        inner_summary(parent, s);
        path.depth = d;
        propagate(path, s);
      }
      return;
    }
  }
  reserve_split(path);
  ++size_;
  Node* right = insert_rec(root_, 0, entry, nullptr, 0);
  if (right != nullptr) {
    Node* top = new_inner(root_->height + 1);
    top->count = 2;
    children(top)[0] = root_;
    children(top)[1] = right;
    recompute_slot(top, 0, 0);
    recompute_slot(top, 1, highs(top)[0] + 1);
    root_ = top;
  }
  // An inner node set aside for a level that shifted a slot instead stays
  // a spare, but not in the budget of a later update.
  leaf_budget_ = 0;
  inner_budget_ = 0;
  trim_rows();
}

// Inserts into the subtree n whose gaps start at lo; returns the new right
// sibling when n had to split. Recomputes every summary it touches. `parent`
// (nullptr for the root) holds n at `slot`: a full inner node first moves
// slots into a sibling with room there, as a full leaf does.
GapTree::Node* GapTree::insert_rec(Node* n, std::uint64_t lo, const Entry& e, Node* parent, std::uint32_t slot) {
  if (n->height == 0) {
    const std::uint64_t* f = firsts(n);
    const auto pos = first_not_below(f, n->count, e.first);
    if (n->count < leaf_cap_) {
      leaf_insert_at(n, pos, e);
      return nullptr;
    }
    return split_leaf(n, pos, e);
  }
  const std::uint32_t i = pick_child(highs(n), n->count, e.first);
  const std::uint64_t clo = child_lo(highs(n), i, lo);
  Node* c = children(n)[i];
  if (c->height == 0 && c->count == leaf_cap_ && shift_into_sibling(n, i, lo, e)) return nullptr;
  Node* right = insert_rec(c, clo, e, n, i);
  // Where c's gaps start again: slots moving into c's left sibling below
  // (shift_slot_into_sibling) move that start up.
  recompute_slot(n, i, child_lo(highs(n), i, lo));
  if (right == nullptr) return nullptr;
  if (n->count < fanout_) {
    inner_insert_slot(n, i + 1, right);
    recompute_slot(n, i + 1, highs(n)[i] + 1);
    return nullptr;
  }
  if (parent != nullptr && shift_slot_into_sibling(parent, slot, i + 1, right)) return nullptr;
  return split_inner(n, i + 1, right, lo);
}

// Child i of p is a full inner node and `child` (the new right half of one
// of its children) belongs at its slot pos (>= 1). Makes room by moving some
// of its slots into a neighbour with room (half of that room), then inserts
// the child. Returns false when both neighbours are full too (the caller
// splits). Splitting only then keeps inner nodes about as full as leaves,
// which saves a level (gap_tree.h, "Nodes are sized"). A moved slot
// keeps its summary (it depends on the entries before it in address order,
// not on the node holding it); the two siblings' aggregates are recomputed.
bool GapTree::shift_slot_into_sibling(Node* p, std::uint32_t i, std::uint32_t pos, Node* child) {
  // The children of p are inner nodes, whose aggregates do not depend on
  // where their gaps start: their slots in p are recomputed with lo 0.
  Node* c = children(p)[i];
  if (i > 0 && children(p)[i - 1]->count < fanout_) {
    Node* left = children(p)[i - 1];
    const std::uint32_t k = std::min(pos, std::max<std::uint32_t>(1, (fanout_ - left->count) / 2));
    move_slots(left, left->count, c, 0, k);
    const std::uint32_t at = pos - k;
    inner_insert_slot(c, at, child);
    recompute_slot(c, at, at == 0 ? highs(left)[left->count - 1] + 1 : highs(c)[at - 1] + 1);
    recompute_slot(p, i - 1, 0);
    recompute_slot(p, i, 0);
    return true;
  }
  if (i + 1 < p->count && children(p)[i + 1]->count < fanout_) {
    Node* right = children(p)[i + 1];
    if (pos == fanout_) {
      // The child falls between the two nodes: it starts the right one.
      inner_insert_slot(right, 0, child);
      recompute_slot(right, 0, highs(c)[fanout_ - 1] + 1);
    } else {
      const std::uint32_t k = std::min(fanout_ - pos, std::max<std::uint32_t>(1, (fanout_ - right->count) / 2));
      move_slots(right, 0, c, fanout_ - k, k);
      inner_insert_slot(c, pos, child);
      recompute_slot(c, pos, highs(c)[pos - 1] + 1);
    }
    recompute_slot(p, i, 0);
    recompute_slot(p, i + 1, 0);
    return true;
  }
  return false;
}

// Child i of n is a full leaf that e belongs to. Makes room by moving some of
// its entries into a neighbour with room (half of that room), then inserts
// e. Returns false when both neighbours are full too (the caller splits).
// Entries move with the gaps below them, so only the two slots change.
bool GapTree::shift_into_sibling(Node* n, std::uint32_t i, std::uint64_t lo, const Entry& e) {
  Node* c = children(n)[i];
  const std::uint64_t* f = firsts(c);
  const auto pos = first_not_below(f, c->count, e.first);
  if (i > 0 && children(n)[i - 1]->count < leaf_cap_) {
    Node* left = children(n)[i - 1];
    if (pos == 0) {
      // e falls between the two leaves: it simply ends the left one (this
      // keeps leaves full when allocations arrive top-down).
      leaf_insert_at(left, left->count, e);
    } else {
      const std::uint32_t k = std::min(pos, std::max<std::uint32_t>(1, (leaf_cap_ - left->count) / 2));
      move_entries(left, left->count, c, 0, k);
      leaf_insert_at(c, pos - k, e);
    }
    recompute_slot(n, i - 1, child_lo(highs(n), i - 1, lo));
    recompute_slot(n, i, child_lo(highs(n), i, lo));
    return true;
  }
  if (i + 1 < n->count && children(n)[i + 1]->count < leaf_cap_ && pos < leaf_cap_) {
    Node* right = children(n)[i + 1];
    const std::uint32_t k = std::min(leaf_cap_ - pos, std::max<std::uint32_t>(1, (leaf_cap_ - right->count) / 2));
    move_entries(right, 0, c, c->count - k, k);
    leaf_insert_at(c, pos, e);
    recompute_slot(n, i, child_lo(highs(n), i, lo));
    recompute_slot(n, i + 1, child_lo(highs(n), i + 1, lo));
    return true;
  }
  return false;
}

// Splits a full leaf while inserting e at pos. Inserts at either end leave
// the full part full (sequential allocation patterns), others split evenly.
GapTree::Node* GapTree::split_leaf(Node* leaf, std::uint32_t pos, const Entry& e) {
  Node* right = new_leaf();
  const std::uint32_t total = leaf_cap_ + 1;
  std::uint32_t keep = total / 2;
  if (pos == leaf_cap_) keep = leaf_cap_;
  if (pos == 0) keep = 1;
  if (pos < keep) {
    move_entries(right, 0, leaf, keep - 1, leaf_cap_ - (keep - 1));
    leaf_insert_at(leaf, pos, e);
  } else {
    move_entries(right, 0, leaf, keep, leaf_cap_ - keep);
    leaf_insert_at(right, pos - keep, e);
  }
  return right;
}

// Splits the full inner node n while inserting `child` at pos.
GapTree::Node* GapTree::split_inner(Node* n, std::uint32_t pos, Node* child, std::uint64_t lo) {
  Node* right = new_inner(n->height);
  const std::uint32_t keep = (fanout_ + 1) / 2;
  if (pos < keep) {
    move_slots(right, 0, n, keep - 1, fanout_ - (keep - 1));
    inner_insert_slot(n, pos, child);
    recompute_slot(n, pos, child_lo(highs(n), pos, lo));
  } else {
    move_slots(right, 0, n, keep, fanout_ - keep);
    const std::uint32_t rpos = pos - keep;
    inner_insert_slot(right, rpos, child);
    recompute_slot(right, rpos, child_lo(highs(right), rpos, highs(n)[n->count - 1] + 1));
  }
  return right;
}

// ---------------------------------------------------------------------------
// Erase.

std::optional<GapTree::Entry> GapTree::erase(std::uint64_t first) { return erase_if(first, true); }

std::optional<GapTree::Entry> GapTree::erase_allocated(std::uint64_t first) { return erase_if(first, false); }

std::optional<GapTree::Entry> GapTree::erase_if(std::uint64_t first, bool reserved_too) {
  std::optional<Entry> out = erase_entry(first, reserved_too);
  // Once everything fits in one leaf, go back to a single leaf from the
  // heap: a tree emptied of its allocations holds the memory it started
  // with. (Merges can leave the root a leaf carved from a chunk, which
  // would keep the chunk.)
  // Both give memory back and may need some first: short of it, the erase
  // has still happened, and the next one tries again.
  if (out && size_ <= leaf_cap_ && (root_->height > 0 || chunk_bytes() > 0)) {
    try {
      collapse();
    } catch (const std::bad_alloc&) {
      return out;
    }
  }
  if (out && (leaf_pool_.wants_compaction() || inner_pool_.wants_compaction())) compact();
  return out;
}

// What it allocates (the entries' copy, the new leaf from the heap) comes
// first: out of memory, the tree is unchanged.
void GapTree::collapse() {
  const std::vector<Entry> all = overlapping(0, max_pfn_);
  void* memory = leaf_pool_.allocate_direct();
  free_subtree(root_);
  ++leaves_;
  root_ = new (memory) Node{};
  leaf_pool_.drop_unused_chunks();
  for (std::uint32_t i = 0; i < all.size(); ++i) leaf_insert_at(root_, i, all[i]);
  trim_spares();
}

std::optional<GapTree::Entry> GapTree::erase_entry(std::uint64_t first, bool reserved_too) {
  if (size_ == 0) return std::nullopt;
  Path path;
  descend(first, path);
  Node* leaf = path.leaf;
  const std::uint64_t* f = firsts(leaf);
  const auto pos = first_not_below(f, leaf->count, first);
  if (pos == leaf->count || f[pos] != first) return std::nullopt;
  Entry out = leaf_entry(leaf, pos);
  if (out.reserved && !reserved_too) return std::nullopt;
  const bool was_last = pos + 1 == leaf->count;
  // Where the merged gap starts: the end of the entry before, or the leaf's
  // lower bound.
  const std::uint64_t gap_start = pos == 0 ? path.leaf_lo : lasts(leaf)[pos - 1] + 1;
  if (path.depth == 0 || (leaf->count - 1 >= min_leaf_ && !sibling_absorbs(path, leaf->count - 1))) {
    need_rows(path.depth);
    --size_;
    if (was_last) {
      // The gap below the entry leaves this leaf (the summary may drop) and
      // joins the first gap of the next leaf, which grows.
      leaf_remove_at(leaf, pos);
      if (path.depth > 0) {
        Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): leaf_summary fills it
        leaf_summary(leaf, path.leaf_lo, s);
        propagate(path, s);
      }
      refresh_gap_owner(out.last, gap_start);
    } else {
      // The gap below the entry, the entry and the gap above it become one
      // gap owned by the next entry of the same leaf: nothing shrinks.
      const std::uint64_t gap_end = firsts(leaf)[pos + 1] - 1;
      const std::uint64_t below = out.first - gap_start;
      const std::uint64_t above = gap_end - out.last;
      leaf_remove_at(leaf, pos);
      if (path.depth > 0) raise_leaf(path, gap_start, gap_end, below, above);
    }
    return out;
  }
  need_rows(row_reserve());
  --size_;
  Entry ignored;
  erase_rec(root_, 0, first, ignored);
  while (root_->height > 0 && root_->count == 1) {
    Node* old = root_;
    root_ = children(old)[0];
    drop_wides(old);
    free_node(old);
    // One leaf again: the spares of a taller tree go, as they do when it
    // collapses.
    if (root_->height == 0) trim_spares();
  }
  // If the entry was the last of its leaf, the gap it leaves belongs to the
  // next leaf, which the merges above may or may not have rewritten.
  if (was_last) recompute_gap_owner(out.last);
  trim_rows();
  return out;
}

// Whether a leaf left with `count` entries should merge with a sibling that
// has room for them: only a leaf at most half full looks (reading a
// sibling's count is a cache miss), and a pair of half-full leaves becomes
// one. Without this, a space thinned out evenly (W3 frees every other
// allocation) keeps every leaf half full: 42 B of live nodes per allocation
// instead of 26 (docs/performance.md).
bool GapTree::sibling_absorbs(const Path& path, std::uint32_t count) const {
  if (!may_merge(count, leaf_cap_)) return false;
  const Node* parent = path.node[path.depth - 1];
  const std::uint32_t i = path.index[path.depth - 1];
  return (i > 0 && children(parent)[i - 1]->count + count <= leaf_cap_) ||
         (i + 1 < parent->count && children(parent)[i + 1]->count + count <= leaf_cap_);
}

// Erases from the subtree n whose gaps start at lo; returns whether n is now
// at most half full, for the parent to merge it with a sibling that has room
// (or to fix it when below its minimum fill).
bool GapTree::erase_rec(Node* n, std::uint64_t lo, std::uint64_t first, Entry& out) {
  if (n->height == 0) {
    const std::uint64_t* f = firsts(n);
    const auto pos = first_not_below(f, n->count, first);
    out = leaf_entry(n, pos);
    leaf_remove_at(n, pos);
    return may_merge(n->count, leaf_cap_);
  }
  const std::uint32_t i = pick_child(highs(n), n->count, first);
  const std::uint64_t clo = child_lo(highs(n), i, lo);
  if (erase_rec(children(n)[i], clo, first, out)) {
    fix_underflow(n, i, lo);
  } else {
    recompute_slot(n, i, clo);
  }
  return may_merge(n->count, fanout_);
}

// Child i of n is at most half full: drop it when empty, else merge it with
// a sibling when both fit in one node, else (below its minimum only) even
// the two out.
void GapTree::fix_underflow(Node* n, std::uint32_t i, std::uint64_t lo) {
  Node* c = children(n)[i];
  if (c->count == 0) {
    inner_remove_slot(n, i);
    free_subtree(c);
    // The next child's first gap now starts where the removed one started.
    if (i < n->count) recompute_slot(n, i, child_lo(highs(n), i, lo));
    return;
  }
  if (n->count == 1) {  // only the root can get here
    recompute_slot(n, i, child_lo(highs(n), i, lo));
    return;
  }
  const bool leaves = c->height == 0;
  const std::uint32_t cap = leaves ? leaf_cap_ : fanout_;
  // The sibling to merge with: the left one when both fit in one node, else
  // the right one.
  std::uint32_t li = i > 0 ? i - 1 : i;
  if (i > 0 && i + 1 < n->count && children(n)[li]->count + c->count > cap) li = i;
  const std::uint32_t ri = li + 1;
  Node* left = children(n)[li];
  Node* right = children(n)[ri];
  if (c->count >= (leaves ? min_leaf_ : min_inner_) && left->count + right->count > cap) {
    // Half full, but no sibling has room: nothing to do.
    recompute_slot(n, i, child_lo(highs(n), i, lo));
    return;
  }
  if (left->count + right->count <= cap) {
    if (leaves) {
      move_entries(left, left->count, right, 0, right->count);
    } else {
      move_slots(left, left->count, right, 0, right->count);
    }
    inner_remove_slot(n, ri);
    free_node(right);
    recompute_slot(n, li, child_lo(highs(n), li, lo));
    return;
  }
  const std::uint32_t target = (left->count + right->count) / 2;
  if (left->count < target) {
    const std::uint32_t k = target - left->count;
    if (leaves) {
      move_entries(left, left->count, right, 0, k);
    } else {
      move_slots(left, left->count, right, 0, k);
    }
  } else if (left->count > target) {
    const std::uint32_t k = left->count - target;
    if (leaves) {
      move_entries(right, 0, left, left->count - k, k);
    } else {
      move_slots(right, 0, left, left->count - k, k);
    }
  }
  recompute_slot(n, li, child_lo(highs(n), li, lo));
  recompute_slot(n, ri, child_lo(highs(n), ri, lo));
}

}  // namespace iovakit::iova
