/*
 * vfio_probe: asks a real kernel what VFIO type1 does, one step at a time.
 *
 * Runs as /init's helper inside a throwaway QEMU guest (never on a host: it
 * rebinds PCI devices through sysfs). Each command-line argument is one step,
 * executed in order; a failing step is data, not a reason to stop:
 *
 *   bind=BDF          driver_override=vfio-pci, unbind, drivers_probe
 *   group=BDF         open /dev/vfio/N of BDF's group, GET_STATUS, SET_CONTAINER
 *   unset=BDF         VFIO_GROUP_UNSET_CONTAINER on that group
 *   device=BDF        VFIO_GROUP_GET_DEVICE_FD + VFIO_DEVICE_GET_INFO
 *   iommu=N           VFIO_CHECK_EXTENSION(N) then VFIO_SET_IOMMU(N)
 *   info              VFIO_IOMMU_GET_INFO with the argsz protocol, chain decoded
 *   map=IOVA,SIZE     VFIO_IOMMU_MAP_DMA (read|write) of a fresh anonymous buffer
 *   unmap=IOVA,SIZE   VFIO_IOMMU_UNMAP_DMA
 *   write=PATH:VALUE  write VALUE to PATH (a module parameter, say)
 *
 * Output: one machine-readable line per fact, "PROBE <op> key=value ...". Each
 * step opens with "PROBE step index=N arg=<the argument>" and its result lines
 * end with rc= and errno= (the errno name, or 0). Kernel log records
 * that appear while a step runs are echoed as "PROBE kmsg op=<op> msg=<text>",
 * so a refusal carries the kernel's own explanation (e.g. the RMRR line).
 *
 * Layouts are decoded from raw bytes at fixed offsets, not through the uapi
 * structs of the build host, because the point is to see what each kernel
 * writes: 6.1 places the IOVA-range capability at offset 68 (unpadded caps,
 * drivers/vfio/vfio_main.c vfio_info_cap_add), 6.6+ at 72 (8-byte padding).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

enum { kMaxGroups = 16, kMaxCaps = 32, kSentinel = 0xAA };

struct group {
  char bdf[32];
  int number;
  int fd;
};

static struct group groups[kMaxGroups];
static int ngroups;
static int container = -1;
static int kmsg = -1;

static const char* errname(int e) {
  if (e == 0) return "0";
  const char* n = strerrorname_np(e);
  return n ? n : "UNKNOWN";
}

/* Kernel log echo: position at the end before a step, drain after it. */
static void kmsg_mark(void) {
  if (kmsg < 0) kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (kmsg >= 0 && lseek(kmsg, 0, SEEK_END) < 0) {
    printf("PROBE warn op=kmsg msg=lseek errno=%s\n", errname(errno));
  }
}

static void kmsg_drain(const char* op) {
  if (kmsg < 0) return;
  char rec[2048];
  for (;;) {
    ssize_t n = read(kmsg, rec, sizeof rec - 1);
    if (n < 0) {
      if (errno == EPIPE) continue; /* records overwritten: skip ahead */
      break;                        /* EAGAIN: nothing more */
    }
    rec[n] = '\0';
    /* "prio,seq,usec,flags;text\n[ KEY=VALUE\n...]": keep the text only. */
    char* text = strchr(rec, ';');
    if (!text) continue;
    text++;
    char* eol = strchr(text, '\n');
    if (eol) *eol = '\0';
    printf("PROBE kmsg op=%s msg=%s\n", op, text);
  }
}

static int write_file(const char* path, const char* value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = (ssize_t)strlen(value);
  ssize_t n = write(fd, value, (size_t)len);
  int saved = errno;
  if (close(fd) != 0 && n == len) return -1;
  errno = saved;
  return n == len ? 0 : -1;
}

static int read_link_base(const char* path, char* out, size_t size) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) return -1;
  buf[n] = '\0';
  const char* base = strrchr(buf, '/');
  base = base ? base + 1 : buf;
  if (strlen(base) >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(out, base);
  return 0;
}

static void print_result(int rc, int err) { printf(" rc=%d errno=%s\n", rc, errname(rc < 0 ? err : 0)); }

