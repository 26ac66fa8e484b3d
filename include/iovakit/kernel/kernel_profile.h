// iovakit/kernel/kernel_profile.h: the kernel behaviour that changes across
// versions, as named feature flags.
//
// Design
// ------
// The `linux` layer of docs/design.md lives in include/iovakit/kernel/ and
// namespace iovakit::kernel because `linux` is a predefined macro in GNU C++
// modes (-std=gnu++20 defines `linux` to 1), which would break consumers.
//
// Everything the model predicts depends on the kernel: how reserved regions
// merge, whether an RMRR is relaxable, whether VFIO validates MAP_DMA, which
// errno refuses an RMRR-locked device, where the GET_INFO capabilities sit.
// A KernelProfile is plain data: one named flag per behaviour that changed,
// each documented with the commit that changed it and the mainline version it
// first shipped in. Rules elsewhere read the flags; nothing compares version
// numbers, so a vendor kernel that backported one change and not another is
// described by flipping one flag (`--kernel 5.4 --set intel_relaxable_rmrr=0`),
// not by a new code path. A profile is never an average of two versions.
//
// Presets are mainline versions; profile_for_version() maps any version to
// the flags mainline had then. Flags whose boundary is a kernel config option
// rather than a version (CONFIG_INTEL_IOMMU_FLOPPY_WA) default to Debian's
// configuration and are overridable like the others.
//
// Thread safety: values.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/iova/resv_region.h"
#include "iovakit/result.h"

namespace iovakit::kernel {

struct KernelVersion {
  unsigned major = 0;
  unsigned minor = 0;
  unsigned patch = 0;

  // Accepts "6.1", "6.1.0-18-amd64", "6.12.12+bpo-amd64", and the whole
  // /proc/version line ("Linux version 6.1.0-18-amd64 (debian-kernel@...) ...").
  static Result<KernelVersion> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;  // "6.1.0"

  friend constexpr auto operator<=>(const KernelVersion&, const KernelVersion&) = default;
};

// How the Intel driver sizes a paging domain's aperture.
enum class IntelAperture : std::uint8_t {
  // 6.1: allocated at 2^57-1, narrowed at attach to
  // min(30 + 9*agaw, mgaw) bits (one bit less for first-level tables)
  // (prepare_domain_attach_device, domain_update_iommu_cap).
  kNarrowedAtAttach,
  // 7.0: fixed at allocation from mgaw/sagaw; paging domains prefer first
  // stage when the unit supports it (compute_vasz_lg2_fs/_ss).
  kFixedAtAlloc,
};

// How the AMD driver sizes a v1 paging domain's aperture.
enum class AmdAperture : std::uint8_t {
  kFull64,  // 6.1: [0, U64_MAX] (dma_max_address)
  kHats,    // 7.0: 2^min(64, (HATS+4-1)*9+21) - 1 from EFR.HATS
};

struct KernelFeatures {
  // --- iommu core (drivers/iommu/iommu.c)
  // iommu_insert_resv_region: kRecursiveOverlap v4.11-v5.2, kSortedStack
  // from v5.3 (4dbd258ff63e "iommu: Revisit iommu_insert_resv_region()
  // implementation").
  iova::ResvMergeAlgorithm resv_merge = iova::ResvMergeAlgorithm::kSortedStack;
  // iommu_group_show_resv_regions writes with sysfs_emit_at, so the file
  // stops at 4095 bytes (v6.4, c33fcc13ee0d "iommu: Use sysfs_emit() for
  // sysfs show"); before, unbounded sprintf.
  bool resv_sysfs_emit = true;
  // A device with an IOMMU_RESV_DIRECT region cannot take the blocking
  // domain: every DMA-ownership claim fails with EINVAL, "Firmware has
  // requested this device have a 1:1 IOMMU mapping, ..." (v6.6,
  // __iommu_device_set_domain, dev->iommu->require_direct), any vendor.
  bool core_require_direct = true;
  // VFIO claims DMA ownership of the whole group when the group joins a
  // container (VFIO_GROUP_SET_CONTAINER -> iommu_group_claim_dma_owner,
  // v5.19, 70693f470848 "vfio: Set DMA ownership for VFIO devices"), so an
  // IOMMU driver's refusal surfaces there. Before, the refusal came from
  // iommu_attach_group inside vfio_iommu_type1_attach_group, at
  // VFIO_SET_IOMMU for the first group.
  bool vfio_claim_dma_owner = true;
  // A lazy-invalidation DMA domain is its own type and its sysfs `type`
  // reads "DMA-FQ" (v5.15, 26225bea1d84 "iommu: Introduce explicit type for
  // non-strict DMA domains"); before, "DMA" either way.
  bool dma_fq_type = true;

