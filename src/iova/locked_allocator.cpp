#include "iovakit/iova/locked_allocator.h"

namespace iovakit::iova {

Result<Range> LockedAllocator::allocate(const AllocRequest& request) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.allocate(request);
}

Result<Range> LockedAllocator::allocate_at(const Range& range) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.allocate_at(range);
}

Result<Range> LockedAllocator::free(std::uint64_t iova) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.free(iova);
}

std::optional<Entry> LockedAllocator::find(std::uint64_t iova) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.find(iova);
}

Result<ReserveReport> LockedAllocator::reserve(const Range& range) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.reserve(range);
}

Result<Range> LockedAllocator::allocate_fast(std::uint64_t size, std::uint64_t limit) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.allocate_fast(size, limit);
}

Status LockedAllocator::free_fast(const Range& range) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.free_fast(range);
}

void LockedAllocator::flush_cache() {
  const std::lock_guard<std::mutex> lock(mutex_);
  allocator_.flush_cache();
}

std::size_t LockedAllocator::live_count() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return allocator_.live_count();
}

}  // namespace iovakit::iova
