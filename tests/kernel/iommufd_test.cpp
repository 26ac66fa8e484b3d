// The iommufd IOAS: drivers/iommu/iommufd/io_pagetable.c, ioas.c, device.c
// (linux-iommu-semantics.md 12), one rule per test.
#include "iovakit/kernel/iommufd.h"

#include <gtest/gtest.h>

#include "kernel/type1_test_support.h"

namespace iovakit::kernel {
namespace {

using iova::ResvType;
using testing::region;

constexpr std::uint64_t kMax = ~std::uint64_t{0};

IoasModel fresh() { return IoasModel(testing::profile("7.0")); }

IoasDomain domain(std::uint32_t id, unsigned bits) {
  IoasDomain d;
  d.id = id;
  d.aperture = iova::Range(0, (std::uint64_t{1} << bits) - 1);
  return d;
}

IoasMapRequest fixed(std::uint64_t iova, std::uint64_t length, std::uint64_t uptr = 0x7f0000000000) {
  IoasMapRequest r;
  r.flags = kIoasMapFixedIova | kIoasMapReadable | kIoasMapWriteable;
  r.iova = iova;
  r.length = length;
  r.uptr = uptr;
  return r;
}

IoasMapRequest automatic(std::uint64_t length, std::uint64_t uptr) {
  IoasMapRequest r;
  r.length = length;
  r.uptr = uptr;
  return r;
}

// iommufd_ioas_iova_ranges: a fresh IOAS reports [0, U64_MAX] (type1: none).
TEST(Ioas, FreshReportsWholeSpace) {
  const IoasModel m = fresh();
  EXPECT_EQ(m.iova_ranges(), (std::vector<IommuIovaRange>{{0, kMax}}));
}

// No iommufd before v6.2.
TEST(Ioas, AbsentBefore62) {
  IoasModel m(testing::profile("6.1"));
  EXPECT_EQ(m.add_domain(domain(1, 39)).err, Errno::kENODEV);
  EXPECT_EQ(m.map(fixed(0x1000, 0x1000)).outcome.err, Errno::kENODEV);
}

// iopt_table_add_domain reserves outside the aperture, owned by the domain;
// iopt_table_remove_domain drops them.
TEST(Ioas, DomainApertureReserved) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.add_domain(domain(1, 39)).ok());
  EXPECT_EQ(m.iova_ranges(), (std::vector<IommuIovaRange>{{0, 0x7fffffffff}}));
  EXPECT_EQ(m.iova_alignment(), 0x1000U);
  ASSERT_TRUE(m.remove_domain(1).ok());
  EXPECT_EQ(m.iova_ranges(), (std::vector<IommuIovaRange>{{0, kMax}}));
  EXPECT_EQ(m.iova_alignment(), 1U);
}

// iopt_table_add_domain: a smallest page above PAGE_SIZE -> EINVAL; a
// mapping outside the aperture -> EADDRINUSE.
TEST(Ioas, AddDomainErrors) {
  IoasModel m = fresh();
  IoasDomain big = domain(1, 39);
  big.pgsize_bitmap = 0x200000;
  EXPECT_EQ(m.add_domain(big).err, Errno::kEINVAL);
  ASSERT_TRUE(m.map(fixed(0x8000000000, 0x1000)).outcome.ok());
  const Outcome o = m.add_domain(domain(2, 39));
  EXPECT_EQ(o.err, Errno::kEADDRINUSE);
  EXPECT_EQ(o.function, "iopt_reserve_iova");
  EXPECT_TRUE(m.reservations().empty());  // undone
}

// iopt_table_enforce_dev_resv_regions: per-device list, DIRECT_RELAXABLE
// skipped, the rest reserved with the device as owner; detach removes them.
TEST(Ioas, DeviceRegionsReservedRelaxableSkipped) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.add_domain(domain(1, 39)).ok());
  const std::vector<iova::ResvRegion> regions = {region(0, 0xffffff, ResvType::kDirectRelaxable), testing::msi_region(),
                                                 region(0xe0000000, 0xe00fffff, ResvType::kDirect)};
  ASSERT_TRUE(m.attach_device(7, regions).ok());
  EXPECT_EQ(m.iova_ranges(),
            (std::vector<IommuIovaRange>{{0, 0xdfffffff}, {0xe0100000, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  ASSERT_TRUE(m.detach_device(7).ok());
  EXPECT_EQ(m.iova_ranges(), (std::vector<IommuIovaRange>{{0, 0x7fffffffff}}));
}

// Reservations overlap and are never merged; removal is by owner.
TEST(Ioas, OverlappingReservationsRemovedByOwner) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.attach_device(1, std::vector{testing::msi_region()}).ok());
  ASSERT_TRUE(m.attach_device(2, std::vector{testing::msi_region()}).ok());
  EXPECT_EQ(m.reservations().size(), 2U);
  ASSERT_TRUE(m.detach_device(1).ok());
  EXPECT_EQ(m.iova_ranges().size(), 2U);  // device 2's copy still holds the hole
}

// MSI and SW_MSI together, or two SW_MSI: WARN and EINVAL, nothing kept.
TEST(Ioas, MsiCombinationsRejected) {
  const auto sw = region(0x8000000, 0x80fffff, ResvType::kSwMsi);
  const auto sw2 = region(0x9000000, 0x90fffff, ResvType::kSwMsi);
  IoasModel m = fresh();
  EXPECT_EQ(m.attach_device(1, std::vector{sw, testing::msi_region()}).err, Errno::kEINVAL);
  EXPECT_EQ(m.attach_device(1, std::vector{sw, sw2}).err, Errno::kEINVAL);
  EXPECT_TRUE(m.reservations().empty());
  ASSERT_TRUE(m.attach_device(1, std::vector{sw}).ok());
  EXPECT_EQ(m.sw_msi_start(1), std::optional<std::uint64_t>(0x8000000));
}

// Device reservations over a mapping: EADDRINUSE (type1 says EINVAL).
TEST(Ioas, DeviceRegionOverMappingIsEaddrinuse) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.map(fixed(0xfee00000, 0x1000)).outcome.ok());
  EXPECT_EQ(m.attach_device(1, std::vector{testing::msi_region()}).err, Errno::kEADDRINUSE);
}

