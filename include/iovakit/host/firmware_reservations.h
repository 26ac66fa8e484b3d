// iovakit/host/firmware_reservations.h: which firmware reservation names which
// device, and through what.
//
// Design
// ------
// The tables reserve memory for devices named in the tables' own terms: DMAR
// RMRRs by device-scope paths, IVRS IVMDs by 16-bit device IDs, IORT RMRs by
// StreamIDs behind an SMMU. This joins each reservation to the host's devices,
// recording the table, the structure's index and byte offset, the range as
// the table states it, and how the device was reached. It decides nothing:
// whether a region is `direct` or `direct-relaxable`, page alignment, which
// kernel version ignores what, all stay with the kernel model, which can
// start from these records.
//
//   RMRR  pci::resolve_unit() over the topology: the kernel's
//         dmar_insert_dev_scope / dmar_match_pci_path (exact path, or the
//         one-element fallback with its "[Firmware Bug]" log line) plus
//         is_downstream_to_pci_bridge for bridge slots (devices below are
//         reached "via" the bridge). Scope type mismatches and scopes that
//         match no device are listed as notes.
//   IVMD  the devid range the block names (0x20 all, 0x21 one, 0x22 a range)
//         against each PCI function's own requester ID (bus << 8 | devfn) in
//         the IVMD's segment (the word at offset 8; Linux reads it from 5.19,
//         earlier kernels use segment 0). amd_iommu_get_resv_regions compares
//         the device's own devid (drivers/iommu/amd/iommu.c, 6.1). Blocks
//         without the unity or exclusion flag are listed too, marked, since
//         init_memory_definitions skips them.
//   RMR   for a PCI function: the root complex node of its segment maps its
//         requester ID to a StreamID and an output node (iort_node_map_id,
//         drivers/acpi/arm64/iort.c); when that node is an SMMU, every RMR
//         node with an ID mapping to the same SMMU whose output range
//         [output_base, output_base + id_count] holds the StreamID reserves
//         its descriptors for the device. For a group member that is an ACPI
//         platform device, the named component whose name equals the
//         member's ACPI path is used the same way. Linux uses RMR nodes only
//         from IORT revision 5 (iort_find_rmrs, 6.0+); the record says when
//         the table is older.
//
// Complexity: O(devices x structures). Thread safety: pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/iova/range.h"

namespace iovakit::host {

struct Host;

enum class ReservationKind : std::uint8_t { kRmrr, kIvmd, kRmr };
// "RMRR", "IVMD", "RMR".
std::string_view reservation_kind_name(ReservationKind kind);

enum class ReservationMatch : std::uint8_t {
  kScopeExact,     // an RMRR scope's path equals the device's path (dmar_match_pci_path)
  kScopeFallback,  // the one-element "[Firmware Bug]" workaround matched
  kViaBridge,      // the device is below a bridge an RMRR scope slotted
  kIvmdDevid,      // the IVMD's devid range holds the device's requester ID
  kRmrStreamId,    // an RMR's StreamID range holds the device's StreamID
};
// "exact-path", "fallback-path", "via-bridge", "devid", "stream-id".
std::string_view reservation_match_name(ReservationMatch match);

struct FirmwareReservation {
  ReservationKind kind = ReservationKind::kRmrr;
  ReservationMatch match = ReservationMatch::kScopeExact;
  std::optional<std::size_t> device;  // index into Host::devices, for PCI functions
  std::string member;                 // "0000:00:14.0", or a platform device's group member name
  std::optional<unsigned> group;      // the platform device's IOMMU group
  std::string table;                  // the table's source path
  std::size_t index = 0;              // RMRR #i / IVMD #i / RMR node #i, table order, 0-based
  std::size_t offset = 0;             // the structure's byte offset in the table
  std::uint64_t base = 0;             // as the table states it
  std::uint64_t end_or_length = 0;    // RMRR: inclusive end; IVMD/RMR: length in bytes
  std::optional<iova::Range> range;   // inclusive, when it covers something
  std::uint32_t flags = 0;            // IVMD flags / RMR node flags
  std::optional<std::size_t> via;     // the slot device (a bridge) for kViaBridge
  std::string how;                    // one line: "endpoint scope 00:14.0, exact path"
  std::string note;                   // kernel-relevant remark, or empty
};

struct ReservationMap {
  std::vector<FirmwareReservation> reservations;  // by table, structure, then device
  std::vector<std::string> notes;                 // scopes and devids that name no device, mismatches
  std::vector<std::string> kernel_log;            // lines the scope walk predicts ("DMAR: [Firmware Bug]...")
};

ReservationMap map_firmware_reservations(const Host& host);

}  // namespace iovakit::host
