// iovakit/kernel/host_platform.h: the kernel model's input taken from a Host
// (a live system, a snapshot, or a capture of a guest), without reading what
// the running kernel reported.
//
// Design
// ------
// predict_platform must be able to disagree with the kernel, so this adapter
// takes only what the machine *is*: the PCI topology and config space, the
// firmware tables, the IOMMU units' registers, the kernel command line and
// version, and the drivers bound. It never reads /sys/kernel/iommu_groups
// (groups, types, reserved_regions): those are what predictions are compared
// with (`iovakit host`, the oracle).
//
// Which IOMMU driver: a DMAR table -> Intel VT-d, else IVRS -> AMD-Vi, else
// IORT -> Arm SMMU, else a virtio-iommu PCI function (1af4:1057) ->
// virtio-iommu. On QEMU x86 machines the virtio-iommu PROBE reply carries the
// IOAPIC window as an MSI region (QEMU hw/i386/pc.c pc_virtio_md_pci /
// virtio-iommu "reserved-regions", 5.2+); elsewhere nothing is assumed and
// the prediction says so.
//
// Command line: intel_iommu=off|igfx_off|sm_on, amd_iommu=off|pgtbl_v2,
// iommu=off|pt, iommu.passthrough, iommu.strict; an unknown profile comes
// from the kernel version (profile_for_version) unless the caller gives one.
//
// Thread safety: values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "iovakit/host/host.h"
#include "iovakit/kernel/platform_prediction.h"
#include "iovakit/result.h"

namespace iovakit::kernel {

struct HostPlatform {
  PlatformInput input;  // points into `host` (topology, tables)
  KernelProfile profile;
  std::vector<std::string> notes;  // assumptions made, for people
};

// `profile`: nullptr to take the host's kernel version. Fails when the host
// has no PCI topology. A host whose firmware describes no IOMMU gives an
// input marked `absent` (every device without a group).
Result<HostPlatform> platform_from_host(const host::Host& host, const KernelProfile* profile);

}  // namespace iovakit::kernel
