// iovakit/iova/gap_tree.h: the engine under iova::Allocator, a B+-tree of
// occupied granule ranges whose inner nodes summarise the free gaps below them.
//
// Design
// ------
// Units are granules ("pfns"): the Allocator divides addresses by its granule
// before it gets here, so the tree sees the space [0, max_pfn]. The tree keeps
// the occupied ranges (allocations and reserved ranges) sorted and disjoint in
// its leaves; free space is never stored, it is the gaps between entries. Each
// entry owns the gap just below it; the gap above the last entry (the tail) is
// handled by the search directly.
//
// Every inner node keeps, for each child, a summary of the gaps the child owns:
//
//   high        the last pfn of the child's last entry (the search key)
//   max_gap     the largest gap
//   lane[k-1]   for alignment orders k = 1..16 (alignment 2^k granules):
//               min(65535, fit[k]) where fit[k] is the largest size that fits
//               at that alignment in one gap, max over gaps [a, b] of
//               b + 1 - align_up(a, 2^k)
//   mask        bit c set when some gap's length L has floor(log2 L) == c
//   shortfall[k-1]  for k = 1..16, when max_gap G is past the lane cap:
//               G - the largest fit at 2^k of the long gaps (those past
//               the cap); zero when G is not
//   wide        for a slot with a gap across a multiple of 2^17: a
//               pointer to its wide row, fit[k] exact in 64 bits for k =
//               17 up to the space's largest order (on the heap: 160
//               bytes for 2^36 granules, 376 at most); null otherwise
//
// The lanes make aligned searches exact: a subtree can hold (size s, order
// k) iff lane[k-1] >= s, for every s up to 65535 granules (256 MiB with 4 KiB
// granules), so a search never enters a subtree that cannot satisfy it, and
// a failing search stops at the root. The largest gap alone (the summary of
// FreeBSD's iommu_gas or of an augmented rbtree) only bounds the answer from
// both sides (gap >= s is necessary, gap >= s + 2^k - 1 sufficient), and the
// gaps in between must be visited one by one: the W3 pathology again, for
// aligned requests. Measured on W1: with the largest gap alone, a pair costs
// about 80,000 instructions at N = 1e5, almost all of it near misses.
//
// The shortfalls make every size exact at the orders of the lanes. A size
// s past the cap fits only in a long gap, where the lanes all read the cap;
// but the longest gap G alone fits G - w at 2^k (w < 2^k the granules lost
// to aligning its start), so G - fit[k] over the long gaps is below 2^16
// and 16 bits hold it exactly: the subtree holds (s, k) iff G >= s and G -
// shortfall[k-1] >= s. A parent takes, per order, the minimum over its long
// children of (G - the child's G) + the child's shortfall, saturated (a
// child 2^16 or more below G cannot hold the largest fit). Only long gaps
// count, so the rows change only when a long gap does: like the wide rows
// they are propagated on their own, started only by a child that has or
// had a long gap (in W1 the lowest leaf, whose gap starts at 0 and wastes
// nothing: its rows stay zero).
//
// The wide rows make every request exact at the alignments past the lanes.
// A gap [a, b] fits something at 2^k only if it holds a multiple of 2^k,
// that is if its anchor order t (the largest such that it holds a multiple
// of 2^t) is at least k; then its fit there is b + 1 - align_up(a, 2^k).
// So only gaps across a multiple of 2^17 have a fit past the lanes, and a
// slot keeps the exact maximum per order k = 17..63 only when it has one:
// the subtree holds (s, k) iff the row exists and fit[k] >= s, for every s.
// The row lives on the heap, out of the node, and holds only the orders the
// space has (20 for 2^36 granules, 48 bits of 4 KiB pages: 160 B; 4 for
// 2^20, 32 bits: 32 B; at most 47: 376 B); in the node it would take more
// than the rest of the slot (104 B) for the few slots that need it. After
// a W1 fill of 1e6 allocations the tree holds 4 of them, on the path to the
// lowest leaf (whose gap starts at 0); a space whose every leaf has a gap
// across a multiple of 2^17 (spaced 512 MiB apart with 4 KiB granules)
// pays up to a row per leaf, about 6 B per entry for 2^36 granules (15 B in
// a 64-bit space). A row changes only when such a gap does: propagate()
// starts propagate_wides() only for a child that has or had one (in W1, the
// lowest leaf: 38% of the operations), which recomputes the child's row and
// each parent's, as the maximum of its slots' rows, while a row changes.
//
// Before the wide rows the tree kept 16-bit anchors (orders 17..32, capped
// at 65535) and the orders of the aligned blocks of its long gaps, exact
// for sizes up to the cap at those orders and for size-aligned requests:
// a size past the cap at most half its alignment (2^17 granules aligned to
// 2^19), one neither size-aligned nor within half its alignment (3 GiB
// aligned to 1 GiB with 4 KiB granules), and any alignment past 2^32
// granules saw the summaries as a necessary condition only, and each near
// miss (a gap long enough, not aligned enough) cost a descent: 0.22 ms for
// 3 x 2^17 granules aligned to 2^17 among 1e5 near misses, against 157 ns
// now (bench_iova's BM_GapTreeFailingBeyondTheLanes, docs/performance.md).
// The wide rows also take less room: a slot lost 48 B of anchors and block
// rows and gained an 8-byte pointer.
//
// Why 16-bit lanes: summaries change on almost every insert and erase (in
// W1 the gap an allocation lands in is the unique per-order maximum of its
// leaf 75-94% of the time, and a fresh hole is often the largest of its
// subtree up to the root), so the update path recomputes a maximum over a
// node's children for all orders at once: 16 lanes of 16 bits are two
// vector registers. Exact 64-bit values per order cost 4x the memory and a
// scalar rescan per order.
//
// Nodes are sized at run time (Tuning) so that tests can build deep trees
// from a few entries; the defaults are 32 entries per leaf and 16 children
// per inner node. A full node (leaf or inner) first shifts entries or
// children into a neighbour with room and splits only when both neighbours
// are full, which keeps nodes about 80% full. For inner nodes that is a
// level: with even splits alone they averaged 11 children of 16 after a W1
// fill, and a tree of 1e6 entries had five inner levels instead of four,
// each one more summary update on every insert and erase. An erase that
// leaves a node at most half full merges it with a sibling that has room,
// so that a space thinned out evenly (every other allocation freed) does
// not keep every node half full; a node below a quarter full that cannot
// merge borrows from a sibling, the B+-tree rule that bounds the height.
//
// Where the instructions go (W1 at N = 1e6, 5,060 per free + allocate
// pair, docs/performance.md): about 1,400 in the summary updates (both
// operations usually change every level: the hole a free makes and the gap
// an allocation fills are often the largest of their subtree for some
// alignment), 1,000 in the leaf summary after an insert (36 per gap, about
// 23 gaps per leaf), 1,050 in the search (inside the window, one row of the
// request's lane decides each child, scanned from the top, then the leaf's
// gaps from the top), 460 in the erase's descent. So an update keeps the
// old summary and the new one in registers from level to level and
// recomputes a maximum over a node's children only when this child held it
// and went down; an erase, whose gaps only grow, raises the old summary
// instead of recomputing it.
//
// In a large tree memory latency is a large part of an operation's cost:
// at 1e6 entries (23 MB of nodes) the leaf of a random free and the inner
// node above it are usually not in the cache; the leaf an allocation lands
// in usually is (measured in W1: 85% land in a leaf touched in the last 64
// pairs, 22% in the one the same pair's free left). So a descent
// prefetches each node it steps into whole (a leaf's entries; an inner
// node's header and scalar rows), which makes the misses within one node a
// single wait, and a large tree takes its nodes from huge-page chunks
// (node_pool.h), which saves the TLB misses. Measured on W1 at N = 1e6
// (docs/performance.md): 1,476 ns per pair without either, 912 ns with
// both. Leaves of 32 entries rather than 16 cost more instructions per leaf
// (a summary is recomputed over the whole leaf) but halve the inner nodes
// and take 4 B less per entry, and a prefetched leaf costs one wait
// whatever its size: at N = 1e6 they were 5-10% faster, at 1e3 15% slower;
// 48 was slower everywhere.
//
// The binary searches of a descent and of a leaf are branchless: their
// comparisons are data, so a conditional jump would miss about half the
// time (about 13 mispredicts per W1 pair in callgrind's model). At 1e5
// entries that was 5% of a pair; at 1e6, where memory latency dominates,
// 0-3% (docs/performance.md).
//
// Complexity (n entries, height h = O(log n), B = leaf capacity, F = fanout;
// both bounded constants):
//
//   find / lower_bound      O(h·F + log B)
//   search (any policy)     O(h·F + B) for every size and alignment: at
//                           most two boundary paths for the window plus
//                           one descent into a subtree whose summary
//                           guarantees the fit; a failure is decided from
//                           the summaries on the boundary paths.
//   insert / erase          O(h·F + B): the leaf is rewritten, its summary
//                           recomputed (O(B·16) worst case, O(B·47) with a
//                           wide row), then summaries are updated upward,
//                           stopping as soon as one does not change. An
//                           erase in a tree whose chunks are being
//                           compacted (node_pool.h) also moves up to two
//                           nodes per pool, O(h·log F) each.
//   overlapping(lo, hi)     O(h·(k/B + 1) + k) for k results
//
// Memory: leaves are (first, last) pairs, 16 B per entry; per leaf the parent
// keeps 104 B of child pointer, key and summary, 32 B of it the shortfalls
// (about 4.1 B per entry with 32-entry leaves 80% full), plus a wide row
// (up to 376 B) for a slot with a gap across a multiple of 2^17 (above). A
// tree that shrinks gives its chunks back as it goes (node_pool.h, "So the
// pool compacts"). Measured per live allocation in docs/performance.md.
//
// Thread safety: none. Const member functions do not modify anything, so
// concurrent readers are safe when no thread writes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iovakit/iova/node_pool.h"