/* bind=BDF: the driver_override dance of Documentation/ABI/testing/sysfs-bus-pci. */
static void step_bind(const char* bdf) {
  char path[PATH_MAX], drv[64] = "none";
  int rc = 0, err = 0;
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver_override", bdf);
  if (write_file(path, "vfio-pci") != 0) {
    rc = -1, err = errno;
  } else {
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver", bdf);
    if (read_link_base(path, drv, sizeof drv) == 0 && strcmp(drv, "vfio-pci") != 0) {
      snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver/unbind", bdf);
      if (write_file(path, bdf) != 0) rc = -1, err = errno;
    }
    if (rc == 0 && write_file("/sys/bus/pci/drivers_probe", bdf) != 0) rc = -1, err = errno;
  }
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver", bdf);
  if (read_link_base(path, drv, sizeof drv) != 0) strcpy(drv, "none");
  printf("PROBE bind bdf=%s driver=%s", bdf, drv);
  print_result(rc, err);
}

static int open_container(void) {
  if (container >= 0) return 0;
  container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  if (container < 0) {
    printf("PROBE container");
    print_result(-1, errno);
    return -1;
  }
  int api = ioctl(container, VFIO_GET_API_VERSION);
  int err = errno;
  printf("PROBE container api=%d", api);
  print_result(api < 0 ? -1 : 0, err);
  return 0;
}

static struct group* find_group(const char* bdf) {
  for (int i = 0; i < ngroups; i++) {
    if (strcmp(groups[i].bdf, bdf) == 0) return &groups[i];
  }
  return NULL;
}

/* group=BDF: VFIO_GROUP_SET_CONTAINER is where an RMRR-locked device is refused
 * (iommu_group_claim_dma_owner attaches a blocking/unmanaged domain first). */
static void step_group(const char* bdf) {
  char path[PATH_MAX], num[32];
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
  if (read_link_base(path, num, sizeof num) != 0) {
    printf("PROBE group bdf=%s group=none", bdf);
    print_result(-1, errno);
    return;
  }
  if (ngroups == kMaxGroups) {
    printf("PROBE group bdf=%s group=%s", bdf, num);
    print_result(-1, E2BIG);
    return;
  }
  struct group* g = &groups[ngroups];
  snprintf(g->bdf, sizeof g->bdf, "%s", bdf);
  g->number = atoi(num);
  snprintf(path, sizeof path, "/dev/vfio/%s", num);
  g->fd = open(path, O_RDWR | O_CLOEXEC);
  if (g->fd < 0) {
    printf("PROBE group bdf=%s group=%s open=%s", bdf, num, path);
    print_result(-1, errno);
    return;
  }
  ngroups++;
  struct vfio_group_status status = {.argsz = sizeof status};
  int rc = ioctl(g->fd, VFIO_GROUP_GET_STATUS, &status);
  int err = errno;
  printf("PROBE group_status bdf=%s group=%d flags=0x%x viable=%d", bdf, g->number, status.flags,
         (status.flags & VFIO_GROUP_FLAGS_VIABLE) ? 1 : 0);
  print_result(rc, err);
  if (open_container() != 0) return;
  kmsg_mark();
  rc = ioctl(g->fd, VFIO_GROUP_SET_CONTAINER, &container);
  err = errno;
  printf("PROBE attach bdf=%s group=%d", bdf, g->number);
  print_result(rc, err);
  kmsg_drain("attach");
}

static void step_unset(const char* bdf) {
  struct group* g = find_group(bdf);
  kmsg_mark();
  int rc = g ? ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER) : -1;
  int err = g ? errno : ENOENT;
  printf("PROBE unset bdf=%s", bdf);
  print_result(rc, err);
  kmsg_drain("unset");
}

static void step_device(const char* bdf) {
  struct group* g = find_group(bdf);
  if (!g) {
    printf("PROBE device bdf=%s", bdf);
    print_result(-1, ENOENT);
    return;
  }
  kmsg_mark();
  int fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
  int err = errno;
  if (fd < 0) {
    printf("PROBE device bdf=%s", bdf);
    print_result(-1, err);
    kmsg_drain("device");
    return;
  }
  struct vfio_device_info info = {.argsz = sizeof info};
  int rc = ioctl(fd, VFIO_DEVICE_GET_INFO, &info);
  err = errno;
  printf("PROBE device bdf=%s flags=0x%x regions=%u irqs=%u", bdf, info.flags, info.num_regions, info.num_irqs);
  print_result(rc, err);
  kmsg_drain("device");
  if (close(fd) != 0) printf("PROBE warn op=device msg=close errno=%s\n", errname(errno));
}

