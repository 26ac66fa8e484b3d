// iovakit/kernel/platform_prediction.h: what a Linux kernel of a given
// profile will do with a platform: which devices get an IOMMU, each device's
// reserved regions, the IOMMU groups and what their reserved_regions file
// prints, and whether VFIO can claim each group.
//
// Design
// ------
// This is the join of the vendor models (intel_*.h, amd_resv.h, arm_resv.h,
// the virtio-iommu rules below) with group formation (iommu_groups.h), the
// group merge (iova::ResvList = iommu_get_group_resv_regions) and the
// DMA-ownership claim VFIO makes at VFIO_GROUP_SET_CONTAINER. Its input is
// plain data (a PCI topology, decoded firmware tables, unit registers,
// command-line choices, bound drivers), so it works the same on a live host,
// a snapshot, or a model built from firmware tables alone; its output keeps
// every cause so reports can say why.
//
// The claim, in the kernel's order (drivers/vfio/container.c
// vfio_container_attach_group -> drivers/iommu/iommu.c
// iommu_group_claim_dma_owner, v5.19+):
//   1. a member bound to a kernel driver that uses the DMA API makes the
//      group non-viable: -EPERM, nothing logged. Drivers that declare
//      driver_managed_dma (vfio-pci and its variants, pci-stub, pcieport) and
//      unbound devices do not count. The prediction assumes every other member
//      is rebound to vfio-pci and lists them (GroupModel::must_unbind).
//   2. the group moves to a blocking domain, member by member in group order;
//      the first member the driver or the core refuses decides the errno:
//      Intel 3.17-6.5 device_is_rmrr_locked -> -EPERM "Device is ineligible
//      for IOMMU domain attach due to platform RMRR requirement.  Contact your
//      platform vendor." (intel_iommu_attach_device); 6.6+ any vendor, a device
//      with an IOMMU_RESV_DIRECT region -> -EINVAL "Firmware has requested this
//      device have a 1:1 IOMMU mapping, rejecting configuring the device without
//      a 1:1 mapping. Contact your platform vendor." (__iommu_device_set_domain).
//
// Complexity: dominated by DMAR scope matching and group formation, O(n^2) in
// the worst case for n PCI functions. Thread safety: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/dmar.h"
#include "iovakit/acpi/iort.h"
#include "iovakit/acpi/ivrs.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/kernel/amd_resv.h"
#include "iovakit/kernel/arm_resv.h"
#include "iovakit/kernel/device_region.h"
#include "iovakit/kernel/errno.h"
#include "iovakit/kernel/intel_dmar_state.h"
#include "iovakit/kernel/intel_resv.h"
#include "iovakit/kernel/iommu_groups.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/kernel/vfio_type1.h"
#include "iovakit/pci/topology.h"

namespace iovakit::kernel {

// virtio-iommu-pci (modern virtio, device id 23): include/uapi/linux/virtio_ids.h.
inline constexpr std::uint16_t kVirtioVendorId = 0x1af4;
inline constexpr std::uint16_t kVirtioIommuDeviceId = 0x1057;
inline constexpr bool is_virtio_iommu(std::uint16_t vendor, std::uint16_t device) {
  return vendor == kVirtioVendorId && device == kVirtioIommuDeviceId;
}

inline constexpr std::uint64_t kVirtioDefaultPageMask = 0xfffffffffffff000ULL;  // QEMU: qemu_target_page_mask()

struct PlatformInput {
  const pci::Topology* topology = nullptr;  // required; must outlive the call
  IommuDriver driver = IommuDriver::kIntelVtd;
  // Nothing describes an IOMMU (no DMAR/IVRS/IORT, no virtio-iommu): no
  // device gets a group; `absent_reason` says why.
  bool absent = false;
  std::string absent_reason;
  const acpi::Dmar* dmar = nullptr;  // Intel
  const acpi::Ivrs* ivrs = nullptr;  // AMD
  const acpi::Iort* iort = nullptr;  // Arm