namespace iovakit::iova {

// Where an allocation goes when several gaps fit.
enum class Policy : std::uint8_t {
  // The highest aligned position below the limit (the Linux DMA API:
  // alloc_iova searches top-down from the limit).
  kTopDown,
  // The lowest aligned position above the minimum address.
  kFirstFit,
  // Good fit by size class (the TLSF rule): among the free gaps long enough
  // for the request at any alignment offset (length >= size + alignment - 1),
  // one from the smallest power-of-two length class, the lowest such gap,
  // at its lowest aligned position. The gap chosen is less than twice the
  // length of the smallest such gap. When no gap is that long, the lowest
  // gap that fits anyway (first fit), so the policy fails only when nothing
  // fits.
  kBestFit,
};

class GapTree {
 public:
  // Node sizes. Tests use tiny nodes to get deep trees from few entries.
  struct Tuning {
    std::uint32_t leaf_capacity = 32;  // entries per leaf, 4..64
    std::uint32_t fanout = 16;         // children per inner node, 4..64
  };

  // Summary lanes: alignment orders 1..kLanes, values capped at kLaneCap.
  static constexpr std::uint32_t kLanes = 16;
  static constexpr std::uint64_t kLaneCap = 0xffff;
  // Wide rows: alignment orders kWideMin up to the space's largest (at most
  // 63), exact 64-bit fits, kept only for a slot with a gap across a
  // multiple of 2^kWideMin granules.
  static constexpr std::uint32_t kWideMin = kLanes + 1;
  static constexpr std::uint32_t kWideOrders = 64 - kWideMin;  // at most

