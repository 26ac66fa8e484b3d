// iovakit/pci/dma_alias.h: the requester IDs a device's DMA can arrive with.
//
// Design
// ------
// An IOMMU identifies DMA by requester ID (bus << 8 | devfn). A device's DMA
// can reach the root complex under other IDs: quirky devices use a sibling's
// devfn, and bridges that convert to conventional PCI or PCI-X take ownership
// of the transactions. Linux enumerates every such ID with
// pci_for_each_dma_alias (drivers/pci/search.c); IOMMU drivers program a
// context entry per alias and pci_device_group() forms IOMMU groups from them.
// dma_aliases() reproduces that walk, in the kernel's order, as data: each
// alias names the device the kernel attributes it to and why.
//
// The walk, as in 6.1 and 7.0 (the code is the same in both):
//  0. pdev = pci_real_dma_dev(pdev): devices in an Intel VMD domain (segment
//     above 0xffff, below a VMD endpoint in sysfs) DMA as the VMD endpoint
//     (x86, v5.6+).
//  1. pdev's own ID.
//  2. Each devfn set in pdev->dma_alias_mask, ascending, on pdev's own bus:
//     bits set by the quirks in dma_quirks.h (and the record's
//     extra_dma_alias_devfns). A devfn may repeat the own ID (PLX sets all
//     256); the kernel reports it again, and so does this.
//  3. For each bridge above pdev, nearest first, until a root bus:
//     * a bridge flagged PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT ends the walk;
//     * PCIe Root Port, Upstream or Downstream Port: nothing;
//     * PCIe-to-PCI/PCI-X bridge (PCI_EXP_TYPE_PCI_BRIDGE): (secondary bus,
//       00.0), the ID the bridge gives transactions it forwards (PCIe-to-PCI
//       bridge spec rev 1.0, sec 2.3);
//     * PCI/PCI-X-to-PCIe bridge (PCI_EXP_TYPE_PCIE_BRIDGE): the bridge's ID;
//     * any other PCIe type: nothing;
//     * a conventional (non-PCIe) bridge: its own ID, or (secondary, 00.0)
//       when quirk_use_pcie_bridge_dma_alias flagged it
//       PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS.
// When the config space given cannot answer a question the kernel asks (is
// this bridge PCIe? a 64-byte read does not say) or a bridge is missing from
// the records, the result is marked incomplete and says what is unknown; no
// guess is made.
//
// Complexity: O(depth + 256). Thread safety: pure functions of a Topology.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/pci/bdf.h"
#include "iovakit/pci/topology.h"

namespace iovakit::pci {

enum class AliasReason : std::uint8_t {
  kRequesterId,           // the device's own ID (pci_dev_id)
  kQuirkAlias,            // a dma_alias_mask bit set by a quirks.c fixup
  kRecordedAlias,         // DeviceRecord::extra_dma_alias_devfns
  kPcieToPciBridge,       // PCI_EXP_TYPE_PCI_BRIDGE above: (secondary, 00.0)
  kPciToPcieBridge,       // PCI_EXP_TYPE_PCIE_BRIDGE above: its own ID
  kConventionalBridge,    // non-PCIe bridge above: its own ID
  kPcieBridgeAliasQuirk,  // non-PCIe bridge with PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS
};

// "requester-id", "quirk", "recorded", "pcie-to-pci-bridge",
// "pci-to-pcie-bridge", "conventional-bridge", "pcie-bridge-alias-quirk".
std::string_view alias_reason_name(AliasReason reason);

struct DmaAlias {
  Bdf rid;                    // segment + the requester ID (bus, devfn)
  std::size_t attributed_to;  // topology index of the pci_dev passed to the callback
  AliasReason reason;
  std::string explanation;  // one sentence naming the kernel rule
};

struct DmaAliasResult {
  std::size_t dma_device = 0;     // pci_real_dma_dev(): the device itself unless VMD
  std::vector<DmaAlias> aliases;  // in pci_for_each_dma_alias's order, repeats kept
  // The bridge flagged PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT that ended the walk.
  std::optional<std::size_t> stopped_at;
  bool complete = true;
  std::vector<std::string> unknowns;  // why the list may be incomplete

  // The requester IDs without repeats, first occurrence order.
  [[nodiscard]] std::vector<Bdf> unique_rids() const;
};

DmaAliasResult dma_aliases(const Topology& topology, std::size_t device);

// The device's dma_alias_mask as the quirks (and the record) set it: devfns on
// its own bus, ascending, without repeats.
std::vector<std::uint8_t> dma_alias_devfns(const Topology& topology, std::size_t device);

// pci_devs_are_dma_aliases (drivers/pci/pci.c): either device's alias mask
// holds the other's devfn, or one is the other's pci_real_dma_dev. Like the
// kernel it compares devfns only; its callers pass devices on one bus.
bool devices_are_dma_aliases(const Topology& topology, std::size_t a, std::size_t b);

// pci_real_dma_dev(): the VMD endpoint for a device in a VMD domain, else the
// device; nullopt when that endpoint is not among the records.
std::optional<std::size_t> real_dma_device(const Topology& topology, std::size_t device);

}  // namespace iovakit::pci
