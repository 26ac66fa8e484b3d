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
// to a free list (its first word links the list) and is reused first.
//
// Memory goes back to the system when the pool has no live block left (the
// tree was cleared, or shrank to the one leaf it starts with): every chunk
// is unmapped then. In between, a tree that shrinks keeps its chunks for
// reuse, as a slab cache does; bytes() says how much that is.
//
// Thread safety: none (the tree's owner serialises).
#pragma once

#include <cstddef>
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
  void* allocate();
  // Returns a block from allocate(). When it was the last live one, every
  // chunk goes back to the system.
  void release(void* block);

  [[nodiscard]] std::size_t block_bytes() const { return block_bytes_; }
  [[nodiscard]] std::size_t live() const { return live_; }
  // Bytes held: blocks from operator new plus whole chunks.
  [[nodiscard]] std::size_t bytes() const { return direct_ * block_bytes_ + chunks_.size() * kChunkBytes; }
  [[nodiscard]] std::size_t chunk_count() const { return chunks_.size(); }

 private:
  [[nodiscard]] bool in_chunk(const void* block) const;
  void* carve();
  void drop_chunks();

  std::size_t block_bytes_;
  std::size_t live_ = 0;       // blocks handed out and not released
  std::size_t direct_ = 0;     // of those, from operator new
  std::vector<char*> chunks_;  // sorted by address
  char* bump_ = nullptr;       // next unused block in the newest chunk
  char* bump_end_ = nullptr;
  void* free_ = nullptr;  // released chunk blocks, linked through their first word
};

}  // namespace iovakit::iova
