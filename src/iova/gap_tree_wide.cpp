// The GapTree's wide rows: exact fits at alignments past the lanes, kept on
// the heap for the few slots that have a gap across a multiple of
// 2^kWideMin granules (design: iovakit/iova/gap_tree.h, "wide rows").
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "gap_tree_node.h"
#include "iovakit/iova/gap_tree.h"

namespace iovakit::iova {

namespace {

using gap_tree_impl::low_mask;

}  // namespace

// A leaf's row from its gaps, an inner node's the maximum of its slots'
// rows, into out[0 .. wide_orders_). Returns whether the row is nonzero:
// whether the child has a gap of anchor order kWideMin or more (in a space
// with orders past the lanes), which is what Summary::wide says.
bool GapTree::child_wide(const Node* child, std::uint64_t lo, std::uint64_t* out) const {
  std::fill_n(out, wide_orders_, 0);
  bool any = false;
  if (child->height > 0) {
    const std::uint64_t* const* rows = wides(child);
    for (std::uint32_t c = 0; c < child->count; ++c) {
      if (rows[c] == nullptr) continue;
      any = true;
      for (std::uint32_t k = 0; k < wide_orders_; ++k) out[k] = std::max(out[k], rows[c][k]);
    }
    return any;
  }
  const std::uint64_t* f = firsts(child);
  const std::uint64_t* l = lasts(child);
  std::uint64_t a = lo;
  for (std::uint32_t i = 0; i < child->count; ++i) {
    if (f[i] > a) {
      // Gap [a, b]: at an order k up to its anchor order t its aligned start
      // is at most the anchor, inside the gap; past t it holds no multiple
      // of 2^k and fits nothing.
      const std::uint64_t b = f[i] - 1;
      const std::uint32_t t = gap_top_order(a, b);
      for (std::uint32_t k = kWideMin; k <= t; ++k) {
        const std::uint64_t start = a + ((std::uint64_t{0} - a) & low_mask(k));
        out[k - kWideMin] = std::max(out[k - kWideMin], b - start + 1);
        any = true;
      }
    }
    a = l[i] + 1;
  }
  return any;
}

// Sets slot i's wide row to a copy of `row`, or to none. A slot that had
// none takes one from the update's reserve.
void GapTree::store_wide(Node* n, std::uint32_t i, const std::uint64_t* row) const {
  std::uint64_t*& slot = wides(n)[i];
  if (row == nullptr) {
    drop_wide(n, i);
    return;
  }
  if (slot == nullptr) {
    slot = take_row();
    ++wide_rows_;
  }
  std::copy_n(row, wide_orders_, slot);
}

void GapTree::drop_wide(Node* n, std::uint32_t i) const {
  std::uint64_t*& slot = wides(n)[i];
  if (slot == nullptr) return;
  give_row(slot);
  slot = nullptr;
  --wide_rows_;
}

// A spare row, counted against the update's budget (check() reports a row
// beyond it). Were the spares empty, the row would come from the heap,
// which may throw halfway.
std::uint64_t* GapTree::take_row() const {
  if (row_budget_ == 0) {
    ++unreserved_;
  } else {
    --row_budget_;
  }
  if (spare_rows_ == nullptr) [[unlikely]] {
    return std::make_unique<std::uint64_t[]>(wide_orders_).release();  // NOLINT(modernize-avoid-c-arrays)
  }
  std::uint64_t* row = spare_rows_;
  std::memcpy(&spare_rows_, row, sizeof spare_rows_);
  --spare_row_count_;
  return row;
}

// Back to the spares below spare_row_cap(), else to the heap (never throws
// either way).
void GapTree::give_row(std::uint64_t* row) const {
  if (root_ == nullptr || spare_row_count_ >= spare_row_cap()) {
    const std::unique_ptr<std::uint64_t[]> owned(row);  // NOLINT(modernize-avoid-c-arrays)
    return;
  }
  std::memcpy(row, &spare_rows_, sizeof spare_rows_);
  spare_rows_ = row;
  ++spare_row_count_;
}

// Tops the spare rows up to `need`; throws std::bad_alloc having changed
// nothing a caller can see (spares are not part of the tree's state).
void GapTree::reserve_rows(std::size_t need) const {
  while (spare_row_count_ < need) {
    std::uint64_t* row = std::make_unique<std::uint64_t[]>(wide_orders_).release();  // NOLINT(modernize-avoid-c-arrays)
    std::memcpy(row, &spare_rows_, sizeof spare_rows_);
    spare_rows_ = row;
    ++spare_row_count_;
  }
}

// Before n is freed: the rows its slots hold (slots moved out of n carry
// their rows away and are no longer counted in n).
void GapTree::drop_wides(Node* n) const {
  for (std::uint32_t i = 0; i < n->count; ++i) drop_wide(n, i);
}

// After the child at the path's last slot changed (an insert or erase below
// it): recomputes its row, then each parent's as the maximum of its slots,
// while a slot's row changes. Called by propagate() when the child has or
// had a wide row; the other rows do not depend on these.
void GapTree::propagate_wides(const Path& path) const {
  const std::uint32_t last = path.depth - 1;
  const Node* child = children(path.node[last])[path.index[last]];
  gap_tree_impl::WideFits row;  // NOLINT(cppcoreguidelines-pro-type-member-init): child_wide fills it
  bool any = child_wide(child, child_lo(highs(path.node[last]), path.index[last], path.lo[last]), row.data());
  for (std::uint32_t d = path.depth; d-- > 0;) {
    Node* parent = path.node[d];
    const std::uint64_t* stored = wides(parent)[path.index[d]];
    if (any ? (stored != nullptr && std::equal(stored, stored + wide_orders_, row.data())) : stored == nullptr) return;
    store_wide(parent, path.index[d], any ? row.data() : nullptr);
    if (d == 0) return;  // the root's own aggregate is kept nowhere
    any = child_wide(parent, 0, row.data());
  }
}

}  // namespace iovakit::iova
