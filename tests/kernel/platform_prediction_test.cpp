// predict_platform on real firmware tables (tests/data/acpi) and machine
// topologies: per-device regions of each vendor driver, the group merge that
// sysfs prints, and the DMA-ownership claim VFIO makes, per kernel profile.
// Expected strings are the kernel's formats (iommu_group_show_resv_regions);
// the rules are cited where each case is.
#include "iovakit/kernel/platform_prediction.h"

#include <gtest/gtest.h>

#include "kernel/platform_test_support.h"
#include "pci/support/machines.h"

namespace iovakit::kernel {
namespace {

using pci::PcieType;
using pci::testing::build;
using pci::testing::conventional;
using pci::testing::pcie_bridge;
using pci::testing::pcie_endpoint;
using pci::testing::record;
using testing::group_sysfs;
using testing::predict;

std::size_t at(const pci::Topology& t, std::string_view bdf) { return t.find(pci::Bdf::parse(bdf).value()).value(); }

constexpr const char* kMsi = "0x00000000fee00000 0x00000000feefffff msi\n";
constexpr const char* kHt = "0x000000fd00000000 0x000000ffffffffff reserved\n";

// --- Intel: intel_iommu_get_resv_regions, device_rmrr_is_relaxable, the ISA
// floppy region, device_is_rmrr_locked (6.1) / require_direct (6.6+).
struct IntelCase {
  const char* profile;
  const char* device;
  std::string sysfs;
  Errno claim;
};

TEST(PlatformPrediction, IntelLaptopIgdAndXhciRmrrs) {
  // ASUS Q325UAR: RMRR #0 names the xHCI 00:14.0, RMRR #1 the IGD 00:02.0.
  const pci::Topology t = build(pci::testing::intel_laptop(false));
  const acpi::Dmar dmar = testing::corpus_dmar("asustek-computer_q325uar_7E4A9E65FDE9.dat");
  PlatformInput in;
  in.topology = &t;
  in.dmar = &dmar;
  const std::vector<IntelCase> cases = {
      // 5.3+: USB and display RMRRs are relaxable (1c5c59fbad20); nothing refuses the claim.
      {"6.1", "0000:00:02.0", std::string("0x000000009b800000 0x000000009fffffff direct-relaxable\n") + kMsi,
       Errno::kOk},
      {"6.12", "0000:00:14.0", std::string("0x0000000098e70000 0x0000000098e8ffff direct-relaxable\n") + kMsi,
       Errno::kOk},
      // Before 5.3 the same RMRRs are plain direct; device_is_rmrr_locked
      // still exempts USB and graphics (3.17+), so the claim works.
      {"4.18", "0000:00:02.0", std::string("0x000000009b800000 0x000000009fffffff direct\n") + kMsi, Errno::kOk},
      {"4.18", "0000:00:14.0", std::string("0x0000000098e70000 0x0000000098e8ffff direct\n") + kMsi, Errno::kOk},
      // The ISA bridge's 0-16 MiB (CONFIG_INTEL_IOMMU_FLOPPY_WA), reported
      // from 5.3 (d850c2ee5fe22), merged into the LPC group's file.
      {"6.1", "0000:00:1f.3", std::string("0x0000000000000000 0x0000000000ffffff direct-relaxable\n") + kMsi,
       Errno::kOk},
      {"4.18", "0000:00:1f.0", kMsi, Errno::kOk},
      {"6.12", "0000:02:00.0", kMsi, Errno::kOk},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.profile) + " " + c.device);
    const PlatformPrediction p = predict(in, c.profile);
    EXPECT_TRUE(p.remapping_enabled);
    EXPECT_EQ(group_sysfs(p, at(t, c.device)), c.sysfs);
    EXPECT_EQ(p.group_of(at(t, c.device))->claim.err, c.claim);
  }
  // The LPC group holds the three multifunction PCH functions (no ACS).
  const PlatformPrediction p = predict(in, "6.1");
  EXPECT_EQ(p.group_of(at(t, "0000:00:1f.0"))->members.size(), 3U);
  // Without the capability registers the aperture comes from the DMAR host
  // address width, and the prediction says so once per unit.
  EXPECT_EQ(p.group_of(at(t, "0000:00:02.0"))->aperture, iova::Range(0, (1ULL << 39) - 1));
  EXPECT_EQ(p.unknowns.size(), 2U);
}