  // --- Intel VT-d (drivers/iommu/intel/iommu.c)
  // USB (class 0x0c03) and display (0x03) RMRRs are reported as
  // IOMMU_RESV_DIRECT_RELAXABLE instead of DIRECT (v5.3, 1c5c59fbad20
  // "iommu/vt-d: Differentiate relaxable and non relaxable RMRRs").
  bool intel_relaxable_rmrr = true;
  // intel_iommu_attach_device refuses an UNMANAGED domain for an RMRR-locked
  // device with EPERM, "Device is ineligible for IOMMU domain attach due to
  // platform RMRR requirement.  Contact your platform vendor." (v3.17 through
  // v6.5; removed in v6.6 for the core rule above).
  bool intel_rmrr_attach_refused = false;
  // An RMRR whose scope names a bridge reaches every device below it, in
  // get_resv_regions and device_has_rmrr (v5.3, "iommu/vt-d: Handle RMRR with
  // PCI bridge device scopes", is_downstream_to_pci_bridge). Before, only the
  // device in the slot itself.
  bool intel_rmrr_via_bridge = true;
  // The ISA 0-16 MiB identity map is reported as a reserved region (v5.3,
  // d850c2ee5fe22 "iommu/vt-d: Expose ISA direct mapping region via
  // iommu_get_resv_regions"); before, the driver mapped it silently.
  bool intel_isa_resv_region = true;
  // CONFIG_INTEL_IOMMU_FLOPPY_WA: ISA bridges (class 0x0601) get
  // [0, 16 MiB) as DIRECT_RELAXABLE. def_bool y on x86; since the 2025
  // Kconfig fix (also taken into stable trees) only with BLK_DEV_FD, which
  // Debian builds as a module, so on for Debian kernels.
  bool intel_floppy_wa = true;
  IntelAperture intel_aperture = IntelAperture::kFixedAtAlloc;

  // --- AMD-Vi (drivers/iommu/amd/)
  // The HyperTransport window is skipped when EFR2 advertises
  // HT_RANGE_IGNORE (7.0 amd_iommu_ht_range_ignore; absent in 6.1).
  bool amd_ht_range_ignore = true;
  AmdAperture amd_aperture = AmdAperture::kHats;

  // --- VFIO type1 (drivers/vfio/vfio_iommu_type1.c)
  // The usable IOVA list: attach excludes reserved regions, MAP_DMA outside
  // it fails with EINVAL, GET_INFO reports the IOVA_RANGE capability (v5.4,
  // Shameer Kolothum's series "vfio/type1: check dma map request is within a
  // valid iova range"). Before it nothing is refused and a map over a
  // reserved region faults or corrupts at run time.
  bool type1_iova_list = true;
  // GET_INFO migration capability (v5.8, "vfio iommu: Add migration
  // capability to report supported features").
  bool type1_migration_cap = true;
  // GET_INFO DMA_AVAIL capability (v5.10, "vfio iommu: Add dma available
  // capability").
  bool type1_dma_avail_cap = true;
  // Capabilities padded to 8 bytes (iova cap at 72, not 68) and the info
  // struct copied back up to 24 bytes (v6.6, a881b496941f "vfio: align
  // capability structures").
  bool type1_caps_aligned = true;
  // MAP/UNMAP use inclusive ends: mappings may end at U64_MAX, wraps fail
  // with EOVERFLOW instead of EINVAL (v6.19, "vfio: handle DMA map/unmap up
  // to the addressable limit").
  bool type1_inclusive_end = true;
  // VFIO_SET_IOMMU accepts VFIO_TYPE1_NESTING_IOMMU (6); later kernels
  // answer ENODEV.
  bool type1_nesting = false;
  // MAP_DMA fails with ENOSPC once dma_entry_limit (default 65535) mappings
  // exist (v5.1, 492855939bdb "vfio/type1: Limit DMA mappings per
  // container", CVE-2019-3882; widely backported, e.g. RHEL 8's 4.18).
  bool type1_dma_entry_limit = true;
  // VFIO_DMA_UNMAP_FLAG_ALL and the VADDR flags of MAP/UNMAP (v5.12, Steve
  // Sistare's "vfio virtual address update" series); with them the
  // attach-time EBUSY while a vaddr is invalid and the EBUSY for VADDR
  // unmaps beside mdev groups (6.2 fixes, in 6.1.119 through stable).
  bool type1_vaddr_unmap_all = true;

  // --- iommufd (drivers/iommu/iommufd/, v6.2)
  bool iommufd = true;
};

struct KernelProfile {
  std::string name;  // "6.1", or "6.1+custom" after overrides
  KernelVersion version;
  KernelFeatures features;
  std::string summary;  // one line for people
};

// Mainline presets, oldest first: 4.18, 5.3, 5.4, 5.10, 6.1, 6.6, 6.12, 7.0;
// and "5.4-norelax", the seed report's kernel: the 2018 usable-IOVA-list
// series applied without the relaxable RMRR type (list on, relaxable off),
// which is also what a vendor kernel that backported one without the other
// does.
const std::vector<KernelProfile>& kernel_presets();
Result<KernelProfile> find_preset(std::string_view name);

// The flags mainline had at `version`.
KernelProfile profile_for_version(const KernelVersion& version);

// "--kernel X.Y": a preset name, else a version mapped by profile_for_version.
Result<KernelProfile> resolve_profile(std::string_view spec);

// Applies "flag=value" (value 0/1/true/false, or an enum name for the two
// aperture rules and resv_merge). Unknown flags are an error that lists the
// known ones.
Status apply_override(KernelProfile& profile, std::string_view assignment);

// Every flag with its current value, in declaration order, for reports.
std::vector<std::pair<std::string, std::string>> describe_features(const KernelFeatures& features);

}  // namespace iovakit::kernel
