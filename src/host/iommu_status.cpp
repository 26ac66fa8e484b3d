#include "iovakit/host/iommu_status.h"

#include <algorithm>
#include <string>

#include <fmt/core.h>

#include "iovakit/host/host.h"

namespace iovakit::host {

std::string_view iommu_vendor_name(IommuVendor vendor) {
  switch (vendor) {
    case IommuVendor::kNone: return "none";
    case IommuVendor::kIntel: return "intel";
    case IommuVendor::kAmd: return "amd";
    case IommuVendor::kArm: return "arm";
    case IommuVendor::kVirtio: return "virtio";
    case IommuVendor::kUnknown: return "unknown";
  }
  return "unknown";
}

namespace {

bool has_table(const Host& host, std::string_view signature) {
  return std::any_of(host.firmware.present.begin(), host.firmware.present.end(),
                     [signature](const std::string& name) { return name.substr(0, 4) == signature; });
}

IommuVendor vendor_of(const Host& host) {
  if (has_table(host, "DMAR")) return IommuVendor::kIntel;
  if (has_table(host, "IVRS")) return IommuVendor::kAmd;
  if (has_table(host, "IORT")) return IommuVendor::kArm;
  for (const auto& u : host.units) {
    switch (u.kind) {
      case UnitKind::kIntel: return IommuVendor::kIntel;
      case UnitKind::kAmd: return IommuVendor::kAmd;
      case UnitKind::kArmSmmu:
      case UnitKind::kArmSmmuV3: return IommuVendor::kArm;
      case UnitKind::kVirtio: return IommuVendor::kVirtio;
      case UnitKind::kUnknown: break;
    }
  }
  return host.units.empty() ? IommuVendor::kNone : IommuVendor::kUnknown;
}

std::string vendor_label(IommuVendor vendor) {
  switch (vendor) {
    case IommuVendor::kIntel: return "Intel VT-d";
    case IommuVendor::kAmd: return "AMD-Vi";
    case IommuVendor::kArm: return "Arm SMMU";
    case IommuVendor::kVirtio: return "virtio-iommu";
    case IommuVendor::kUnknown: return "an IOMMU";
    case IommuVendor::kNone: return "no IOMMU";
  }
  return "an IOMMU";
}

}  // namespace

IommuStatus assess_iommu(const Host& host) {
  IommuStatus s;
  s.vendor = vendor_of(host);
  s.firmware_table = has_table(host, "DMAR") || has_table(host, "IVRS") || has_table(host, "IORT");
  s.units = host.units.size();
  s.groups = host.groups.size();
  s.present = s.firmware_table || s.units > 0;
  s.enabled = s.groups > 0;
  const IommuCmdline& cmd = host.kernel.cmdline.iommu;
  const std::string label = vendor_label(s.vendor);

  if (s.enabled) {
    s.summary = fmt::format("{} is enabled: {} unit(s), {} IOMMU group(s).", label, s.units, s.groups);
  } else if (s.units > 0) {
    s.summary = fmt::format(
        "{} is registered ({} unit(s)) but the kernel created no IOMMU groups, so no device can "
        "be assigned.",
        label, s.units);
    s.hints.emplace_back(
        "Look for DMAR/AMD-Vi errors in the kernel log: with Intel VT-d one device scope whose type "
        "does not match its device (\"Device scope type does not match\") stops DMA remapping without "
        "another message.");
  } else if (s.present) {
    s.summary = fmt::format("The firmware describes {} but the kernel did not enable it: no IOMMU groups.", label);
  } else {
    s.summary = "No IOMMU: no DMAR, IVRS or IORT table and no IOMMU unit, so no IOMMU groups.";
  }

  if (!s.enabled) {
    switch (s.vendor) {
      case IommuVendor::kIntel:
        if (cmd.intel_iommu_on == false) {
          s.hints.emplace_back("The kernel command line has intel_iommu=off: replace it with intel_iommu=on.");
        } else if (cmd.intel_iommu_on != true) {
          s.hints.emplace_back(
              "Add intel_iommu=on to the kernel command line (needed unless the kernel was built with "
              "CONFIG_INTEL_IOMMU_DEFAULT_ON).");
        }
        s.hints.emplace_back(
            "Enable VT-d (\"Intel Virtualization Technology for Directed I/O\") in the firmware setup.");
        break;
      case IommuVendor::kAmd:
        if (cmd.amd_off) s.hints.emplace_back("The kernel command line has amd_iommu=off: remove it.");
        s.hints.emplace_back(
            "AMD-Vi is on by default when the firmware has an IVRS table: enable \"IOMMU\" (AMD-Vi) "
            "in the firmware setup; amd_iommu=on is not a Linux option.");
        break;
      case IommuVendor::kArm:
        s.hints.emplace_back(
            "Check that the kernel has the SMMU driver (CONFIG_ARM_SMMU_V3 / CONFIG_ARM_SMMU) and that "
            "the firmware does not hide the SMMU.");
        break;
      case IommuVendor::kVirtio:
        s.hints.emplace_back("virtio-iommu puts a device in a group only once a driver binds it (docs/oracle.md D2).");
        break;
      case IommuVendor::kNone:
      case IommuVendor::kUnknown:
        // Nothing says which vendor: one line per vendor.
        s.hints.emplace_back(
            "Intel: enable VT-d in the firmware setup and boot with intel_iommu=on (on by default "
            "only in kernels built with CONFIG_INTEL_IOMMU_DEFAULT_ON).");
        s.hints.emplace_back(
            "AMD: enable the IOMMU (AMD-Vi) in the firmware setup; Linux turns it on by itself when "
            "the firmware has an IVRS table (amd_iommu=on is not a Linux option; remove amd_iommu=off "
            "or iommu=off if present).");
        s.hints.emplace_back(
            "Arm: the firmware must describe the SMMU (IORT or device tree) and the kernel needs its "
            "driver (CONFIG_ARM_SMMU_V3 or CONFIG_ARM_SMMU).");
        s.hints.emplace_back(
            "In a VM: give it a virtual IOMMU (QEMU: -device intel-iommu,caching-mode=on with "
            "-machine q35, or -device virtio-iommu-pci).");
        if (host.live && host.firmware.present.empty() && host.firmware.errors.empty()) {
          s.notes.emplace_back("No IOMMU table in /sys/firmware/acpi/tables: the firmware describes no IOMMU.");
        }
        break;
    }
    if (cmd.iommu_off) s.hints.emplace_back("The kernel command line has iommu=off: remove it.");
    s.notes.emplace_back(
        "iommu=pt does not enable an IOMMU: it only gives host drivers identity domains once one "
        "is on.");
  }

  if (cmd.iommu_pt == true || cmd.passthrough == true) {
    s.notes.emplace_back(
        "iommu=pt / iommu.passthrough=1: host drivers use identity (pass-through) domains; VFIO still "
        "gets translated domains, so assignment is unaffected.");
  }
  if (cmd.intel_relax_rmrr) {
    s.notes.emplace_back(
        "intel_iommu=relax_rmrr is not a mainline option: this kernel carries the out-of-tree relaxable-"
        "RMRR patch (kiler129/relax-intel-rmrr or a distribution variant), which mainline ignores.");
  }
  if (cmd.pcie_acs_override) {
    s.notes.push_back("pcie_acs_override=" + *cmd.pcie_acs_override +
                      " (out-of-tree ACS override patch): the groups do not reflect hardware isolation.");
  }
  if (cmd.allow_unsafe_interrupts == true) {
    s.notes.emplace_back(
        "vfio_iommu_type1.allow_unsafe_interrupts=1: VFIO accepts platforms without interrupt "
        "remapping.");
  }
  return s;
}

}  // namespace iovakit::host
