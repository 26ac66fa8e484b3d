#include "iovakit/iova/node_pool.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace iovakit::iova {

namespace {

constexpr std::size_t kBlockAlign = alignof(std::max_align_t);

std::size_t round_block(std::size_t bytes) {
  bytes = std::max(bytes, sizeof(void*));
  return (bytes + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
}

// A kChunkBytes region aligned to kChunkBytes. On Linux: mmap twice the size
// and unmap the unaligned ends, then ask for huge pages (a no-op when
// transparent huge pages are "never").
char* map_chunk() {
  constexpr std::size_t kSize = NodePool::kChunkBytes;
#if defined(__linux__)
  void* raw = ::mmap(nullptr, 2 * kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto* start = static_cast<char*>(raw);
  const std::size_t head = (kSize - (reinterpret_cast<std::uintptr_t>(start) & (kSize - 1))) & (kSize - 1);
  char* chunk = start + head;
  if (head > 0) ::munmap(start, head);
  const std::size_t tail = kSize - head;
  if (tail > 0) ::munmap(chunk + kSize, tail);
#if defined(MADV_HUGEPAGE)
  (void)::madvise(chunk, kSize, MADV_HUGEPAGE);
#endif
  return chunk;
#else
  return static_cast<char*>(::operator new (kSize, std::align_val_t{kSize}));
#endif
}

void unmap_chunk(char* chunk) {
#if defined(__linux__)
  ::munmap(chunk, NodePool::kChunkBytes);
#else
  ::operator delete (chunk, std::align_val_t{NodePool::kChunkBytes});
#endif
}

}  // namespace

// A chunk's bookkeeping: which blocks are live (bit i: the block at
// base + i * block_bytes) and its released blocks, linked through their
// first word.
struct NodePool::Chunk {
  char* base = nullptr;
  std::size_t live = 0;
  void* free = nullptr;
  bool listed = false;     // in with_free_
  std::size_t cursor = 0;  // the victim's blocks below this one have moved
  std::vector<std::uint64_t> used;
};

NodePool::NodePool(std::size_t block_bytes)
    : block_bytes_(round_block(block_bytes)), blocks_per_chunk_(kChunkBytes / block_bytes_) {}

NodePool::~NodePool() {
  trim();
  drop_chunks();
}

NodePool::NodePool(NodePool&& other) noexcept
    : block_bytes_(other.block_bytes_),
      blocks_per_chunk_(other.blocks_per_chunk_),
      live_(std::exchange(other.live_, 0)),
      direct_(std::exchange(other.direct_, 0)),
      chunks_(std::exchange(other.chunks_, {})),
      with_free_(std::exchange(other.with_free_, {})),
      bump_chunk_(std::exchange(other.bump_chunk_, nullptr)),
      bump_(std::exchange(other.bump_, nullptr)),
      bump_end_(std::exchange(other.bump_end_, nullptr)),
      victim_(std::exchange(other.victim_, nullptr)),
      spares_(std::exchange(other.spares_, nullptr)),
      spare_count_(std::exchange(other.spare_count_, 0)) {}

NodePool& NodePool::operator=(NodePool&& other) noexcept {
  if (this != &other) {
    trim();
    drop_chunks();
    block_bytes_ = other.block_bytes_;
    blocks_per_chunk_ = other.blocks_per_chunk_;
    live_ = std::exchange(other.live_, 0);
    direct_ = std::exchange(other.direct_, 0);
    chunks_ = std::exchange(other.chunks_, {});
    with_free_ = std::exchange(other.with_free_, {});
    bump_chunk_ = std::exchange(other.bump_chunk_, nullptr);
    bump_ = std::exchange(other.bump_, nullptr);
    bump_end_ = std::exchange(other.bump_end_, nullptr);
    victim_ = std::exchange(other.victim_, nullptr);
    spares_ = std::exchange(other.spares_, nullptr);
    spare_count_ = std::exchange(other.spare_count_, 0);
  }
  return *this;
}

std::size_t NodePool::index_of(const Chunk& c, const void* block) const {
  return static_cast<std::size_t>(static_cast<const char*>(block) - c.base) / block_bytes_;
}

void* NodePool::allocate() {
  if (spares_ != nullptr) [[unlikely]] {
    void* block = spares_;
    spares_ = *static_cast<void**>(block);
    --spare_count_;
    ++live_;
    ++direct_;
    return block;
  }
  if (!with_free_.empty()) {
    Chunk* c = with_free_.back();
    void* block = c->free;
    c->free = *static_cast<void**>(block);
    if (c->free == nullptr) unlist(c);
    const std::size_t i = index_of(*c, block);
    c->used[i / 64] |= std::uint64_t{1} << (i % 64);
    ++c->live;
    ++live_;
    return block;
  }
  if (!chunks_.empty() || live_ * block_bytes_ >= kChunkThreshold) {
    void* block = carve();
    ++live_;
    return block;
  }
  void* block = ::operator new(block_bytes_);
  ++live_;
  ++direct_;
  return block;
}

void* NodePool::allocate_direct() {
  void* block = ::operator new(block_bytes_);
  ++live_;
  ++direct_;
  return block;
}

void* NodePool::carve() {
  if (bump_ == nullptr || static_cast<std::size_t>(bump_end_ - bump_) < block_bytes_) start_chunk();
  void* block = bump_;
  const std::size_t i = index_of(*bump_chunk_, block);
  bump_chunk_->used[i / 64] |= std::uint64_t{1} << (i % 64);
  ++bump_chunk_->live;
  bump_ += block_bytes_;
  return block;
}

void NodePool::start_chunk() {
  char* base = map_chunk();
  Chunk* raw = nullptr;
  try {
    auto chunk = std::make_unique<Chunk>();
    chunk->base = base;
    chunk->used.assign((blocks_per_chunk_ + 63) / 64, 0);
    raw = chunk.get();
    // Room for every chunk in with_free_, so that release() never
    // allocates (it runs in the middle of a merge, which must not fail).
    with_free_.reserve(chunks_.size() + 1);
    const auto at = std::upper_bound(chunks_.begin(), chunks_.end(), base,
                                     [](const char* b, const std::unique_ptr<Chunk>& c) { return b < c->base; });
    chunks_.insert(at, std::move(chunk));
  } catch (...) {
    unmap_chunk(base);
    throw;
  }
  if (bump_chunk_ != nullptr) {
    for (char* p = bump_; p != nullptr && static_cast<std::size_t>(bump_end_ - p) >= block_bytes_; p += block_bytes_) {
      *reinterpret_cast<void**>(p) = bump_chunk_->free;
      bump_chunk_->free = p;
      if (bump_chunk_ != victim_ && !bump_chunk_->listed) {
        with_free_.push_back(bump_chunk_);
        bump_chunk_->listed = true;
      }
    }
  }
  bump_chunk_ = raw;
  bump_ = base;
  bump_end_ = base + (blocks_per_chunk_ * block_bytes_);
}

// Spares below the threshold; in chunk mode, enough room in the chunk being
// carved for what the spares do not cover (released blocks are taken first
// and only add to that).
void NodePool::reserve_slow(std::size_t k) {
  if (chunks_.empty() && (live_ + k) * block_bytes_ < kChunkThreshold) {
    while (spare_count_ < k) {
      void* block = ::operator new(block_bytes_);
      *static_cast<void**>(block) = spares_;
      spares_ = block;
      ++spare_count_;
    }
    return;
  }
  const std::size_t need = k - spare_count_;
  const std::size_t room = bump_ == nullptr ? 0 : static_cast<std::size_t>(bump_end_ - bump_) / block_bytes_;
  if (room < need) start_chunk();
}

void NodePool::trim() {
  while (spares_ != nullptr) {
    void* block = spares_;
    spares_ = *static_cast<void**>(block);
    ::operator delete(block);
  }
  spare_count_ = 0;
}

NodePool::Chunk* NodePool::find_chunk(const void* block) const {
  if (chunks_.empty()) return nullptr;
  const auto* p = static_cast<const char*>(block);
  const char* base = p - (reinterpret_cast<std::uintptr_t>(p) & (kChunkBytes - 1));
  const auto it = std::lower_bound(chunks_.begin(), chunks_.end(), base,
                                   [](const std::unique_ptr<Chunk>& c, const char* b) { return c->base < b; });
  return it != chunks_.end() && (*it)->base == base ? it->get() : nullptr;
}

void NodePool::release(void* block) {
  --live_;
  Chunk* c = find_chunk(block);
  if (c == nullptr) {
    --direct_;
    ::operator delete(block);
  } else {
    const std::size_t i = index_of(*c, block);
    c->used[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    --c->live;
    *static_cast<void**>(block) = c->free;
    c->free = block;
    if (c == victim_) {
      if (c->live == 0) {
        victim_ = nullptr;
        drop_chunk(c);
      }
    } else if (!c->listed) {
      with_free_.push_back(c);
      c->listed = true;
    }
  }
  if (live_ == 0) drop_chunks();
}

void NodePool::drop_unused_chunks() {
  if (live_ == direct_ && !chunks_.empty()) drop_chunks();
}

// The chunk with the fewest live blocks, other than the one being carved
// (emptying that would map a new chunk at once). An O(chunks) scan, once
// per victim; a chunk is 2 MiB of nodes.
void NodePool::pick_victim() {
  Chunk* best = nullptr;
  for (const auto& c : chunks_) {
    if (c.get() != bump_chunk_ && (best == nullptr || c->live < best->live)) best = c.get();
  }
  if (best == nullptr) return;
  victim_ = best;
  unlist(victim_);
  if (victim_->live == 0) {
    drop_chunk(victim_);
    victim_ = nullptr;
  }
}

void* NodePool::block_to_move() {
  if (victim_ == nullptr) {
    if (!wants_compaction()) return nullptr;
    pick_victim();
    if (victim_ == nullptr) return nullptr;
  }
  const std::vector<std::uint64_t>& used = victim_->used;
  for (std::size_t w = victim_->cursor / 64; w < used.size(); ++w) {
    if (used[w] != 0) {
      const std::size_t i = (w * 64) + static_cast<std::size_t>(std::countr_zero(used[w]));
      victim_->cursor = i;
      return victim_->base + (i * block_bytes_);
    }
  }
  return nullptr;  // unreachable: a victim with no live block is dropped
}

void NodePool::unlist(Chunk* c) {
  if (!c->listed) return;
  with_free_.erase(std::find(with_free_.begin(), with_free_.end(), c));
  c->listed = false;
}

void NodePool::drop_chunk(Chunk* c) {
  unlist(c);
  if (c == bump_chunk_) {
    bump_chunk_ = nullptr;
    bump_ = nullptr;
    bump_end_ = nullptr;
  }
  unmap_chunk(c->base);
  chunks_.erase(
      std::find_if(chunks_.begin(), chunks_.end(), [c](const std::unique_ptr<Chunk>& p) { return p.get() == c; }));
}

void NodePool::drop_chunks() {
  for (const auto& chunk : chunks_) unmap_chunk(chunk->base);
  chunks_.clear();
  with_free_.clear();
  bump_chunk_ = nullptr;
  bump_ = nullptr;
  bump_end_ = nullptr;
  victim_ = nullptr;
}

}  // namespace iovakit::iova
