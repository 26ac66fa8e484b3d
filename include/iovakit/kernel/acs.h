// iovakit/kernel/acs.h: pci_acs_enabled() and pci_acs_path_enabled(), the
// kernel's answer to "can this function's DMA reach a peer without passing
// the IOMMU?", as a function of config space and options.
//
// Design
// ------
// pci_acs_enabled(pdev, flags) (drivers/pci/pci.c, read in a 2025
// linux-next: GitHub ColinIanKing/linux-next @ 0568c452, with
// pci_acs_flags_enabled, pci_acs_path_enabled, pci_std_enable_acs and
// pci_disable_acs_redir) decides in order:
//  1. pci_dev_specific_acs_enabled() (drivers/pci/quirks.c): the rows of
//     acs_quirks.h, then the out-of-tree pcie_acs_override row when the
//     kernel carries that patch. The first answer >= 0 wins.
//  2. Not PCI Express: false ("the shared bus topology implies that any
//     device on the bus can receive or snoop DMA").
//  3. PCI/PCI-X-to-PCIe bridge, PCIe-to-PCI/PCI-X bridge, RC event
//     collector: false.
//  4. Root port, switch downstream port: pci_acs_flags_enabled().
//  5. Endpoint, switch upstream port, legacy endpoint, RCiEP: when
//     pdev->multifunction, pci_acs_flags_enabled(); else true.
//  6. Anything else: true (single-function devices need no ACS).
// pci_acs_flags_enabled() needs the ACS capability (none: false), drops the
// requested flags the capability does not implement except EC ("hard-wired
// enabled"), and wants the rest set in ACS Control.
//
// pci_acs_path_enabled(start, NULL, flags) applies that to start and every
// bridge above it up to the root bus. pci_device_group() asks both with
// REQ_ACS_FLAGS = SV | RR | CR | UF (drivers/iommu/iommu.c; PCI_ACS_ISOLATED
// only in the unmerged 2025 rework, see iommu_groups.h).
//
// What the control register holds: sysfs config bytes of a running kernel
// already carry its pci_enable_acs() work (pci_std_enable_acs sets SV, RR,
// CR, UF where implemented when an IOMMU driver called pci_request_acs(), and
// pci=disable_acs_redir=/config_acs= were applied after). AcsControlSource
// says whether to take them as read or to replay that boot step on
// firmware's values. The command-line parameters are applied in both modes
// (they only clear or set bits, so replaying them on already-applied bytes
// changes nothing). Two quirks depend on state config space cannot show and
// are derived as the kernel does it:
//  * pci_quirk_intel_pch_acs answers "isolated" only when
//    PCI_DEV_FLAGS_ACS_ENABLED_QUIRK is set, which
//    pci_quirk_enable_intel_pch_acs does at boot when ACS was requested and
//    the LPC at 00:1f.0 of the port's bus has RCBA enabled (config dword 0xf0
//    bit 0; a missing LPC reads all-ones, which passes).
//  * pci_quirk_intel_spt_pch_acs reads capability and control as dwords at
//    +4 and +8 of the ACS capability (the Sunrise Point erratum).
// Multifunction is the kernel's pdev->multifunction: header type bit 7, or
// any function found after function 0 of its slot (pci_scan_slot sets it for
// fn > 0 in every version), which with ARI (device number > 0 below a root
// or downstream port) is every function but 0. SR-IOV VFs take their own
// header bit only.
//
// SR-IOV VFs read 0xffff in their ID registers; the kernel takes vendor and
// device from the PF (pci_iov_add_virtfn), which the records do not carry,
// so ID-matched quirk rows cannot match a VF here (single-function VFs need
// no ACS either way).
//
// Unknown stays unknown: a 64-byte config (non-root sysfs read) cannot say
// whether a function is PCIe; a 256-byte one cannot say whether it has an
// ACS capability. Such answers are Tristate::kUnknown with a sentence naming
// what is missing, never a guess.
//
// Complexity: O(quirk rows + depth) per call. Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/kernel/acs_cmdline.h"
#include "iovakit/pci/config_space.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