  // An occupied range of granules [first, last].
  struct Entry {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    bool reserved = false;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  // A request in granules: `size` granules at a multiple of 2^order, inside
  // [low, high].
  struct Query {
    std::uint64_t size = 1;  // >= 1
    std::uint32_t order = 0;
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    Policy policy = Policy::kTopDown;
  };

  // The space is [0, max_pfn]. Throws std::invalid_argument for a Tuning
  // outside the documented bounds (a programming error).
  explicit GapTree(std::uint64_t max_pfn, Tuning tuning);
  explicit GapTree(std::uint64_t max_pfn) : GapTree(max_pfn, Tuning{}) {}
  ~GapTree();
  GapTree(GapTree&& other) noexcept;
  GapTree& operator=(GapTree&& other) noexcept;
  GapTree(const GapTree&) = delete;
  GapTree& operator=(const GapTree&) = delete;

  // The entry containing pfn.
  [[nodiscard]] std::optional<Entry> find(std::uint64_t pfn) const;
  // The first entry whose last is at or above pfn (the one containing pfn,
  // or else the owner of the gap holding pfn).
  [[nodiscard]] std::optional<Entry> lower_bound(std::uint64_t pfn) const;
  // Every entry that overlaps [low, high], in address order.
  [[nodiscard]] std::vector<Entry> overlapping(std::uint64_t low, std::uint64_t high) const;
  // The free ranges inside [low, high], in address order.
  [[nodiscard]] std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps(std::uint64_t low, std::uint64_t high) const;

