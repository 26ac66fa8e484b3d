#include "iovakit/kernel/host_platform.h"

#include <fmt/core.h>

#include <algorithm>

namespace iovakit::kernel {

namespace {

bool is_virtio_iommu_device(const host::PciDevice& d) { return is_virtio_iommu(d.vendor, d.device); }

}  // namespace

Result<HostPlatform> platform_from_host(const host::Host& h, const KernelProfile* profile) {
  if (!h.topology) return Error(Errc::kInvalidArgument, "the host has no usable PCI topology");
  HostPlatform out;
  PlatformInput& in = out.input;
  in.topology = &*h.topology;

  if (profile != nullptr) {
    out.profile = *profile;
  } else if (h.kernel.version) {
    out.profile = profile_for_version(*h.kernel.version);
    out.notes.push_back(fmt::format("kernel profile {} from the host's kernel {}", out.profile.name, h.kernel.release));
  } else {
    auto fallback = find_preset("6.1");
    out.profile = fallback.value();
    out.notes.emplace_back("the host's kernel version is unknown: profile 6.1 assumed (use --kernel)");
  }

  const bool virtio = std::any_of(h.devices.begin(), h.devices.end(), is_virtio_iommu_device);
  if (h.firmware.dmar() != nullptr) {
    in.driver = IommuDriver::kIntelVtd;
    in.dmar = h.firmware.dmar();
  } else if (h.firmware.ivrs() != nullptr) {
    in.driver = IommuDriver::kAmdVi;
    in.ivrs = h.firmware.ivrs();
  } else if (h.firmware.iort() != nullptr) {
    in.driver = IommuDriver::kArmSmmuV3;
    in.iort = h.firmware.iort();
  } else if (virtio) {
    in.driver = IommuDriver::kVirtioIommu;
  } else {
    in.absent = true;
    in.absent_reason = h.firmware.permission_denied
                           ? "the ACPI tables could not be read (run as root): no IOMMU can be predicted"
                           : "no DMAR, IVRS or IORT table and no virtio-iommu device: the firmware describes no IOMMU";
  }

  for (const auto& u : h.units) {
    if (u.intel && u.intel_address) in.intel_registers[*u.intel_address] = {u.intel->cap, u.intel->ecap};
    if (u.amd && u.amd->efr && !in.amd_efr) in.amd_efr = u.amd->efr;
  }
  in.drivers.resize(h.topology->size());
  for (std::size_t i = 0; i < h.devices.size() && i < in.drivers.size(); ++i) {
    in.drivers[i] = h.devices[i].driver.value_or("");
  }

  const host::IommuCmdline& c = h.kernel.cmdline.iommu;
  if (c.intel_iommu_on) in.intel.enabled = *c.intel_iommu_on;
  in.intel.igfx_off = c.intel_igfx_off;
  in.intel_scalable_mode = c.intel_sm_on;
  in.amd.enabled = !c.amd_off;
  in.amd.pgtbl_v2 = c.amd_pgtbl.value_or(1) == 2;
  if (c.iommu_off) {
    in.intel.enabled = false;
    in.amd.enabled = false;
  }
  in.passthrough = c.iommu_pt.value_or(false) || c.passthrough.value_or(false);
  in.dma_strict = c.strict.value_or(false) || c.intel_strict;
  if (!h.kernel.cmdline_known) out.notes.emplace_back("the kernel command line is unknown: defaults assumed");

  if (in.driver == IommuDriver::kVirtioIommu) {
    const bool x86 = h.kernel.release.find("amd64") != std::string::npos ||
                     h.kernel.release.find("x86_64") != std::string::npos ||
                     h.kernel.version_text.find("x86_64") != std::string::npos;
    if (x86) {
      in.virtio_probe_regions = {{0xfee00000, 0x100000, iova::ResvType::kMsi, 0}};
      out.notes.emplace_back(
          "virtio-iommu on x86: QEMU's PROBE reply assumed to carry the MSI window 0xfee00000-0xfeefffff");
    } else {
      out.notes.emplace_back("virtio-iommu: the PROBE reply's regions are unknown; the software MSI window is assumed");
    }
    // The module registers after boot: only devices with a driver are probed.
    in.virtio_only_bound_devices = true;
    in.interrupt_remapping = false;
  }
  return out;
}

}  // namespace iovakit::kernel