// REQ_ACS_FLAGS (drivers/iommu/iommu.c).
inline constexpr std::uint16_t kReqAcsFlags =
    pci::kAcsSourceValidation | pci::kAcsRequestRedirect | pci::kAcsCompletionRedirect | pci::kAcsUpstreamForwarding;

enum class Tristate : std::uint8_t { kNo, kYes, kUnknown };
std::string_view tristate_name(Tristate value);  // "no", "yes", "unknown"

enum class AcsControlSource : std::uint8_t {
  kAsRead,        // bytes from the running kernel: its enabling is in them
  kSimulateBoot,  // bytes hold firmware's values: replay pci_enable_acs()
};

struct AcsOptions {
  // pci_request_acs() was called: an IOMMU driver (Intel, AMD, ARM SMMU,
  // virtio-iommu, ...) initialised. Without it the kernel enables nothing
  // and the Intel PCH quirk never sets its flag.
  bool acs_requested = true;
  AcsControlSource control_source = AcsControlSource::kAsRead;
  // pci_quirk_amd_sb_acs answers only when ACPI has an IVRS table.
  bool ivrs_present = false;
  // Apply the rows and IDs that the 6.6.14 tree does not have (see
  // acs_quirks.h). A 6.1.y kernel has them from some stable release on.
  bool include_after_6_6_14_quirks = true;
  // pcie_acs_override=, for kernels that carry the patch.
  std::optional<AcsOverride> acs_override;
  std::vector<PciDeviceSelector> disable_acs_redir;
  // pci=config_acs=; leave empty for kernels before 6.11.
  std::vector<ConfigAcsEntry> config_acs;
};

// Fills the command-line part of options from parse_acs_command_line():
// pcie_acs_override only when the kernel carries the out-of-tree patch,
// config_acs only for kernels that have it (v6.11+); disable_acs_redir is
// mainline since v4.19 and always taken.
void apply_command_line(AcsOptions& options, const AcsCommandLine& cmdline, bool has_acs_override_patch,
                        bool has_config_acs);

// What decided.
enum class AcsRule : std::uint8_t {
  kQuirk,                 // a pci_dev_acs_enabled[] row
  kOverride,              // pcie_acs_override (out of tree)
  kConventional,          // not PCI Express
  kNeverIsolating,        // PCIe-to-PCI, PCI-to-PCIe bridge, RC event collector
  kPortControl,           // root / downstream port: ACS capability and control
  kMultifunctionControl,  // multifunction endpoint / upstream port / RCiEP: ACS capability and control
  kSingleFunction,        // single-function (or other) PCIe type: true
  kUnknown,               // config space too short to decide
};
std::string_view acs_rule_name(AcsRule rule);

struct AcsDecision {
  Tristate enabled = Tristate::kUnknown;
  AcsRule rule = AcsRule::kUnknown;
  std::optional<std::size_t> quirk_row;  // index into acs_quirks() for kQuirk
  std::string explanation;               // one sentence naming the kernel rule
};

// pci_acs_enabled(pdev, flags).
AcsDecision pci_acs_enabled(const pci::Topology& topology, std::size_t device, std::uint16_t flags,
                            const AcsOptions& options);

struct AcsPathDecision {
  Tristate enabled = Tristate::kUnknown;
  // The first function on the path (start upwards) that answered no, or
  // the first unknown one when none answered no.
  std::optional<std::size_t> culprit;
  std::string explanation;
};

// pci_acs_path_enabled(start, NULL, flags).
AcsPathDecision pci_acs_path_enabled(const pci::Topology& topology, std::size_t start, std::uint16_t flags,
                                     const AcsOptions& options);

// pdev->multifunction as the kernel sets it (see the design comment).
bool kernel_multifunction(const pci::Topology& topology, std::size_t device);

// The ACS Control value pci_acs_flags_enabled() would read (the dword at +8
// for Sunrise/Union Point ports, truncated to 16 bits), after the options.
// nullopt when the capability is absent or beyond the bytes given.
std::optional<std::uint16_t> effective_acs_control(const pci::Topology& topology, std::size_t device,
                                                   const AcsOptions& options);

}  // namespace iovakit::kernel
