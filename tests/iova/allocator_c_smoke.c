/* The C header compiles as strict C11 (-std=c11 -Wpedantic -Werror) and the
 * library links into a C program: a minimal end-to-end run. */
#include <errno.h>
#include <stdio.h>

#include "iovakit/c/allocator.h"

static int fail(const char* what) {
  fprintf(stderr, "allocator_c_smoke: %s failed (%s)\n", what, iovakit_last_error());
  return 1;
}

int main(void) {
  const struct iovakit_range usable[] = {{0x1000, 0xfedfffff}, {0xfef00000, 0xffffffffffffULL}};
  iovakit_allocator* a = NULL;
  uint64_t iova = 0;
  struct iovakit_range r;
  size_t conflicts = 0;

  if (iovakit_allocator_create(usable, 2, NULL, &a) != 0) return fail("create");
  if (iovakit_alloc_dma(a, 8192, 0xffffffffULL, &iova) != 0) {
    iovakit_allocator_destroy(a);
    return fail("8 KiB below 4 GiB");
  }
  if (iova != 0xffffe000ULL) return fail("8 KiB at the top below 4 GiB");
  if (iovakit_find(a, iova + 4096, &r, NULL) != 0 || r.first != iova) return fail("find inside it");
  if (iovakit_reserve(a, iova + 4096, iova + 8191, NULL, 0, &conflicts) != 0 || conflicts != 1) {
    return fail("reserve over it reports it");
  }
  if (iovakit_free(a, iova, &r) != 0 || r.last != iova + 8191) return fail("free");
  if (iovakit_alloc_at(a, iova + 4096, iova + 8191) != -EPERM) return fail("the reserved half stays reserved");
  if (iovakit_alloc_dma(a, 4096, 0, &iova) != -EINVAL) return fail("a limit below one granule is refused");
  if (iovakit_live_count(a) != 0) return fail("nothing left allocated");
  iovakit_allocator_destroy(a);
  printf("allocator_c_smoke: ok\n");
  return 0;
}
