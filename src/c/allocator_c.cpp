// The C ABI of iovakit/c/allocator.h over iovakit::iova::Allocator.
//
// Every entry point catches everything: C callers cannot unwind C++
// exceptions. The allocator itself throws only std::bad_alloc (a node or a
// wide row of its tree, the cache's arrays, a reservation's lists), mapped
// to -ENOMEM; anything else would be a bug and maps to -EIO with its
// message. A broken allocator (allocator.h, "Out of memory") answers
// Errc::kBroken, -ENOTRECOVERABLE.
#include "iovakit/c/allocator.h"

#include <cerrno>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iovakit/iova/allocator.h"

struct iovakit_allocator {
  explicit iovakit_allocator(iovakit::iova::Allocator a, bool lock) : allocator(std::move(a)), locked(lock) {}

  iovakit::iova::Allocator allocator;
  mutable std::mutex mutex;
  bool locked;
};

namespace {

using iovakit::Errc;
using iovakit::Error;
using iovakit::iova::Allocator;

// Per thread, like errno and dlerror(). A message that could not be copied
// (out of memory) is replaced by a static one.
thread_local std::string last_error;                   // NOLINT(readability-identifier-naming)
thread_local const char* last_static_error = nullptr;  // NOLINT(readability-identifier-naming)

// Never throws: it runs in the handlers that turn exceptions into codes.
int fail(int code, std::string_view message) noexcept {
  try {
    last_error.assign(message);
    last_static_error = nullptr;
  } catch (...) {
    last_static_error = "out of host memory (the error message could not be kept)";
  }
  return code;
}

int to_errno(const Error& error) {
  switch (error.code()) {
    case Errc::kInvalidArgument: return -EINVAL;
    case Errc::kExhausted: return -ENOSPC;
    case Errc::kPermission: return -EPERM;
    case Errc::kNotFound: return -ENOENT;
    case Errc::kBroken: return -ENOTRECOVERABLE;
    default: return -EIO;
  }
}

int fail(const Error& error) { return fail(to_errno(error), error.to_string()); }

// Runs f(Allocator&) under the handle's mutex when it has one, and turns
// exceptions into error codes.
template <typename Handle, typename F>
int guarded(Handle* handle, F&& f) {
  if (handle == nullptr) return fail(-EINVAL, "NULL allocator handle");
  try {
    if (handle->locked) {
      const std::lock_guard<std::mutex> lock(handle->mutex);
      return std::forward<F>(f)(handle->allocator);
    }
    return std::forward<F>(f)(handle->allocator);
  } catch (const std::bad_alloc&) {
    return fail(-ENOMEM, "out of host memory");
  } catch (const std::exception& e) {
    return fail(-EIO, e.what());
  } catch (...) {
    return fail(-EIO, "unknown C++ exception");
  }
}

iovakit::iova::Policy to_policy(std::uint32_t policy) {
  switch (policy) {
    case IOVAKIT_POLICY_FIRST_FIT: return iovakit::iova::Policy::kFirstFit;
    case IOVAKIT_POLICY_BEST_FIT: return iovakit::iova::Policy::kBestFit;
    default: return iovakit::iova::Policy::kTopDown;
  }
}

void put_range(const iovakit::iova::Range& r, iovakit_range* out) {
  if (out != nullptr) *out = iovakit_range{r.first(), r.last()};
}

}  // namespace

extern "C" {

void iovakit_allocator_options_init(iovakit_allocator_options* options) {
  if (options == nullptr) return;
  const iovakit::iova::AllocatorOptions defaults;
  *options = iovakit_allocator_options{defaults.granule, defaults.cache_max_granules, defaults.cache_depth, 0};
}

void iovakit_alloc_request_init(iovakit_alloc_request* request) {
  if (request == nullptr) return;
  *request = iovakit_alloc_request{0, 0, 0, UINT64_MAX, IOVAKIT_POLICY_TOP_DOWN, 0};
}

int iovakit_allocator_create(const iovakit_range* usable, size_t count, const iovakit_allocator_options* options,
                             iovakit_allocator** out) {
  if (out == nullptr || (usable == nullptr && count != 0)) return fail(-EINVAL, "NULL argument");
  *out = nullptr;
  try {
    iovakit::iova::AllocatorOptions opts;
    std::uint32_t flags = 0;
    if (options != nullptr) {
      opts.granule = options->granule;
      opts.cache_max_granules = options->cache_max_granules;
      opts.cache_depth = options->cache_depth;
      opts.verify_fast_free = (options->flags & IOVAKIT_ALLOCATOR_VERIFY_FAST_FREE) != 0;
      flags = options->flags;
    }
    std::vector<iovakit::iova::Range> ranges;
    ranges.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      auto r = iovakit::iova::Range::make(usable[i].first, usable[i].last);
      if (!r) return fail(r.error());
      ranges.push_back(*r);
    }
    auto a = Allocator::create(iovakit::iova::RangeSet(ranges), opts);
    if (!a) return fail(a.error());
    *out = new iovakit_allocator(std::move(*a), (flags & IOVAKIT_ALLOCATOR_LOCKED) != 0);
    return 0;
  } catch (const std::bad_alloc&) {
    return fail(-ENOMEM, "out of host memory");
  } catch (const std::exception& e) {
    return fail(-EIO, e.what());
  }
}

void iovakit_allocator_destroy(iovakit_allocator* allocator) { delete allocator; }