static void step_iommu(const char* arg) {
  long type = strtol(arg, NULL, 0);
  if (open_container() != 0) return;
  int ext = ioctl(container, VFIO_CHECK_EXTENSION, type);
  int ext_err = errno;
  printf("PROBE check_extension type=%ld value=%d", type, ext);
  print_result(ext < 0 ? -1 : 0, ext_err);
  kmsg_mark();
  int rc = ioctl(container, VFIO_SET_IOMMU, type);
  int err = errno;
  printf("PROBE set_iommu type=%ld", type);
  print_result(rc, err);
  kmsg_drain("set_iommu");
}

static uint16_t get16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static uint32_t get32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static uint64_t get64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void hexdump(const char* what, const uint8_t* buf, size_t len) {
  printf("PROBE hex what=%s len=%zu bytes=", what, len);
  for (size_t i = 0; i < len; i++) printf("%02x", buf[i]);
  printf("\n");
}

/* One GET_INFO call with argsz = `argsz` into a buffer of `len` bytes that is
 * pre-filled with a sentinel, so the dump shows exactly which bytes the kernel
 * copied back (6.1: 16 or 20, 6.6+: up to 24; vfio_iommu_type1_get_info). */
static int info_call(int call, uint32_t argsz, uint8_t* buf, size_t len) {
  memset(buf, kSentinel, len);
  memcpy(buf, &argsz, sizeof argsz);
  int rc = ioctl(container, VFIO_IOMMU_GET_INFO, buf);
  int err = errno;
  printf("PROBE info call=%d argsz_in=%u argsz=%u flags=0x%x pgsizes=0x%" PRIx64 " cap_offset_bytes=0x%08x", call,
         argsz, get32(buf), get32(buf + 4), get64(buf + 8), get32(buf + 16));
  print_result(rc, err);
  hexdump(call == 3 ? "info_full" : "info_head", buf, len);
  return rc;
}

static void decode_caps(const uint8_t* buf, uint32_t size) {
  uint32_t off = get32(buf + 16);
  for (int n = 0; off != 0 && n < kMaxCaps; n++) {
    if (off < 24 || off > size || size - off < 8) {
      printf("PROBE cap off=%u error=out_of_bounds\n", off);
      return;
    }
    const uint8_t* c = buf + off;
    uint16_t id = get16(c), version = get16(c + 2);
    uint32_t next = get32(c + 4);
    printf("PROBE cap off=%u id=%u version=%u next=%u", off, id, version, next);
    if (id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && size - off >= 16) {
      uint32_t nr = get32(c + 8);
      printf(" name=iova_range nr_iovas=%u\n", nr);
      for (uint32_t i = 0; i < nr && size - off >= 16 + 16 * (i + 1); i++) {
        printf("PROBE iova_range index=%u start=0x%016" PRIx64 " end=0x%016" PRIx64 "\n", i, get64(c + 16 + 16 * i),
               get64(c + 24 + 16 * i));
      }
    } else if (id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION && size - off >= 32) {
      printf(" name=migration flags=0x%x pgsize_bitmap=0x%" PRIx64 " max_dirty_bitmap_size=0x%" PRIx64 "\n",
             get32(c + 8), get64(c + 16), get64(c + 24));
    } else if (id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && size - off >= 12) {
      printf(" name=dma_avail avail=%u\n", get32(c + 8));
    } else {
      printf(" name=unknown\n");
    }
    off = next;
  }
}

/* info: the argsz protocol of include/uapi/linux/vfio.h: a short buffer is not
 * an error; the kernel sets CAPS, leaves cap_offset 0 and says in argsz how
 * much it needs. Call 1 uses the minimum (16), call 2 the struct (24), call 3
 * whatever the kernel asked for. */
