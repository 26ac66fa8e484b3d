// iovakit/acpi/iort.h: the Arm IO Remapping Table (IORT).
//
// Design
// ------
// decode_iort() turns IORT bytes into plain records: the header fields, and
// every node (ITS group, named component, PCI root complex, SMMUv1/v2,
// SMMUv3, PMCG, RMR; unknown types kept as bare nodes) with its ID mappings
// and type-specific fields, each with its table offset. Layouts: Arm DEN 0049
// (issues D to E.f); ACPICA source/include/actbl2.h (ACPI_IORT_*); Linux
// drivers/acpi/arm64/iort.c; shared/reference/acpi-iommu-tables.md s.4.
//
// The table revision is recorded, not interpreted: Linux uses RMR nodes only
// from IORT revision 5 (E.d) on (iort_find_rmrs, v6.0+: "Only supports ARM
// DEN 0049E.d onwards"), which the linux layer decides. RMR descriptors keep
// their raw base and length (end-exclusive) plus the inclusive range when
// the length is non-zero; flags are decoded (bit 0 remapping permitted,
// bit 1 privileged, bits 9:2 access attributes, ACPI_IORT_RMR_*).
//
// Fields that only newer issues define are read only when the node's Length
// holds them (std::optional otherwise), because older tables are shorter.
//
// Walk and bounds. Nodes are found by the header's node count and node
// array offset, each node then by the previous one's length, as Linux's
// iort_scan_node does. decode_iort returns an Error when the node array
// offset is outside the table or inside its fixed part, when a node has
// length 0 or shorter than its 16-byte header, or passes the table end, or
// when fewer nodes fit than the count announces. Offsets inside a framed
// node (the ID mapping array, the RMR descriptor array) that point before
// the node's type-specific fields or past the node are findings, and the
// array is dropped; so are output references that do not name a node of the
// table, or that name the node itself (self-referential). Counts are bounded
// by the node length before anything is read, so a count of 2^32 costs
// nothing.
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

namespace iort_node {
inline constexpr std::uint8_t kItsGroup = 0;
inline constexpr std::uint8_t kNamedComponent = 1;
inline constexpr std::uint8_t kRootComplex = 2;
inline constexpr std::uint8_t kSmmu = 3;  // SMMUv1/v2
inline constexpr std::uint8_t kSmmuV3 = 4;
inline constexpr std::uint8_t kPmcg = 5;
inline constexpr std::uint8_t kRmr = 6;
inline constexpr std::uint8_t kIwb = 7;  // E.g interrupt wire bridge: kept as a bare node
}  // namespace iort_node

// "its-group", "named-component", "root-complex", "smmu", "smmu-v3", "pmcg", "rmr", "iwb", "unknown".
std::string_view iort_node_name(std::uint8_t type);

struct IdMapping {
  std::size_t offset = 0;
  std::uint32_t input_base = 0;
  std::uint32_t id_count = 0;  // number of IDs minus one, as in the table
  std::uint32_t output_base = 0;
  std::uint32_t output_reference = 0;  // table offset of the output node
  std::uint32_t flags = 0;             // bit 0: single mapping
  [[nodiscard]] bool single() const { return (flags & 0x1U) != 0; }
};

// Memory access properties (named component and root complex).
struct MemoryAccess {
  std::uint32_t cache_coherency = 0;  // 1 = fully coherent
  std::uint8_t hints = 0;
  std::uint16_t reserved = 0;
  std::uint8_t flags = 0;  // b0 CPM, b1 DACS, b2 CANWBS (E.f)
};

struct ItsGroup {
  std::vector<std::uint32_t> its_ids;
};

struct NamedComponent {
  std::uint32_t node_flags = 0;
  MemoryAccess memory;
  std::uint8_t address_size_limit = 0;
  std::string name;  // up to the first NUL
};

