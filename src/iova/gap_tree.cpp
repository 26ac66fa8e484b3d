#include "iovakit/iova/gap_tree.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace iovakit::iova {

namespace {

__extension__ typedef unsigned __int128 u128;  // NOLINT(modernize-use-using)

constexpr std::uint32_t kMaxOrders = 64;
constexpr std::uint32_t kLanes = GapTree::kLanes;
constexpr std::uint64_t kLaneCap = GapTree::kLaneCap;
// Inner levels on a path. Every non-root inner node keeps at least two
// children, so 2^64 entries fit in 64 levels.
constexpr std::uint32_t kMaxDepth = 72;
constexpr std::uint32_t kNoClass = 64;

using Lanes = std::array<std::uint16_t, kLanes>;

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
LaneVec splat(std::uint64_t v) { return LaneVec{} + static_cast<std::uint16_t>(v); }
bool any_set(LaneVec v) {
  std::array<std::uint64_t, 2> words{};
  std::memcpy(words.data(), &v, sizeof v);
  return (words[0] | words[1]) != 0;
}

std::uint64_t low_mask(std::uint32_t bits) { return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1; }

// floor(log2(v)); 0 for 0, which no caller passes (it keeps shifts by the
// result defined whatever the input).
std::uint32_t floor_log2(std::uint64_t v) { return v == 0 ? 0 : 63U - static_cast<std::uint32_t>(std::countl_zero(v)); }

std::uint32_t floor_log2(u128 v) {
  const auto hi = static_cast<std::uint64_t>(v >> 64);
  return hi != 0 ? 64U + floor_log2(hi) : floor_log2(static_cast<std::uint64_t>(v));
}

// ceil(log2(v)) for v >= 1.
std::uint32_t ceil_log2(u128 v) { return v <= 1 ? 0 : floor_log2(v - 1) + 1; }

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

// Node header. A leaf is followed by firsts[leaf_cap] and lasts[leaf_cap];
// an inner node by arrays of fanout elements: highs, children, masks (length
// classes), max_gaps, then lanes[fanout][kLanes]. The lanes of one child are
// contiguous (32 bytes) so that the maximum over children is a loop of
// vector max operations.
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
  Lanes lanes;
};

bool GapTree::same(const Summary& a, const Summary& b) {
  const LaneVec diff = (load_lanes(a.lanes.data()) ^ load_lanes(b.lanes.data())) |
                       (load_lanes(a.lanes.data() + kVecLanes) ^ load_lanes(b.lanes.data() + kVecLanes));
  return !any_set(diff) && a.high == b.high && a.mask == b.mask && a.gap == b.gap;
}

// Only node/index/lo[0 .. depth) are meaningful; the arrays are left
// uninitialised on purpose (a path is built on every operation).
struct GapTree::Path {
  std::array<Node*, kMaxDepth> node;           // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::array<std::uint32_t, kMaxDepth> index;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::array<std::uint64_t, kMaxDepth>
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
  std::uint32_t lane = 0;       // lanes index for order (>= 1), clamped to the last lane
  std::uint64_t lane_need = 0;  // what that lane must reach: min(size, kLaneCap)
  std::uint32_t min_class = 0;  // best fit: the smallest sure-fit length class
  bool lanes_exact = false;     // order >= 1 and GapTree::exact(size, order)
};

namespace {

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

}  // namespace

// ---------------------------------------------------------------------------
// Construction and node memory.

