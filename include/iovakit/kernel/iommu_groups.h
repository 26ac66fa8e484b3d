// iovakit/kernel/iommu_groups.h: which PCI functions share an IOMMU group,
// predicted the way Linux forms groups, with the reason for each member.
//
// Design
// ------
// A group is what VFIO assigns, and its reserved_regions file is the merge of
// its members' regions, so membership comes before any prediction of what
// sysfs prints. Every IOMMU driver that matters here hands PCI devices to the
// core's pci_device_group() (drivers/iommu/iommu.c): Intel
// intel_iommu_device_group, AMD amd_iommu_device_group (ACPI HID devices get
// their own group, acpihid_device_group), ARM SMMUv3 arm_smmu_device_group and
// virtio-iommu viommu_device_group. The algorithm reads the same in the
// Android common 6.1 tree (GitHub Anything-at-25-00/kernel_common_android14-6.1
// @ 2188b034) and in a 2025 linux-next (GitHub ColinIanKing/linux-next @
// 01cfe541); older kernels were not re-read for this file. It runs once per
// device, in probe order, and only ever joins groups that already exist:
//  1. pci_for_each_dma_alias(pdev, get_pci_alias_or_group): every function
//     the walk attributes an alias to (the device, bridges that take
//     ownership of its DMA) is checked; one that already has a group is the
//     answer. data.pdev ends as the last attributed function.
//  2. From that function's bus upwards, until pci_acs_path_enabled(bus->self,
//     NULL, REQ_ACS_FLAGS): pdev = bus->self; if it has a group, join it.
//  3. get_pci_alias_group(pdev, devfns): functions on pdev's bus that are
//     DMA aliases of it (pci_devs_are_dma_aliases, either direction), and
//     recursively their aliases and their non-isolated slot siblings; a
//     256-bit devfn bitmap stops loops.
//  4. get_pci_function_alias_group(pdev, devfns): if pdev->multifunction and
//     not ACS-isolated, the other non-isolated functions of its slot (and
//     their aliases).
//  5. Otherwise iommu_group_alloc(): a new group, numbered by an IDA in
//     creation order.
// predict_iommu_groups() replays exactly that. Devices the caller marks as
// not handled by an IOMMU get no group and are never found by the searches
// (iommu_group_get() returns NULL for them), as in the kernel.
//
// Probe order. At boot the IOMMU driver registers after PCI enumeration on
// x86 and bus_iommu_probe() walks the PCI bus in device_add() order, which is
// pci_scan_child_bus_extend()'s: per bus, every function in devfn order, then
// depth-first into each bridge's secondary bus; root buses by (segment, bus).
// SR-IOV VFs appear when a PF driver enables them, after all of that; they
// come last, in BDF order. The order decides the numbers, not the membership:
// every step above looks for an existing group over a symmetric relation
// (aliases either way, functions of one slot), and the one directed step
// (a device joins the group of the non-isolated bridge above it) needs the
// bridge probed first, which scan order guarantees. The property test checks
// that any parent-first order gives the same partition. Group numbers are
// predicted as first_group_id + creation index; groups the kernel creates
// before PCI (platform-bus devices are probed first in iommu_buses[] order,
// AMD ACPI HID devices) shift them, which is what first_group_id is for.
//
// AMD IVRS aliases. iommu_init_device -> setup_aliases (drivers/iommu/amd/
// iommu.c; read in the 2025 linux-next, and the 6.0 multi-segment rework
// that 6.1 carries only moved the table into pci_seg) adds the IVRS
// alias of a device to its dma_alias_mask when it differs from the device's
// own ID and is on the same bus number; an alias on another bus only gets
// the device-table entry copied (clone_alias) and does not change groups.
// Kernels before the setup_aliases rework (get_alias() in 4.x-5.x) added the
// IVRS alias only to devices with no PCI DMA alias at all; not modelled.
//
// Uncertainty. When config space is too short to answer an ACS question
// (64-byte non-root reads, 256-byte reads of PCIe functions), the prediction
// is computed twice: with every unknown answer taken as "not isolated" and
// as "isolated". The primary result follows options.assume_isolated_when_unknown
// (default: not isolated, the larger groups), every unknown answer is listed,
// and a device whose group differs between the two runs is marked uncertain.
// Two runs suffice: turning any answer to "isolated" only ever splits groups
// (the property test checks it), so a group that is the same at both extremes
// is the same for every mix of answers. Incomplete DMA alias walks
// (pci::dma_aliases) are listed too and make the device's group uncertain.
//
// Not modelled: the 2025 rework "Fix incorrect iommu_groups with PCIe ACS"
// (Jason Gunthorpe, v1 June 2025, v3 on v6.17-rc4 in September 2025, still
// under review on 2025-09-30 and absent from the linux-next iommu.c read
// here; carried in NVIDIA's NV-Kernels): it would group switch downstream
// ports by their shared internal bus (pci_bus_isolated, PCI_ACS_ISOLATED),
// treat MFDs without an ACS capability as isolated and shrink groups at
// PCIe-to-PCI bridges. ARM SMMUv2's stream-ID sharing
// (arm_smmu_device_group) and fsl-mc groups are not PCI rules.
//
// Complexity: O(n^2) in the worst case (n functions; the searches scan all
// devices of a bus), run twice when something is unknown. Thread safety:
// pure function of its inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/kernel/acs.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

