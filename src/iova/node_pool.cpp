#include "iovakit/iova/node_pool.h"

#include <algorithm>
#include <cstdint>
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

NodePool::NodePool(std::size_t block_bytes) : block_bytes_(round_block(block_bytes)) {}

NodePool::~NodePool() { drop_chunks(); }

NodePool::NodePool(NodePool&& other) noexcept
    : block_bytes_(other.block_bytes_),
      live_(std::exchange(other.live_, 0)),
      direct_(std::exchange(other.direct_, 0)),
      chunks_(std::exchange(other.chunks_, {})),
      bump_(std::exchange(other.bump_, nullptr)),
      bump_end_(std::exchange(other.bump_end_, nullptr)),
      free_(std::exchange(other.free_, nullptr)) {}

NodePool& NodePool::operator=(NodePool&& other) noexcept {
  if (this != &other) {
    drop_chunks();
    block_bytes_ = other.block_bytes_;
    live_ = std::exchange(other.live_, 0);
    direct_ = std::exchange(other.direct_, 0);
    chunks_ = std::exchange(other.chunks_, {});
    bump_ = std::exchange(other.bump_, nullptr);
    bump_end_ = std::exchange(other.bump_end_, nullptr);
    free_ = std::exchange(other.free_, nullptr);
  }
  return *this;
}

void* NodePool::allocate() {
  if (free_ != nullptr) {
    void* block = free_;
    free_ = *static_cast<void**>(block);
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

void* NodePool::carve() {
  if (bump_ == nullptr || static_cast<std::size_t>(bump_end_ - bump_) < block_bytes_) {
    char* chunk = map_chunk();
    try {
      chunks_.insert(std::upper_bound(chunks_.begin(), chunks_.end(), chunk), chunk);
    } catch (...) {
      unmap_chunk(chunk);
      throw;
    }
    bump_ = chunk;
    bump_end_ = chunk + kChunkBytes;
  }
  void* block = bump_;
  bump_ += block_bytes_;
  return block;
}

bool NodePool::in_chunk(const void* block) const {
  if (chunks_.empty()) return false;
  const auto* p = static_cast<const char*>(block);
  const char* base = p - (reinterpret_cast<std::uintptr_t>(p) & (kChunkBytes - 1));
  return std::binary_search(chunks_.begin(), chunks_.end(), base);
}

void NodePool::release(void* block) {
  --live_;
  if (in_chunk(block)) {
    *static_cast<void**>(block) = free_;
    free_ = block;
  } else {
    --direct_;
    ::operator delete(block);
  }
  if (live_ == 0) drop_chunks();
}

void NodePool::drop_chunks() {
  for (char* chunk : chunks_) unmap_chunk(chunk);
  chunks_.clear();
  bump_ = nullptr;
  bump_end_ = nullptr;
  free_ = nullptr;
}

}  // namespace iovakit::iova
