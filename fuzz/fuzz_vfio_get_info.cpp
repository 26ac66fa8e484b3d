// Fuzzes the VFIO_IOMMU_GET_INFO decoder two ways:
//  1. the input as a reply buffer: decoding must never read out of bounds,
//     hang or crash; a failure must say where (a byte offset);
//  2. the input as a generator: a state (pgsize bitmap, dma_avail, ranges)
//     and a profile layout are built from its bytes, encoded with the
//     kernel's layout, and decode(encode(x)) must give x back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/kernel/vfio_get_info.h"

namespace {

using iovakit::kernel::KernelFeatures;
using iovakit::kernel::Type1InfoState;
using iovakit::kernel::VfioIovaRange;

// Reads fixed-size values off the front of the input, zeros when it runs out.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint64_t u64() {
    std::uint64_t v = 0;
    const std::size_t n = pos_ < size_ ? std::min<std::size_t>(8, size_ - pos_) : 0;
    if (n != 0) std::memcpy(&v, data_ + pos_, n);
    pos_ += 8;
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

void round_trip(const std::uint8_t* data, std::size_t size) {
  Reader in(data, size);
  const std::uint64_t shape = in.u64();
  KernelFeatures f;
  f.type1_iova_list = true;
  f.type1_migration_cap = (shape & 1U) != 0;
  f.type1_dma_avail_cap = (shape & 2U) != 0;
  f.type1_caps_aligned = (shape & 4U) != 0;
  const bool compat = (shape & 8U) != 0;
  Type1InfoState x;
  x.pgsize_bitmap = in.u64() | 0x1000;
  x.dma_avail = static_cast<std::uint32_t>(in.u64());
  const std::size_t n = (shape >> 8) % 64;
  for (std::size_t i = 0; i < n; ++i) x.iova_ranges.push_back(VfioIovaRange{in.u64(), in.u64()});
  const auto reply = compat ? iovakit::kernel::encode_iommufd_compat_info(x.pgsize_bitmap, x.iova_ranges, f, 65536)
                            : iovakit::kernel::encode_type1_info(x, f, 65536);
  auto decoded = iovakit::kernel::decode_type1_info(reply.buffer);
  if (!decoded.ok()) std::abort();
  if (decoded->iova_pgsizes != x.pgsize_bitmap) std::abort();
  const bool ranges_expected = !x.iova_ranges.empty() || compat;
  if (decoded->iova_ranges.has_value() != ranges_expected) std::abort();
  if (ranges_expected && *decoded->iova_ranges != x.iova_ranges) std::abort();
  if (compat) {
    if (decoded->dma_avail != iovakit::kernel::kIommufdCompatDmaAvail || decoded->migration) std::abort();
    return;
  }
  if (decoded->dma_avail.has_value() != f.type1_dma_avail_cap) std::abort();
  if (f.type1_dma_avail_cap && *decoded->dma_avail != x.dma_avail) std::abort();
  if (decoded->migration.has_value() != f.type1_migration_cap) std::abort();
  if (f.type1_migration_cap && decoded->migration->pgsize_bitmap != (x.pgsize_bitmap & (~x.pgsize_bitmap + 1))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto decoded = iovakit::kernel::decode_type1_info(std::span<const std::uint8_t>(data, size));
  if (!decoded.ok() && (decoded.error().message().empty() || !decoded.error().where().offset)) std::abort();
  round_trip(data, size);
  return 0;
}
