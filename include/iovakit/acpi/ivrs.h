// iovakit/acpi/ivrs.h: the AMD I/O Virtualization Reporting Structure (IVRS).
//
// Design
// ------
// decode_ivrs() turns IVRS bytes into plain records: IVinfo, every IVHD
// (types 0x10, 0x11, 0x40) with its device entries, every IVMD (0x20, 0x21,
// 0x22), and the blocks of unknown type, each with its table offset.
// Layouts: AMD I/O Virtualization Technology (IOMMU) Specification, IVRS
// chapter; ACPICA source/include/actbl2.h (ACPI_IVRS_*); Linux
// drivers/iommu/amd/init.c (struct ivhd_header, ivhd_entry, ivmd_header);
// shared/reference/acpi-iommu-tables.md s.3.
//
// IVMD ranges are kept exactly as the table has them (start, length, the
// reserved field), plus the inclusive range [start, start + length - 1] when
// the length is non-zero and does not wrap. What Linux makes of them
// (init_unity_map_range: PAGE_ALIGN both, exclusion ranges become r/w unity
// maps, only flags UNITY|EXCL are used) is kernel policy for the linux layer.
// The 16-bit word at IVMD offset 8, reserved in older specs, is `segment`:
// Linux >= 5.19 reads it as ivmd_header.pci_seg.
//
// Walk and bounds. Blocks are {u8 type, u8 flags, u16 length} walked back to
// back until Length, as init_memory_definitions / init_iommu_all do. Linux
// has no guard against a zero length there (p += h->length loops forever);
// decode_ivrs returns an Error for a block of length 0, a block shorter than
// its 4-byte header, or one that passes the table end. Inside a framed
// block everything else is a Finding and decoding continues:
//   - an unknown block type (real Lenovo tables carry 0x51) is skipped by
//     its length;
//   - an IVHD or IVMD shorter than its fixed part is skipped;
//   - device entries are sized by their type's top two bits (00: 4 bytes,
//     01: 8, 10: 16, 11: 32, AMD spec "IVHD device entry" table) except the
//     variable-length 0xF0 (22 + UID length). Linux's ivhd_entry_length
//     returns 0 for types >= 0x80 other than 0xF0, which would stall its own
//     walk; we follow the spec and report the entry. An entry that runs past
//     its IVHD ends that IVHD's entry list (the IVHD length still frames the
//     next block);
//   - an IVMD whose length is not a multiple of 4 KiB (MECHREVO tables have
//     length 1), or that wraps past 2^64, or whose device range is reversed.
// Every loop advances by at least 4 bytes, so decoding is linear.
//
// expand_device_entries() turns one IVHD's entries into the per-devid view
// the AMD model needs (settings, aliases, special devices), the way
// init_iommu_from_acpi walks them; ranges stay ranges (a type-1 ALL entry
// covers 65536 devids).
//
// Thread safety: plain values and pure functions.
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

namespace ivrs_type {
inline constexpr std::uint8_t kIvhd10 = 0x10;
inline constexpr std::uint8_t kIvhd11 = 0x11;
inline constexpr std::uint8_t kIvhd40 = 0x40;
inline constexpr std::uint8_t kIvmdAll = 0x20;
inline constexpr std::uint8_t kIvmdSelect = 0x21;
inline constexpr std::uint8_t kIvmdRange = 0x22;
}  // namespace ivrs_type

// IVHD device entry types (Linux IVHD_DEV_*).
namespace ivhd_entry {
inline constexpr std::uint8_t kPad4 = 0x00;
inline constexpr std::uint8_t kAll = 0x01;
inline constexpr std::uint8_t kSelect = 0x02;
inline constexpr std::uint8_t kRangeStart = 0x03;
inline constexpr std::uint8_t kRangeEnd = 0x04;
inline constexpr std::uint8_t kPad8 = 0x40;
inline constexpr std::uint8_t kAliasSelect = 0x42;
inline constexpr std::uint8_t kAliasRange = 0x43;
inline constexpr std::uint8_t kExtSelect = 0x46;
inline constexpr std::uint8_t kExtRange = 0x47;
inline constexpr std::uint8_t kSpecial = 0x48;
inline constexpr std::uint8_t kAcpiHid = 0xf0;
}  // namespace ivhd_entry

// "select", "range-start", "alias-range", "special", "acpi-hid", ... or "unknown".
std::string_view ivhd_entry_name(std::uint8_t type);
// "IVHD", "IVMD" or "unknown".
std::string_view ivrs_block_name(std::uint8_t type);
// "00:14.0" for a 16-bit devid (bus << 8 | device << 3 | function).
std::string devid_string(std::uint16_t devid);

struct IvInfo {
  std::uint32_t raw = 0;
  [[nodiscard]] bool efr_sup() const { return (raw & 0x1U) != 0; }
  [[nodiscard]] bool dma_remap() const { return (raw & 0x2U) != 0; }
  [[nodiscard]] unsigned gva_size() const { return (raw >> 5) & 0x7U; }
  [[nodiscard]] unsigned pa_size() const { return (raw >> 8) & 0x7fU; }
  [[nodiscard]] unsigned va_size() const { return (raw >> 15) & 0x7fU; }
  [[nodiscard]] bool ht_ats_reserved() const { return ((raw >> 22) & 0x1U) != 0; }
};