GapTree::GapTree(std::uint64_t max_pfn, Tuning tuning)
    : max_pfn_(max_pfn),
      orders_(std::min<std::uint32_t>(kMaxOrders, static_cast<std::uint32_t>(std::bit_width(max_pfn)) + 1)),
      leaf_cap_(tuning.leaf_capacity),
      fanout_(tuning.fanout),
      min_leaf_(std::max<std::uint32_t>(1, tuning.leaf_capacity / 4)),
      min_inner_(std::max<std::uint32_t>(2, tuning.fanout / 4)),
      leaf_bytes_(sizeof(Node) + 2 * std::size_t{tuning.leaf_capacity} * sizeof(std::uint64_t)),
      inner_bytes_(sizeof(Node) + std::size_t{tuning.fanout} * (4 * sizeof(std::uint64_t) + sizeof(Lanes))),
      leaf_pool_(leaf_bytes_),
      inner_pool_(inner_bytes_) {
  static_assert(sizeof(void*) == sizeof(std::uint64_t), "inner node rows are 8-byte elements");
  if (leaf_cap_ < 4 || leaf_cap_ > 64 || fanout_ < 4 || fanout_ > 64) {
    throw std::invalid_argument(
        fmt::format("GapTree: leaf capacity {} and fanout {} must be within 4..64", leaf_cap_, fanout_));
  }
  root_ = new_leaf();
}

GapTree::~GapTree() { release(); }

GapTree::GapTree(GapTree&& other) noexcept
    : max_pfn_(other.max_pfn_),
      orders_(other.orders_),
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
      inners_(std::exchange(other.inners_, 0)) {}

GapTree& GapTree::operator=(GapTree&& other) noexcept {
  if (this != &other) {
    release();
    max_pfn_ = other.max_pfn_;
    orders_ = other.orders_;
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
  }
  return *this;
}

void GapTree::release() {
  if (root_ != nullptr) free_subtree(root_);
  root_ = nullptr;
  size_ = 0;
}

void GapTree::clear() {
  release();
  root_ = new_leaf();
}

GapTree::Node* GapTree::new_leaf() {
  void* memory = leaf_pool_.allocate();
  ++leaves_;
  return new (memory) Node{};
}

GapTree::Node* GapTree::new_inner(std::uint32_t height) {
  void* memory = inner_pool_.allocate();
  ++inners_;
  Node* n = new (memory) Node{};
  n->height = height;
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
  }
  free_node(n);
}

std::uint32_t GapTree::height() const { return root_ == nullptr ? 0 : root_->height; }

// ---------------------------------------------------------------------------
// Layout.

std::uint64_t* GapTree::firsts(Node* n) { return reinterpret_cast<std::uint64_t*>(n + 1); }
std::uint64_t* GapTree::lasts(Node* n) const { return firsts(n) + leaf_cap_; }
const std::uint64_t* GapTree::firsts(const Node* n) { return reinterpret_cast<const std::uint64_t*>(n + 1); }
const std::uint64_t* GapTree::lasts(const Node* n) const { return firsts(n) + leaf_cap_; }
std::uint64_t* GapTree::highs(Node* n) { return reinterpret_cast<std::uint64_t*>(n + 1); }
const std::uint64_t* GapTree::highs(const Node* n) { return reinterpret_cast<const std::uint64_t*>(n + 1); }
GapTree::Node** GapTree::children(Node* n) const { return reinterpret_cast<Node**>(highs(n) + fanout_); }
GapTree::Node* const* GapTree::children(const Node* n) const {
  return reinterpret_cast<Node* const*>(highs(n) + fanout_);
}
std::uint64_t* GapTree::masks(Node* n) const { return highs(n) + 2 * std::size_t{fanout_}; }
const std::uint64_t* GapTree::masks(const Node* n) const { return highs(n) + 2 * std::size_t{fanout_}; }
std::uint64_t* GapTree::max_gaps(Node* n) const { return highs(n) + 3 * std::size_t{fanout_}; }
const std::uint64_t* GapTree::max_gaps(const Node* n) const { return highs(n) + 3 * std::size_t{fanout_}; }
std::uint16_t* GapTree::lanes(Node* n) const {
  return reinterpret_cast<std::uint16_t*>(highs(n) + 4 * std::size_t{fanout_});
}
const std::uint16_t* GapTree::lanes(const Node* n) const {
  return reinterpret_cast<const std::uint16_t*>(highs(n) + 4 * std::size_t{fanout_});
}