int iovakit_alloc(iovakit_allocator* allocator, const iovakit_alloc_request* request, uint64_t* iova) {
  if (request == nullptr || iova == nullptr) return fail(-EINVAL, "NULL argument");
  return guarded(allocator, [&](Allocator& a) {
    iovakit::iova::AllocRequest r;
    r.size = request->size;
    r.alignment = request->alignment;
    r.size_aligned = (request->flags & IOVAKIT_ALLOC_SIZE_ALIGNED) != 0;
    r.min_address = request->min_address;
    r.limit = request->limit;
    r.policy = to_policy(request->policy);
    auto range = a.allocate(r);
    if (!range) return fail(range.error());
    *iova = range->first();
    return 0;
  });
}

int iovakit_alloc_dma(iovakit_allocator* allocator, uint64_t size, uint64_t limit, uint64_t* iova) {
  if (iova == nullptr) return fail(-EINVAL, "NULL argument");
  return guarded(allocator, [&](Allocator& a) {
    auto range = a.allocate(iovakit::iova::AllocRequest::dma(size, limit));
    if (!range) return fail(range.error());
    *iova = range->first();
    return 0;
  });
}

int iovakit_alloc_at(iovakit_allocator* allocator, uint64_t first, uint64_t last) {
  return guarded(allocator, [&](Allocator& a) {
    auto r = iovakit::iova::Range::make(first, last);
    if (!r) return fail(r.error());
    auto range = a.allocate_at(*r);
    if (!range) {
      // "Not free" is a busy range here, not a full space.
      const int code = range.error().code() == Errc::kExhausted ? -EBUSY : to_errno(range.error());
      return fail(code, range.error().to_string());
    }
    return 0;
  });
}

int iovakit_free(iovakit_allocator* allocator, uint64_t iova, iovakit_range* freed) {
  return guarded(allocator, [&](Allocator& a) {
    auto range = a.free(iova);
    if (!range) return fail(range.error());
    put_range(*range, freed);
    return 0;
  });
}

int iovakit_find(const iovakit_allocator* allocator, uint64_t iova, iovakit_range* range, int* reserved) {
  return guarded(allocator, [&](const Allocator& a) {
    auto entry = a.find(iova);
    if (!entry) return fail(-ENOENT, "address is free");
    put_range(entry->range, range);
    if (reserved != nullptr) *reserved = entry->kind == iovakit::iova::EntryKind::kReserved ? 1 : 0;
    return 0;
  });
}

int iovakit_reserve(iovakit_allocator* allocator, uint64_t first, uint64_t last, iovakit_range* conflicts,
                    size_t capacity, size_t* count) {
  if (conflicts == nullptr && capacity != 0) return fail(-EINVAL, "NULL conflicts array with a capacity");
  return guarded(allocator, [&](Allocator& a) {
    auto r = iovakit::iova::Range::make(first, last);
    if (!r) return fail(r.error());
    auto report = a.reserve(*r);
    if (!report) return fail(report.error());
    for (size_t i = 0; i < report->conflicts.size() && i < capacity; ++i)
      put_range(report->conflicts[i], &conflicts[i]);
    if (count != nullptr) *count = report->conflicts.size();
    return 0;
  });
}

int iovakit_alloc_fast(iovakit_allocator* allocator, uint64_t size, uint64_t limit, uint64_t* iova) {
  if (iova == nullptr) return fail(-EINVAL, "NULL argument");
  return guarded(allocator, [&](Allocator& a) {
    auto range = a.allocate_fast(size, limit);
    if (!range) return fail(range.error());
    *iova = range->first();
    return 0;
  });
}

int iovakit_free_fast(iovakit_allocator* allocator, uint64_t iova, uint64_t size) {
  return guarded(allocator, [&](Allocator& a) {
    auto r = iovakit::iova::Range::from_base_size(iova, size);
    if (!r) return fail(r.error());
    auto status = a.free_fast(*r);
    if (!status) return fail(status.error());
    return 0;
  });
}

void iovakit_flush_cache(iovakit_allocator* allocator) {
  (void)guarded(allocator, [](Allocator& a) {
    a.flush_cache();
    return 0;
  });
}

size_t iovakit_live_count(const iovakit_allocator* allocator) {
  if (allocator == nullptr) return 0;
  if (allocator->locked) {
    const std::lock_guard<std::mutex> lock(allocator->mutex);
    return allocator->allocator.live_count();
  }
  return allocator->allocator.live_count();
}

size_t iovakit_memory_bytes(const iovakit_allocator* allocator) {
  if (allocator == nullptr) return 0;
  if (allocator->locked) {
    const std::lock_guard<std::mutex> lock(allocator->mutex);
    return allocator->allocator.memory_bytes();
  }
  return allocator->allocator.memory_bytes();
}

const char* iovakit_last_error(void) { return last_static_error != nullptr ? last_static_error : last_error.c_str(); }

const char* iovakit_strerror(int error) {
  switch (error) {
    case 0: return "success";
    case -EINVAL: return "EINVAL: invalid argument";
    case -ENOSPC: return "ENOSPC: no free range";
    case -EBUSY: return "EBUSY: range in use";
    case -EPERM: return "EPERM: reserved or outside the usable list";
    case -ENOENT: return "ENOENT: not allocated";
    case -ENOMEM: return "ENOMEM: out of host memory";
    case -ENOTRECOVERABLE: return "ENOTRECOVERABLE: an earlier reservation ran out of memory halfway";
    case -EIO: return "EIO: internal error";
    default: return "unknown iovakit error";
  }
}

}  // extern "C"