  // Where `query` fits under its policy, or nothing when no gap can hold it.
  [[nodiscard]] std::optional<std::uint64_t> search(const Query& query) const;
  // The same, and how many leaves it entered: its cost, which tests bound
  // for the exact requests (a few boundary leaves whatever the tree's size)
  // and benchmarks report.
  [[nodiscard]] std::optional<std::uint64_t> search(const Query& query, std::uint32_t& leaves) const;

  // search(), then inserts an entry there: one descent instead of two.
  std::optional<std::uint64_t> allocate(const Query& query);

  // Updates (insert, erase, allocate, clear) throw std::bad_alloc when a
  // node or a wide row cannot be allocated, and then have changed nothing:
  // each first reserves what it may need (the nodes of the splits a full
  // path can make, rows_per_update() wide rows) and only then edits, from
  // the reserve. What an erase may do afterwards to give memory back
  // (collapsing into one leaf, moving nodes out of a chunk) it skips when
  // memory is short.
  // Adds an entry. Precondition: [first, last] is free and within the space.
  void insert(const Entry& entry);
  // Removes the entry that starts exactly at `first` and returns it.
  std::optional<Entry> erase(std::uint64_t first);
  // The same, but leaves a reserved entry in place (and returns nothing).
  std::optional<Entry> erase_allocated(std::uint64_t first);
  void clear();

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::uint64_t max_pfn() const { return max_pfn_; }
  // Alignment orders that differ in this space: 0 .. orders() - 1. Larger
  // orders behave as the largest (only pfn 0 is aligned to them).
  [[nodiscard]] std::uint32_t orders() const { return orders_; }
  [[nodiscard]] std::uint32_t height() const;
  // Bytes held for nodes: live nodes and wide rows, the spares kept for
  // updates (rows_per_update()), and in a large tree the rest of its node
  // chunks (iovakit/iova/node_pool.h).
  [[nodiscard]] std::size_t memory_bytes() const {
    return leaf_pool_.bytes() + inner_pool_.bytes() + (wide_rows_ + spare_row_count_) * wide_row_bytes();
  }
  // Of memory_bytes(), what the node chunks hold (mapped outside malloc).
  [[nodiscard]] std::size_t chunk_bytes() const {
    return (leaf_pool_.chunk_count() + inner_pool_.chunk_count()) * NodePool::kChunkBytes;
  }
  // Bytes in live nodes and wide rows only.
  [[nodiscard]] std::size_t node_bytes() const {
    return leaves_ * leaf_bytes_ + inners_ * inner_bytes_ + wide_rows_ * wide_row_bytes();
  }
  // Wide rows held, and the bytes of each (8 per alignment order from
  // kWideMin to the space's largest: 160 for 2^36 granules, 376 at most).
  [[nodiscard]] std::size_t wide_row_count() const { return wide_rows_; }
  // Wide rows an update may allocate, which it reserves first: at most four
  // slots per inner level change (a split, or a shift into a sibling, and
  // the slots above) and a new root's two, 4 * height + 6. Most updates
  // reserve far fewer (gap_tree_edit.cpp). The spares kept between updates
  // count in memory_bytes(): all an update may need in a tree where they
  // come to at most half a byte per entry, else height; none in a
  // space without wide orders or a tree that is one leaf.
  [[nodiscard]] std::size_t rows_per_update() const;
  [[nodiscard]] std::size_t spare_row_count() const { return spare_row_count_; }
  [[nodiscard]] std::size_t wide_row_bytes() const { return std::size_t{wide_orders_} * sizeof(std::uint64_t); }
  [[nodiscard]] std::size_t leaf_count() const { return leaves_; }
  [[nodiscard]] std::size_t inner_count() const { return inners_; }

