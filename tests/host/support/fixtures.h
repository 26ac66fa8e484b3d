// The synthetic hosts of the host-layer tests, each with a real firmware table
// from tests/data/acpi (copied from the shared corpus; PROVENANCE.md there).
// Devices are plausible for the machine the table came from and match the
// table's scopes; groups and reserved_regions are what a 6.1 kernel prints for
// that layout (linux-iommu-semantics.md s.3, s.4, s.6.3, s.7, s.8: the
// per-device lists below follow intel_iommu_get_resv_regions,
// amd_iommu_get_resv_regions and arm_smmu_get_resv_regions, merged with the
// kernel's iommu_insert_resv_region through iova::ResvList).
// fixture_prediction_test.cpp checks each fixture's groups against the
// kernel model, so the config space written (ACS capabilities,
// multifunction bits, the LPC's RCBA) must be what gives those groups.
//
//   intel_laptop()      Microsoft Surface Book 2 DMAR: IGD RMRR, xHCI RMRR,
//                       ANDD namespace scopes, a gfx-only DRHD
//   server_nic_rmrr()   HP ProLiant DL360 G7 DMAR: RMRRs naming a NIC behind
//                       root port 00:01.0 (two-element path 01.0/00.0), iLO
//                       functions behind 00:1c.4, UHCI/EHCI
//   amd_ivmd()          ASUS Zenbook S 16 (UM5606WA) IVRS: two IVMDs, one
//                       for a device the host has (c4:00.7), one for one it
//                       has not (00:0c.0)
//   arm_iort_rmr()      Radxa Orion O6 (CIX Sky1) IORT revision 5: an RMR for
//                       the display units' StreamIDs behind the second SMMU
//   pcie_to_pci()       Intel H61 DMAR: a PCIe-to-PCI bridge with two
//                       conventional devices that share its requester ID
//   lg_gram_example()   LG gram 17Z90N DMAR (Ice Lake): two xHCIs in one RMRR
//   planted_secrets()   intel_laptop() plus files a snapshot must never
//                       take: MSDM/SLIC/DSDT tables, DMI serials, BARs, ROMs
//
// The bundled example host (examples/hosts/intel-laptop) is `iovakit
// snapshot` of intel_laptop(), written by host_write_fixture.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include "host/support/sysfs_fixture.h"
#include "pci/support/config_builder.h"

