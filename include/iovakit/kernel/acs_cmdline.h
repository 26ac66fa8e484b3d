// iovakit/kernel/acs_cmdline.h: the kernel command-line parameters that change
// what pci_acs_enabled() answers, parsed the way the kernel parses them.
//
// Design
// ------
// Three parameters move IOMMU group boundaries. parse_acs_command_line()
// takes the whole command line (/proc/cmdline; the host layer reads it) and
// returns what each one selects, plus the warnings the kernel would log:
//
// * pcie_acs_override= (out of tree). Alex Williamson's 2013 patch "pci:
//   Enable overrides for missing ACS capabilities" (lkml.org/lkml/2013/5/30/
//   513), never merged, carried by Proxmox VE, Arch linux-zen/linux-tkg,
//   CachyOS, Fedora/Ubuntu ACS-override builds. Read here in its 4.18 form
//   (GitHub some-natalie/fedora-acs-override, acs/add-acs-override.patch) and
//   in linux-tkg's 6.3 rebase: early_param pcie_acs_override_setup() takes a
//   comma-separated list of "downstream", "multifunction" and "id:vvvv:dddd"
//   (hex, at most 4 digits each, parsed with kstrtol on a 5-byte copy); the
//   "max_acs_id >= NUM_ACS_IDS - 1" test keeps only the first 15 ids; every
//   occurrence of the parameter adds to the same static state. The patch adds
//   { PCI_ANY_ID, PCI_ANY_ID, pcie_acs_overrides } as the last row of
//   pci_dev_acs_enabled[], so real quirks still decide first. Only kernels
//   that carry the patch honour it: the caller says so (AcsOptions).
// * pci=disable_acs_redir=<dev>[;<dev>...] (mainline since v4.19, aaca43fda742
//   "PCI: Add "pci=disable_acs_redir=" parameter for peer-to-peer support"):
//   pci_disable_acs_redir() clears P2P Request Redirect, Completion Redirect
//   and Egress Control (RR, CR, EC) on each matching device that has an ACS
//   capability, after the kernel's own enabling. RR and CR are in
//   REQ_ACS_FLAGS, so such a port stops isolating.
// * pci=config_acs=<mask>@<dev>[;...] (v6.11, 47c8846a49ba "PCI: Extend ACS
//   configurability"): <mask> lists ACS control bits from bit 6 (DT) on the
//   left to bit 0 (SV) on the right; '1' sets, '0' clears, 'x' keeps. Bits
//   above DT are refused ("Invalid ACS flags specified"). Modelled with the
//   documented meaning; the early releases' trouble with lists of several
//   devices (fixed in 2025, "PCI: Fix Extend ACS configurability" and
//   "PCI/ACS: Fix 'pci=config_acs=' parameter") is not modelled. A kernel
//   before 6.11 logs "PCI: Unknown option" and ignores it: the caller clears
//   AcsOptions::config_acs for such profiles.
//
// Devices are named as pci_dev_str_match() (drivers/pci/pci.c, v4.19+) takes
// them: "pci:vvvv:dddd[:ssss:ssss]" (0 matches any) or
// "[ssss:]bb:dd.f[/dd.f]*", a device path whose last hop is the device and
// whose earlier hops are its upstream bridges (pci_dev_str_match_path). The
// pci= option splits on ',' (pci_setup), so entries are separated by ';'; a
// later pci=disable_acs_redir= replaces an earlier one. The first entry that
// does not parse ends the list ("PCI: Can't parse ..."), as in the kernel.
//
// Complexity: O(length of the command line). Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

// NUM_ACS_IDS - 1: the override patch's usable id slots.
inline constexpr std::size_t kAcsOverrideMaxIds = 15;

struct PciIdPair {
  std::uint16_t vendor = 0;
  std::uint16_t device = 0;
  friend bool operator==(const PciIdPair&, const PciIdPair&) = default;
};

// pcie_acs_override= as the out-of-tree patch keeps it.
struct AcsOverride {
  bool downstream = false;     // root and switch downstream ports without an ACS capability
  bool multifunction = false;  // multifunction endpoints / upstream ports without one
  std::vector<PciIdPair> ids;  // any PCIe device with these IDs and no ACS capability
};

// One device as pci_dev_str_match() names it.
struct PciDeviceSelector {
  enum class Form : std::uint8_t { kIds, kPath };
  Form form = Form::kPath;
  // kIds: 0 is a wildcard, as in the kernel.
  std::uint16_t vendor = 0;
  std::uint16_t device = 0;
  std::uint16_t subsystem_vendor = 0;
  std::uint16_t subsystem_device = 0;
  // kPath: segment and bus of the top hop, then devfns from the top hop
  // down to the device.
  std::uint32_t segment = 0;
  std::uint8_t bus = 0;
  std::vector<std::uint8_t> devfns;
  std::string text;  // as written
};

// config_acs: bits in mask take their value from flags.
struct ConfigAcsEntry {
  PciDeviceSelector device;
  std::uint16_t mask = 0;
  std::uint16_t flags = 0;
};

struct AcsCommandLine {
  std::optional<AcsOverride> acs_override;           // set when pcie_acs_override= appears
  std::vector<PciDeviceSelector> disable_acs_redir;  // pci=disable_acs_redir=
  std::vector<ConfigAcsEntry> config_acs;            // pci=config_acs=
  std::vector<std::string> warnings;                 // what the kernel would log
};

AcsCommandLine parse_acs_command_line(std::string_view cmdline);

// pci_dev_str_match(): does the selector name topology device `device`?
// nullopt when a path hop leads to a bridge missing from the records.
std::optional<bool> selector_matches(const PciDeviceSelector& selector, const pci::Topology& topology,
                                     std::size_t device);

}  // namespace iovakit::kernel