// The IOMMU driver that handles the PCI devices. All of them use
// pci_device_group() for PCI; AMD additionally merges IVRS aliases.
enum class IommuDriver : std::uint8_t { kIntelVtd, kAmdVi, kArmSmmuV3, kVirtioIommu };
std::string_view iommu_driver_name(IommuDriver driver);

// An IVRS alias (IVHD "alias select" entries): `device` issues DMA as
// requester ID `alias_rid` (bus << 8 | devfn) in the same segment.
struct IvrsAlias {
  std::size_t device = 0;  // topology index
  std::uint16_t alias_rid = 0;
};

struct GroupOptions {
  IommuDriver driver = IommuDriver::kIntelVtd;
  // With kAmdVi an IVRS table exists, so acs.ivrs_present is taken as set.
  AcsOptions acs;
  // has_iommu[i]: topology device i is handled by an IOMMU. Empty: all are.
  std::vector<bool> has_iommu;
  std::vector<IvrsAlias> ivrs_aliases;  // honoured for kAmdVi only
  // The IDA value of the first PCI group.
  unsigned first_group_id = 0;
  // How unknown ACS answers are taken in the primary prediction.
  bool assume_isolated_when_unknown = false;
};

// One step of the derivation that put a device where it is.
enum class GroupStepKind : std::uint8_t {
  kAliasOwner,         // pci_for_each_dma_alias attributes the DMA to `to` (a bridge)
  kNonIsolatedBridge,  // `to` is the bridge of from's bus and the path from it up lacks ACS
  kDmaAlias,           // from and to are DMA aliases on one bus (pci_devs_are_dma_aliases)
  kSlotFunction,       // to is a non-ACS-isolated function of from's multifunction slot
};
std::string_view group_step_name(GroupStepKind kind);

struct GroupStep {
  GroupStepKind kind;
  std::size_t from;
  std::size_t to;
};

// Why a member is in its group, in the terms iovakit host prints.
enum class MemberReason : std::uint8_t {
  kOwnGroup,            // no group found: iommu_group_alloc()
  kAliasThroughBridge,  // a bridge above owns its DMA (alias of X through bridge Y)
  kBehindBridge,        // behind a bridge without ACS isolation (behind non-ACS bridge Z)
  kDmaAlias,            // DMA alias of a device on its bus
  kSlotFunction,        // non-isolated function of a multifunction slot
};
std::string_view member_reason_name(MemberReason reason);

struct GroupMember {
  std::size_t device = 0;
  MemberReason reason = MemberReason::kOwnGroup;
  std::vector<GroupStep> steps;       // from the device to `joined`
  std::optional<std::size_t> joined;  // the device whose existing group it joined
  std::size_t probe_position = 0;
  std::string explanation;
};

struct PredictedGroup {
  unsigned id = 0;                   // predicted /sys/kernel/iommu_groups/<id>
  std::vector<GroupMember> members;  // probe order; the first created the group
  bool certain = true;
};

struct GroupUncertainty {
  std::size_t device = 0;
  std::string reason;
};

struct GroupPrediction {
  std::vector<PredictedGroup> groups;                // in id order
  std::vector<std::optional<std::size_t>> group_of;  // per topology index: index into groups
  std::vector<std::size_t> probe_order;
  std::vector<std::size_t> no_iommu;            // devices left without a group
  std::vector<GroupUncertainty> uncertainties;  // unknown answers and the devices they move
  std::vector<std::string> notes;               // certain facts worth saying (cross-bus IVRS aliases)

  [[nodiscard]] bool certain() const { return uncertainties.empty(); }
  // Topology indexes of the members of device's group (empty: no group).
  [[nodiscard]] std::vector<std::size_t> members_with(std::size_t device) const;
};

// The order bus_iommu_probe() meets the devices at boot (see above).
std::vector<std::size_t> pci_probe_order(const pci::Topology& topology);

GroupPrediction predict_iommu_groups(const pci::Topology& topology, const GroupOptions& options);

// The same with a caller-chosen probe order (a permutation of all indexes),
// for hotplug what-ifs and the order-independence tests.
GroupPrediction predict_iommu_groups(const pci::Topology& topology, const GroupOptions& options,
                                     const std::vector<std::size_t>& probe_order);

}  // namespace iovakit::kernel