  // Checks every structural invariant and recomputes every summary from the
  // entries; returns "" when all hold, else the first violation. O(n·K).
  [[nodiscard]] std::string check() const;

 private:
  struct Node;
  struct Path;
  struct Summary;
  struct Window;

  // Node layout (sizes fixed per tree at construction). Defined inline in
  // src/iova/gap_tree_node.h, which every source of the tree includes.
  [[nodiscard]] static inline std::uint64_t* firsts(Node* n);
  [[nodiscard]] inline std::uint64_t* lasts(Node* n) const;
  [[nodiscard]] static inline const std::uint64_t* firsts(const Node* n);
  [[nodiscard]] inline const std::uint64_t* lasts(const Node* n) const;
  [[nodiscard]] static inline std::uint64_t* highs(Node* n);
  [[nodiscard]] static inline const std::uint64_t* highs(const Node* n);
  [[nodiscard]] inline Node** children(Node* n) const;
  [[nodiscard]] inline Node* const* children(const Node* n) const;
  [[nodiscard]] inline std::uint64_t* masks(Node* n) const;
  [[nodiscard]] inline const std::uint64_t* masks(const Node* n) const;
  [[nodiscard]] inline std::uint64_t* max_gaps(Node* n) const;
  [[nodiscard]] inline const std::uint64_t* max_gaps(const Node* n) const;
  [[nodiscard]] inline std::uint64_t** wides(Node* n) const;  // a row of wide_orders_ fits, or null
  [[nodiscard]] inline std::uint64_t* const* wides(const Node* n) const;
  [[nodiscard]] inline std::uint16_t* lanes(Node* n) const;  // kLanes per slot
  [[nodiscard]] inline const std::uint16_t* lanes(const Node* n) const;
  [[nodiscard]] inline std::uint16_t* shortfalls(Node* n) const;  // kLanes per slot
  [[nodiscard]] inline const std::uint16_t* shortfalls(const Node* n) const;
  [[nodiscard]] bool holds(const Node* n, std::uint32_t i, const Window& w) const;
  void shift_slots(Node* n, std::uint32_t from, std::uint32_t to, std::uint32_t count) const;
  void copy_slots(Node* dst, std::uint32_t dpos, const Node* src, std::uint32_t spos, std::uint32_t count) const;

  Node* new_leaf();
  Node* new_inner(std::uint32_t height);
  void free_node(Node* n);
  void free_subtree(Node* n);
  void release();
  void compact();
  bool move_node(Node* n, NodePool& pool);
  [[nodiscard]] Node** referrer(const Node* n);