static void step_info(void) {
  uint8_t head[24];
  if (info_call(1, 16, head, sizeof head) != 0) return;
  if (info_call(2, 24, head, sizeof head) != 0) return;
  uint32_t need = get32(head);
  if (need < 24 || need > 1 << 20) {
    printf("PROBE info call=3 error=bad_argsz argsz=%u\n", need);
    return;
  }
  uint8_t* buf = malloc(need);
  if (!buf) {
    printf("PROBE info call=3");
    print_result(-1, ENOMEM);
    return;
  }
  if (info_call(3, need, buf, need) == 0) decode_caps(buf, need);
  free(buf);
}

static int parse_range(const char* arg, uint64_t* iova, uint64_t* size) {
  char* end;
  errno = 0;
  *iova = strtoull(arg, &end, 0);
  if (errno || *end != ',') return -1;
  *size = strtoull(end + 1, &end, 0);
  return (errno || *end) ? -1 : 0;
}

/* map=IOVA,SIZE: the buffer is only populated when small; a large size is only
 * used where the kernel must refuse before pinning (vfio_dma_do_map checks
 * alignment, wrap, overlap and iova validity first). */
static void step_map(const char* arg) {
  uint64_t iova, size;
  if (parse_range(arg, &iova, &size) != 0) {
    printf("PROBE map arg=%s", arg);
    print_result(-1, EINVAL);
    return;
  }
  size_t len = size > (64u << 20) ? 4096 : (size_t)(size ? size : 4096);
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (len <= (16u << 20) ? MAP_POPULATE : 0);
  void* va = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (va == MAP_FAILED) {
    printf("PROBE map iova=0x%" PRIx64 " size=0x%" PRIx64 " mmap", iova, size);
    print_result(-1, errno);
    return;
  }
  struct vfio_iommu_type1_dma_map map = {
      .argsz = sizeof map,
      .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
      .vaddr = (uint64_t)(uintptr_t)va,
      .iova = iova,
      .size = size,
  };
  kmsg_mark();
  int rc = ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
  int err = errno;
  printf("PROBE map iova=0x%" PRIx64 " size=0x%" PRIx64, iova, size);
  print_result(rc, err);
  kmsg_drain("map");
  /* The buffer stays mapped: a successful MAP_DMA pinned it. */
}

static void step_unmap(const char* arg) {
  uint64_t iova, size;
  if (parse_range(arg, &iova, &size) != 0) {
    printf("PROBE unmap arg=%s", arg);
    print_result(-1, EINVAL);
    return;
  }
  struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof unmap, .iova = iova, .size = size};
  int rc = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
  int err = errno;
  printf("PROBE unmap iova=0x%" PRIx64 " size=0x%" PRIx64 " unmapped=0x%" PRIx64, iova, size, (uint64_t)unmap.size);
  print_result(rc, err);
}

static void step_write(const char* arg) {
  char path[PATH_MAX];
  const char* colon = strrchr(arg, ':');
  if (!colon || (size_t)(colon - arg) >= sizeof path) {
    printf("PROBE write arg=%s", arg);
    print_result(-1, EINVAL);
    return;
  }
  memcpy(path, arg, (size_t)(colon - arg));
  path[colon - arg] = '\0';
  int rc = write_file(path, colon + 1);
  int err = errno;
  printf("PROBE write path=%s value=%s", path, colon + 1);
  print_result(rc, err);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("PROBE begin steps=%d\n", argc - 1);
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* eq = strchr(a, '=');
    const char* val = eq ? eq + 1 : "";
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    printf("PROBE step index=%d arg=%s\n", i - 1, a);
#define IS(k) (klen == strlen(k) && strncmp(a, k, klen) == 0)
    if (IS("bind")) {
      step_bind(val);
    } else if (IS("group")) {
      step_group(val);
    } else if (IS("unset")) {
      step_unset(val);
    } else if (IS("device")) {
      step_device(val);
    } else if (IS("iommu")) {
      step_iommu(val);
    } else if (IS("info")) {
      step_info();
    } else if (IS("map")) {
      step_map(val);
    } else if (IS("unmap")) {
      step_unmap(val);
    } else if (IS("write")) {
      step_write(val);
    } else {
      printf("PROBE error unknown_step=%s\n", a);
      return 2;
    }
#undef IS
  }
  printf("PROBE end\n");
  return 0;
}
