/* iovakit/c/allocator.h: the iovakit IOVA allocator for C programs.
 *
 * Design
 * ------
 * A C face on iovakit::iova::Allocator for VMMs and user-space drivers
 * written in C (a QEMU vIOMMU or virtio-iommu backend, a libvfn-style VFIO
 * driver). The full description (data structure, complexity, memory, the
 * fast path) is the header comment of iovakit/iova/allocator.h; in short:
 * a B+-tree of the occupied ranges whose nodes summarise the free gaps, so
 * that an allocation, successful or not, costs O(log n) (any size aligned
 * to at most 2^16 granules, size-aligned at any size, or up to 65535
 * granules at up to 2^32; another aligned request past those, such as 3
 * GiB aligned to 1 GiB, may cost one descent per near-miss gap, see "Exact
 * means" there), and nothing is ever placed in a reserved range or outside the
 * usable list.
 *
 * Addresses and sizes are bytes. Ranges are inclusive [first, last], as in
 * the kernel's struct vfio_iova_range. The handle is opaque. Every function
 * that can fail returns 0 or a negative errno value, and no C++ exception
 * ever crosses this interface:
 *
 *   -EINVAL   a malformed argument: zero size, a size or range that is not
 *             whole granules, an alignment that is not a power of two, an
 *             empty or too small window, a NULL pointer
 *   -ENOSPC   no free range can hold the request
 *   -EBUSY    iovakit_alloc_at: the range overlaps a live allocation
 *   -EPERM    the range or address is reserved, or outside the usable list
 *   -ENOENT   nothing is allocated there (never was, or already freed: a
 *             double free)
 *   -ENOMEM   the host ran out of memory, and nothing changed (try again
 *             later), except in iovakit_reserve, or in an iovakit_free
 *             that a reservation waited for, which are several updates:
 *             there the handle may be left half updated, and every later
 *             update on it then fails with -ENOTRECOVERABLE
 *   -ENOTRECOVERABLE  the handle was left half updated (above): destroy it
 *
 * iovakit_last_error() returns the message of the last failure on the
 * calling thread ("no free range of 8 KiB (0x2000) aligned to ...").
 *
 * Thread safety: a handle created with IOVAKIT_ALLOCATOR_LOCKED may be used
 * from any number of threads (one mutex per handle); otherwise by one thread
 * at a time. Distinct handles are independent.
 *
 * Example (examples/c-allocator/main.c is a complete program):
 *
 *   struct iovakit_range usable[] = {{0, 0xfedfffff}, {0xfef00000, (1ULL << 48) - 1}};
 *   iovakit_allocator *a;
 *   if (iovakit_allocator_create(usable, 2, NULL, &a) < 0) return 1;
 *   uint64_t iova;
 *   if (iovakit_alloc_dma(a, 65536, 0xffffffff, &iova) < 0)      // 64 KiB below 4 GiB
 *     fprintf(stderr, "%s\n", iovakit_last_error());
 *   iovakit_free(a, iova, NULL);
 *   iovakit_allocator_destroy(a);
 */
#ifndef IOVAKIT_C_ALLOCATOR_H
#define IOVAKIT_C_ALLOCATOR_H

/* A C header: C headers, typedefs and C naming, whatever the C++ lint says.
 * NOLINTBEGIN(modernize-deprecated-headers, modernize-use-using, readability-identifier-naming) */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iovakit_allocator iovakit_allocator;

struct iovakit_range {
  uint64_t first;
  uint64_t last; /* inclusive */
};

enum iovakit_policy {
  IOVAKIT_POLICY_TOP_DOWN = 0,  /* the highest fit below the limit (the Linux DMA API) */
  IOVAKIT_POLICY_FIRST_FIT = 1, /* the lowest fit above min_address */
  IOVAKIT_POLICY_BEST_FIT = 2   /* good fit by power-of-two size class */
};

enum iovakit_allocator_flags {
  IOVAKIT_ALLOCATOR_LOCKED = 1 << 0,          /* the handle takes a mutex around every call */
  IOVAKIT_ALLOCATOR_VERIFY_FAST_FREE = 1 << 1 /* iovakit_free_fast checks its range against the tree */
};

