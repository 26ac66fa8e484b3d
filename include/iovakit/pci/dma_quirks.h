// iovakit/pci/dma_quirks.h: the kernel's PCI quirks that change DMA requester IDs.
//
// Design
// ------
// Some devices issue DMA with a requester ID that is not their own. Linux
// records these in drivers/pci/quirks.c with header fixups that either set
// bits of pci_dev->dma_alias_mask (pci_add_dma_alias(dev, devfn_from,
// nr_devfns), devfns on the device's own bus) or set dev_flags that change how
// pci_for_each_dma_alias walks upstream. This file is that list as data, each
// entry naming the quirk function, so callers can say which kernel rule gave
// an alias.
//
// Source: drivers/pci/quirks.c, read in a 6.1.y tree (GitHub
// BG9OXA/linux-6.1.y-rockchip @ 2f8a2fb8, whose quirks.c carries the
// 6.1.y stable backports) and cross-checked against the individual upstream
// commits; the full 7.0 quirks.c was not available to compare, so an alias
// quirk added after 6.1.y is missing here. Entries:
//   quirk_dma_func0_alias   Ricoh 1180:e832, 1180:e476; Glenfly 6766:3d40,
//                           6766:3d41 (Glenfly: a 2024 addition that reached
//                           6.1.y through stable; older 6.1.y releases lack it)
//   quirk_dma_func1_alias   Marvell 1b4b:9120 9123 9125 9128 9130 9170 9172
//                           917a 9182 9183 91a0 9215 9220 9230 9235; HighPoint
//                           (TTI) 1103:0642 0645; JMicron 197b:2392 (JMB388
//                           ESD); Lite-On 1c28:0122 (Plextor M6E)
//   quirk_fixed_dma_alias   Adaptec 9005:0285 with subsystem 9005:02bb (3405)
//                           or 9005:02bc (3805): devfn 01.0
//   quirk_mic_x200_dma_alias  Intel 8086:2260, 8086:2264: 10.0, 11.0, 12.3
//   quirk_pex_vca_alias     Intel 8086:2954 2955 2956 2958 2959 295a: functions
//                           0-4 of every slot
//   quirk_plx_ntb_dma_alias PLX 10b5:87b0, 10b5:87b1: all 256 devfns
//   quirk_switchtec_ntb_dma_alias  Microsemi 11f8:* and EFAR 1055:1001-1006
//                           with class 0x0680: proxy IDs read from the device's
//                           MMIO, so unknown here (DeviceRecord carries them)
//   quirk_use_pcie_bridge_dma_alias  ASMedia 1b21:1080, Tundra 10e3:8113,
//                           ITE 1283:8892 1283:8893, Intel 8086:244e: sets
//                           PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS when the bridge is
//                           not PCIe, not on a root bus, and its parent is
//                           PCIe but not a PCIe-to-PCI bridge
//   quirk_bridge_cavm_thrx2_pcie_root  Broadcom 14e4:9000, 14e4:9084: sets
//                           PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT (the walk stops)
//
// Complexity: lookups scan a table of about 150 entries. Thread safety: the
// table is immutable.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace iovakit::pci {

inline constexpr std::uint16_t kAnyId = 0xffff;  // PCI_ANY_ID as stored in u16

enum class DmaQuirkKind : std::uint8_t {
  kFunction0Alias,     // alias function 0 of the same slot (when not function 0)
  kFunction1Alias,     // alias function 1 of the same slot (when not function 1)
  kFixedAlias,         // one fixed devfn (fixed_dma_alias_tbl)
  kMicX200Alias,       // devfns 10.0, 11.0, 12.3
  kPexVcaAlias,        // functions 0-4 of all 32 slots
  kPlxNtbAlias,        // all 256 devfns
  kSwitchtecNtbAlias,  // proxy IDs from MMIO: not computable
  kPcieBridgeAlias,    // PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS (conditional, see above)
  kBridgeXlateRoot,    // PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT
};

struct DmaQuirk {
  std::uint16_t vendor;
  std::uint16_t device;
  std::uint16_t subsystem_vendor;        // kAnyId: any
  std::uint16_t subsystem_device;        // kAnyId: any
  std::optional<std::uint16_t> class16;  // class >> 8 the fixup requires, if any
  DmaQuirkKind kind;
  std::uint8_t fixed_devfn;      // kFixedAlias only
  std::string_view function;     // the quirks.c function
  std::string_view device_name;  // as the kernel comments name it
};

// The whole table.
std::span<const DmaQuirk> dma_quirks();

// Entries that apply to a device with these IDs (subsystem IDs unknown ->
// only entries that do not look at them). class16 is class >> 8.
std::vector<const DmaQuirk*> match_dma_quirks(std::uint16_t vendor, std::uint16_t device,
                                              std::optional<std::uint16_t> subsystem_vendor,
                                              std::optional<std::uint16_t> subsystem_device, std::uint16_t class16);

// The dma_alias_mask bits a quirk sets for a device at devfn, ascending; empty
// for the flag quirks and for kSwitchtecNtbAlias.
std::vector<std::uint8_t> quirk_alias_devfns(const DmaQuirk& quirk, std::uint8_t devfn);

}  // namespace iovakit::pci
