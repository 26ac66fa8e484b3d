// iovakit/kernel/acs_quirks.h: the kernel's device-specific ACS table,
// pci_dev_acs_enabled[] in drivers/pci/quirks.c, as data.
//
// Design
// ------
// pci_acs_enabled() (drivers/pci/pci.c) first asks
// pci_dev_specific_acs_enabled(): it walks pci_dev_acs_enabled[] in order and
// calls every entry whose vendor and device match (PCI_ANY_ID matches all);
// the first entry that returns >= 0 decides (0: not isolated, > 0:
// isolated), a negative return (-ENOTTY, -ENODEV) passes to the next entry.
// This header is that table: one row per entry, in the kernel's order, each
// naming the quirk function that decides. The functions' logic lives in
// acs.cpp (evaluate_acs_quirk); the ID lists and ranges the functions switch
// on are here, next to the rows that use them.
//
// Source: drivers/pci/quirks.c of a 6.18.y tree (GitHub
// Crazh3/unifreq_linux-6.18.y @ 11c8cf7a) and of a late 6.1.y tree (GitHub
// BG9OXA/linux-6.1.y-rockchip @ 2f8a2fb8): their tables are identical, 130
// rows. A 6.6.14 tree (GitHub ehrenhasz/anvilos_alpha @ c1658927,
// oss_sovereignty/linux-6.6.14) lacks 15 of them: Qualcomm SA8775P 0x0115,
// Broadcom 0x1760-0x1763, the ten Loongson root ports (DepSurf's Ubuntu
// kernel index has no pci_quirk_loongson_acs up to 6.8), and inside
// pci_quirk_wangxun_nic_acs the six AML IDs (the switch is in the function, so
// the AML IDs are not rows; see wangxun_acs_isolated). Those are marked
// AcsQuirkEra::kAfter6614: added to mainline after 6.6 and taken into
// 6.1.y by the stable team, so a 6.1.y kernel has them or not depending on
// its release. Older additions were not dated per row; the Wangxun quirk
// itself first appears in DepSurf's 6.2 kernel (absent in 5.19).
//
// The out-of-tree pcie_acs_override= patch appends one more row,
// { PCI_ANY_ID, PCI_ANY_ID, pcie_acs_overrides }, after all of these; acs.h
// models it as an option, not as a row.
//
// Complexity: the table has 130 rows; lookups scan it. Thread safety:
// immutable data.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace iovakit::kernel {

inline constexpr std::uint16_t kPciAnyId = 0xffff;  // (u16)PCI_ANY_ID

// The quirks.c function a row calls.
enum class AcsQuirkKind : std::uint8_t {
  kAmdSouthbridge,         // pci_quirk_amd_sb_acs
  kMultifunctionEndpoint,  // pci_quirk_mf_endpoint_acs
  kIntelRciep,             // pci_quirk_rciep_acs
  kQcomRootPort,           // pci_quirk_qcom_rp_acs
  kIntelPch,               // pci_quirk_intel_pch_acs
  kIntelSptPch,            // pci_quirk_intel_spt_pch_acs
  kCavium,                 // pci_quirk_cavium_acs
  kXgene,                  // pci_quirk_xgene_acs
  kBroadcomRootPort,       // pci_quirk_brcm_acs
  kLoongsonRootPort,       // pci_quirk_loongson_acs
  kAnnapurnaRootPort,      // pci_quirk_al_acs
  kNxpRootPort,            // pci_quirk_nxp_rp_acs
  kZhaoxinPorts,           // pci_quirk_zhaoxin_pcie_ports_acs
  kWangxunNic,             // pci_quirk_wangxun_nic_acs
};

// "pci_quirk_amd_sb_acs", ...
std::string_view acs_quirk_function(AcsQuirkKind kind);

enum class AcsQuirkEra : std::uint8_t {
  kIn6614,     // in the 6.6.14, late 6.1.y and 6.18.y trees
  kAfter6614,  // only in the late 6.1.y and 6.18.y trees (see above)
};

struct AcsQuirk {
  std::uint16_t vendor;  // kPciAnyId: any
  std::uint16_t device;  // kPciAnyId: any
  AcsQuirkKind kind;
  AcsQuirkEra era;
  std::string_view device_name;  // the kernel comment's name for the part
};

// pci_dev_acs_enabled[], in table order.
std::span<const AcsQuirk> acs_quirks();

// pci_quirk_intel_pch_acs_ids[]: Intel PCH root ports (Ibex Peak to Wellsburg
// and 9 series) that isolate like ACS without an ACS capability (Red Hat
// bugzilla 1037684).
bool intel_pch_acs_id(std::uint16_t device);

// pci_quirk_intel_spt_pch_acs_match's device ranges: Sunrise Point
// 0xa110-0xa11f, 0xa167-0xa16a; Union Point 0xa290-0xa29f, 0xa2e7-0xa2ee;
// 7th/8th gen mobile 0x9d10-0x9d1b. These keep the ACS control register at
// +8 as a dword instead of the spec's word at +6.
bool intel_spt_pch_acs_id(std::uint16_t device);

// pci_quirk_cavium_acs_match's devices: ThunderX1 0xa000-0xa7ff, ThunderX2
// 0xaf84, ThunderX3 0xb884.
bool cavium_acs_id(std::uint16_t device);

// pci_quirk_zhaoxin_pcie_ports_acs's switch: 0x0710-0x071e, 0x0721,
// 0x0723-0x0752. Other Zhaoxin root/downstream ports get "not isolated".
bool zhaoxin_acs_id(std::uint16_t device);

// pci_quirk_wangxun_nic_acs's switch: EM 0x0100-0x010f, SP 0x1001, 0x2001
// (by 6.6.14); AML 0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140 (after
// 6.6.14). Other Wangxun devices get "not isolated".
bool wangxun_acs_id(std::uint16_t device, bool include_after_6_6_14);

}  // namespace iovakit::kernel
