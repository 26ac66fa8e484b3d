#include "iovakit/kernel/vfio_get_info.h"

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "iovakit/kernel/vfio_type1.h"

namespace iovakit::kernel {

namespace {

constexpr std::uint32_t kCapHeaderSize = 8;
constexpr std::uint32_t kMigrationCapSize = 32;
constexpr std::uint32_t kDmaAvailCapSize = 12;
constexpr std::uint32_t kIovaCapHeaderSize = 16;
constexpr std::uint32_t kIovaRangeSize = 16;

std::uint32_t align8(std::uint32_t n) { return (n + 7U) & ~7U; }

// Little-endian stores and loads through memcpy: no alignment assumptions.
template <typename T>
void put(std::vector<std::uint8_t>& buf, std::size_t offset, T value) {
  std::uint8_t bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  std::memcpy(buf.data() + offset, bytes, sizeof(T));
}

template <typename T>
T get(std::span<const std::uint8_t> buf, std::size_t offset) {
  std::uint8_t bytes[sizeof(T)];
  std::memcpy(bytes, buf.data() + offset, sizeof(T));
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>(value | (static_cast<T>(bytes[i]) << (8 * i)));
  return value;
}

// One capability as the kernel's vfio_info_cap_add builds it: header plus
// body, `size` bytes (padding excluded), `next` patched when the following
// cap is added.
struct Cap {
  std::vector<std::uint8_t> bytes;  // size = raw cap size
};

Cap make_header(std::uint16_t id, std::uint32_t size) {
  Cap c;
  c.bytes.assign(size, 0);
  put<std::uint16_t>(c.bytes, 0, id);
  put<std::uint16_t>(c.bytes, 2, 1);  // version 1 for all three caps
  return c;
}

Cap migration_cap(std::uint64_t pgsize_bitmap) {
  // vfio_iommu_migration_build_caps: flags 0, pgsize_bitmap = smallest page
  // size ((size_t)1 << __ffs(iommu->pgsize_bitmap)), max 256 MiB.
  Cap c = make_header(kVfioCapMigration, kMigrationCapSize);
  put<std::uint32_t>(c.bytes, 8, 0);
  put<std::uint64_t>(c.bytes, 16, pgsize_bitmap & (~pgsize_bitmap + 1));
  put<std::uint64_t>(c.bytes, 24, kVfioMaxDirtyBitmapSize);
  return c;
}

Cap dma_avail_cap(std::uint32_t avail) {
  Cap c = make_header(kVfioCapDmaAvail, kDmaAvailCapSize);
  put<std::uint32_t>(c.bytes, 8, avail);
  return c;
}

Cap iova_cap(std::span<const VfioIovaRange> ranges) {
  Cap c =
      make_header(kVfioCapIovaRange, kIovaCapHeaderSize + kIovaRangeSize * static_cast<std::uint32_t>(ranges.size()));
  put<std::uint32_t>(c.bytes, 8, static_cast<std::uint32_t>(ranges.size()));
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    put<std::uint64_t>(c.bytes, kIovaCapHeaderSize + kIovaRangeSize * i, ranges[i].start);
    put<std::uint64_t>(c.bytes, kIovaCapHeaderSize + kIovaRangeSize * i + 8, ranges[i].end);
  }
  return c;
}

void write_info_header(GetInfoReply& r, std::uint32_t bytes) {
  std::vector<std::uint8_t> info(kVfioInfoSize, 0);
  put<std::uint32_t>(info, 0, r.argsz);
  put<std::uint32_t>(info, 4, r.flags);
  put<std::uint64_t>(info, 8, r.iova_pgsizes);
  put<std::uint32_t>(info, 16, r.cap_offset);
  std::copy_n(info.begin(), std::min<std::size_t>(bytes, r.buffer.size()), r.buffer.begin());
  r.header_bytes = bytes;
}

GetInfoReply too_small(std::uint32_t argsz, const char* function) {
  GetInfoReply r;
  r.outcome = Outcome::failure(Errno::kEINVAL, function,
                               fmt::format("argsz {} is below offsetofend(struct vfio_iommu_type1_info, "
                                           "iova_pgsizes) = 16",
                                           argsz));
  r.argsz = argsz;
  r.buffer.assign(argsz, 0);
  return r;
}

}  // namespace