  [[nodiscard]] std::uint64_t node_high(const Node* n) const;
  [[nodiscard]] static std::uint64_t child_lo(const std::uint64_t* highs, std::uint32_t i, std::uint64_t lo) {
    return i == 0 ? lo : highs[i - 1] + 1;
  }
  [[nodiscard]] static std::uint32_t pick_child(const std::uint64_t* highs, std::uint32_t count, std::uint64_t pfn);
  void descend(std::uint64_t pfn, Path& path) const;
  inline void prefetch_node(const Node* child, std::uint32_t height) const;

  // Summaries.
  void leaf_summary(const Node* leaf, std::uint64_t lo, Summary& out) const;
  void inner_summary(const Node* n, Summary& out) const;
  void shortfall_row(const Node* n, std::uint64_t g, std::array<std::uint16_t, kLanes>& out,
                     std::uint32_t changed = UINT32_MAX, std::uint64_t changed_gap = 0) const;
  void child_summary(const Node* child, std::uint64_t lo, Summary& out) const;
  inline void read_slot(const Node* n, std::uint32_t i, Summary& out, bool full = false) const;
  void write_slot(Node* n, std::uint32_t i, const Summary& s) const;
  void recompute_slot(Node* n, std::uint32_t i, std::uint64_t lo) const;
  [[nodiscard]] static bool same(const Summary& a, const Summary& b);
  void propagate(const Path& path, Summary& fresh) const;
  void propagate_shortfalls(const Path& path, std::uint64_t gap,
                            const std::array<std::uint16_t, kLanes>& fresh_row) const;
  // Wide rows (gap_tree_wide.cpp).
  [[nodiscard]] inline std::uint32_t gap_top_order(std::uint64_t a, std::uint64_t b) const;
  bool child_wide(const Node* child, std::uint64_t lo, std::uint64_t* out) const;
  void store_wide(Node* n, std::uint32_t i, const std::uint64_t* row) const;
  void drop_wide(Node* n, std::uint32_t i) const;
  void drop_wides(Node* n) const;
  [[nodiscard]] inline std::size_t row_reserve() const;  // rows_per_update(), inline
  [[nodiscard]] inline std::size_t spare_row_cap() const;
  [[nodiscard]] std::uint64_t* take_row() const;
  void give_row(std::uint64_t* row) const;
  // Before an update changes anything (insert_at, erase_entry): what it may
  // allocate, so that it cannot fail halfway (gap_tree_edit.cpp).
  void need_rows(std::size_t need) const;
  void reserve_rows(std::size_t need) const;
  void trim_rows() const;
  void reserve_split(const Path& path);
  void trim_spares();
  void propagate_wides(const Path& path) const;
  void raise_leaf(const Path& path, std::uint64_t a, std::uint64_t b, std::uint64_t below, std::uint64_t above) const;
  void refresh_gap_owner(std::uint64_t pfn, std::uint64_t gap_start);
  void recompute_gap_owner(std::uint64_t pfn);

  // Leaf edits.
  void leaf_insert_at(Node* leaf, std::uint32_t pos, const Entry& e) const;
  void leaf_remove_at(Node* leaf, std::uint32_t pos) const;
  [[nodiscard]] inline Entry leaf_entry(const Node* leaf, std::uint32_t pos) const;
  // Inner edits.
  void inner_insert_slot(Node* n, std::uint32_t pos, Node* child) const;
  void inner_remove_slot(Node* n, std::uint32_t pos) const;