// Auto-domain ordering: immediate attach reserves the device's regions
// first, replace adds the domain first; the failing step names itself and
// both are undone.
TEST(Ioas, AutoDomainOrder) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.map(fixed(0x8000000000, 0x1000)).outcome.ok());  // above a 39-bit aperture
  const std::vector<iova::ResvRegion> regions = {testing::msi_region()};
  Outcome imm = m.attach_device_new_domain(1, regions, domain(1, 39), AutoDomainOrder::kImmediateAttach);
  EXPECT_EQ(imm.err, Errno::kEADDRINUSE);
  EXPECT_NE(imm.message.find("above the aperture"), std::string::npos);
  EXPECT_TRUE(m.reservations().empty());
  EXPECT_TRUE(m.domains().empty());

  IoasModel r = fresh();
  ASSERT_TRUE(r.map(fixed(0xfee00000, 0x1000)).outcome.ok());  // in the MSI window
  Outcome rep = r.attach_device_new_domain(1, regions, domain(1, 39), AutoDomainOrder::kReplace);
  EXPECT_EQ(rep.err, Errno::kEADDRINUSE);
  EXPECT_NE(rep.message.find("device 1's msi region"), std::string::npos);
  EXPECT_TRUE(r.domains().empty());
  EXPECT_TRUE(r.reservations().empty());
  EXPECT_TRUE(r.attach_device_new_domain(1, regions, domain(1, 48), AutoDomainOrder::kReplace).err ==
              Errno::kEADDRINUSE);
}

// IOMMU_IOAS_IOVA_RANGES: EMSGSIZE when the capacity is short, num_iovas
// always the total, what fits is written.
TEST(Ioas, IovaRangesEmsgsize) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.attach_device(1, std::vector{testing::msi_region()}).ok());
  IovaRangesReply r = m.iova_ranges_ioctl(1);
  EXPECT_EQ(r.outcome.err, Errno::kEMSGSIZE);
  EXPECT_EQ(r.num_iovas, 2U);
  ASSERT_EQ(r.ranges.size(), 1U);
  EXPECT_EQ(r.ranges[0], (IommuIovaRange{0, 0xfedfffff}));
  r = m.iova_ranges_ioctl(8);
  EXPECT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.ranges.size(), 2U);
}

// IOMMU_IOAS_ALLOW_IOVAS: start < last strictly, no overlap among them
// (EINVAL), EADDRINUSE against reservations with the old set kept, empty
// clears; reservations over allowed ranges then fail.
TEST(Ioas, AllowIovasRules) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.attach_device(1, std::vector{testing::msi_region()}).ok());
  EXPECT_EQ(m.allow_iovas(std::vector<IommuIovaRange>{{0x1000, 0x1000}}).err, Errno::kEINVAL);
  EXPECT_EQ(m.allow_iovas(std::vector<IommuIovaRange>{{0x1000, 0x2fff}, {0x2000, 0x3fff}}).err, Errno::kEINVAL);
  ASSERT_TRUE(m.allow_iovas(std::vector<IommuIovaRange>{{0x100000, 0x1fffff}}).ok());
  const Outcome o = m.allow_iovas(std::vector<IommuIovaRange>{{0xfe000000, 0xfeffffff}});
  EXPECT_EQ(o.err, Errno::kEADDRINUSE);
  EXPECT_EQ(m.allowed(), (std::vector<IommuIovaRange>{{0x100000, 0x1fffff}}));  // old set kept
  EXPECT_EQ(m.attach_device(2, std::vector{region(0x180000, 0x18ffff, ResvType::kDirect)}).err, Errno::kEADDRINUSE);
  // Allowed ranges do not change IOVA_RANGES, and fixed maps ignore them.
  EXPECT_EQ(m.iova_ranges().size(), 2U);
  EXPECT_TRUE(m.map(fixed(0x40000000, 0x1000)).outcome.ok());
  ASSERT_TRUE(m.allow_iovas({}).ok());
  EXPECT_TRUE(m.allowed().empty());
}

