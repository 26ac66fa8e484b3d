/* A C program that embeds libiovakit's IOVA allocator, as a VMM's
 * virtio-iommu backend or a user-space VFIO driver would:
 *
 *   1. the usable IOVA list of a VFIO container on an Intel host with a
 *      48-bit IOMMU (everything but the IOAPIC/MSI window),
 *   2. DMA buffers placed the way the Linux DMA API does (top-down below a
 *      32-bit device mask, aligned to their size),
 *   3. a fixed IOVA (an identity map),
 *   4. a device hot-added into the domain with an RMRR that overlaps live
 *      mappings: iovakit_reserve reports them instead of failing or
 *      silently succeeding,
 *   5. the fast path for small, repeated sizes.
 *
 * Build: make (uses pkg-config iovakit); run: ./c-allocator */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <iovakit/c/allocator.h>

static int check(int err, const char* what) {
  if (err < 0) {
    fprintf(stderr, "%s: %s (%s)\n", what, iovakit_strerror(err), iovakit_last_error());
    exit(1);
  }
  return err;
}

int main(void) {
  const struct iovakit_range usable[] = {
      {0x0, 0xfedfffff},               /* below the MSI window */
      {0xfef00000, 0xffffffffffffULL}, /* above it, up to 2^48 - 1 */
  };
  iovakit_allocator* a = NULL;
  struct iovakit_allocator_options options;
  iovakit_allocator_options_init(&options);
  options.flags = IOVAKIT_ALLOCATOR_LOCKED; /* several vCPU threads map DMA */
  check(iovakit_allocator_create(usable, 2, &options, &a), "create");

  /* 2. A 32-bit device's 64 KiB ring and 12 KiB buffer. */
  uint64_t ring = 0;
  uint64_t buf = 0;
  check(iovakit_alloc_dma(a, 64 * 1024ULL, 0xffffffffULL, &ring), "ring");
  check(iovakit_alloc_dma(a, 12 * 1024ULL, 0xffffffffULL, &buf), "buffer");
  printf("ring   0x%016" PRIx64 " (64 KiB, 64 KiB aligned, below 4 GiB)\n", ring);
  printf("buffer 0x%016" PRIx64 " (12 KiB, 16 KiB aligned)\n", buf);

  /* 3. An identity map of a firmware table at 0x7f000000. */
  check(iovakit_alloc_at(a, 0x7f000000, 0x7f00ffff), "identity map");
  int err = iovakit_alloc_at(a, 0xfee00000, 0xfee00fff);
  printf("mapping the MSI doorbell: %s\n", iovakit_strerror(err));

  /* 4. A hot-added device brings an RMRR over the ring. */
  struct iovakit_range conflicts[4];
  size_t n = 0;
  check(iovakit_reserve(a, ring, ring + 0xfff, conflicts, 4, &n), "reserve RMRR");
  for (size_t i = 0; i < n && i < 4; ++i) {
    printf("RMRR overlaps live mapping 0x%016" PRIx64 "-0x%016" PRIx64 ": unmap it\n", conflicts[i].first,
           conflicts[i].last);
  }
  check(iovakit_free(a, ring, NULL), "unmap ring");
  struct iovakit_range r;
  int reserved = 0;
  check(iovakit_find(a, ring, &r, &reserved), "find");
  printf("0x%016" PRIx64 " is now %s\n", ring, reserved ? "reserved" : "allocated");

  /* 5. The fast path: a freed 4 KiB range comes back without a tree walk. */
  uint64_t page = 0;
  uint64_t again = 0;
  check(iovakit_alloc_fast(a, 4096, 0xffffffffULL, &page), "page");
  check(iovakit_free_fast(a, page, 4096), "free page");
  check(iovakit_alloc_fast(a, 4096, 0xffffffffULL, &again), "page again");
  printf("fast path: 0x%016" PRIx64 " %s\n", again, again == page ? "reused" : "new");

  printf("%zu live allocations, %zu bytes of allocator state\n", iovakit_live_count(a), iovakit_memory_bytes(a));
  iovakit_allocator_destroy(a);
  return 0;
}