  // Structural paths (shifts, splits, merges, borrows).
  Node* insert_rec(Node* n, std::uint64_t lo, const Entry& e, Node* parent, std::uint32_t slot);
  bool shift_into_sibling(Node* n, std::uint32_t i, std::uint64_t lo, const Entry& e);
  bool shift_slot_into_sibling(Node* p, std::uint32_t i, std::uint32_t pos, Node* child);
  Node* split_leaf(Node* leaf, std::uint32_t pos, const Entry& e);
  Node* split_inner(Node* n, std::uint32_t pos, Node* child, std::uint64_t lo);
  std::optional<Entry> erase_if(std::uint64_t first, bool reserved_too);
  std::optional<Entry> erase_entry(std::uint64_t first, bool reserved_too);
  void insert_at(Path& path, const Entry& entry);
  void collapse();
  bool erase_rec(Node* n, std::uint64_t lo, std::uint64_t first, Entry& out);
  void fix_underflow(Node* n, std::uint32_t i, std::uint64_t lo);
  [[nodiscard]] bool sibling_absorbs(const Path& path, std::uint32_t count) const;
  // A node of `count` entries or children out of `cap` looks for a sibling to
  // merge with: at most half full.
  [[nodiscard]] static bool may_merge(std::uint32_t count, std::uint32_t cap) { return count <= cap / 2; }
  void move_entries(Node* dst, std::uint32_t dpos, Node* src, std::uint32_t spos, std::uint32_t count) const;
  void move_slots(Node* dst, std::uint32_t dpos, Node* src, std::uint32_t spos, std::uint32_t count) const;

  // Searches; `path`, when given, records the descent that succeeds.
  [[nodiscard]] std::optional<std::uint64_t> search_path(const Query& query, Path* path, std::uint32_t* leaves) const;
  [[nodiscard]] std::optional<std::uint64_t> search_window(Window& w, Policy policy, Path* path) const;
  static void note(Path* path, std::uint32_t d, const Node* n, std::uint32_t i, std::uint64_t lo);
  static void note_leaf(Path* path, std::uint32_t d, const Node* leaf, std::uint64_t lo);
  bool search_down(const Node* n, std::uint64_t lo, const Window& w, std::uint64_t& out, Path* path,
                   std::uint32_t d) const;
  bool search_up(const Node* n, std::uint64_t lo, const Window& w, std::uint64_t& out, Path* path,
                 std::uint32_t d) const;
  void min_class(const Node* n, std::uint64_t lo, const Window& w, std::uint32_t& best) const;
  bool find_class(const Node* n, std::uint64_t lo, const Window& w, std::uint32_t cls, std::uint64_t& out, Path* path,
                  std::uint32_t d) const;
  [[nodiscard]] std::optional<std::pair<std::uint64_t, std::uint64_t>> tail_gap() const;

  std::string check_node(const Node* n, std::uint64_t lo, bool is_root, std::uint64_t& prev_last, bool& have_prev,
                         std::size_t& entries) const;

  std::uint64_t max_pfn_;
  std::uint32_t orders_;
  std::uint32_t wide_orders_;  // orders kWideMin .. orders_ - 1: a wide row's length
  std::uint32_t leaf_cap_;
  std::uint32_t fanout_;
  std::uint32_t min_leaf_;
  std::uint32_t min_inner_;
  std::size_t leaf_bytes_;
  std::size_t inner_bytes_;
  NodePool leaf_pool_;
  NodePool inner_pool_;
  Node* root_ = nullptr;
  std::size_t size_ = 0;
  std::size_t leaves_ = 0;
  std::size_t inners_ = 0;
  // Mutable: the update path is made of const functions that write the
  // nodes through their pointers, and a wide row is allocated there.
  mutable std::size_t wide_rows_ = 0;
  // Rows reserved for updates, linked through their first word.
  mutable std::uint64_t* spare_rows_ = nullptr;
  mutable std::size_t spare_row_count_ = 0;
  // What the update under way reserved and has not used yet, and how many
  // rows and nodes updates took beyond that, which check() reports (a
  // reservation rule would be wrong, even where leftover spares covered
  // it this time).
  mutable std::size_t row_budget_ = 0;
  std::uint32_t leaf_budget_ = 0;
  std::uint32_t inner_budget_ = 0;
  mutable std::size_t unreserved_ = 0;
};

}  // namespace iovakit::iova
