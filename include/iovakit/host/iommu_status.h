// iovakit/host/iommu_status.h: is there an IOMMU, is it on, and how to turn it on.
//
// Design
// ------
// The question every user asks first (virt-host-validate's "Checking if IOMMU
// is enabled by kernel"), answered from what the Host observed, with the
// evidence named:
//   vendor     from the firmware tables present (DMAR: Intel VT-d, IVRS:
//              AMD-Vi, IORT: Arm SMMU), else from the registered units'
//              kinds (virtio-iommu has no ACPI table iovakit reads).
//   present    a table or a unit exists.
//   enabled    the kernel created IOMMU groups (sys/kernel/iommu_groups/*):
//              what VFIO needs. Units without groups (possible when one bad
//              DMAR scope stops the Intel driver, docs/oracle.md D1) count
//              as not enabled, and say so.
//   hints      when not enabled, the kernel parameters per vendor and the
//              firmware switch: Intel needs intel_iommu=on unless the kernel
//              was built with CONFIG_INTEL_IOMMU_DEFAULT_ON (Kconfig, 6.1);
//              AMD-Vi is on by default when IVRS exists, so amd_iommu=off or
//              iommu=off on the command line, or the firmware's IOMMU
//              setting, are the usual causes (drivers/iommu/amd/init.c
//              detect_ivrs, amd_iommu_disabled). With the IOMMU on,
//              iommu=pt or iommu.passthrough=1 only changes the default
//              domain of host drivers (type "identity"); VFIO still gets a
//              translated domain.
//
// The wording is for people; the fields are for scripts and JSON.
//
// Thread safety: pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iovakit::host {

struct Host;

enum class IommuVendor : std::uint8_t { kNone, kIntel, kAmd, kArm, kVirtio, kUnknown };
// "none", "intel", "amd", "arm", "virtio", "unknown".
std::string_view iommu_vendor_name(IommuVendor vendor);

struct IommuStatus {
  IommuVendor vendor = IommuVendor::kNone;
  bool firmware_table = false;  // DMAR/IVRS/IORT file present (readable or not)
  std::size_t units = 0;
  std::size_t groups = 0;
  bool present = false;
  bool enabled = false;
  std::string summary;             // one sentence
  std::vector<std::string> hints;  // what to change, in order
  std::vector<std::string> notes;  // what else matters (iommu=pt, ACS override, relax_rmrr...)
};

IommuStatus assess_iommu(const Host& host);

}  // namespace iovakit::host