  IntelBootOptions intel;
  // cap/ecap per remapping unit, keyed by DRHD register base address
  // (/sys/class/iommu/dmarN/intel-iommu/{address,cap,ecap}).
  std::map<std::uint64_t, IntelUnitRegisters> intel_registers;
  bool intel_scalable_mode = false;  // intel_iommu=sm_on
  AmdBootOptions amd;
  std::optional<std::uint64_t> amd_efr;  // live EFR, when the IVHD has no image
  ArmBootOptions arm;
  // virtio-iommu: the regions the device reports in PROBE replies (QEMU on
  // x86: the IOAPIC window as MSI), its input range and page-size mask.
  std::vector<iova::ResvRegion> virtio_probe_regions;
  iova::Range virtio_input_range = iova::Range::full();
  std::uint64_t virtio_page_size_mask = kVirtioDefaultPageMask;
  // virtio-iommu built as a module probes only devices that have or get a
  // driver (oracle scenario virtio-iommu): unbound devices get no group.
  bool virtio_only_bound_devices = false;

  // MSI isolation for VFIO type1 (interrupt remapping on Intel/AMD, the ITS
  // on Arm); without it type1 refuses the group (-EPERM) unless
  // allow_unsafe_interrupts.
  bool interrupt_remapping = true;
  AcsOptions acs;
  // Per topology device: the bound driver ("" when none).
  std::vector<std::string> drivers;
  // The devices the user binds to vfio-pci (topology indexes): the names the
  // kernel's messages carry ("vfio-pci 0000:03:00.0: ...") follow from it.
  std::vector<std::size_t> assigned;

  // Default domain (iommu_def_domain_type): iommu=pt or
  // CONFIG_IOMMU_DEFAULT_PASSTHROUGH gives identity domains; iommu.strict=1
  // (or a driver forcing strict mode) gives "DMA", else "DMA-FQ" (Debian's
  // CONFIG_IOMMU_DEFAULT_DMA_LAZY).
  bool passthrough = false;
  bool dma_strict = false;
};

struct DevicePrediction {
  bool has_iommu = false;
  std::string no_iommu_reason;
  std::vector<DeviceRegion> regions;  // the driver's list, in its order
  // Refused when its group is claimed for VFIO (RMRR lock, require_direct).
  std::optional<Outcome> refusal;
  std::string refusal_log;  // the dmesg line
  std::vector<std::string> unknowns;
};

struct GroupModel {
  unsigned id = 0;
  std::vector<std::size_t> members;  // group order (probe order)
  bool certain = true;
  iova::ResvList regions;  // iommu_get_group_resv_regions
  std::string sysfs;       // /sys/kernel/iommu_groups/<id>/reserved_regions
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = 0x1000;
  std::string geometry_explanation;
  bool isolated_msi = true;
  std::string domain_type;               // /sys/kernel/iommu_groups/<id>/type
  Outcome claim;                         // VFIO_GROUP_SET_CONTAINER, members rebound to vfio-pci
  std::string claim_log;                 // its dmesg line, if any
  std::vector<std::size_t> must_unbind;  // members whose current driver owns DMA
};

struct PlatformPrediction {
  KernelProfile profile;
  IommuDriver driver = IommuDriver::kIntelVtd;
  bool remapping_enabled = false;
  std::string disabled_reason;
  std::vector<DevicePrediction> devices;  // per topology index
  GroupPrediction groups;
  std::vector<GroupModel> group_models;  // parallel to groups.groups
  std::vector<std::string> kernel_log;
  std::vector<std::string> unknowns;

  [[nodiscard]] const GroupModel* group_of(std::size_t device) const;
};

// Drivers that declare driver_managed_dma (v5.19+): binding them leaves the
// group claimable by VFIO.
bool driver_manages_dma(std::string_view driver);

Result<PlatformPrediction> predict_platform(const PlatformInput& input, const KernelProfile& profile);

// What VFIO type1 is given for this group (vfio_type1.h): its merged
// regions, the geometry of its new domain, and the claim's refusal at the
// stage the profile puts it (vfio_claim_dma_owner).
Type1GroupSpec type1_group_spec(const GroupModel& group, const KernelFeatures& features);

}  // namespace iovakit::kernel