enum iovakit_alloc_flags {
  IOVAKIT_ALLOC_SIZE_ALIGNED = 1 << 0 /* align to the size rounded up to a power of two */
};

struct iovakit_allocator_options {
  uint64_t granule;            /* bytes, a power of two (default 4096) */
  uint32_t cache_max_granules; /* fast-path sizes 1..this (default 32; 0 turns it off) */
  uint32_t cache_depth;        /* parked ranges per size (default 256) */
  uint32_t flags;              /* enum iovakit_allocator_flags */
};

struct iovakit_alloc_request {
  uint64_t size;        /* bytes, whole granules; the C API cannot ask for all 2^64
                           bytes at once: use iovakit_alloc_at(a, 0, UINT64_MAX) */
  uint64_t alignment;   /* bytes, a power of two; 0 means the granule */
  uint64_t min_address; /* the allocation lies in [min_address, limit] */
  uint64_t limit;       /* inclusive, e.g. 0xffffffff for a 32-bit DMA mask */
  uint32_t policy;      /* enum iovakit_policy */
  uint32_t flags;       /* enum iovakit_alloc_flags */
};

/* Fill in the defaults (then change what differs). */
void iovakit_allocator_options_init(struct iovakit_allocator_options* options);
void iovakit_alloc_request_init(struct iovakit_alloc_request* request);

/* An allocator over `count` usable ranges (any order; overlaps merge).
 * `options` may be NULL for the defaults. */
int iovakit_allocator_create(const struct iovakit_range* usable, size_t count,
                             const struct iovakit_allocator_options* options, iovakit_allocator** out);
void iovakit_allocator_destroy(iovakit_allocator* allocator);

int iovakit_alloc(iovakit_allocator* allocator, const struct iovakit_alloc_request* request, uint64_t* iova);
/* The Linux DMA API's request: top-down below `limit`, size-aligned. */
int iovakit_alloc_dma(iovakit_allocator* allocator, uint64_t size, uint64_t limit, uint64_t* iova);
/* A fixed IOVA range. */
int iovakit_alloc_at(iovakit_allocator* allocator, uint64_t first, uint64_t last);
/* Frees the allocation that starts at `iova`; `freed` (may be NULL)
 * receives its range. */
int iovakit_free(iovakit_allocator* allocator, uint64_t iova, struct iovakit_range* freed);
/* The allocation or reserved range holding `iova`: -ENOENT when the address
 * is free. `reserved` (may be NULL) receives 1 for a reserved range. */
int iovakit_find(const iovakit_allocator* allocator, uint64_t iova, struct iovakit_range* range, int* reserved);
/* Reserves [first, last] (grown to whole granules) for good. Live
 * allocations that overlap it are reported, up to `capacity` of them in
 * `conflicts` (may be NULL when capacity is 0); `count` (may be NULL)
 * receives how many there are. They stay valid; the part of the range they
 * cover becomes reserved when they are freed. */
int iovakit_reserve(iovakit_allocator* allocator, uint64_t first, uint64_t last, struct iovakit_range* conflicts,
                    size_t capacity, size_t* count);

/* The fast path (alloc_iova_fast / free_iova_fast): see allocator.h. */
int iovakit_alloc_fast(iovakit_allocator* allocator, uint64_t size, uint64_t limit, uint64_t* iova);
int iovakit_free_fast(iovakit_allocator* allocator, uint64_t iova, uint64_t size);
void iovakit_flush_cache(iovakit_allocator* allocator);

size_t iovakit_live_count(const iovakit_allocator* allocator);
/* Bytes the allocator holds (its tree, cache and bookkeeping). */
size_t iovakit_memory_bytes(const iovakit_allocator* allocator);

/* The message of the last failure on the calling thread ("" if none). */
const char* iovakit_last_error(void);
/* A name for one of the error values above ("ENOSPC: no free range"). */
const char* iovakit_strerror(int error);

#ifdef __cplusplus
}
#endif

/* NOLINTEND(modernize-deprecated-headers, modernize-use-using, readability-identifier-naming) */
#endif /* IOVAKIT_C_ALLOCATOR_H */
