// iovakit/kernel/vfio_get_info.h: VFIO_IOMMU_GET_INFO byte for byte, both
// ways: what the kernel copies to user space for a container state and a
// buffer size (encode), and what a real reply buffer says (decode, for the
// live path: a user runs GET_INFO on a host and hands us the bytes).
//
// Design
// ------
// The reply is struct vfio_iommu_type1_info (argsz @0, flags @4,
// iova_pgsizes @8, cap_offset @16, pad @20; 24 bytes) followed by a chain of
// capabilities, each starting with struct vfio_info_cap_header (id u16,
// version u16, next u32 = absolute offset of the next cap from the start of
// the info, 0 at the end). Little-endian x86_64/arm64 layouts.
//
// Encoding follows the kernel function for the profile:
//   vfio_iommu_type1_get_info (drivers/vfio/vfio_iommu_type1.c)
//     caps in this order: MIGRATION (id 2, 32 bytes; type1_migration_cap),
//     DMA_AVAIL (id 3, 12 bytes; type1_dma_avail_cap), IOVA_RANGE (id 1,
//     16 + 16n; only with a non-empty usable list).
//     Unpadded before v6.6 (6.1: caps @24/@56/@68, total 84 + 16n, the IOVA
//     cap's u64s 4-byte aligned; 16 or 20 header bytes copied back); padded
//     to 8 bytes from v6.6 (a881b496941f, type1_caps_aligned: @24/@56/@72,
//     total 88 + 16n; min(argsz, 24) header bytes copied back).
//     Short buffer: flags |= CAPS, cap_offset 0, argsz = the size needed,
//     success, no cap copied. Otherwise argsz is left as the caller gave it.
//   iommufd_vfio_iommu_get_info (drivers/iommu/iommufd/vfio_compat.c, v6.2+)
//     DMA_AVAIL (avail U32_MAX) then IOVA_RANGE, no MIGRATION; written
//     piecewise as far as argsz allows; argsz always set to the full size;
//     cap_offset 24 only if everything fit. Padded (@24, @40, 56 + 16n) from
//     v6.6 (the same commit aligned it); unpadded before (@24, @36, 52 + 16n).
// The bytes a kernel leaves unwritten (6.1's pad field, the padding after a
// cap, the 4-byte hole inside the migration cap, which 6.1 copies from
// uninitialised stack until "vfio/type1: fix cap_migration information
// leak" for v6.6) are zero in `buffer`, as in a zero-filled user buffer.
//
// Decoding walks a buffer defensively: every read is bounds-checked, u64
// fields are read with memcpy (6.1's IOVA cap is misaligned), the `next`
// chain must move strictly forward (a loop is an error, not a hang), caps
// may not overlap, unknown ids are kept and reported, and every error names
// the byte offset where it was found.
//
// Complexity: O(bytes). Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iovakit/kernel/errno.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/result.h"

namespace iovakit::kernel {

class Type1Container;

// include/uapi/linux/vfio.h
inline constexpr std::uint32_t kVfioIommuInfoPgsizes = 1;
inline constexpr std::uint32_t kVfioIommuInfoCaps = 2;
inline constexpr std::uint16_t kVfioCapIovaRange = 1;
inline constexpr std::uint16_t kVfioCapMigration = 2;
inline constexpr std::uint16_t kVfioCapDmaAvail = 3;
inline constexpr std::uint32_t kVfioInfoHeaderMin = 16;  // offsetofend(..., iova_pgsizes)
inline constexpr std::uint32_t kVfioInfoSize = 24;       // sizeof(struct vfio_iommu_type1_info)
// DIRTY_BITMAP_SIZE_MAX: 2^31 pages' bits in bytes (256 MiB).
inline constexpr std::uint64_t kVfioMaxDirtyBitmapSize = 268435456;
inline constexpr std::uint32_t kIommufdCompatDmaAvail = 0xffffffff;

// struct vfio_iova_range: end inclusive.
struct VfioIovaRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  friend bool operator==(const VfioIovaRange&, const VfioIovaRange&) = default;
};

// What a GET_INFO reply carries, independent of its layout.
struct Type1InfoState {
  std::uint64_t pgsize_bitmap = 0;
  std::uint32_t dma_avail = 0;
  std::vector<VfioIovaRange> iova_ranges;  // empty: no IOVA_RANGE cap

  static Type1InfoState of(const Type1Container& container);
  friend bool operator==(const Type1InfoState&, const Type1InfoState&) = default;
};

struct GetInfoReply {
  Outcome outcome;
  // The info struct as the kernel filled it (whether or not each field was
  // copied back: see header_bytes).
  std::uint32_t argsz = 0;
  std::uint32_t flags = 0;
  std::uint64_t iova_pgsizes = 0;
  std::uint32_t cap_offset = 0;
  std::uint32_t header_bytes = 0;  // bytes of the info struct copied to user space
  std::uint32_t caps_size = 0;     // bytes of capabilities built, padding included
  bool caps_copied = false;        // all capabilities are in `buffer`
  // The caller's buffer after the call, assuming it was zero-filled:
  // min(argsz given, 24 + caps_size) bytes (the kernel writes nothing past).
  std::vector<std::uint8_t> buffer;
};

// vfio_iommu_type1_get_info for `state` under `features`, with the caller's
// argsz.
GetInfoReply encode_type1_info(const Type1InfoState& state, const KernelFeatures& features, std::uint32_t argsz);
// The same for a container (its profile, its list, pgsize bitmap and
// dma_avail). A container without IOMMU driver answers EINVAL.
GetInfoReply encode_type1_info(const Type1Container& container, std::uint32_t argsz);
// iommufd_vfio_iommu_get_info: `ranges` are the holes of the IOAS's reserved
// tree (IoasModel::iova_ranges), `pgsizes` iommufd_get_pagesizes().
GetInfoReply encode_iommufd_compat_info(std::uint64_t pgsizes, std::span<const VfioIovaRange> ranges,
                                        const KernelFeatures& features, std::uint32_t argsz);

struct DecodedCap {
  std::uint16_t id = 0;
  std::uint16_t version = 0;
  std::uint32_t offset = 0;  // of its header, from the start of the info
  std::uint32_t next = 0;
};

struct MigrationCap {
  std::uint32_t flags = 0;
  std::uint64_t pgsize_bitmap = 0;
  std::uint64_t max_dirty_bitmap_size = 0;
  friend bool operator==(const MigrationCap&, const MigrationCap&) = default;
};

struct Type1InfoDecoded {
  std::uint32_t argsz = 0;
  std::uint32_t flags = 0;
  std::uint64_t iova_pgsizes = 0;
  std::optional<std::uint32_t> cap_offset;  // present when the buffer has 20+ bytes
  // CAPS is set but cap_offset is 0: the buffer was too small and argsz is
  // the size to ask for.
  bool caps_pending = false;
  std::optional<MigrationCap> migration;
  std::optional<std::uint32_t> dma_avail;
  std::optional<std::vector<VfioIovaRange>> iova_ranges;
  std::vector<DecodedCap> chain;    // every header walked, in chain order
  std::vector<DecodedCap> unknown;  // ids this decoder does not know
  std::vector<std::string> warnings;

  // pgsizes, dma_avail (0 when absent) and the ranges (empty when absent).
  [[nodiscard]] Type1InfoState state() const;
};

// Walks a GET_INFO reply buffer (native type1 or the iommufd compat form).
Result<Type1InfoDecoded> decode_type1_info(std::span<const std::uint8_t> bytes);

}  // namespace iovakit::kernel
