// iovakit/acpi/dmar.h: the Intel VT-d DMA Remapping Reporting table (DMAR).
//
// Design
// ------
// decode_dmar() turns the bytes of a DMAR table into plain records, one
// vector per remapping-structure type, each record carrying the byte offset
// of its structure so that later layers can say "RMRR #2 at offset 0x58".
// Layouts: VT-d spec chapter 8; ACPICA source/include/actbl1.h
// (ACPI_TABLE_DMAR, ACPI_DMAR_*); shared/reference/acpi-iommu-tables.md s.2.
//
// The layer decodes; it does not decide. Device scopes keep their raw start
// bus and (device, function) path, because turning a path into a B:D.F needs
// the live bridge topology (the pci layer; Linux dmar_match_pci_path). The
// Linux RMRR sanity rules (drivers/iommu/intel/iommu.c rmrr_sanity_check;
// the "bad RMRR" report exists from v5.5 and is unchanged in 6.1 and 7.0,
// linux-iommu-semantics.md s.6.1) are recorded per RMRR and as findings,
// never applied: Linux uses a bad RMRR all the same.
//
// Walk and bounds. The structures are walked as Linux's
// dmar_walk_remapping_entries (drivers/iommu/intel/dmar.c, as in 6.1 and
// 7.0) does: {u16 type, u16 length} headers back to back until the table's
// Length. Where Linux stops or fails, decode_dmar returns an Error naming the
// offset:
//   - a structure of length 0 (6.1/7.0: pr_debug "Invalid 0-length
//     structure" and the walk stops; the 3.x parse_dmar_table warned and
//     failed with -EINVAL);
//   - a structure shorter than its 4-byte header, or passing the table end
//     (Linux: "Record passes table end", -EINVAL).
// Inside a well-framed structure, problems are findings and decoding goes
// on with the next structure, which the structure's length locates safely:
// a structure shorter than its type's fixed part, a device scope whose
// length is below 6 or runs past its structure (the rest of that
// structure's scopes are dropped), an odd path length, an unknown scope or
// structure type (skipped by length; Linux: "Unknown DMAR structure type",
// forward compatibility). Every loop advances by at least the 4-byte header
// or the 6-byte scope header, so decoding is linear in the table size.
//
// Thread safety: plain values and a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/acpi/table_header.h"
#include "iovakit/iova/range.h"
#include "iovakit/result.h"

namespace iovakit::acpi {

// Remapping structure types (ACPI_DMAR_TYPE_*).
namespace dmar_type {
inline constexpr std::uint16_t kDrhd = 0;
inline constexpr std::uint16_t kRmrr = 1;
inline constexpr std::uint16_t kAtsr = 2;
inline constexpr std::uint16_t kRhsa = 3;
inline constexpr std::uint16_t kAndd = 4;
inline constexpr std::uint16_t kSatc = 5;
inline constexpr std::uint16_t kSidp = 6;
}  // namespace dmar_type

// Device scope entry types (ACPI_DMAR_SCOPE_TYPE_*).
namespace scope_type {
inline constexpr std::uint8_t kEndpoint = 1;   // PCI endpoint
inline constexpr std::uint8_t kBridge = 2;     // PCI sub-hierarchy: the bridge and all below it
inline constexpr std::uint8_t kIoapic = 3;     // enumeration id = I/O APIC id
inline constexpr std::uint8_t kHpet = 4;       // enumeration id = HPET number
inline constexpr std::uint8_t kNamespace = 5;  // enumeration id = ANDD device number
}  // namespace scope_type

// "endpoint", "bridge", "ioapic", "hpet", "acpi-namespace", "reserved".
std::string_view scope_type_name(std::uint8_t type);
// "DRHD", "RMRR", "ATSR", "RHSA", "ANDD", "SATC", "SIDP", "unknown".
std::string_view dmar_type_name(std::uint16_t type);

struct PathElement {
  std::uint8_t device = 0;
  std::uint8_t function = 0;
  friend bool operator==(const PathElement&, const PathElement&) = default;
};

struct DeviceScope {
  std::size_t offset = 0;  // of the scope entry in the table
  std::uint8_t type = 0;
  std::uint8_t length = 0;
  std::uint8_t flags = 0;  // byte 2: reserved in older specs, SIDP properties in VT-d 4.1+
  std::uint8_t reserved = 0;
  std::uint8_t enumeration_id = 0;
  std::uint8_t start_bus = 0;
  std::vector<PathElement> path;  // (length - 6) / 2 hops, root-most first