struct RootComplex {
  MemoryAccess memory;
  std::uint32_t ats_attribute = 0;
  std::uint32_t segment = 0;
  std::uint8_t address_size_limit = 0;
  std::optional<std::uint16_t> pasid_capabilities;  // node length >= 0x23
  std::optional<std::uint32_t> flags;               // node length >= 0x28
};

struct Smmu {  // SMMUv1/v2
  std::uint64_t base = 0;
  std::uint64_t span = 0;
  std::uint32_t model = 0;  // 0 v1, 1 v2, 2 MMU-400, 3 MMU-500, 4 MMU-401, 5 Cavium ThunderX
  std::uint32_t flags = 0;
  std::uint32_t global_interrupt_offset = 0;
  std::uint32_t context_interrupt_count = 0;
  std::uint32_t context_interrupt_offset = 0;
  std::uint32_t pmu_interrupt_count = 0;
  std::uint32_t pmu_interrupt_offset = 0;
};

struct SmmuV3 {
  std::uint64_t base = 0;
  std::uint32_t flags = 0;
  std::uint64_t vatos = 0;
  std::uint32_t model = 0;  // 0 generic, 1 HiSilicon Hi161x, 2 Cavium CN99xx
  std::uint32_t event_gsiv = 0;
  std::uint32_t pri_gsiv = 0;
  std::uint32_t gerr_gsiv = 0;
  std::uint32_t sync_gsiv = 0;
  std::optional<std::uint32_t> proximity_domain;         // node length >= 0x40
  std::optional<std::uint32_t> device_id_mapping_index;  // node length >= 0x44
};

struct Pmcg {
  std::uint64_t page0_base = 0;
  std::uint32_t overflow_gsiv = 0;
  std::uint32_t node_reference = 0;
  std::optional<std::uint64_t> page1_base;  // node length >= 0x28
};

struct RmrDescriptor {
  std::size_t offset = 0;
  std::uint64_t base = 0;
  std::uint64_t length = 0;  // bytes; end = base + length (exclusive)
  std::uint32_t reserved = 0;
  // [base, base + length - 1] when length > 0 and it does not pass 2^64.
  [[nodiscard]] std::optional<iova::Range> range() const;
};

struct Rmr {
  std::uint32_t flags = 0;
  std::uint32_t descriptor_count = 0;
  std::uint32_t descriptor_offset = 0;  // from the node start
  std::vector<RmrDescriptor> descriptors;

  [[nodiscard]] bool remapping_permitted() const { return (flags & 0x1U) != 0; }
  [[nodiscard]] bool privileged() const { return (flags & 0x2U) != 0; }
  [[nodiscard]] unsigned access_attributes() const { return (flags >> 2) & 0xffU; }
};

struct IortNode {
  std::size_t offset = 0;
  std::uint8_t type = 0;
  std::uint16_t length = 0;
  std::uint8_t revision = 0;
  std::uint32_t identifier = 0;  // "Reserved" in revision-0 tables
  std::uint32_t mapping_count = 0;
  std::uint32_t mapping_offset = 0;  // from the node start
  std::vector<IdMapping> mappings;

  // Exactly one of these is set, by type (none for unknown types).
  std::optional<ItsGroup> its_group;
  std::optional<NamedComponent> named_component;
  std::optional<RootComplex> root_complex;
  std::optional<Smmu> smmu;
  std::optional<SmmuV3> smmu_v3;
  std::optional<Pmcg> pmcg;
  std::optional<Rmr> rmr;
};

struct Iort {
  TableHeader header;
  std::uint32_t node_count = 0;
  std::uint32_t node_offset = 0;
  std::uint32_t reserved = 0;
  std::vector<IortNode> nodes;
  std::vector<Finding> findings;

  // The node starting at table offset `offset`, if any.
  [[nodiscard]] const IortNode* node_at(std::size_t offset) const;
};

inline constexpr std::size_t kIortFixedSize = 48;
inline constexpr std::size_t kIortNodeHeaderSize = 16;

Result<Iort> decode_iort(std::span<const std::uint8_t> bytes);

}  // namespace iovakit::acpi