TEST(PlatformPrediction, IntelServerNicRmrrLocksTheGroup) {
  // HP ProLiant DL360 G7: RMRR #2 names the NICs behind root ports 00:01.0
  // and 00:03.0 through two-hop paths; a NIC is not relaxable.
  const pci::Topology t = build(pci::testing::dl360_g7());
  const acpi::Dmar dmar = testing::corpus_dmar("hewlett-packard_proliant-dl360-g7_60DCEE46526A.dat");
  PlatformInput in;
  in.topology = &t;
  in.dmar = &dmar;
  in.assigned = {at(t, "0000:03:00.0")};
  const std::string nic = std::string("0x00000000df61e000 0x00000000df61ffff direct\n") + kMsi;

  const PlatformPrediction v61 = predict(in, "6.1");
  const GroupModel* g = v61.group_of(at(t, "0000:03:00.0"));
  EXPECT_EQ(g->sysfs, nic);
  EXPECT_EQ(g->members.size(), 2U);  // both Broadcom functions: multifunction without ACS
  // 3.17-6.5 intel_iommu_attach_device: -EPERM and its dev_warn.
  EXPECT_EQ(g->claim.err, Errno::kEPERM);
  EXPECT_EQ(g->claim.function, "intel_iommu_attach_device");
  EXPECT_EQ(g->claim_log,
            "vfio-pci 0000:03:00.0: DMAR: Device is ineligible for IOMMU domain attach due to platform RMRR "
            "requirement.  Contact your platform vendor.");
  // 6.6+ __iommu_device_set_domain: require_direct, -EINVAL.
  const PlatformPrediction v612 = predict(in, "6.12");
  g = v612.group_of(at(t, "0000:03:00.0"));
  EXPECT_EQ(g->sysfs, nic);
  EXPECT_EQ(g->claim.err, Errno::kEINVAL);
  EXPECT_EQ(g->claim_log,
            "vfio-pci 0000:03:00.0: Firmware has requested this device have a 1:1 IOMMU mapping, rejecting "
            "configuring the device without a 1:1 mapping. Contact your platform vendor.");
  // The UHCI/EHCI group: two RMRRs (#0 names 1d.7, #1 the UHCIs), relaxable
  // on 5.3+, so the group is assignable.
  g = v612.group_of(at(t, "0000:00:1d.0"));
  EXPECT_EQ(g->sysfs, std::string("0x00000000df7df000 0x00000000df7e4fff direct-relaxable\n"
                                  "0x00000000df7e6000 0x00000000df7e7fff direct-relaxable\n") +
                          kMsi);
  EXPECT_TRUE(g->claim.ok());
  // Where the refusal surfaces: the claim at SET_CONTAINER since 5.19, the
  // type1 attach before.
  EXPECT_EQ(type1_group_spec(*v61.group_of(at(t, "0000:03:00.0")), v61.profile.features).refusal->stage,
            RefusalStage::kClaimDmaOwner);
  const PlatformPrediction v418 = predict(in, "4.18");
  EXPECT_EQ(type1_group_spec(*v418.group_of(at(t, "0000:03:00.0")), v418.profile.features).refusal->stage,
            RefusalStage::kAttachDomain);
}

TEST(PlatformPrediction, IntelDomainTypeFollowsCachingModeAndCommandLine) {
  const pci::Topology t = build(pci::testing::intel_laptop(false));
  const acpi::Dmar dmar = testing::corpus_dmar("asustek-computer_q325uar_7E4A9E65FDE9.dat");
  PlatformInput in;
  in.topology = &t;
  in.dmar = &dmar;
  EXPECT_EQ(predict(in, "6.1").group_models.front().domain_type, "DMA-FQ");
  EXPECT_EQ(predict(in, "5.4").group_models.front().domain_type, "DMA");  // before 26225bea1d84
  // QEMU's intel-iommu with caching-mode=on: the driver forces strict mode.
  in.intel_registers[0xfed90000] = {0xd2008c22260286ULL, 0xf00f5eULL};
  EXPECT_EQ(predict(in, "6.12").group_models.front().domain_type, "DMA");
  in.passthrough = true;
  EXPECT_EQ(predict(in, "6.12").group_models.front().domain_type, "identity");
}

