// iovakit/iova/node_pool.h: where a GapTree's nodes live, fixed-size blocks
// carved from huge-page-backed chunks once the tree is large.
//
// Design
// ------
// A GapTree of a million allocations holds about 27 MB of nodes, and every
// operation touches a random leaf and a random inner node near the bottom
// (the node freed from, the node allocated into). With 4 KiB pages each of
// those accesses also misses the TLB: measured on W1 at N = 1e6, backing the
// nodes with transparent huge pages cuts a pair from 1,118 to 912 ns
// (docs/performance.md). Small trees, the common case (a VFIO container
// with a few hundred mappings), must not pay 2 MiB each for that.
//
// So a pool starts by handing out blocks from the global operator new, one
// per node, and switches to chunks once its live blocks add up to
// kChunkThreshold: a chunk is kChunkBytes, aligned to kChunkBytes and
// advised MADV_HUGEPAGE (Linux, where transparent huge pages are
// "madvise" or "always"; elsewhere it is ordinary memory). Blocks are
// carved from the newest chunk by bumping a pointer; a released block goes
// to its chunk's free list (its first word links the list) and is reused
// before the bump pointer moves on.
//
// Memory goes back to the system when the pool has no live block left (the
// tree was cleared, or shrank to the one leaf it starts with): every chunk
// is unmapped then. A tree that shrinks without emptying (W3 keeps every
// other allocation of a full space) frees blocks all over its chunks, so
// that no chunk empties by itself: it held 34.2 B per live allocation for
// 18.7 B of live nodes. So the pool compacts: once its chunks hold more
// than one chunk's worth of unused blocks and more than a quarter as many
// as live ones, it picks the chunk with the fewest live blocks other than
// the one being carved (the victim; an O(chunks) scan, once per victim),
// stops handing out its blocks, and block_to_move() names them one at a
// time for the owner to move elsewhere (the owner knows who points at a
// block; the pool does not). The victim is unmapped when its last block
// goes. The tree moves two nodes per pool per erase (gap_tree.h), each an
// O(log n) descent to its parent and a copy, so every erase stays
// O(log n). W3 now holds 22.2 B per live allocation (docs/performance.md);
// a pool keeps at most a chunk or a quarter of its live blocks unused, plus
// a victim being emptied.
//
// Updates that must not fail halfway (a GapTree insert that splits nodes)
// first call reserve(k): the next k allocate() calls then cannot throw.
// Below the chunk threshold it keeps k spare blocks from operator new
// (allocate() hands them out first; a split uses them, a shift into a
// sibling leaves them for the next split); in chunk mode it makes sure the
// chunk being carved has k blocks left, mapping the next chunk early if
// not (the old one's uncarved blocks join its free list). trim() frees the
// spares, for a tree that shrank back to one leaf.
//
// Bookkeeping per chunk: a bitmap of its live blocks (to find the victim's
// blocks without a scan of the tree) and a free list of its released
// blocks (so that the victim's free blocks vanish with it), about 0.03% of
// the chunk.
//
// Thread safety: none (the tree's owner serialises).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace iovakit::iova {

class NodePool {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
  static constexpr std::size_t kChunkThreshold = std::size_t{4} << 20;

  // block_bytes: every block's size (at least a pointer).
  explicit NodePool(std::size_t block_bytes);
  ~NodePool();
  NodePool(NodePool&& other) noexcept;
  NodePool& operator=(NodePool&& other) noexcept;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  // A block of block_bytes, aligned for any node; throws std::bad_alloc.
  // Never a block of the victim.
  void* allocate();
  // A block from operator new whatever the mode (a tree collapsing into one
  // leaf takes it before freeing the rest); throws std::bad_alloc.
  // release() takes it like any other.
  void* allocate_direct();
  // Returns a block from allocate(). When it was the last live one, every
  // chunk goes back to the system; when it was the victim's last, the
  // victim does. Never throws.
  void release(void* block);
  // Unmaps the chunks when none holds a live block (the tree that took a
  // block from allocate_direct() and then freed the rest).
  void drop_unused_chunks();

  // Makes the next k allocate() calls unable to throw; throws
  // std::bad_alloc itself, having changed nothing a caller can see.
  void reserve(std::size_t k) {
    if (spare_count_ < k) [[unlikely]]
      reserve_slow(k);
  }
  // Frees the spare blocks reserve() kept.
  void trim();

  // Whether the pool is compacting: a victim is being emptied, or the
  // chunks hold enough unused blocks that one should be. Inline: the tree
  // asks after every erase. More than a chunk unused guarantees that the
  // other chunks have room for every live block of the victim (its live
  // and unused blocks add up to at most a chunk), so moving them never
  // maps a chunk. A quarter of the live ones bounds the moves per byte
  // returned: a chunk is emptied only while the chunks are less than 80%
  // used.
  [[nodiscard]] bool wants_compaction() const {
    if (victim_ != nullptr) return true;
    const std::size_t in_chunks = live_ - direct_;
    const std::size_t unused = (chunks_.size() * blocks_per_chunk_) - in_chunks;
    return unused > blocks_per_chunk_ && 4 * unused > in_chunks;
  }
  // A live block of the victim (choosing one if needed), for the owner to
  // copy into a block from allocate(), repoint its referrers to, and
  // release. nullptr when there is nothing to move.
  void* block_to_move();

  [[nodiscard]] std::size_t block_bytes() const { return block_bytes_; }
  [[nodiscard]] std::size_t live() const { return live_; }
  // Bytes held: blocks from operator new (spares included) plus whole
  // chunks.
  [[nodiscard]] std::size_t bytes() const {
    return (direct_ + spare_count_) * block_bytes_ + chunks_.size() * kChunkBytes;
  }
  [[nodiscard]] std::size_t chunk_count() const { return chunks_.size(); }

 private:
  struct Chunk;

  [[nodiscard]] Chunk* find_chunk(const void* block) const;
  [[nodiscard]] std::size_t index_of(const Chunk& c, const void* block) const;
  void* carve();
  void reserve_slow(std::size_t k);
  // Maps a chunk and carves from it from now on; the uncarved blocks of the
  // one being carved join its free list.
  void start_chunk();
  void pick_victim();
  void unlist(Chunk* c);
  void drop_chunk(Chunk* c);
  void drop_chunks();

  std::size_t block_bytes_;
  std::size_t blocks_per_chunk_;
  std::size_t live_ = 0;                        // blocks handed out and not released
  std::size_t direct_ = 0;                      // of those, from operator new
  std::vector<std::unique_ptr<Chunk>> chunks_;  // sorted by address
  std::vector<Chunk*> with_free_;               // chunks other than the victim with released blocks
  Chunk* bump_chunk_ = nullptr;                 // the chunk being carved
  char* bump_ = nullptr;                        // its next unused block
  char* bump_end_ = nullptr;
  Chunk* victim_ = nullptr;
  void* spares_ = nullptr;  // blocks from operator new kept by reserve(), linked through their first word
  std::size_t spare_count_ = 0;
};

}  // namespace iovakit::iova