Type1InfoState Type1InfoState::of(const Type1Container& container) {
  Type1InfoState s;
  s.pgsize_bitmap = container.pgsize_bitmap();
  s.dma_avail = container.dma_avail();
  for (const IovaNode& n : container.iova_list().nodes()) s.iova_ranges.emplace_back(VfioIovaRange{n.start, n.end});
  return s;
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_get_info and
// drivers/vfio/vfio_main.c vfio_info_cap_add / vfio_info_cap_shift.
GetInfoReply encode_type1_info(const Type1InfoState& state, const KernelFeatures& f, std::uint32_t argsz) {
  constexpr const char* kFn = "vfio_iommu_type1_get_info";
  if (argsz < kVfioInfoHeaderMin) return too_small(argsz, kFn);
  GetInfoReply r;
  r.argsz = argsz;
  r.flags = kVfioIommuInfoPgsizes;
  r.iova_pgsizes = state.pgsize_bitmap;
  // Header bytes copied back: before the capability chain existed (the
  // v5.4 series added cap_offset) always 16; 6.1: 20 once argsz reaches
  // offsetofend(cap_offset); v6.6+: min(argsz, 24).
  const bool has_chain = f.type1_iova_list || f.type1_migration_cap || f.type1_dma_avail_cap;
  std::uint32_t minsz = kVfioInfoHeaderMin;
  if (f.type1_caps_aligned) {
    minsz = std::min(argsz, kVfioInfoSize);
  } else if (has_chain && argsz >= 20) {
    minsz = 20;
  }
  std::vector<Cap> caps;
  if (f.type1_migration_cap) caps.push_back(migration_cap(state.pgsize_bitmap));
  if (f.type1_dma_avail_cap) caps.push_back(dma_avail_cap(state.dma_avail));
  if (f.type1_iova_list && !state.iova_ranges.empty()) caps.push_back(iova_cap(state.iova_ranges));
  // vfio_info_cap_add: each cap starts at the previous end (v6.6+: aligned
  // to 8); `next` holds the offset in the caps buffer, shifted by
  // sizeof(info) when copied out.
  std::vector<std::uint8_t> chain;
  std::size_t prev = 0;
  for (std::size_t i = 0; i < caps.size(); ++i) {
    const auto at = static_cast<std::uint32_t>(chain.size());
    if (i > 0) put<std::uint32_t>(chain, prev + 4, at + kVfioInfoSize);
    chain.insert(chain.end(), caps[i].bytes.begin(), caps[i].bytes.end());
    if (f.type1_caps_aligned) chain.resize(align8(static_cast<std::uint32_t>(chain.size())), 0);
    prev = at;
  }
  r.caps_size = static_cast<std::uint32_t>(chain.size());
  const std::uint32_t needed = kVfioInfoSize + r.caps_size;
  if (!caps.empty()) {
    r.flags |= kVfioIommuInfoCaps;
    if (argsz < needed) {
      r.argsz = needed;
    } else {
      r.cap_offset = kVfioInfoSize;
      r.caps_copied = true;
    }
  }
  r.buffer.assign(std::min(argsz, needed), 0);
  if (r.caps_copied) std::copy(chain.begin(), chain.end(), r.buffer.begin() + kVfioInfoSize);
  write_info_header(r, minsz);
  std::string what;
  if (caps.empty()) {
    what = "no capability";
  } else if (r.caps_copied) {
    what = fmt::format("{} capabilities ({} bytes) at offset 24", caps.size(), r.caps_size);
  } else {
    what = fmt::format("CAPS set but the buffer is short: argsz rewritten to {}, call again", needed);
  }
  r.outcome = Outcome::success(kFn, fmt::format("{} header bytes copied back; {}", minsz, what));
  return r;
}

GetInfoReply encode_type1_info(const Type1Container& container, std::uint32_t argsz) {
  if (!container.iommu_set()) {
    GetInfoReply r;
    r.outcome = Outcome::failure(Errno::kEINVAL, "vfio_fops_unl_ioctl",
                                 "the container has no IOMMU driver (VFIO_SET_IOMMU not done)");
    r.argsz = argsz;
    return r;
  }
  return encode_type1_info(Type1InfoState::of(container), container.profile().features, argsz);
}

// drivers/iommu/iommufd/vfio_compat.c iommufd_vfio_iommu_get_info (v6.2+):
// each fill function writes what fits and returns its size; `next` of the
// previous cap is patched only when argsz reaches the new cap's offset.
GetInfoReply encode_iommufd_compat_info(std::uint64_t pgsizes, std::span<const VfioIovaRange> ranges,
                                        const KernelFeatures& f, std::uint32_t argsz) {
  constexpr const char* kFn = "iommufd_vfio_iommu_get_info";
  if (argsz < kVfioInfoHeaderMin) return too_small(argsz, kFn);
  GetInfoReply r;
  r.flags = kVfioIommuInfoPgsizes;
  r.iova_pgsizes = pgsizes;
  const auto n = static_cast<std::uint32_t>(ranges.size());
  const std::uint32_t dma_size = kDmaAvailCapSize;
  const std::uint32_t iova_size = kIovaCapHeaderSize + kIovaRangeSize * n;
  const std::uint32_t dma_slot = f.type1_caps_aligned ? align8(dma_size) : dma_size;
  const std::uint32_t iova_slot = f.type1_caps_aligned ? align8(iova_size) : iova_size;
  const std::uint32_t total = kVfioInfoSize + dma_slot + iova_slot;
  r.buffer.assign(std::min(argsz, total), 0);
  const std::uint32_t dma_at = kVfioInfoSize;
  const std::uint32_t iova_at = dma_at + dma_slot;
  // iommufd_fill_cap_dma_avail: all or nothing.
  if (argsz > dma_at && argsz - dma_at >= dma_size) {
    const Cap c = dma_avail_cap(kIommufdCompatDmaAvail);
    std::copy(c.bytes.begin(), c.bytes.end(), r.buffer.begin() + dma_at);
  }
  // The previous cap's next, once argsz reaches this cap's offset.
  if (argsz >= iova_at) put<std::uint32_t>(r.buffer, dma_at + 4, iova_at);
  // iommufd_fill_cap_iova: each range if it fits, the header if all fit.
  if (argsz > iova_at) {
    const std::uint32_t avail = argsz - iova_at;
    const Cap c = iova_cap(ranges);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (avail >= kIovaCapHeaderSize + kIovaRangeSize * (i + 1)) {
        const std::size_t from = kIovaCapHeaderSize + kIovaRangeSize * i;
        std::copy_n(c.bytes.begin() + static_cast<std::ptrdiff_t>(from), kIovaRangeSize,
                    r.buffer.begin() + static_cast<std::ptrdiff_t>(iova_at + from));
      }
    }
    if (avail >= iova_size) std::copy_n(c.bytes.begin(), kIovaCapHeaderSize, r.buffer.begin() + iova_at);
  }
  r.caps_size = dma_slot + iova_slot;
  r.caps_copied = argsz >= total;
  if (r.caps_copied) r.cap_offset = kVfioInfoSize;
  r.argsz = total;  // always rewritten
  r.flags |= kVfioIommuInfoCaps;
  write_info_header(r, std::min(argsz, kVfioInfoSize));
  r.outcome = Outcome::success(
      kFn, r.caps_copied
               ? fmt::format("DMA_AVAIL and IOVA_RANGE ({} ranges) at offsets {} and {}; argsz set to {}", n, dma_at,
                             iova_at, total)
               : fmt::format("buffer of {} bytes is short: partial caps, cap_offset 0, argsz set to {}", argsz, total));
  return r;
}