// --- AMD: init_unity_map_range + amd_iommu_get_resv_regions.
std::vector<pci::DeviceRecord> amd_laptop() {
  return {
      record("0000:00:00.0", conventional(0x1022, 0x14b5, 0x060000)),
      record("0000:00:02.2", pcie_bridge(0x1022, 0x14b7, PcieType::kRootPort, 0, 0x03, 0x03)),
      record("0000:03:00.0", pcie_endpoint(0x14c3, 0x0616, 0x028000)),
  };
}

TEST(PlatformPrediction, AmdExclusionIvmdIsADirectRegion) {
  // Lenovo ThinkPad T14 Gen 3: one type 0x21 IVMD, ExclusionRange, for 03:00.0.
  const pci::Topology t = build(amd_laptop());
  const acpi::Ivrs ivrs = testing::corpus_ivrs("lenovo_thinkpad-t14-gen-3-21cf004pge_696E48381F84.dat");
  PlatformInput in;
  in.topology = &t;
  in.ivrs = &ivrs;
  in.driver = IommuDriver::kAmdVi;
  in.assigned = {at(t, "0000:03:00.0")};
  const std::string want = std::string("0x000000007132f000 0x0000000071354fff direct\n") + kMsi + kHt;
  const PlatformPrediction v61 = predict(in, "6.1");
  EXPECT_EQ(group_sysfs(v61, at(t, "0000:03:00.0")), want);
  EXPECT_TRUE(v61.group_of(at(t, "0000:03:00.0"))->claim.ok());
  EXPECT_EQ(group_sysfs(v61, at(t, "0000:00:02.2")), std::string(kMsi) + kHt);
  // The host bridge is not in the IVHD's device entries: no IOMMU, no group.
  EXPECT_FALSE(v61.devices[at(t, "0000:00:00.0")].has_iommu);
  // 6.6+: the direct region makes the device refuse the blocking domain.
  const PlatformPrediction v612 = predict(in, "6.12");
  EXPECT_EQ(v612.group_of(at(t, "0000:03:00.0"))->claim.err, Errno::kEINVAL);
  // The region's cause names the IVMD and its offset.
  const auto& regions = v612.devices[at(t, "0000:03:00.0")].regions;
  ASSERT_FALSE(regions.empty());
  EXPECT_EQ(regions.front().cause.source, RegionSource::kIvmd);
  EXPECT_EQ(regions.front().cause.table_offset, 0xd0U);
}

TEST(PlatformPrediction, AmdOneByteIvmdsBecomePagesAndMerge) {
  // MECHREVO WUJIE14XA: five type 0x22 IVMDs of length 1. PAGE_ALIGN(1) is a
  // page; 0x97d9c000/0x97d9d000 and 0x97b97000/0x97b98000 are adjacent and
  // of one type, so the group merge joins them (iommu_insert_resv_region).
  const pci::Topology t = build(amd_laptop());
  const acpi::Ivrs ivrs = testing::corpus_ivrs("mechrevo_wujie14xa_9249A3556422.dat");
  PlatformInput in;
  in.topology = &t;
  in.ivrs = &ivrs;
  in.driver = IommuDriver::kAmdVi;
  const PlatformPrediction p = predict(in, "6.1");
  EXPECT_EQ(group_sysfs(p, at(t, "0000:03:00.0")), std::string("0x000000009618e000 0x000000009618efff direct\n"
                                                               "0x0000000097b97000 0x0000000097b98fff direct\n"
                                                               "0x0000000097d9c000 0x0000000097d9dfff direct\n") +
                                                       kMsi + kHt);
  EXPECT_EQ(p.devices[at(t, "0000:03:00.0")].regions.size(), 7U);  // 5 IVMD pages + MSI + HT
}