// Moves `count` slots of n (every row) from index `from` to index `to`.
void GapTree::shift_slots(Node* n, std::uint32_t from, std::uint32_t to, std::uint32_t count) const {
  auto* base = reinterpret_cast<unsigned char*>(highs(n));
  const std::size_t row8 = std::size_t{fanout_} * 8;
  const std::size_t to_off = std::size_t{to} * 8;
  const std::size_t from_off = std::size_t{from} * 8;
  const std::size_t bytes = std::size_t{count} * 8;
  for (std::size_t r = 0; r < 4; ++r) std::memmove(base + r * row8 + to_off, base + r * row8 + from_off, bytes);
  unsigned char* lane_rows = base + 4 * row8;
  std::memmove(lane_rows + std::size_t{to} * sizeof(Lanes), lane_rows + std::size_t{from} * sizeof(Lanes),
               std::size_t{count} * sizeof(Lanes));
}

void GapTree::copy_slots(Node* dst, std::uint32_t dpos, const Node* src, std::uint32_t spos,
                         std::uint32_t count) const {
  auto* d = reinterpret_cast<unsigned char*>(highs(dst));
  const auto* s = reinterpret_cast<const unsigned char*>(highs(src));
  const std::size_t row8 = std::size_t{fanout_} * 8;
  const std::size_t d_off = std::size_t{dpos} * 8;
  const std::size_t s_off = std::size_t{spos} * 8;
  const std::size_t bytes = std::size_t{count} * 8;
  for (std::size_t r = 0; r < 4; ++r) std::memcpy(d + r * row8 + d_off, s + r * row8 + s_off, bytes);
  std::memcpy(d + 4 * row8 + std::size_t{dpos} * sizeof(Lanes), s + 4 * row8 + std::size_t{spos} * sizeof(Lanes),
              std::size_t{count} * sizeof(Lanes));
}

std::uint64_t GapTree::node_high(const Node* n) const {
  return n->height == 0 ? lasts(n)[n->count - 1] : highs(n)[n->count - 1];
}

// The first child whose high is at or above pfn, or else the last child: a
// branchless binary search over the first count - 1 highs (sorted).
std::uint32_t GapTree::pick_child(const std::uint64_t* highs, std::uint32_t count, std::uint64_t pfn) {
  std::uint32_t len = count - 1;
  if (len == 0) return 0;
  const std::uint64_t* base = highs;
  while (len > 1) {
    const std::uint32_t half = len / 2;
    base = base[half - 1] < pfn ? base + half : base;
    len -= half;
  }
  return static_cast<std::uint32_t>(base - highs) + (*base < pfn ? 1U : 0U);
}

namespace {
// `bytes` from p: what a descent reads of a node (a leaf's header, firsts and
// lasts; an inner node's header, highs and children). Fetching those lines
// at once turns the dependent misses of the binary search into one wait.
// Two lines per step (the loop's own instructions cost as much as the
// prefetches, about 470 per W1 pair one line at a time); the second may
// fall one line past the end, which costs a little bandwidth at most (a
// prefetch never faults).
void prefetch_lines(const void* p, std::size_t bytes) {
  constexpr std::uintptr_t kLine = 64;
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t end = start + bytes;
  for (std::uintptr_t at = start & ~(kLine - 1); at < end; at += 2 * kLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(at));          // NOLINT(performance-no-int-to-ptr)
    __builtin_prefetch(reinterpret_cast<const void*>(at + kLine));  // NOLINT(performance-no-int-to-ptr)
  }
}
}  // namespace