  // "00:1c.4/00.2": start bus, then each hop's device.function.
  [[nodiscard]] std::string path_string() const;
};

struct Drhd {
  std::size_t offset = 0;
  std::size_t index = 0;  // 0-based among DRHDs, table order
  std::uint8_t flags = 0;
  std::uint8_t size = 0;  // bits 3:0: register set is 2^N 4-KiB pages (0 in older tables)
  std::uint16_t segment = 0;
  std::uint64_t register_base = 0;
  std::vector<DeviceScope> scopes;

  static constexpr std::uint8_t kIncludePciAll = 0x01;
  [[nodiscard]] bool include_pci_all() const { return (flags & kIncludePciAll) != 0; }
  // Register set size in bytes: 4 KiB << (size & 0xf).
  [[nodiscard]] std::uint64_t register_set_bytes() const { return std::uint64_t{4096} << (size & 0x0fU); }
};

// Linux rmrr_sanity_check (drivers/iommu/intel/iommu.c, v5.5-7.x) without
// the e820 part (arch_rmrr_sanity_check needs the host's memory map).
struct RmrrSanity {
  bool base_unaligned = false;      // base not 4-KiB aligned
  bool end_unaligned = false;       // end + 1 not 4-KiB aligned
  bool end_not_above_base = false;  // end <= base
  [[nodiscard]] bool ok() const { return !base_unaligned && !end_unaligned && !end_not_above_base; }
};

struct Rmrr {
  std::size_t offset = 0;
  std::size_t index = 0;       // 0-based among RMRRs, table order
  std::uint16_t reserved = 0;  // bytes 4-5 (ACPICA names bit 0 ACPI_DMAR_ALLOW_ALL)
  std::uint16_t segment = 0;
  std::uint64_t base = 0;
  std::uint64_t end = 0;  // inclusive, as in the table
  std::vector<DeviceScope> scopes;
  RmrrSanity sanity;

  // [base, end] when end >= base.
  [[nodiscard]] std::optional<iova::Range> range() const;
};

struct Atsr {
  std::size_t offset = 0;
  std::uint8_t flags = 0;  // bit 0 ALL_PORTS
  std::uint16_t segment = 0;
  std::vector<DeviceScope> scopes;
  [[nodiscard]] bool all_ports() const { return (flags & 0x01U) != 0; }
};

struct Rhsa {
  std::size_t offset = 0;
  std::uint64_t register_base = 0;
  std::uint32_t proximity_domain = 0;
};

struct Andd {
  std::size_t offset = 0;
  std::uint8_t device_number = 0;  // matched by a type-5 scope's enumeration id
  std::string name;                // up to the first NUL
  bool nul_terminated = false;     // Linux rejects a name without NUL inside Length
};

struct Satc {
  std::size_t offset = 0;
  std::uint8_t flags = 0;  // bit 0 ATC_REQUIRED
  std::uint16_t segment = 0;
  std::vector<DeviceScope> scopes;
  [[nodiscard]] bool atc_required() const { return (flags & 0x01U) != 0; }
};

struct Sidp {
  std::size_t offset = 0;
  std::uint16_t reserved = 0;
  std::uint16_t segment = 0;
  std::vector<DeviceScope> scopes;
};

// A structure of a type this decoder does not know, skipped by its length.
struct UnknownStructure {
  std::size_t offset = 0;
  std::uint16_t type = 0;
  std::uint16_t length = 0;
};

struct Dmar {
  TableHeader header;
  std::uint8_t width = 0;  // the raw byte: host address width - 1
  std::uint8_t flags = 0;  // b0 INTR_REMAP, b1 X2APIC_OPT_OUT, b2 DMA_CTRL_PLATFORM_OPT_IN
  std::vector<Drhd> drhds;
  std::vector<Rmrr> rmrrs;
  std::vector<Atsr> atsrs;
  std::vector<Rhsa> rhsas;
  std::vector<Andd> andds;
  std::vector<Satc> satcs;
  std::vector<Sidp> sidps;
  std::vector<UnknownStructure> unknown;
  std::vector<Finding> findings;

  // What Linux prints as "Host address width N".
  [[nodiscard]] unsigned host_address_width() const { return unsigned{width} + 1; }
  [[nodiscard]] bool intr_remap() const { return (flags & 0x01U) != 0; }
  [[nodiscard]] bool x2apic_opt_out() const { return (flags & 0x02U) != 0; }
  [[nodiscard]] bool dma_ctrl_platform_opt_in() const { return (flags & 0x04U) != 0; }
};

inline constexpr std::size_t kDmarFixedSize = 48;

// Decodes a DMAR table (see the design comment for what is an Error and
// what a Finding). Error locations carry the byte offset; the caller adds the
// file name with Error::in_source.
Result<Dmar> decode_dmar(std::span<const std::uint8_t> bytes);

}  // namespace iovakit::acpi
