// iovakit/host/iommu_units.h: the IOMMU hardware units sysfs lists, with their
// capability registers decoded.
//
// Design
// ------
// Every IOMMU driver registers its units in the "iommu" class
// (drivers/iommu/iommu-sysfs.c iommu_device_sysfs_add), so
// sys/class/iommu/<name> is a link to the unit's device directory, which has
// `devices/` (links to the devices it translates, iommu_device_link) and a
// driver-specific attribute group:
//   Intel VT-d  "dmar<N>" under sys/devices/virtual/iommu/ (no parent), group
//               intel-iommu/: cap, ecap ("%llx\n"), version ("%d:%d\n"),
//               address ("%llx\n"), domains_supported, domains_used
//               (drivers/iommu/intel/iommu.c intel_iommu_groups, 6.1 and 7.0).
//   AMD-Vi      "ivhd<N>" below the IOMMU's own PCI function, group
//               amd-iommu/: cap ("%x\n", the capability header dword),
//               features: "%llx\n" (EFR) in the kernels that predate EFR2;
//               two values "a:b" since EFR2 support, in an order that changed
//               once (features2:features when EFR2 arrived, amd_iommu_efr:
//               amd_iommu_efr2 after the global-EFR rework); iovakit tells the
//               EFR from the IVRS IVHD's EFR image when it can (host.cpp),
//               never by guessing (drivers/iommu/amd/init.c).
//   Arm SMMUv3  "smmu3.0x<base>" (arm-smmu-v3.c, "smmu3.%pa"); SMMUv1/v2
//               "smmu.0x<base>" (arm-smmu.c, "smmu.%pa"); no attribute group.
//   virtio      "virtio<N>" (virtio-iommu.c, virtio_bus_name()); no group.
//
// Decoding is plain register arithmetic, the kernel's macros
// (drivers/iommu/intel/iommu.h cap_* / ecap_*, same in 6.1 and 7.0;
// drivers/iommu/amd/amd_iommu_types.h FEATURE_*); which aperture a domain
// gets from these fields is kernel policy and belongs to the kernel model.
//
// Complexity: O(units + their devices). Thread safety: one FileSource.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/host/file_source.h"
#include "iovakit/result.h"

namespace iovakit::host {

enum class UnitKind : std::uint8_t { kIntel, kAmd, kArmSmmuV3, kArmSmmu, kVirtio, kUnknown };

// "intel-vtd", "amd-vi", "arm-smmu-v3", "arm-smmu", "virtio-iommu", "unknown".
std::string_view unit_kind_name(UnitKind kind);

// VT-d Capability and Extended Capability registers.
struct IntelCapabilities {
  std::uint64_t cap = 0;
  std::uint64_t ecap = 0;

  // cap_mgaw: ((cap >> 16) & 0x3f) + 1, the maximum guest address width.
  [[nodiscard]] unsigned mgaw() const { return static_cast<unsigned>((cap >> 16U) & 0x3fU) + 1; }
  // cap_sagaw: (cap >> 8) & 0x1f; bit n set means a 30 + 9n bit width.
  [[nodiscard]] unsigned sagaw() const { return static_cast<unsigned>((cap >> 8U) & 0x1fU); }
  // The widths sagaw advertises, ascending: {39, 48} for bits 1 and 2.
  [[nodiscard]] std::vector<unsigned> sagaw_widths() const;
  [[nodiscard]] bool caching_mode() const { return ((cap >> 7U) & 1U) != 0; }  // cap_caching_mode
  [[nodiscard]] unsigned super_pages() const { return (cap >> 34U) & 0xfU; }   // cap_super_page_val
  [[nodiscard]] bool fl1gp() const { return ((cap >> 56U) & 1U) != 0; }        // cap_fl1gp_support
  [[nodiscard]] bool fl5lp() const { return ((cap >> 60U) & 1U) != 0; }        // cap_fl5lp_support
  [[nodiscard]] unsigned domain_id_bits() const { return 4 + 2 * static_cast<unsigned>(cap & 0x7U); }  // cap_ndoms
  [[nodiscard]] bool coherent() const { return (ecap & 1U) != 0; }                                     // ecap_coherent
  [[nodiscard]] bool queued_invalidation() const { return ((ecap >> 1U) & 1U) != 0; }                  // ecap_qis
  [[nodiscard]] bool interrupt_remapping() const { return ((ecap >> 3U) & 1U) != 0; }  // ecap_ir_support
  [[nodiscard]] bool pass_through() const { return ((ecap >> 6U) & 1U) != 0; }         // ecap_pass_through
  [[nodiscard]] bool nested() const { return ((ecap >> 26U) & 1U) != 0; }              // ecap_nest
  [[nodiscard]] bool pasid() const { return ((ecap >> 40U) & 1U) != 0; }               // ecap_pasid
  [[nodiscard]] bool scalable_mode() const { return ((ecap >> 43U) & 1U) != 0; }       // ecap_smts
  [[nodiscard]] bool second_level() const { return ((ecap >> 46U) & 1U) != 0; }        // ecap_slts
  [[nodiscard]] bool first_level() const { return ((ecap >> 47U) & 1U) != 0; }         // ecap_flts

  friend bool operator==(const IntelCapabilities&, const IntelCapabilities&) = default;
};

// AMD IOMMU Extended Feature Register bits (amd_iommu_types.h FEATURE_*).
struct AmdFeatures {
  std::uint32_t cap = 0;              // amd-iommu/cap
  std::string features_text;          // amd-iommu/features as read
  std::vector<std::uint64_t> values;  // the one or two hex values it holds
  std::optional<std::uint64_t> efr;   // known when the file has one value, or IVRS says which
  std::optional<std::uint64_t> efr2;

  // FEATURE_HATS, bits 11:10: host page-table levels 4 + hats (0: 48-bit, 1: 57, 2: 64).
  [[nodiscard]] std::optional<unsigned> hats() const;
  // FEATURE_GATS, bits 13:12; FEATURE_PASMAX, bits 36:32.
  [[nodiscard]] std::optional<unsigned> gats() const;
  [[nodiscard]] std::optional<unsigned> pasmax() const;
  // FEATURE_GT bit 4 (guest translation), FEATURE_PPR bit 1, FEATURE_GA bit 7.
  [[nodiscard]] std::optional<bool> guest_translation() const;

  friend bool operator==(const AmdFeatures&, const AmdFeatures&) = default;
};

struct IommuUnit {
  std::string name;        // "dmar0", "ivhd0", "smmu3.0x000000000b010000", "virtio0"
  std::string sysfs_path;  // resolved device directory, root-relative
  UnitKind kind = UnitKind::kUnknown;
  std::string parent;                // the directory above ".../iommu/<name>" ("sys/devices/pci0000:00/0000:00:00.2")
  std::vector<std::string> devices;  // entries of devices/, sorted
  std::optional<IntelCapabilities> intel;
  std::optional<std::string> intel_version;    // "1:0"
  std::optional<std::uint64_t> intel_address;  // register base
  std::optional<AmdFeatures> amd;

  friend bool operator==(const IommuUnit&, const IommuUnit&) = default;
};

std::vector<IommuUnit> read_iommu_units(const FileSource& source, std::vector<Error>& issues);

// "d2008c22260286\n" -> value; nullopt unless 1-16 hex digits (an optional 0x).
std::optional<std::uint64_t> parse_register_hex(std::string_view text);

}  // namespace iovakit::host