// --- Arm: arm_smmu_get_resv_regions + iort_iommu_get_resv_regions.
TEST(PlatformPrediction, ArmSwMsiAndRmr) {
  const pci::Topology t = build({
      record("0000:00:00.0", pcie_bridge(0x1f6c, 0x0001, PcieType::kRootPort, 0, 1, 1)),
      record("0000:01:00.0", pcie_endpoint(0x144d, 0xa808, 0x010802)),
  });
  // Radxa Orion O6 (revision 5): its RMR maps onto the display SMMU, not
  // the PCIe one, so a PCIe device sees only the software MSI window.
  acpi::Iort iort = testing::corpus_iort("radxa-orion-o6_cix-sky1.dat");
  PlatformInput in;
  in.topology = &t;
  in.iort = &iort;
  in.driver = IommuDriver::kArmSmmuV3;
  const std::string msi_only = "0x0000000008000000 0x00000000080fffff msi\n";
  EXPECT_EQ(group_sysfs(predict(in, "6.12"), at(t, "0000:01:00.0")), msi_only);

  // Point the RMR's first ID mapping at the NVMe drive's StreamID on the
  // PCIe SMMU: with preserve_config the RMR reaches it, relaxable because
  // the node's flags (0x11) permit remapping.
  const auto target = arm_stream_target(t, iort, at(t, "0000:01:00.0"));
  ASSERT_TRUE(target.has_value());
  for (auto& node : iort.nodes) {
    if (!node.rmr) continue;
    node.mappings.front().output_reference = static_cast<std::uint32_t>(iort.nodes[target->smmu_node].offset);
    node.mappings.front().output_base = target->stream_id;
    node.mappings.front().id_count = 0;
  }
  in.arm.preserve_config = true;
  EXPECT_EQ(group_sysfs(predict(in, "6.12"), at(t, "0000:01:00.0")),
            "0x0000000008000000 0x00000000080fffff msi\n"
            "0x0000000084800000 0x0000000084ffffff direct-relaxable\n");
  // Without the host bridge's preserve_config the kernel skips RMRs for PCI
  // devices, and the prediction says the DSDT decides.
  in.arm.preserve_config = false;
  const PlatformPrediction p = predict(in, "6.12");
  EXPECT_EQ(group_sysfs(p, at(t, "0000:01:00.0")), msi_only);
  EXPECT_FALSE(p.devices[at(t, "0000:01:00.0")].unknowns.empty());
  // Table revisions below 5 (E.d) carry no RMRs Linux honours.
  in.arm.preserve_config = true;
  iort.header.revision = 4;
  EXPECT_EQ(group_sysfs(predict(in, "6.12"), at(t, "0000:01:00.0")), msi_only);
}

// --- virtio-iommu: viommu_get_resv_regions (PROBE regions, then the
// software MSI window only when no MSI region was reported).
TEST(PlatformPrediction, VirtioIommuProbeRegions) {
  const pci::Topology t = build({
      record("0000:00:02.0", pcie_endpoint(0x8086, 0x10d3, 0x020000)),
      record("0000:00:03.0", pcie_endpoint(0x1af4, 0x1057, 0x00ff00)),
  });
  PlatformInput in;
  in.topology = &t;
  in.driver = IommuDriver::kVirtioIommu;
  const PlatformPrediction sw = predict(in, "6.12");
  EXPECT_EQ(group_sysfs(sw, at(t, "0000:00:02.0")), "0x0000000008000000 0x00000000080fffff msi\n");
  EXPECT_EQ(sw.group_of(at(t, "0000:00:03.0")), nullptr);  // the virtio-iommu itself
  // QEMU on x86 reports the IOAPIC window as an MSI region (the oracle's
  // virtio-iommu scenario: only that line).
  in.virtio_probe_regions = {{0xfee00000, 0x100000, iova::ResvType::kMsi, 0}};
  const PlatformPrediction x86 = predict(in, "6.12");
  EXPECT_EQ(group_sysfs(x86, at(t, "0000:00:02.0")), kMsi);
  EXPECT_FALSE(x86.group_of(at(t, "0000:00:02.0"))->isolated_msi);
  EXPECT_EQ(x86.group_of(at(t, "0000:00:02.0"))->pgsize_bitmap, kVirtioDefaultPageMask);
}

}  // namespace
}  // namespace iovakit::kernel
