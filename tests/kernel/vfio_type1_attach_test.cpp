// vfio_iommu_type1_attach_group / _detach_group and the container ioctls
// around them (linux-iommu-semantics.md 11.1, 11.3, 11.4, 15.5).
#include <gtest/gtest.h>

#include "iovakit/kernel/vfio_type1.h"
#include "kernel/type1_test_support.h"

namespace iovakit::kernel {
namespace {

using iova::ResvType;
using testing::amd_group;
using testing::container_with;
using testing::intel_group;
using testing::map;
using testing::nodes;
using testing::profile;
using testing::region;

constexpr std::uint64_t kMax = ~std::uint64_t{0};

// vfio_iommu_type1_open: a fresh container has an EMPTY list (no IOVA cap).
TEST(Type1Attach, FreshContainerHasNoList) {
  Type1Container c(profile("6.1"));
  ASSERT_TRUE(c.type1_open(kVfioType1v2Iommu).ok());
  EXPECT_TRUE(c.iova_list().empty());
  EXPECT_EQ(c.pgsize_bitmap(), kPageMask);
  EXPECT_EQ(c.dma_avail(), 65535U);
  EXPECT_TRUE(map(c, 0xfee00000, 0x1000).ok());  // empty list: everything valid
}

// vfio_ioctl_set_iommu: needs a group first; 6 (nesting) only where
// type1_nesting; unknown types ENODEV.
TEST(Type1Attach, SetIommuRules) {
  Type1Container none(profile("6.1"));
  EXPECT_EQ(none.set_iommu(kVfioType1v2Iommu).err, Errno::kEINVAL);

  Type1Container c61(profile("6.1"));
  ASSERT_TRUE(c61.set_container(intel_group(1)).ok());
  EXPECT_EQ(c61.set_iommu(7).err, Errno::kENODEV);
  EXPECT_TRUE(c61.set_iommu(kVfioType1NestingIommu).ok());
  EXPECT_TRUE(c61.v2());
  EXPECT_EQ(c61.set_iommu(kVfioType1v2Iommu).err, Errno::kEINVAL);  // already set

  Type1Container c70(profile("7.0"));
  ASSERT_TRUE(c70.set_container(intel_group(1)).ok());
  const Outcome o = c70.set_iommu(kVfioType1NestingIommu);
  EXPECT_EQ(o.err, Errno::kENODEV);
  EXPECT_EQ(o.name(), "ENODEV");
  EXPECT_TRUE(c70.set_iommu(kVfioType1Iommu).ok());
  EXPECT_FALSE(c70.v2());
}

// Attach through SET_CONTAINER + SET_IOMMU: the Intel list of 11.7.
TEST(Type1Attach, IntelListExcludesMsiWindow) {
  Type1Container c = container_with("6.1", intel_group(1));
  EXPECT_EQ(c.iova_list().nodes(), nodes({{0, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  EXPECT_EQ(c.pgsize_bitmap(), 0x40201000U);
  ASSERT_EQ(c.domains().size(), 1U);
}

// AMD 6.1 v1: the classic three ranges of section 7.
TEST(Type1Attach, AmdListHasThreeRanges) {
  Type1Container c = container_with("6.1", amd_group(1));
  EXPECT_EQ(c.iova_list().nodes(),
            nodes({{0, 0xfedfffff}, {0xfef00000, 0xfcffffffff}, {0x10000000000, 0xffffffffffffffff}}));
}

// Step 6, vfio_iommu_aper_conflict: a new, smaller aperture that would cut
// off an existing mapping -> EINVAL, list and groups unchanged.
TEST(Type1Attach, ApertureConflictWithMapping) {
  Type1Container c = container_with("6.6", intel_group(1, 48));
  ASSERT_TRUE(map(c, 0x8000000000, 0x1000).ok());  // above 2^39
  const auto before = c.iova_list();
  const Outcome o = c.attach_group(intel_group(2, 39));
  EXPECT_EQ(o.err, Errno::kEINVAL);
  EXPECT_EQ(o.function, "vfio_iommu_type1_attach_group");
  EXPECT_NE(o.message.find("vfio_iommu_aper_conflict"), std::string::npos);
  EXPECT_EQ(c.iova_list(), before);
  EXPECT_EQ(c.find_group(2), nullptr);
}

// vfio_iommu_aper_conflict: an aperture disjoint from the list conflicts
// even without mappings.
TEST(Type1Attach, ApertureDisjointConflicts) {
  Type1Container c = container_with("6.6", intel_group(1, 39));
  Type1GroupSpec high = intel_group(2);
  high.aperture = iova::Range(0x10000000000, 0x1ffffffffff);
  EXPECT_EQ(c.attach_group(high).err, Errno::kEINVAL);
}

// vfio_iommu_aper_conflict, 6.1 arithmetic (15.2): when the list ends at
// U64_MAX, vfio_find_dma(end + 1, last->end - end) wraps to 0 and is blind,
// so a mapping above the new aperture is missed; 6.19+ catches it.
TEST(Type1Attach, ApertureConflictBlindAtTopOn61) {
  for (const char* name : {"6.1", "7.0"}) {
    Type1Container c = container_with(name, amd_group(1));
    ASSERT_TRUE(map(c, 0x20000000000, 0x1000).ok()) << name;
    const Outcome o = c.attach_group(intel_group(2, 39));
    if (std::string(name) == "6.1") {
      EXPECT_TRUE(o.ok()) << o.to_string();
      EXPECT_EQ(c.iova_list().back().end, 0x7fffffffffU);
    } else {
      EXPECT_EQ(o.err, Errno::kEINVAL) << name;
    }
  }
}

// Step 8, vfio_iommu_resv_conflict: a non-relaxable region over a mapping
// -> EINVAL; a relaxable one is ignored.
TEST(Type1Attach, ResvConflictIgnoresRelaxable) {
  Type1Container c = container_with("6.1", intel_group(1));
  ASSERT_TRUE(map(c, 0x100000, 0x100000).ok());
  Type1GroupSpec relax = intel_group(2);
  relax.regions.push_back(region(0x100000, 0x1fffff, ResvType::kDirectRelaxable));
  EXPECT_TRUE(c.attach_group(relax).ok());

  Type1GroupSpec direct = intel_group(3);
  direct.regions.push_back(region(0x180000, 0x18ffff, ResvType::kDirect));
  const Outcome o = c.attach_group(direct);
  EXPECT_EQ(o.err, Errno::kEINVAL);
  EXPECT_NE(o.message.find("vfio_iommu_resv_conflict"), std::string::npos);
}

// Step 9, vfio_iommu_resv_exclude: the list emptied -> EINVAL, nothing
// committed (the kernel works on a copy).
TEST(Type1Attach, ListEmptiedFailsWithoutChange) {
  Type1Container c = container_with("6.1", intel_group(1));
  const auto before = c.iova_list();
  Type1GroupSpec all = intel_group(2);
  all.regions = {region(0, kMax, ResvType::kReserved)};
  const Outcome o = c.attach_group(all);
  EXPECT_EQ(o.err, Errno::kEINVAL);
  EXPECT_NE(o.message.find("vfio_iommu_resv_exclude"), std::string::npos);
  EXPECT_EQ(c.iova_list(), before);
  EXPECT_EQ(c.domains().size(), 1U);
  EXPECT_EQ(c.attached_groups().size(), 1U);
}

// Two groups narrow the list: intersection of apertures, both groups' holes.
TEST(Type1Attach, TwoGroupsNarrow) {
  Type1Container c = container_with("6.1", amd_group(1));
  Type1GroupSpec g2 = intel_group(2, 39);
  g2.regions.push_back(region(0xe0000000, 0xe00fffff, ResvType::kDirect));
  ASSERT_TRUE(c.attach_group(g2).ok());
  EXPECT_EQ(c.iova_list().nodes(), nodes({{0, 0xdfffffff}, {0xe0100000, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
  EXPECT_EQ(c.domains().size(), 2U);  // different iommu_ops: a new domain
  EXPECT_EQ(c.pgsize_bitmap(), 0xffffff7ffffff000ULL & 0x40201000ULL);
}

// Detach widens: the removed group's holes go, the aperture grows back
// (vfio_iommu_aper_expand + vfio_iommu_resv_refresh).
TEST(Type1Attach, DetachWidens) {
  Type1Container c = container_with("6.1", amd_group(1));
  Type1GroupSpec g2 = intel_group(2, 39);
  g2.regions.push_back(region(0xe0000000, 0xe00fffff, ResvType::kDirect));
  ASSERT_TRUE(c.attach_group(g2).ok());
  ASSERT_TRUE(c.detach_group(2).ok());
  EXPECT_EQ(c.iova_list().nodes(),
            nodes({{0, 0xfedfffff}, {0xfef00000, 0xfcffffffff}, {0x10000000000, 0xffffffffffffffff}}));
  EXPECT_EQ(c.pgsize_bitmap(), 0xffffff7ffffff000ULL);
}

// 11.4 / 15.5: after the last IOMMU-backed group the list is [0, U64_MAX],
// not empty; mappings are all unmapped.
TEST(Type1Attach, LastDetachLeavesWholeSpace) {
  Type1Container c = container_with("6.1", intel_group(1));
  ASSERT_TRUE(map(c, 0x100000, 0x1000).ok());
  ASSERT_TRUE(c.detach_group(1).ok());
  EXPECT_EQ(c.iova_list().nodes(), nodes({{0, kMax}}));
  EXPECT_TRUE(c.mappings().empty());
  EXPECT_EQ(c.dma_avail(), 65535U);
  EXPECT_EQ(c.pgsize_bitmap(), kPageMask);
}

// vfio_container_detach_group: the ioctl path releases the driver when the
// container becomes empty, so the whole type1 state goes.
TEST(Type1Attach, UnsetLastGroupReleasesIommu) {
  Type1Container c = container_with("6.1", intel_group(1));
  ASSERT_TRUE(c.unset_container(1).ok());
  EXPECT_FALSE(c.iommu_set());
  EXPECT_EQ(map(c, 0x1000, 0x1000).err, Errno::kEINVAL);
}

// Domain reuse (step 12): same iommu_ops and coherency -> the group joins
// the existing domain; its own aperture still narrows the list.
TEST(Type1Attach, CompatibleDomainIsReused) {
  Type1Container c = container_with("7.0", intel_group(1, 48));
  ASSERT_TRUE(c.attach_group(intel_group(2, 39)).ok());
  ASSERT_EQ(c.domains().size(), 1U);
  EXPECT_EQ(c.domains()[0].groups.size(), 2U);
  EXPECT_EQ(c.iova_list().back().end, 0x7fffffffffU);
}

// Steps 1-2 order: EBUSY (invalidated vaddr) before the duplicate check.
TEST(Type1Attach, BusyBeforeDuplicate) {
  Type1Container c = container_with("6.1", intel_group(1));
  ASSERT_TRUE(map(c, 0x100000, 0x1000).ok());
  ASSERT_TRUE(testing::unmap(c, 0x100000, 0x1000, kVfioDmaUnmapFlagVaddr).outcome.ok());
  EXPECT_EQ(c.attach_group(intel_group(1)).err, Errno::kEBUSY);
  DmaMapRequest r;
  r.flags = kVfioDmaMapFlagVaddr;
  r.iova = 0x100000;
  r.size = 0x1000;
  r.vaddr = 0x7f0000100000;
  ASSERT_TRUE(c.map_dma(r).ok());
  EXPECT_EQ(c.attach_group(intel_group(1)).err, Errno::kEINVAL);  // duplicate
}

// Step 3: an emulated (mdev) group leaves the list alone.
TEST(Type1Attach, EmulatedGroupLeavesListAlone) {
  Type1Container c = container_with("6.1", intel_group(1));
  const auto before = c.iova_list();
  Type1GroupSpec mdev;
  mdev.group_id = 9;
  mdev.emulated = true;
  EXPECT_TRUE(c.attach_group(mdev).ok());
  EXPECT_EQ(c.iova_list(), before);
  ASSERT_TRUE(c.detach_group(9).ok());
  EXPECT_EQ(c.iova_list(), before);
}

// Steps 4-5 and the DMA-ownership claim: where a driver refusal surfaces.
TEST(Type1Attach, RefusalStages) {
  // 6.1 Intel RMRR-locked device: EPERM at VFIO_GROUP_SET_CONTAINER.
  Type1Container c61(profile("6.1"));
  Type1GroupSpec locked = intel_group(1);
  locked.refusal = DriverRefusal{RefusalStage::kClaimDmaOwner, Errno::kEPERM, "intel_iommu_attach_device",
                                 "Device is ineligible for IOMMU domain attach due to platform RMRR requirement.  "
                                 "Contact your platform vendor."};
  const Outcome o = c61.set_container(locked);
  EXPECT_EQ(o.err, Errno::kEPERM);
  EXPECT_EQ(o.function, "intel_iommu_attach_device");
  EXPECT_TRUE(c61.waiting_groups().empty());

  // Domain allocation failure (6.1: -EIO) at step 4, after the duplicate check.
  Type1Container c = container_with("6.1", intel_group(1));
  Type1GroupSpec noalloc = intel_group(2);
  noalloc.refusal = DriverRefusal{RefusalStage::kDomainAlloc, Errno::kEIO, "", "iommu_domain_alloc returned NULL"};
  EXPECT_EQ(c.attach_group(noalloc).err, Errno::kEIO);
  // Attach failure at step 5 comes before the aperture check of step 6.
  Type1GroupSpec refused = intel_group(3);
  refused.aperture = iova::Range(0x10000000000, 0x1ffffffffff);  // would also conflict
  refused.refusal = DriverRefusal{RefusalStage::kAttachDomain, Errno::kEFAULT, "prepare_domain_attach_device",
                                  "iommu width (39) is not sufficient for the mapped address"};
  EXPECT_EQ(c.attach_group(refused).err, Errno::kEFAULT);
}

// Step 11: no MSI isolation -> EPERM with the kernel's warning, unless
// allow_unsafe_interrupts; it comes after the list checks.
TEST(Type1Attach, MsiIsolationRequired) {
  Type1GroupSpec unsafe = intel_group(1);
  unsafe.isolated_msi = false;
  Type1Container c(profile("6.1"));
  ASSERT_TRUE(c.set_container(unsafe).ok());
  const Outcome o = c.set_iommu(kVfioType1v2Iommu);
  EXPECT_EQ(o.err, Errno::kEPERM);
  EXPECT_NE(o.message.find("No interrupt remapping support.  Use the module param"), std::string::npos);
  EXPECT_FALSE(c.iommu_set());
  EXPECT_EQ(c.waiting_groups().size(), 1U);  // still in the container, no driver

  Type1Container lax(profile("6.1"), kDefaultDmaEntryLimit, /*allow_unsafe_interrupts=*/true);
  ASSERT_TRUE(lax.set_container(unsafe).ok());
  EXPECT_TRUE(lax.set_iommu(kVfioType1v2Iommu).ok());
}

// SW_MSI vs MSI (15.9): both are excluded from the list; the MSI cookie is
// set only when no hardware MSI region is present.
TEST(Type1Attach, SwMsiCookieOnlyWithoutHardwareMsi) {
  Type1GroupSpec arm;
  arm.group_id = 1;
  arm.aperture = iova::Range(0, (1ULL << 48) - 1);
  arm.regions = {region(0x8000000, 0x80fffff, ResvType::kSwMsi)};
  Type1Container c = container_with("6.1", arm);
  EXPECT_EQ(c.domains()[0].msi_base, std::optional<std::uint64_t>(0x8000000));
  EXPECT_EQ(c.iova_list().nodes(), nodes({{0, 0x7ffffff}, {0x8100000, 0xffffffffffff}}));

  arm.regions.push_back(testing::msi_region());
  Type1Container both = container_with("6.1", arm);
  EXPECT_EQ(both.domains()[0].msi_base, std::nullopt);
  EXPECT_EQ(both.iova_list().size(), 3U);
}

// aper_resize quirk through attach (15.6): a list node ending exactly at the
// new aperture's start disappears.
TEST(Type1Attach, AperResizeQuirkThroughAttach) {
  Type1GroupSpec g1 = intel_group(1, 48);
  g1.regions = {region(0x1000, 0x1fff, ResvType::kReserved)};  // list: [0,0xfff] [0x2000, ...]
  Type1Container c = container_with("7.0", g1);
  Type1GroupSpec g2 = intel_group(2, 48);
  g2.iommu_ops = 7;
  g2.regions.clear();
  g2.aperture = iova::Range(0xfff, (1ULL << 48) - 1);
  ASSERT_TRUE(c.attach_group(g2).ok());
  EXPECT_EQ(c.iova_list().nodes(), nodes({{0x2000, 0xffffffffffff}}));  // byte 0xfff lost
  const MapExplanation ex = c.explain_map(0, 0x1000);
  ASSERT_FALSE(ex.valid);
  ASSERT_EQ(ex.obstacles.size(), 2U);
  EXPECT_EQ(ex.obstacles[0].kind, MapExplanation::Obstacle::Kind::kApertureEdge);
  EXPECT_EQ(ex.obstacles[0].overlap, iova::Range(0, 0xffe));
  EXPECT_EQ(ex.obstacles[1].kind, MapExplanation::Obstacle::Kind::kListQuirk);
  EXPECT_EQ(ex.obstacles[1].overlap, iova::Range(0xfff, 0xfff));
}

// Before the v5.4 usable-list series nothing is checked and nothing kept.
TEST(Type1Attach, Pre54HasNoListAndMapsAnything) {
  Type1Container c = container_with("5.3", intel_group(1));
  EXPECT_TRUE(c.iova_list().empty());
  EXPECT_TRUE(map(c, 0xfee00000, 0x1000).ok());
  const auto hazards = c.hazards_of(0xfee00000, 0x1000);
  ASSERT_EQ(hazards.size(), 1U);
  EXPECT_EQ(hazards[0].kind, Hazard::Kind::kReservedRegion);
  EXPECT_NE(hazards[0].consequence.find("MSI doorbell"), std::string::npos);
}

// SET_IOMMU attaches waiting groups newest first and undoes all on failure.
TEST(Type1Attach, SetIommuUndoesOnFailure) {
  Type1Container c(profile("6.6"));
  ASSERT_TRUE(c.set_container(intel_group(1)).ok());
  Type1GroupSpec bad = intel_group(2);
  bad.regions = {region(0, kMax, ResvType::kReserved)};
  ASSERT_TRUE(c.set_container(bad).ok());
  const Outcome o = c.set_iommu(kVfioType1v2Iommu);
  EXPECT_EQ(o.err, Errno::kEINVAL);
  EXPECT_FALSE(c.iommu_set());
  EXPECT_EQ(c.waiting_groups().size(), 2U);
}

}  // namespace
}  // namespace iovakit::kernel