struct IvhdEntry {
  std::size_t offset = 0;
  std::uint8_t type = 0;
  std::size_t length = 0;  // bytes, from the type (or 22 + UID length)
  std::uint16_t devid = 0;
  std::uint8_t setting = 0;  // DTE setting byte: b0 INITPass, b1 EIntPass, b2 NMIPass, b5:4 SysMgt, b6 Lint0, b7 Lint1
  // 0x42/0x43: the alias devid (@5); 0x48: the source devid (@5).
  std::uint16_t used_devid = 0;
  std::uint32_t ext_setting = 0;  // 0x46/0x47 (@4)
  std::uint8_t handle = 0;        // 0x48: IOAPIC id or HPET number (@4)
  std::uint8_t variety = 0;       // 0x48: 1 IOAPIC, 2 HPET (@7)
  std::string hid;                // 0xF0: 8 raw bytes
  std::string cid;                // 0xF0: 8 raw bytes
  std::uint8_t uid_format = 0;    // 0xF0: 0 none, 1 integer, 2 string
  std::uint8_t uid_length = 0;
  std::string uid;  // 0xF0: raw UID bytes
};

struct Ivhd {
  std::size_t offset = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint16_t length = 0;
  std::uint16_t devid = 0;  // the IOMMU's own PCI function
  std::uint16_t capability_offset = 0;
  std::uint64_t base = 0;
  std::uint16_t segment = 0;
  std::uint16_t info = 0;             // b4:0 MSI number, b12:8 UnitID
  std::uint32_t attributes = 0;       // 0x10: IOMMU feature reporting; 0x11/0x40: IOMMU attributes
  std::optional<std::uint64_t> efr;   // 0x11/0x40: EFR register image
  std::optional<std::uint64_t> efr2;  // 0x11/0x40: EFR2 image (reserved in older specs)
  std::vector<IvhdEntry> entries;

  [[nodiscard]] std::size_t header_size() const { return type == ivrs_type::kIvhd10 ? 24 : 40; }
};

struct Ivmd {
  std::size_t offset = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint16_t length = 0;
  std::uint16_t devid = 0;
  std::uint16_t aux = 0;       // 0x22: last devid of the range
  std::uint64_t reserved = 0;  // the 8 bytes at offset 8, raw
  std::uint64_t start = 0;     // IVMD start address, raw
  std::uint64_t size = 0;      // IVMD memory block length, raw; end = start + size (exclusive)

  static constexpr std::uint8_t kUnity = 0x01;
  static constexpr std::uint8_t kRead = 0x02;
  static constexpr std::uint8_t kWrite = 0x04;
  static constexpr std::uint8_t kExclusion = 0x08;
  [[nodiscard]] bool unity() const { return (flags & kUnity) != 0; }
  [[nodiscard]] bool read() const { return (flags & kRead) != 0; }
  [[nodiscard]] bool write() const { return (flags & kWrite) != 0; }
  [[nodiscard]] bool exclusion() const { return (flags & kExclusion) != 0; }
  // Linux >= 5.19 (ivmd_header.pci_seg): the low 16 bits of `reserved`.
  [[nodiscard]] std::uint16_t segment() const { return static_cast<std::uint16_t>(reserved); }
  // [start, start + size - 1] when size > 0 and it does not pass 2^64.
  [[nodiscard]] std::optional<iova::Range> range() const;
  // The devids the block names: 0x20 all (0-0xffff), 0x21 devid, 0x22 devid-aux.
  [[nodiscard]] std::uint16_t first_devid() const;
  [[nodiscard]] std::uint16_t last_devid() const;
};

struct UnknownBlock {
  std::size_t offset = 0;
  std::uint8_t type = 0;
  std::uint16_t length = 0;
};

struct Ivrs {
  TableHeader header;
  IvInfo ivinfo;
  std::uint64_t reserved = 0;  // bytes 0x28-0x2f
  std::vector<Ivhd> ivhds;
  std::vector<Ivmd> ivmds;
  std::vector<UnknownBlock> unknown;
  std::vector<Finding> findings;
};

inline constexpr std::size_t kIvrsFixedSize = 48;

Result<Ivrs> decode_ivrs(std::span<const std::uint8_t> bytes);

// One IVHD's device entries as devid ranges (init_iommu_from_acpi,
// drivers/iommu/amd/init.c, as in 6.1 and 7.0): select and range entries give a DTE
// setting, alias entries also a requester-id alias, extended entries an
// extended setting. A range opened by 0x03/0x43/0x47 closes at the next 0x04.
struct DevidRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  std::uint8_t setting = 0;
  std::optional<std::uint16_t> alias;
  std::optional<std::uint32_t> ext_setting;
  std::size_t offset = 0;  // of the entry that opened the range
};

struct SpecialDevice {
  std::uint8_t variety = 0;  // 1 IOAPIC, 2 HPET
  std::uint8_t handle = 0;
  std::uint16_t devid = 0;  // the source devid used for its interrupts
  std::size_t offset = 0;
};

struct AcpiHidDevice {
  std::string hid;
  std::string uid;
  std::uint16_t devid = 0;
  std::size_t offset = 0;
};

struct DeviceMap {
  std::vector<DevidRange> ranges;  // table order; a later entry overrides an earlier one for the same devid
  std::vector<SpecialDevice> specials;
  std::vector<AcpiHidDevice> acpi_devices;
  std::vector<Finding> findings;  // a range left open, an end without a start

  // The entry that applies to `devid` (the last one covering it), if any.
  [[nodiscard]] const DevidRange* find(std::uint16_t devid) const;
};

DeviceMap expand_device_entries(const Ivhd& ivhd);

}  // namespace iovakit::acpi