namespace iovakit::host::testing {

inline std::string read_data(const std::string& relative) {
  const std::string path = std::string(IOVAKIT_TEST_DATA_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using iova::ResvType;
using pci::PcieType;
using pci::testing::ConfigBuilder;

inline std::vector<std::uint8_t> endpoint(std::uint16_t v, std::uint16_t d, std::uint32_t cls, bool mf = false,
                                          PcieType type = PcieType::kRcIntegratedEndpoint) {
  return pci::testing::pcie_endpoint(v, d, cls, type, mf).bytes();
}
inline std::vector<std::uint8_t> legacy(std::uint16_t v, std::uint16_t d, std::uint32_t cls, bool mf = false) {
  return pci::testing::conventional(v, d, cls, mf).bytes();
}
inline std::vector<std::uint8_t> port(std::uint16_t v, std::uint16_t d, std::uint8_t primary, std::uint8_t secondary,
                                      std::uint8_t subordinate, PcieType type = PcieType::kRootPort) {
  return pci::testing::pcie_bridge(v, d, type, primary, secondary, subordinate).bytes();
}
inline std::vector<std::uint8_t> with_subsystem(std::vector<std::uint8_t> config, std::uint16_t v, std::uint16_t d) {
  config[0x2c] = static_cast<std::uint8_t>(v & 0xffU);
  config[0x2d] = static_cast<std::uint8_t>(v >> 8U);
  config[0x2e] = static_cast<std::uint8_t>(d & 0xffU);
  config[0x2f] = static_cast<std::uint8_t>(d >> 8U);
  return config;
}

// An Intel LPC bridge's root complex base address register (config 0xf0,
// bit 0 enable), which pci_quirk_enable_intel_lpc_acs reads before it
// turns on ACS for the PCH root ports of pci_quirk_intel_pch_acs_ids.
inline std::vector<std::uint8_t> with_rcba(std::vector<std::uint8_t> config, std::uint32_t rcba) {
  for (unsigned i = 0; i < 4; ++i) config[0xf0 + i] = static_cast<std::uint8_t>(rcba >> (8U * i));
  return config;
}
// A PCIe port without an ACS capability (chipsets before ACS: the Intel
// 5520 IOH, ICH10).
inline std::vector<std::uint8_t> port_without_acs(std::uint16_t v, std::uint16_t d, std::uint8_t primary,
                                                  std::uint8_t secondary, std::uint8_t subordinate,
                                                  bool multifunction = false) {
  ConfigBuilder b;
  b.ids(v, d).class_code(0x060400).header(1, multifunction).buses(primary, secondary, subordinate).cap_list(0x40);
  b.cap(0x40, pci::kCapIdSsvid, 0x60).u16(0x44, v).u16(0x46, 0x1234).pcie_cap(0x60, PcieType::kRootPort);
  b.ext_cap(0x100, 0x0001, 2, 0);
  return b.bytes();
}

inline constexpr std::string_view kDebian61 =
    "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU "
    "Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
inline const iova::ResvRegion kMsi = region(0xfee00000, 0xfeefffff, ResvType::kMsi);

// --- Surface Book 2 (Kaby Lake-R): DRHD 0 (0xfed90000) covers only the IGD,
// DRHD 1 (0xfed91000) INCLUDE_PCI_ALL; RMRR #0 [0x3e2e0000, 0x3e2fffff] for
// the xHCI 00:14.0, RMRR #1 [0x8d000000, 0x8f7fffff] for the IGD.
inline SysfsFixture intel_laptop() {
  const auto xhci_rmrr = region(0x3e2e0000, 0x3e2fffff, ResvType::kDirectRelaxable);
  const auto igd_rmrr = region(0x8d000000, 0x8f7fffff, ResvType::kDirectRelaxable);
  SysfsFixture f;
  f.kernel(std::string(kDebian61),
           "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p3 ro quiet intel_iommu=on");
  f.intel_unit("dmar0", 0x1c0000c40660462, 0x19e2ff0505e, 0xfed90000);
  f.intel_unit("dmar1", 0xd2008c40660462, 0xf050da, 0xfed91000);
  f.pci({.bdf = "0000:00:00.0",
         .config = legacy(0x8086, 0x5914, 0x060000),
         .driver = "skl_uncore",
         .group = 1,
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:02.0",
         .config = endpoint(0x8086, 0x5917, 0x030000),
         .driver = "i915",
         .group = 0,
         .iommu = "dmar0"});
  f.pci({.bdf = "0000:00:14.0",
         .config = legacy(0x8086, 0x9d2f, 0x0c0330, true),
         .driver = "xhci_hcd",
         .group = 2,
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:14.2",
         .config = legacy(0x8086, 0x9d31, 0x118000, true),
         .driver = "intel_pch_thermal",
         .group = 2,
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:16.0",
         .config = legacy(0x8086, 0x9d3a, 0x078000),
         .driver = "mei_me",
         .group = 3,
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:1c.0",
         .config = port(0x8086, 0x9d10, 0, 1, 1),
         .driver = "pcieport",
         .group = 4,
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:01:00.0",
         .config = endpoint(0x144d, 0xa804, 0x010802, false, PcieType::kEndpoint),
         .parent = "0000:00:1c.0",
         .driver = "nvme",
         .group = 4,  // the root port has no ACS capability: pci_device_group joins its group
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:1f.0", .config = legacy(0x8086, 0x9d4e, 0x060100, true), .group = 5, .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:1f.2", .config = legacy(0x8086, 0x9d21, 0x058000, true), .group = 5, .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:1f.3",
         .config = legacy(0x8086, 0x9d71, 0x040380, true),
         .driver = "snd_hda_intel",
         .group = 5,
         .iommu = "dmar1"});
  f.pci({.bdf = "0000:00:1f.4",
         .config = legacy(0x8086, 0x9d23, 0x0c0500, true),
         .driver = "i801_smbus",
         .group = 5,
         .iommu = "dmar1"});
  f.group(0, "DMA-FQ", group_regions({intel_device({igd_rmrr})}));
  f.group(1, "DMA-FQ", group_regions({intel_device({})}));
  f.group(2, "DMA-FQ", group_regions({intel_device({xhci_rmrr}), intel_device({})}));
  f.group(3, "DMA-FQ", group_regions({intel_device({})}));
  f.group(4, "DMA-FQ", group_regions({intel_device({}), intel_device({})}));
  f.group(5, "DMA-FQ", group_regions({intel_device({}, true), intel_device({}), intel_device({}), intel_device({})}));
  f.table("DMAR", read_data("acpi/dmar/microsoft_surface-book-2_linux-surface.dat"));
  return f;
}

// --- HP ProLiant DL360 G7 (5520 + ICH10). RMRRs (table order): #0
// [0xdf7e6000, 0xdf7e7fff] EHCI 00:1d.7; #1 [0xdf7df000, 0xdf7e4fff] UHCI
// 00:1d.0-3 and iLO 1c.4/00.0, 00.2, 00.4; #2 [0xdf61e000, 0xdf61ffff] NIC
// 01.0/00.0 (03:00.0 behind root port 00:01.0), iLO 1c.4/00.0, 00.2, and
// 09.0/00.0-1, 03.0/00.0-1.
inline SysfsFixture server_nic_rmrr() {
  const auto ehci = region(0xdf7e6000, 0xdf7e7fff, ResvType::kDirectRelaxable);
  const auto usb = region(0xdf7df000, 0xdf7e4fff, ResvType::kDirectRelaxable);
  const auto ilo1 = region(0xdf7df000, 0xdf7e4fff, ResvType::kDirect);
  const auto nic = region(0xdf61e000, 0xdf61ffff, ResvType::kDirect);
  SysfsFixture f;
  f.kernel(std::string(kDebian61), "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro intel_iommu=on");
  f.intel_unit("dmar0", 0xc90780106f0462, 0xf0207e, 0xe7ffe000);
  const auto add = [&f](std::string bdf, std::vector<std::uint8_t> config, std::string parent, std::string driver,
                        unsigned group) {
    f.pci({.bdf = std::move(bdf),
           .config = std::move(config),
           .parent = std::move(parent),
           .driver = std::move(driver),
           .group = group,
           .iommu = "dmar0"});
  };
  add("0000:00:00.0", legacy(0x8086, 0x3406, 0x060000), "", "", 0);
  add("0000:00:01.0", port_without_acs(0x8086, 0x3408, 0, 3, 3), "", "pcieport", 1);
  add("0000:03:00.0", endpoint(0x14e4, 0x1639, 0x020000, true, PcieType::kEndpoint), "0000:00:01.0", "bnx2", 1);
  add("0000:03:00.1", endpoint(0x14e4, 0x1639, 0x020000, true, PcieType::kEndpoint), "0000:00:01.0", "bnx2", 1);
  add("0000:00:03.0", port_without_acs(0x8086, 0x340a, 0, 4, 4), "", "pcieport", 2);
  add("0000:04:00.0", endpoint(0x14e4, 0x1639, 0x020000, true, PcieType::kEndpoint), "0000:00:03.0", "bnx2", 2);
  add("0000:04:00.1", endpoint(0x14e4, 0x1639, 0x020000, true, PcieType::kEndpoint), "0000:00:03.0", "bnx2", 2);
  add("0000:00:09.0", port_without_acs(0x8086, 0x3410, 0, 5, 5), "", "pcieport", 3);
  add("0000:05:00.0", endpoint(0x103c, 0x323a, 0x010400, false, PcieType::kEndpoint), "0000:00:09.0", "hpsa", 3);
  add("0000:00:1c.0", port_without_acs(0x8086, 0x3a40, 0, 6, 6, true), "", "pcieport", 4);
  add("0000:00:1c.4", port_without_acs(0x8086, 0x3a48, 0, 1, 1, true), "", "pcieport", 4);
  add("0000:01:00.0", endpoint(0x103c, 0x3306, 0x088000, true, PcieType::kLegacyEndpoint), "0000:00:1c.4", "", 4);
  add("0000:01:00.2", endpoint(0x103c, 0x3307, 0x088000, true, PcieType::kLegacyEndpoint), "0000:00:1c.4", "hpilo", 4);
  add("0000:01:00.4", endpoint(0x103c, 0x3300, 0x0c0300, true, PcieType::kLegacyEndpoint), "0000:00:1c.4", "uhci_hcd",
      4);
  for (const char* fn : {"0", "1", "2", "3"}) {
    add(std::string("0000:00:1d.") + fn,
        legacy(0x8086, static_cast<std::uint16_t>(0x3a34 + (fn[0] - '0')), 0x0c0300, true), "", "uhci_hcd", 5);
  }
  add("0000:00:1d.7", legacy(0x8086, 0x3a3a, 0x0c0320, true), "", "ehci-pci", 5);
  add("0000:00:1e.0", pci::testing::pci_bridge(0x8086, 0x244e, 0, 2, 2, 0x060401).bytes(), "", "", 6);
  add("0000:02:03.0", legacy(0x102b, 0x0533, 0x030000), "0000:00:1e.0", "mgag200", 6);
  add("0000:00:1f.0", legacy(0x8086, 0x3a18, 0x060100, true), "", "lpc_ich", 7);
  add("0000:00:1f.2", legacy(0x8086, 0x3a20, 0x01018f, true), "", "ata_piix", 7);
  f.group(0, "DMA-FQ", group_regions({intel_device({})}));
  f.group(1, "DMA-FQ", group_regions({intel_device({}), intel_device({nic}), intel_device({})}));
  f.group(2, "DMA-FQ", group_regions({intel_device({}), intel_device({nic}), intel_device({nic})}));
  f.group(3, "DMA-FQ", group_regions({intel_device({}), intel_device({nic})}));
  f.group(4, "DMA-FQ",
          group_regions({intel_device({}), intel_device({}), intel_device({nic, ilo1}), intel_device({nic, ilo1}),
                         intel_device({usb})}));
  f.group(5, "DMA-FQ",
          group_regions({intel_device({usb}), intel_device({usb}), intel_device({usb}), intel_device({usb}),
                         intel_device({ehci})}));
  f.group(6, "DMA-FQ", group_regions({intel_device({}), intel_device({})}));
  f.group(7, "DMA-FQ", group_regions({intel_device({}, true), intel_device({})}));
  f.table("DMAR", read_data("acpi/dmar/hewlett-packard_proliant-dl360-g7_60DCEE46526A.dat"));
  return f;
}

// --- ASUS Zenbook S 16 (Strix Point). IVHD 0x40 for the IOMMU at 00:00.2
// (EFR 0x246577efa2254afa, EFR2 0x10); IVMD #0 devid 00:0c.0 unity r/w
// [0x7d900000, +1 MiB); IVMD #1 devid c4:00.7 exclusion [0x75e00000, +128 KiB).
// The per-device list (amd_iommu_get_resv_regions, 6.1): unity maps as
// direct (exclusion ranges too), the MSI window, the HT hole as reserved.
inline SysfsFixture amd_ivmd() {
  const auto ht = region(0xfd00000000, 0xffffffffff, ResvType::kReserved);
  const auto excl = region(0x75e00000, 0x75e1ffff, ResvType::kDirect);
  const auto amd = [&ht](std::vector<iova::ResvRegion> unity) {
    unity.push_back(kMsi);
    unity.push_back(ht);
    return unity;
  };
  SysfsFixture f;
  f.kernel(
      "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP "
      "PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
      "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p2 ro quiet iommu=pt");
  const auto add = [&f](std::string bdf, std::vector<std::uint8_t> config, std::string parent, std::string driver,
                        std::optional<unsigned> group) {
    f.pci({.bdf = std::move(bdf),
           .config = std::move(config),
           .parent = std::move(parent),
           .driver = std::move(driver),
           .group = group,
           .iommu = group ? "ivhd0" : ""});
  };
  // The root complex has no IVHD device entry in this table, so
  // amd_iommu_probe_device() refuses it and it gets no group.
  add("0000:00:00.0", legacy(0x1022, 0x14e8, 0x060000), "", "", std::nullopt);
  add("0000:00:00.2", endpoint(0x1022, 0x14e9, 0x080600), "", "", std::nullopt);  // the IOMMU itself
  add("0000:00:02.1", port(0x1022, 0x14ee, 0, 1, 1), "", "pcieport", 0);
  add("0000:01:00.0", endpoint(0x144d, 0xa80a, 0x010802, false, PcieType::kEndpoint), "0000:00:02.1", "nvme", 1);
  add("0000:00:08.1", port(0x1022, 0x14eb, 0, 0xc4, 0xc4), "", "pcieport", 2);
  // Three functions of one multifunction device without ACS: one group
  // (get_pci_function_alias_group).
  add("0000:c4:00.0", endpoint(0x1002, 0x150e, 0x030000, true, PcieType::kLegacyEndpoint), "0000:00:08.1", "amdgpu", 3);
  add("0000:c4:00.1", endpoint(0x1002, 0x1640, 0x040300, true, PcieType::kLegacyEndpoint), "0000:00:08.1",
      "snd_hda_intel", 3);
  add("0000:c4:00.7", endpoint(0x1022, 0x164a, 0x118000, true, PcieType::kEndpoint), "0000:00:08.1", "", 3);
  f.amd_unit("ivhd0", "0000:00:00.2", 0x190b640f, "246577efa2254afa:10");
  f.group(0, "identity", group_regions({amd({})}));
  f.group(1, "identity", group_regions({amd({})}));
  f.group(2, "identity", group_regions({amd({})}));
  f.group(3, "identity", group_regions({amd({}), amd({}), amd({excl})}));
  f.table("IVRS", read_data("acpi/ivrs/asustek-computer_asus-zenbook-s-16-um5606wa-um5606wa_4AF98851C2C6.dat"));
  return f;
}

// --- Radxa Orion O6 (CIX Sky1), IORT revision 5: the PCIe root complex maps
// requester IDs 1:1 to StreamIDs on the SMMUv3 at 0x0b010000 (node 0x48);
// the display units (\_SB_.DPU0 ...) sit behind the SMMUv3 at 0x0b1b0000
// (node 0xdc); the RMR node (flags 0x11: remapping permitted) reserves
// [0x84800000, 0x84ffffff] for StreamIDs 0, 1, 6, 7, ... on node 0xdc.
// arm_smmu_get_resv_regions (6.1): the software MSI window, then the IORT
// RMRs as direct-relaxable (remapping permitted).
inline SysfsFixture arm_iort_rmr() {
  const auto sw_msi = region(0x08000000, 0x080fffff, ResvType::kSwMsi);
  const auto rmr = region(0x84800000, 0x84ffffff, ResvType::kDirectRelaxable);
  SysfsFixture f;
  f.kernel(
      "Linux version 6.1.0-18-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP "
      "Debian 6.1.76-1 (2024-02-01)",
      "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-arm64 root=/dev/nvme0n1p2 ro");
  f.platform_unit("smmu3.0x000000000b010000", "arm-smmu-v3.0.auto");
  f.platform_unit("smmu3.0x000000000b1b0000", "arm-smmu-v3.1.auto");
  f.pci({.bdf = "0000:00:00.0",
         .config = port(0x1f6c, 0x0001, 0, 1, 1),
         .driver = "pcieport",
         .group = 0,
         .iommu = "smmu3.0x000000000b010000"});
  f.pci({.bdf = "0000:01:00.0",
         .config = endpoint(0x144d, 0xa808, 0x010802, false, PcieType::kEndpoint),
         .parent = "0000:00:00.0",
         .driver = "nvme",
         .group = 1,
         .iommu = "smmu3.0x000000000b010000"});
  f.platform({.name = "CIXH5010:00", .acpi_path = "\\_SB_.DPU0", .group = 2, .iommu = "smmu3.0x000000000b1b0000"});
  f.platform({.name = "CIXH6060:00", .acpi_path = "\\_SB_.NPU0", .group = 3, .iommu = "smmu3.0x000000000b1b0000"});
  f.group(0, "DMA", group_regions({{sw_msi}}));
  f.group(1, "DMA", group_regions({{sw_msi}}));
  f.group(2, "DMA", group_regions({{sw_msi, rmr}}));
  f.group(3, "DMA", group_regions({{sw_msi}}));
  f.table("IORT", read_data("acpi/iort/radxa-orion-o6_cix-sky1.dat"));
  return f;
}

// --- Intel H61: one DRHD with INCLUDE_PCI_ALL; RMRR #0 [0xdf69e000,
// 0xdf6acfff] for the EHCIs 00:1d.0 and 00:1a.0. A TI XIO2001 PCIe-to-PCI
// bridge (PCIe type 7) at 02:00.0 below root port 00:1c.2 with a 1394
// controller 03:00.0 and a Realtek 8169 03:01.0: both reach the IOMMU as
// 03:00.0, the bridge's (secondary bus, 00.0) alias (pci_for_each_dma_alias),
// so pci_device_group puts the bridge and both devices in one group.
inline SysfsFixture pcie_to_pci() {
  const auto ehci = region(0xdf69e000, 0xdf6acfff, ResvType::kDirectRelaxable);
  SysfsFixture f;
  f.kernel(std::string(kDebian61), "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda2 ro intel_iommu=on");
  f.intel_unit("dmar0", 0xc9008020660262, 0xf0105a, 0xfed90000);
  const auto add = [&f](std::string bdf, std::vector<std::uint8_t> config, std::string parent, std::string driver,
                        unsigned group) {
    f.pci({.bdf = std::move(bdf),
           .config = std::move(config),
           .parent = std::move(parent),
           .driver = std::move(driver),
           .group = group,
           .iommu = "dmar0"});
  };
  add("0000:00:00.0", legacy(0x8086, 0x0100, 0x060000), "", "", 0);
  add("0000:00:02.0", endpoint(0x8086, 0x0102, 0x030000), "", "i915", 1);
  add("0000:00:1a.0", legacy(0x8086, 0x1c2d, 0x0c0320), "", "ehci-pci", 2);
  add("0000:00:1c.0", port(0x8086, 0x1c10, 0, 1, 1), "", "pcieport", 3);
  add("0000:01:00.0", endpoint(0x10ec, 0x8168, 0x020000, false, PcieType::kEndpoint), "0000:00:1c.0", "r8169", 4);
  add("0000:00:1c.2", port(0x8086, 0x1c14, 0, 2, 3), "", "pcieport", 5);
  add("0000:02:00.0", port(0x104c, 0x8240, 2, 3, 3, PcieType::kPcieToPciBridge), "0000:00:1c.2", "", 6);
  add("0000:03:00.0", legacy(0x1106, 0x3044, 0x0c0010), "0000:02:00.0", "firewire_ohci", 6);
  add("0000:03:01.0", legacy(0x10ec, 0x8169, 0x020000), "0000:02:00.0", "r8169", 6);
  add("0000:00:1d.0", legacy(0x8086, 0x1c26, 0x0c0320), "", "ehci-pci", 7);
  add("0000:00:1f.0", with_rcba(legacy(0x8086, 0x1c5c, 0x060100, true), 0xfed1c001), "", "lpc_ich", 8);
  add("0000:00:1f.2", legacy(0x8086, 0x1c02, 0x010601, true), "", "ahci", 8);
  add("0000:00:1f.3", legacy(0x8086, 0x1c22, 0x0c0500, true), "", "i801_smbus", 8);
  for (unsigned g : {0U, 1U, 3U, 4U, 5U}) f.group(g, "DMA-FQ", group_regions({intel_device({})}));
  f.group(2, "DMA-FQ", group_regions({intel_device({ehci})}));
  f.group(6, "DMA-FQ", group_regions({intel_device({}), intel_device({}), intel_device({})}));
  f.group(7, "DMA-FQ", group_regions({intel_device({ehci})}));
  f.group(8, "DMA-FQ", group_regions({intel_device({}, true), intel_device({}), intel_device({})}));
  f.table("DMAR", read_data("acpi/dmar/intel_h61_6827F97BCD6A.dat"));
  return f;
}

// --- LG gram 17Z90N (Ice Lake): DRHD 0 (0xfed90000) the IGD, DRHD 1
// (0xfed91000) INCLUDE_PCI_ALL; RMRR #0 [0x3b2ea000, 0x3b309fff] for the PCH
// xHCI 00:14.0 and the Type-C xHCI 00:0d.0; RMRR #1 [0x49000000, 0x4d3fffff]
// for the IGD. NVMe behind root port 00:1d.0. Debian 6.1 on hardware: lazy
// default domains ("DMA-FQ"). The bundled example host.
inline SysfsFixture lg_gram_example() {
  const auto usb = region(0x3b2ea000, 0x3b309fff, ResvType::kDirectRelaxable);
  const auto igd = region(0x49000000, 0x4d3fffff, ResvType::kDirectRelaxable);
  SysfsFixture f;
  f.kernel(std::string(kDebian61),
           "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/nvme0n1p2 ro quiet intel_iommu=on iommu=pt");
  f.intel_unit("dmar0", 0x1c0000c40660462, 0x49e2ff0505e, 0xfed90000);
  f.intel_unit("dmar1", 0xd2008c40660462, 0xf050da, 0xfed91000);
  const auto add = [&f](std::string bdf, std::vector<std::uint8_t> config, std::string parent, std::string driver,
                        unsigned group, std::string unit = "dmar1") {
    f.pci({.bdf = std::move(bdf),
           .config = std::move(config),
           .parent = std::move(parent),
           .driver = std::move(driver),
           .group = group,
           .iommu = std::move(unit)});
  };
  add("0000:00:00.0", with_subsystem(legacy(0x8086, 0x8a12, 0x060000), 0x1854, 0x0473), "", "icl_uncore", 1);
  add("0000:00:02.0", with_subsystem(endpoint(0x8086, 0x8a52, 0x030000), 0x1854, 0x0473), "", "i915", 0, "dmar0");
  add("0000:00:04.0", endpoint(0x8086, 0x8a03, 0x118000), "", "proc_thermal", 2);
  add("0000:00:0d.0", endpoint(0x8086, 0x8a13, 0x0c0330), "", "xhci_hcd", 3);
  add("0000:00:12.0", endpoint(0x8086, 0x34fc, 0x070000), "", "intel_ish_ipc", 4);
  // The PCH's multifunction devices carry no PCIe capability, so neither ACS
  // nor the Intel RCiEP quirk (pci_quirk_rciep_acs) separates their
  // functions: one group per slot (get_pci_function_alias_group).
  add("0000:00:14.0", legacy(0x8086, 0x34ed, 0x0c0330, true), "", "xhci_hcd", 5);
  add("0000:00:14.2", legacy(0x8086, 0x34ef, 0x050000, true), "", "", 5);
  add("0000:00:14.3", legacy(0x8086, 0x34f0, 0x028000, true), "", "iwlwifi", 5);
  add("0000:00:15.0", endpoint(0x8086, 0x34e8, 0x0c8000, true), "", "intel-lpss", 6);
  add("0000:00:16.0", endpoint(0x8086, 0x34e0, 0x078000, true), "", "mei_me", 7);
  add("0000:00:1d.0", port(0x8086, 0x34b0, 0, 1, 1), "", "pcieport", 8);
  add("0000:01:00.0", with_subsystem(endpoint(0x144d, 0xa809, 0x010802, false, PcieType::kEndpoint), 0x144d, 0xa801),
      "0000:00:1d.0", "nvme", 9);
  add("0000:00:1f.0", legacy(0x8086, 0x3482, 0x060100, true), "", "", 10);
  add("0000:00:1f.3", legacy(0x8086, 0x34c8, 0x040380, true), "", "snd_hda_intel", 10);
  add("0000:00:1f.4", legacy(0x8086, 0x34a3, 0x0c0500, true), "", "i801_smbus", 10);
  add("0000:00:1f.5", legacy(0x8086, 0x34a4, 0x0c8000, true), "", "intel-spi", 10);
  f.group(0, "DMA-FQ", group_regions({intel_device({igd})}));
  for (unsigned g : {1U, 2U, 4U, 6U, 7U, 8U, 9U}) f.group(g, "DMA-FQ", group_regions({intel_device({})}));
  f.group(3, "DMA-FQ", group_regions({intel_device({usb})}));
  f.group(5, "DMA-FQ", group_regions({intel_device({usb}), intel_device({}), intel_device({})}));
  f.group(10, "DMA-FQ", group_regions({intel_device({}, true), intel_device({}), intel_device({}), intel_device({})}));
  f.table("DMAR", read_data("acpi/dmar/lg-electronics_17z90n-r-aac8u1_71FF5DA53A61.dat"));
  return f;
}

// --- intel_laptop() with what a real sysfs root also holds and a snapshot
// must leave behind (snapshot.h): the licence-key tables (MSDM, SLIC; the
// bytes here are dummies with the right signatures), DSDT, DMI identity and
// serials, PCI BARs, ROMs and VPD, /dev/mem, a user's file.
inline SysfsFixture planted_secrets() {
  SysfsFixture f = intel_laptop();
  const auto table = [](std::string_view signature, std::size_t length) {
    std::string bytes(length, '\0');
    bytes.replace(0, 4, signature);
    bytes[4] = static_cast<char>(length);
    return bytes;
  };
  f.table("MSDM", table("MSDM", 85) + "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX");
  f.table("SLIC", table("SLIC", 374));
  f.table("DSDT", table("DSDT", 64));
  f.table("DMAR2.bak", "not a table the kernel would name this way");
  for (const char* name : {"product_serial", "board_serial", "chassis_serial", "product_uuid", "sys_vendor"}) {
    f.file(std::string("sys/devices/virtual/dmi/id/") + name, "SECRET-" + std::string(name) + "\n");
  }
  f.link("sys/class/dmi/id", "../../devices/virtual/dmi/id");
  const std::string igd = f.pci_dir("0000:00:02.0");
  f.file(igd + "/rom", "ROM-BYTES");
  f.file(igd + "/resource0", "BAR0-BYTES");
  f.file(igd + "/vpd", "VPD-SERIAL");
  f.file("dev/mem", "PHYSICAL-MEMORY");
  f.file("proc/kcore", "KERNEL-MEMORY");
  f.file("home/user/.ssh/id_ed25519", "PRIVATE-KEY");
  return f;
}

}  // namespace iovakit::host::testing