// Of an inner node, the scalar rows: the search and the summary update read
// masks and max_gaps next to highs and children. Every level: leaving out
// the levels above the leaves' parents (a few hundred KiB at 1e6 entries)
// saved about 300 instructions per W1 pair and cost 15% in time.
void GapTree::prefetch_node(const Node* child, std::uint32_t height) const {
  prefetch_lines(child, height == 0 ? leaf_bytes_ : sizeof(Node) + 4 * sizeof(std::uint64_t) * std::size_t{fanout_});
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
// Summaries.

namespace {

// The lanes of the gap [a, a + length - 1]: lane k-1 is min(kLaneCap,
// largest size that fits at alignment 2^k). Aligning the start to 2^k wastes
// w = (-a) mod 2^k < 2^16 granules, so the size is length - w (or nothing
// when w >= length).
std::array<LaneVec, 2> gap_lanes(std::uint64_t a, std::uint64_t length) {
  constexpr LaneVec kLow = {0x1, 0x3, 0x7, 0xf, 0x1f, 0x3f, 0x7f, 0xff};
  constexpr LaneVec kHigh = {0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff, 0xffff};
  const LaneVec neg = splat(std::uint64_t{0} - a);
  const LaneVec waste_low = neg & kLow;
  const LaneVec waste_high = neg & kHigh;
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
  store_lanes(out.lanes.data(), low);
  store_lanes(out.lanes.data() + kVecLanes, high);
  out.high = leaf->count == 0 ? 0 : l[leaf->count - 1];
}

void GapTree::inner_summary(const Node* n, Summary& out) const {
  out.mask = or_row(masks(n), n->count);
  out.gap = max_row(max_gaps(n), n->count);
  max_rows(out.lanes, lanes(n), n->count);
  out.high = highs(n)[n->count - 1];
}

void GapTree::child_summary(const Node* child, std::uint64_t lo, Summary& out) const {
  if (child->height == 0) {
    leaf_summary(child, lo, out);
  } else {
    inner_summary(child, out);
  }
}

void GapTree::read_slot(const Node* n, std::uint32_t i, Summary& out) const {
  out.high = highs(n)[i];
  out.mask = masks(n)[i];
  out.gap = max_gaps(n)[i];
  // Two vector moves: std::copy_n here became a call to memmove (GCC 12),
  // on every level of every update.
  const std::uint16_t* row = lanes(n) + std::size_t{i} * kLanes;
  store_lanes(out.lanes.data(), load_lanes(row));
  store_lanes(out.lanes.data() + kVecLanes, load_lanes(row + kVecLanes));
}

void GapTree::write_slot(Node* n, std::uint32_t i, const Summary& s) const {
  highs(n)[i] = s.high;
  masks(n)[i] = s.mask;
  max_gaps(n)[i] = s.gap;
  std::uint16_t* row = lanes(n) + std::size_t{i} * kLanes;
  store_lanes(row, load_lanes(s.lanes.data()));
  store_lanes(row + kVecLanes, load_lanes(s.lanes.data() + kVecLanes));
}

void GapTree::recompute_slot(Node* n, std::uint32_t i, std::uint64_t lo) const {
  Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): child_summary fills it
  child_summary(children(n)[i], lo, s);
  write_slot(n, i, s);
}

// `fresh` is the new summary of the child at path.index[depth-1] of
// path.node[depth-1]. Writes it and walks up, deriving each parent's new
// aggregate from its old one (stored in the grandparent) and the change.
// A maximum is recomputed over the parent's children only when this child
// held it and went down; for the lanes that is a short loop of vector max
// operations. Stops as soon as a slot does not change.
void GapTree::propagate(const Path& path, Summary& fresh) const {
  if (path.depth == 0) return;
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

// The leaf's gaps only grew or merged (an erase): its new summary is its old
// one raised by the grown gap [a, b], which replaced gaps of `below` and
// `above` granules (0: none). Only the length classes can vanish: a class of
// a replaced gap stays when another gap of the leaf still has it, and the
// scan for those stops as soon as both are found (most leaves repeat their
// few classes; a full pass cost about 330 instructions per erase).
void GapTree::raise_leaf(const Path& path, std::uint64_t a, std::uint64_t b, std::uint64_t below,
                         std::uint64_t above) const {
  Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): read_slot fills it
  read_slot(path.node[path.depth - 1], path.index[path.depth - 1], s);
  const Node* leaf = path.leaf;
  const std::uint64_t length = b - a + 1;
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

// ---------------------------------------------------------------------------
// Node edits.

GapTree::Entry GapTree::leaf_entry(const Node* leaf, std::uint32_t pos) const {
  return Entry{firsts(leaf)[pos], lasts(leaf)[pos], ((leaf->reserved >> pos) & 1U) != 0};
}

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

void GapTree::inner_insert_slot(Node* n, std::uint32_t pos, Node* child) const {
  shift_slots(n, pos, pos + 1, n->count - pos);
  children(n)[pos] = child;
  ++n->count;
}

void GapTree::inner_remove_slot(Node* n, std::uint32_t pos) const {
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

void GapTree::insert(const Entry& entry) {
  Path path;
  descend(entry.first, path);
  insert_at(path, entry);
}

// Inserts into path.leaf, the leaf that owns the gap holding the entry.
void GapTree::insert_at(Path& path, const Entry& entry) {
  Node* leaf = path.leaf;
  ++size_;
  if (leaf->count < leaf_cap_) {
    const std::uint64_t* f = firsts(leaf);
    const auto pos = static_cast<std::uint32_t>(std::lower_bound(f, f + leaf->count, entry.first) - f);
    leaf_insert_at(leaf, pos, entry);
    if (path.depth > 0) {
      Summary s;  // NOLINT(cppcoreguidelines-pro-type-member-init): leaf_summary fills it
      leaf_summary(leaf, path.leaf_lo, s);
      propagate(path, s);
    }
    return;
  }
  if (path.depth > 0) {
    const std::uint32_t d = path.depth - 1;
    Node* parent = path.node[d];
    if (shift_into_sibling(parent, path.index[d], path.lo[d], entry)) {
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
}

// Inserts into the subtree n whose gaps start at lo; returns the new right
// sibling when n had to split. Recomputes every summary it touches. `parent`
// (nullptr for the root) holds n at `slot`: a full inner node first moves
// slots into a sibling with room there, as a full leaf does.
GapTree::Node* GapTree::insert_rec(Node* n, std::uint64_t lo, const Entry& e, Node* parent, std::uint32_t slot) {
  if (n->height == 0) {
    const std::uint64_t* f = firsts(n);
    const auto pos = static_cast<std::uint32_t>(std::lower_bound(f, f + n->count, e.first) - f);
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
  const auto pos = static_cast<std::uint32_t>(std::lower_bound(f, f + c->count, e.first) - f);
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
  if (out && size_ <= leaf_cap_ && (root_->height > 0 || chunk_bytes() > 0)) collapse();
  return out;
}

void GapTree::collapse() {
  const std::vector<Entry> all = overlapping(0, max_pfn_);
  free_subtree(root_);
  root_ = new_leaf();
  for (std::uint32_t i = 0; i < all.size(); ++i) leaf_insert_at(root_, i, all[i]);
}

std::optional<GapTree::Entry> GapTree::erase_entry(std::uint64_t first, bool reserved_too) {
  if (size_ == 0) return std::nullopt;
  Path path;
  descend(first, path);
  Node* leaf = path.leaf;
  const std::uint64_t* f = firsts(leaf);
  const auto pos = static_cast<std::uint32_t>(std::lower_bound(f, f + leaf->count, first) - f);
  if (pos == leaf->count || f[pos] != first) return std::nullopt;
  Entry out = leaf_entry(leaf, pos);
  if (out.reserved && !reserved_too) return std::nullopt;
  const bool was_last = pos + 1 == leaf->count;
  --size_;
  // Where the merged gap starts: the end of the entry before, or the leaf's
  // lower bound.
  const std::uint64_t gap_start = pos == 0 ? path.leaf_lo : lasts(leaf)[pos - 1] + 1;
  if (path.depth == 0 || (leaf->count - 1 >= min_leaf_ && !sibling_absorbs(path, leaf->count - 1))) {
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
  Entry ignored;
  erase_rec(root_, 0, first, ignored);
  while (root_->height > 0 && root_->count == 1) {
    Node* old = root_;
    root_ = children(old)[0];
    free_node(old);
  }
  // If the entry was the last of its leaf, the gap it leaves belongs to the
  // next leaf, which the merges above may or may not have rewritten.
  if (was_last) recompute_gap_owner(out.last);
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
    const auto pos = static_cast<std::uint32_t>(std::lower_bound(f, f + n->count, first) - f);
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

// ---------------------------------------------------------------------------
// Lookups.

std::optional<GapTree::Entry> GapTree::lower_bound(std::uint64_t pfn) const {
  if (size_ == 0) return std::nullopt;
  Path path;
  descend(pfn, path);
  const Node* leaf = path.leaf;
  const std::uint64_t* l = lasts(leaf);
  const auto pos = static_cast<std::uint32_t>(std::lower_bound(l, l + leaf->count, pfn) - l);
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
    for (auto pos = static_cast<std::uint32_t>(std::lower_bound(l, l + leaf->count, key) - l); pos < leaf->count;
         ++pos) {
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
// Search.

std::optional<std::uint64_t> GapTree::search(const Query& query) const { return search_path(query, nullptr); }

std::optional<std::uint64_t> GapTree::allocate(const Query& query) {
  Path path;
  const std::optional<std::uint64_t> at = search_path(query, &path);
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
// gap the answer lies in (left empty for the tail gap).
std::optional<std::uint64_t> GapTree::search_path(const Query& query, Path* path) const {
  if (path != nullptr) path->leaf = nullptr;
  Window w;
  w.size = query.size;
  w.order = std::min(query.order, orders_ - 1);
  w.lane = std::min(std::max(w.order, 1U), kLanes) - 1;
  w.lane_need = std::min(w.size, kLaneCap);
  w.align_mask = low_mask(w.order);
  w.low = query.low;
  w.high = std::min(query.high, max_pfn_);
  w.lanes_exact = w.order >= 1 && exact(w.size, w.order);
  if (w.size == 0 || w.low > w.high || w.high - w.low < w.size - 1) return std::nullopt;
  const auto tail = tail_gap();
  std::uint64_t x = 0;

  auto first_fit = [&]() -> std::optional<std::uint64_t> {
    if (size_ > 0 && search_up(root_, 0, w, x, path, 0)) return x;
    if (path != nullptr) path->leaf = nullptr;
    if (tail && fit_up(tail->first, tail->second, w.size, w.align_mask, w.low, w.high, x)) return x;
    return std::nullopt;
  };

  switch (query.policy) {
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

// Whether child i of n can hold the request: exact within the lanes (see
// GapTree::exact), a necessary condition beyond them.
bool GapTree::may_fit(const Node* n, std::uint32_t i, const Window& w) const {
  // Within the lanes, a lane at the request's size implies a gap that long.
  if (w.order == 0) return max_gaps(n)[i] >= w.size;
  if (lanes(n)[std::size_t{i} * kLanes + w.lane] < w.lane_need) return false;
  return w.lanes_exact || max_gaps(n)[i] >= w.size;
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
      // last eight.
      const std::uint32_t from = c->count > 8 ? c->count - 8 : 0;
      prefetch_lines(lanes(c) + std::size_t{from} * kLanes, std::size_t{c->count - from} * sizeof(Lanes));
    }
    return search_down(c, child_lo(h, i, lo), w, out, path, d + 1);
  };
  if (lo >= w.low && h[n->count - 1] <= w.high && (w.order == 0 || w.lanes_exact)) {
    // Every child lies inside the window and one row decides a fit
    // exactly: the highest child that fits is the answer's subtree, found
    // by a scan of one row (about 30 children are passed per W1 pair).
    std::uint32_t i = n->count;
    if (w.order == 0) {
      const std::uint64_t* g = max_gaps(n);
      while (i > 0 && g[i - 1] < w.size) --i;
    } else {
      const std::uint16_t* lane = lanes(n) + std::size_t{i - 1} * kLanes + w.lane;
      while (i > 0 && *lane < w.lane_need) {
        --i;
        lane -= kLanes;  // at i == 0: inside the max_gaps row before, not read
      }
    }
    return i > 0 && enter(i - 1);
  }
  for (std::uint32_t i = n->count; i-- > 0;) {
    const std::uint64_t clo = child_lo(h, i, lo);
    if (clo > w.high) continue;
    if (h[i] <= w.low) return false;  // the child's gaps end below h[i]
    if (!may_fit(n, i, w)) continue;
    if (enter(i)) return true;
  }
  return false;
}

bool GapTree::search_up(const Node* n, std::uint64_t lo, const Window& w, std::uint64_t& out, Path* path,
                        std::uint32_t d) const {
  if (n->height == 0) {
    note_leaf(path, d, n, lo);
    const std::uint64_t* f = firsts(n);
    const std::uint64_t* l = lasts(n);
    for (std::uint32_t i = 0; i < n->count; ++i) {
      const std::uint64_t a = i == 0 ? lo : l[i - 1] + 1;
      if (a > w.high) return false;
      if (f[i] == a) continue;
      if (fit_up(a, f[i] - 1, w.size, w.align_mask, w.low, w.high, out)) return true;
    }
    return false;
  }
  const std::uint64_t* h = highs(n);
  for (std::uint32_t i = 0; i < n->count; ++i) {
    const std::uint64_t clo = child_lo(h, i, lo);
    if (clo > w.high) return false;
    if (h[i] <= w.low) continue;
    if (!may_fit(n, i, w)) continue;
    note(path, d, n, i, lo);
    if (search_up(children(n)[i], clo, w, out, path, d + 1)) return true;
  }
  return false;
}

// Lowers `best` to the smallest length class >= w.min_class among the gaps
// of the subtree clipped to the window.
void GapTree::min_class(const Node* n, std::uint64_t lo, const Window& w, std::uint32_t& best) const {
  if (n->height == 0) {
    const std::uint64_t* f = firsts(n);
    const std::uint64_t* l = lasts(n);
    for (std::uint32_t i = 0; i < n->count; ++i) {
      const std::uint64_t start = i == 0 ? lo : l[i - 1] + 1;
      if (start > w.high) return;
      if (f[i] == start) continue;  // no gap below entry i
      const std::uint64_t a = std::max(start, w.low);
      const std::uint64_t b = std::min(f[i] - 1, w.high);
      if (a > b) continue;
      const std::uint32_t c = floor_log2(b - a + 1);
      if (c >= w.min_class && c < best) best = c;
    }
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
    note_leaf(path, d, n, lo);
    const std::uint64_t* f = firsts(n);
    const std::uint64_t* l = lasts(n);
    for (std::uint32_t i = 0; i < n->count; ++i) {
      const std::uint64_t start = i == 0 ? lo : l[i - 1] + 1;
      if (start > w.high) return false;
      if (f[i] == start) continue;
      const std::uint64_t a = std::max(start, w.low);
      const std::uint64_t b = std::min(f[i] - 1, w.high);
      if (a > b || floor_log2(b - a + 1) != cls) continue;
      out = a + ((std::uint64_t{0} - a) & w.align_mask);
      return true;
    }
    return false;
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
    read_slot(n, i, got);
    if (!same(want, got)) {
      for (std::uint32_t l = 0; l < kLanes; ++l) {
        if (want.lanes[l] != got.lanes[l]) {
          return fmt::format("stale summary at height {} slot {}: lane {} is {:#x}, recomputed {:#x}", n->height, i, l,
                             got.lanes[l], want.lanes[l]);
        }
      }
      return fmt::format(
          "stale summary at height {} slot {}: high {:#x} mask {:#x} gap {:#x}, recomputed {:#x} {:#x} {:#x}",
          n->height, i, got.high, got.mask, got.gap, want.high, want.mask, want.gap);
    }
  }
  return "";
}

}  // namespace iovakit::iova
