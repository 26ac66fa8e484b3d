// VFIO_IOMMU_GET_INFO byte for byte: vfio_iommu_type1_get_info (6.1
// unpadded vs v6.6+ padded), iommufd_vfio_iommu_get_info, and the decoder
// (linux-iommu-semantics.md 11.6, 12.6, 15.17).
#include "iovakit/kernel/vfio_get_info.h"

#include <gtest/gtest.h>

#include <cstring>

#include "iovakit/kernel/vfio_type1.h"
#include "kernel/type1_test_support.h"

namespace iovakit::kernel {
namespace {

using testing::container_with;
using testing::intel_group;

std::uint32_t u32(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
std::uint64_t u64(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint64_t v = 0;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
std::uint16_t u16(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint16_t v = 0;
  std::memcpy(&v, b.data() + at, 2);
  return v;
}

// An Intel container: pgsizes 4K|2M|1G, two ranges, 3 mappings.
Type1Container intel_container(const char* profile) {
  Type1Container c = container_with(profile, intel_group(1));
  for (std::uint64_t i = 0; i < 3; ++i) (void)testing::map(c, 0x100000 * (i + 1), 0x1000);
  return c;
}

// 6.1: caps unpadded: migration @24 (next 56), dma_avail @56 (next 68),
// iova_range @68 (next 0); total 84 + 16n; 20 header bytes copied back.
TEST(Type1GetInfo, Unpadded61Layout) {
  const Type1Container c = intel_container("6.1");
  const GetInfoReply r = encode_type1_info(c, 4096);
  ASSERT_TRUE(r.outcome.ok());
  const auto& b = r.buffer;
  ASSERT_EQ(b.size(), 84U + 16 * 2);
  EXPECT_EQ(r.header_bytes, 20U);
  EXPECT_EQ(u32(b, 0), 4096U);  // argsz left as given
  EXPECT_EQ(u32(b, 4), kVfioIommuInfoPgsizes | kVfioIommuInfoCaps);
  EXPECT_EQ(u64(b, 8), 0x40201000U);
  EXPECT_EQ(u32(b, 16), 24U);
  EXPECT_EQ(u32(b, 20), 0U);  // pad: not written
  EXPECT_EQ(u16(b, 24), kVfioCapMigration);
  EXPECT_EQ(u16(b, 26), 1);
  EXPECT_EQ(u32(b, 28), 56U);
  EXPECT_EQ(u32(b, 32), 0U);
  EXPECT_EQ(u64(b, 40), 0x1000U);
  EXPECT_EQ(u64(b, 48), kVfioMaxDirtyBitmapSize);
  EXPECT_EQ(u16(b, 56), kVfioCapDmaAvail);
  EXPECT_EQ(u32(b, 60), 68U);
  EXPECT_EQ(u32(b, 64), 65532U);
  EXPECT_EQ(u16(b, 68), kVfioCapIovaRange);
  EXPECT_EQ(u32(b, 72), 0U);
  EXPECT_EQ(u32(b, 76), 2U);
  EXPECT_EQ(u64(b, 84), 0U);
  EXPECT_EQ(u64(b, 92), 0xfedfffffU);
  EXPECT_EQ(u64(b, 100), 0xfef00000U);
  EXPECT_EQ(u64(b, 108), 0x7fffffffffU);
}

// v6.6+ (a881b496941f): every cap padded to 8: iova_range @72, total
// 88 + 16n, min(argsz, 24) header bytes copied back.
TEST(Type1GetInfo, Padded66Layout) {
  for (const char* name : {"6.6", "7.0"}) {
    const Type1Container c = intel_container(name);
    const GetInfoReply r = encode_type1_info(c, 4096);
    const auto& b = r.buffer;
    ASSERT_EQ(b.size(), 88U + 16 * 2) << name;
    EXPECT_EQ(r.header_bytes, 24U);
    EXPECT_EQ(u32(b, 28), 56U);
    EXPECT_EQ(u32(b, 60), 72U);
    EXPECT_EQ(u32(b, 68), 0U);  // padding after dma_avail
    EXPECT_EQ(u16(b, 72), kVfioCapIovaRange);
    EXPECT_EQ(u32(b, 80), 2U);
    EXPECT_EQ(u64(b, 88), 0U);
    EXPECT_EQ(u64(b, 112), 0x7fffffffffU);
  }
}

// Short buffer (15.17): success, CAPS set, cap_offset 0, argsz enlarged to
// the size needed, no cap copied.
TEST(Type1GetInfo, ShortBufferProtocol) {
  const Type1Container c61 = intel_container("6.1");
  GetInfoReply r = encode_type1_info(c61, 24);
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.buffer.size(), 24U);
  EXPECT_EQ(u32(r.buffer, 0), 116U);
  EXPECT_EQ(u32(r.buffer, 4), 3U);
  EXPECT_EQ(u32(r.buffer, 16), 0U);
  EXPECT_FALSE(r.caps_copied);
  // 16 <= argsz < 20 on 6.1: only 16 bytes come back.
  r = encode_type1_info(c61, 18);
  EXPECT_EQ(r.header_bytes, 16U);
  EXPECT_EQ(u32(r.buffer, 0), 116U);
  // One byte short of the full size.
  r = encode_type1_info(c61, 115);
  EXPECT_EQ(u32(r.buffer, 0), 116U);
  EXPECT_EQ(u32(r.buffer, 16), 0U);
  // Below 16: EINVAL.
  EXPECT_EQ(encode_type1_info(c61, 15).outcome.err, Errno::kEINVAL);
  // Padded kernels need 120 for the same state.
  const Type1Container c70 = intel_container("7.0");
  r = encode_type1_info(c70, 24);
  EXPECT_EQ(u32(r.buffer, 0), 120U);
  r = encode_type1_info(c70, 20);
  EXPECT_EQ(r.header_bytes, 20U);
}

// A fresh container reports no IOVA cap (only migration and dma_avail).
TEST(Type1GetInfo, FreshContainerHasNoIovaCap) {
  Type1Container c(testing::profile("6.1"));
  ASSERT_TRUE(c.type1_open(kVfioType1v2Iommu).ok());
  GetInfoReply r = encode_type1_info(c, 4096);
  EXPECT_EQ(r.buffer.size(), 68U);   // 24 + 32 + 12
  EXPECT_EQ(u32(r.buffer, 60), 0U);  // dma_avail is the last cap
  Type1Container c70(testing::profile("7.0"));
  ASSERT_TRUE(c70.type1_open(kVfioType1v2Iommu).ok());
  EXPECT_EQ(encode_type1_info(c70, 4096).buffer.size(), 72U);
  // No driver at all: the ioctl is refused.
  Type1Container none(testing::profile("6.1"));
  EXPECT_EQ(encode_type1_info(none, 4096).outcome.err, Errno::kEINVAL);
}

// Older layouts: 5.4 (IOVA cap only, @24), 4.18 (no capability at all).
TEST(Type1GetInfo, OlderKernels) {
  const Type1Container c54 = intel_container("5.4");
  GetInfoReply r = encode_type1_info(c54, 4096);
  EXPECT_EQ(r.buffer.size(), 40U + 16 * 2);
  EXPECT_EQ(u16(r.buffer, 24), kVfioCapIovaRange);
  const Type1Container c418 = intel_container("4.18");
  r = encode_type1_info(c418, 4096);
  EXPECT_EQ(r.header_bytes, 16U);
  EXPECT_EQ(u32(r.buffer, 4), kVfioIommuInfoPgsizes);
  EXPECT_EQ(u32(r.buffer, 0), 4096U);
}

// iommufd compat (12.6): DMA_AVAIL U32_MAX @24, IOVA_RANGE @40, total
// 56 + 16n, argsz always rewritten, no migration cap.
TEST(IommufdCompatGetInfo, PaddedLayoutAndArgsz) {
  const std::vector<VfioIovaRange> ranges = {{0, 0xfedfffff}, {0xfef00000, 0xffffffffffffffff}};
  const KernelFeatures f = testing::profile("7.0").features;
  GetInfoReply r = encode_iommufd_compat_info(0xfffffffffffff000, ranges, f, 4096);
  ASSERT_EQ(r.buffer.size(), 56U + 32);
  EXPECT_EQ(u32(r.buffer, 0), 88U);  // rewritten on success too
  EXPECT_EQ(u32(r.buffer, 16), 24U);
  EXPECT_EQ(u16(r.buffer, 24), kVfioCapDmaAvail);
  EXPECT_EQ(u32(r.buffer, 28), 40U);
  EXPECT_EQ(u32(r.buffer, 32), 0xffffffffU);
  EXPECT_EQ(u16(r.buffer, 40), kVfioCapIovaRange);
  EXPECT_EQ(u32(r.buffer, 48), 2U);
  EXPECT_EQ(u64(r.buffer, 80), 0xffffffffffffffffU);
  // Short: what fits is written; cap_offset 0; argsz the full size.
  r = encode_iommufd_compat_info(0x1000, ranges, f, 40);
  EXPECT_EQ(u32(r.buffer, 0), 88U);
  EXPECT_EQ(u32(r.buffer, 16), 0U);
  EXPECT_EQ(u16(r.buffer, 24), kVfioCapDmaAvail);
  EXPECT_EQ(u32(r.buffer, 28), 40U);  // next patched once argsz reaches it
  // Before v6.6 the compat caps were not padded: IOVA_RANGE @36.
  KernelFeatures old = f;
  old.type1_caps_aligned = false;
  r = encode_iommufd_compat_info(0x1000, ranges, old, 4096);
  EXPECT_EQ(r.buffer.size(), 52U + 32);
  EXPECT_EQ(u32(r.buffer, 28), 36U);
  EXPECT_EQ(u16(r.buffer, 36), kVfioCapIovaRange);
}

// decode(encode(x)) == x for each profile's layout, including 6.1's
// misaligned IOVA cap.
TEST(Type1GetInfoDecode, RoundTripsEveryLayout) {
  for (const char* name : {"5.4", "5.10", "6.1", "6.6", "7.0"}) {
    const Type1Container c = intel_container(name);
    const GetInfoReply r = encode_type1_info(c, 4096);
    auto d = decode_type1_info(r.buffer);
    ASSERT_TRUE(d.ok()) << name << ": " << d.error().to_string();
    EXPECT_FALSE(d->caps_pending);
    ASSERT_TRUE(d->iova_ranges.has_value()) << name;
    EXPECT_EQ(d->iova_ranges->size(), 2U);
    EXPECT_EQ(d->iova_pgsizes, c.pgsize_bitmap());
    if (c.profile().features.type1_dma_avail_cap) {
      EXPECT_EQ(d->dma_avail, std::optional<std::uint32_t>(65532));
    }
    if (c.profile().features.type1_migration_cap) {
      EXPECT_EQ(d->migration, (MigrationCap{0, 0x1000, kVfioMaxDirtyBitmapSize}));
    }
    EXPECT_TRUE(d->warnings.empty()) << name;
  }
  const std::vector<VfioIovaRange> ranges = {{0x1000, 0xfffff}};
  auto d = decode_type1_info(encode_iommufd_compat_info(0x1000, ranges, testing::profile("7.0").features, 4096).buffer);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->dma_avail, std::optional<std::uint32_t>(0xffffffff));
  EXPECT_EQ(*d->iova_ranges, ranges);
  EXPECT_FALSE(d->migration.has_value());
}

TEST(Type1GetInfoDecode, ShortReplyIsPending) {
  auto d = decode_type1_info(encode_type1_info(intel_container("6.1"), 24).buffer);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->caps_pending);
  EXPECT_EQ(d->argsz, 116U);
}

// Malformed buffers: clear errors with the byte offset.
TEST(Type1GetInfoDecode, RejectsMalformedChains) {
  std::vector<std::uint8_t> good = encode_type1_info(intel_container("6.6"), 4096).buffer;
  EXPECT_FALSE(decode_type1_info(std::span(good).first(12)).ok());  // below 16
  {
    auto d = decode_type1_info(std::span(good).first(100));  // iova ranges cut
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().where().offset, std::optional<std::size_t>(72));
  }
  {
    auto loop = good;
    const std::uint32_t back = 24;
    std::memcpy(loop.data() + 60, &back, 4);  // dma_avail.next -> migration
    auto d = decode_type1_info(loop);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message().find("loop"), std::string::npos);
  }
  {
    auto overlap = good;
    const std::uint32_t into = 40;  // inside the migration cap
    std::memcpy(overlap.data() + 28, &into, 4);
    EXPECT_FALSE(decode_type1_info(overlap).ok());
  }
  {
    auto beyond = good;
    const std::uint32_t far = 5000;
    std::memcpy(beyond.data() + 16, &far, 4);
    auto d = decode_type1_info(beyond);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code(), Errc::kTruncated);
  }
}

// Unknown capability ids are kept and reported, not fatal.
TEST(Type1GetInfoDecode, KeepsUnknownCaps) {
  std::vector<std::uint8_t> b = encode_type1_info(intel_container("6.6"), 4096).buffer;
  const std::uint16_t id = 77;
  std::memcpy(b.data() + 56, &id, 2);  // dma_avail becomes id 77
  auto d = decode_type1_info(b);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->unknown.size(), 1U);
  EXPECT_EQ(d->unknown[0].id, 77);
  EXPECT_EQ(d->unknown[0].offset, 56U);
  EXPECT_FALSE(d->dma_avail.has_value());
  EXPECT_TRUE(d->iova_ranges.has_value());
}

}  // namespace
}  // namespace iovakit::kernel