Type1InfoState Type1InfoDecoded::state() const {
  Type1InfoState s;
  s.pgsize_bitmap = iova_pgsizes;
  s.dma_avail = dma_avail.value_or(0);
  if (iova_ranges) s.iova_ranges = *iova_ranges;
  return s;
}

Result<Type1InfoDecoded> decode_type1_info(std::span<const std::uint8_t> bytes) {
  auto fail = [](Errc code, std::size_t offset, std::string message) {
    return Error(code, std::move(message), Location{"GET_INFO reply", std::nullopt, offset});
  };
  const std::size_t size = bytes.size();
  if (size < kVfioInfoHeaderMin) {
    return fail(
        Errc::kTruncated, 0,
        fmt::format("{} bytes; struct vfio_iommu_type1_info needs at least 16 (argsz, flags, iova_pgsizes)", size));
  }
  Type1InfoDecoded d;
  d.argsz = get<std::uint32_t>(bytes, 0);
  d.flags = get<std::uint32_t>(bytes, 4);
  d.iova_pgsizes = get<std::uint64_t>(bytes, 8);
  if (size >= 20) d.cap_offset = get<std::uint32_t>(bytes, 16);
  if ((d.flags & ~(kVfioIommuInfoPgsizes | kVfioIommuInfoCaps)) != 0) {
    d.warnings.push_back(fmt::format("unknown info flag bits {:#x}", d.flags & ~3U));
  }
  if ((d.flags & kVfioIommuInfoCaps) == 0) {
    if (d.cap_offset.value_or(0) != 0) d.warnings.emplace_back("cap_offset is set but the CAPS flag is not; ignored");
    return d;
  }
  if (!d.cap_offset) {
    return fail(Errc::kTruncated, 16, "CAPS is set but the buffer ends before cap_offset (offset 16)");
  }
  if (*d.cap_offset == 0) {
    d.caps_pending = true;  // short buffer: argsz is the size needed
    return d;
  }
  std::uint32_t at = *d.cap_offset;
  if (at < kVfioInfoHeaderMin + 4) {
    return fail(Errc::kParse, 16, fmt::format("cap_offset {} points into the info header", at));
  }
  // Walk the chain: strictly forward (no loop), no overlap, every read in
  // bounds. Each cap can be at most size bytes apart, so the walk is
  // bounded by size / 8 steps.
  std::uint32_t min_next = at;
  while (true) {
    if (at < min_next) {
      return fail(Errc::kParse, at,
                  fmt::format("capability chain goes backwards or overlaps: next {} is below {}", at, min_next));
    }
    if (static_cast<std::size_t>(at) + kCapHeaderSize > size) {
      return fail(Errc::kTruncated, at,
                  fmt::format("capability header at offset {} needs 8 bytes; the buffer has {}", at, size));
    }
    DecodedCap cap{get<std::uint16_t>(bytes, at), get<std::uint16_t>(bytes, at + 2U), at,
                   get<std::uint32_t>(bytes, at + 4U)};
    d.chain.push_back(cap);
    std::uint32_t body = kCapHeaderSize;
    auto need = [&](std::uint64_t n, const char* what) -> std::optional<Error> {
      if (at + n > size) {
        return fail(Errc::kTruncated, at,
                    fmt::format("{} capability at offset {} needs {} bytes; the buffer ends at {}", what, at, n, size));
      }
      return std::nullopt;
    };
    const bool duplicate =
        std::count_if(d.chain.begin(), d.chain.end(), [&](const DecodedCap& c) { return c.id == cap.id; }) > 1;
    if (cap.version != 1 &&
        (cap.id == kVfioCapIovaRange || cap.id == kVfioCapMigration || cap.id == kVfioCapDmaAvail)) {
      d.warnings.push_back(
          fmt::format("capability id {} at offset {} has version {}; read as version 1", cap.id, at, cap.version));
    }
    if (duplicate) {
      d.warnings.push_back(fmt::format("capability id {} repeats at offset {}; the first one is kept", cap.id, at));
    }
    if (cap.id == kVfioCapIovaRange) {
      if (auto e = need(kIovaCapHeaderSize, "IOVA_RANGE")) return *e;
      const auto nr = get<std::uint32_t>(bytes, at + 8U);
      const std::uint64_t total = kIovaCapHeaderSize + std::uint64_t{kIovaRangeSize} * nr;
      if (auto e = need(total, "IOVA_RANGE")) return *e;
      body = static_cast<std::uint32_t>(total);
      if (get<std::uint32_t>(bytes, at + 12U) != 0) {
        d.warnings.push_back(fmt::format("IOVA_RANGE at offset {}: reserved field is not zero", at));
      }
      if (!duplicate) {
        std::vector<VfioIovaRange> ranges;
        ranges.reserve(nr);
        for (std::uint32_t i = 0; i < nr; ++i) {
          const std::size_t off = at + kIovaCapHeaderSize + std::size_t{kIovaRangeSize} * i;
          const VfioIovaRange range{get<std::uint64_t>(bytes, off), get<std::uint64_t>(bytes, off + 8)};
          if (range.end < range.start) {
            d.warnings.push_back(fmt::format("IOVA range {} at offset {} ends below its start", i, off));
          } else if (!ranges.empty() && range.start <= ranges.back().end) {
            d.warnings.push_back(fmt::format("IOVA range {} at offset {} is not above the previous one", i, off));
          }
          ranges.push_back(range);
        }
        d.iova_ranges = std::move(ranges);
      }
    } else if (cap.id == kVfioCapMigration) {
      if (auto e = need(kMigrationCapSize, "MIGRATION")) return *e;
      body = kMigrationCapSize;
      if (!duplicate) {
        d.migration = MigrationCap{get<std::uint32_t>(bytes, at + 8U), get<std::uint64_t>(bytes, at + 16U),
                                   get<std::uint64_t>(bytes, at + 24U)};
      }
    } else if (cap.id == kVfioCapDmaAvail) {
      if (auto e = need(kDmaAvailCapSize, "DMA_AVAIL")) return *e;
      body = kDmaAvailCapSize;
      if (!duplicate) d.dma_avail = get<std::uint32_t>(bytes, at + 8U);
    } else {
      d.unknown.push_back(cap);
    }
    if (cap.next == 0) break;
    min_next = at + body;
    if (cap.next <= at) {
      return fail(Errc::kParse, at + 4U,
                  fmt::format("capability at offset {} links back to offset {}: the chain would loop", at, cap.next));
    }
    at = cap.next;
  }
  return d;
}

}  // namespace iovakit::kernel