// iopt_check_iova and iommufd_ioas_map, one errno each.
TEST(Ioas, FixedMapErrnos) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.add_domain(domain(1, 39)).ok());
  ASSERT_TRUE(m.attach_device(1, std::vector{testing::msi_region()}).ok());
  EXPECT_EQ(m.map(fixed(0x1800, 0x1000)).outcome.err, Errno::kEINVAL);                   // misaligned iova
  EXPECT_EQ(m.map(fixed(0x1000, 0x1800)).outcome.err, Errno::kEINVAL);                   // misaligned length
  EXPECT_EQ(m.map(fixed(0x1000, 0)).outcome.err, Errno::kEINVAL);                        // zero length
  EXPECT_EQ(m.map(fixed(kMax, 0x1000)).outcome.err, Errno::kEOVERFLOW);                  // iova >= ULONG_MAX
  EXPECT_EQ(m.map(fixed(kMax - 0xfff, 0x2000)).outcome.err, Errno::kEOVERFLOW);          // iova + length - 1
  EXPECT_EQ(m.map(fixed(0x1000, 0x1000, kMax - 0x800)).outcome.err, Errno::kEOVERFLOW);  // uptr + length
  EXPECT_EQ(m.map(fixed(0xfee00000, 0x1000)).outcome.err, Errno::kEINVAL);               // reservation
  EXPECT_EQ(m.map(fixed(0x8000000000, 0x1000)).outcome.err, Errno::kEINVAL);             // above the aperture
  IoasMapRequest noprot = fixed(0x1000, 0x1000);
  noprot.flags = kIoasMapFixedIova;
  EXPECT_EQ(m.map(noprot).outcome.err, Errno::kEINVAL);
  IoasMapRequest badflag = fixed(0x1000, 0x1000);
  badflag.flags |= 8;
  EXPECT_EQ(m.map(badflag).outcome.err, Errno::kEOPNOTSUPP);
  ASSERT_TRUE(m.map(fixed(0x1000, 0x2000)).outcome.ok());
  EXPECT_EQ(m.map(fixed(0x2000, 0x1000)).outcome.err, Errno::kEEXIST);
}

// iopt_alloc_iova: lowest fit first in [PAGE_SIZE, ULONG_MAX - PAGE_SIZE],
// alignment from length and the user address, ENOSPC when nothing fits.
TEST(Ioas, AutomaticIova) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.add_domain(domain(1, 39)).ok());
  IoasMapReply r = m.map(automatic(0x1000, 0x7f0000001000));
  ASSERT_TRUE(r.outcome.ok());
  EXPECT_EQ(r.iova, std::optional<std::uint64_t>(0x1000));  // never 0
  r = m.map(automatic(0x4000, 0x7f0000004000));             // length 16K, address 16K-aligned
  EXPECT_EQ(r.iova, std::optional<std::uint64_t>(0x4000));
  r = m.map(automatic(0x400000, 0x7f0000200000));  // 4M length, 2M-aligned address: 2M cap
  EXPECT_EQ(r.iova, std::optional<std::uint64_t>(0x200000));
  // Allowed spans restrict automatic allocation.
  ASSERT_TRUE(m.allow_iovas(std::vector<IommuIovaRange>{{0x10000000, 0x10003fff}}).ok());
  r = m.map(automatic(0x2000, 0x7f0000002000));
  EXPECT_EQ(r.iova, std::optional<std::uint64_t>(0x10000000));
  r = m.map(automatic(0x2000, 0x7f0000002000));
  EXPECT_EQ(r.iova, std::optional<std::uint64_t>(0x10002000));
  EXPECT_EQ(m.map(automatic(0x2000, 0x7f0000002000)).outcome.err, Errno::kENOSPC);
  EXPECT_EQ(m.map(automatic(kMax / 2 + 1, 0x1000)).outcome.err, Errno::kEOVERFLOW);
}

// IOMMU_IOAS_UNMAP: an area partly inside the range -> ENOENT; iova 0 with
// length U64_MAX unmaps everything.
TEST(Ioas, UnmapRules) {
  IoasModel m = fresh();
  ASSERT_TRUE(m.map(fixed(0x1000, 0x2000)).outcome.ok());
  ASSERT_TRUE(m.map(fixed(0x10000, 0x1000)).outcome.ok());
  EXPECT_EQ(m.unmap(0x2000, 0x1000).outcome.err, Errno::kENOENT);
  EXPECT_EQ(m.unmap(0x1000, 0).outcome.err, Errno::kEINVAL);
  const IoasUnmapReply all = m.unmap(0, kMax);
  ASSERT_TRUE(all.outcome.ok());
  EXPECT_EQ(all.unmapped, 0x3000U);
  EXPECT_TRUE(m.areas().empty());
}

}  // namespace
}  // namespace iovakit::kernel
