// iovakit/acpi/table_input.h: finding DMAR, IVRS and IORT tables in inputs.
//
// Design
// ------
// Users bring firmware tables in three forms, and this is the one place that
// tells them apart:
//   - a binary table (`acpidump -b`, `/sys/firmware/acpi/tables/DMAR`, a
//     corpus `.dat`): the bytes start with the 4-byte signature;
//   - `acpidump` text output, possibly holding every table of the machine
//     (see acpidump_text.h); the IOMMU tables are picked out of it;
//   - a folder of binary tables such as /sys/firmware/acpi/tables, where the
//     kernel names a second instance of a signature with a number suffix
//     (drivers/acpi/sysfs.c acpi_table_attr_init: "SSDT2" ...). Files named
//     DMAR, IVRS, IORT, or one of those followed by digits, are read; others
//     are ignored.
// split_tables() works on bytes already read; load_tables() reads a path
// (file or folder) and is the only function of the acpi layer that touches
// the file system. A file that cannot be read reports the OS reason; EACCES
// on the sysfs files (mode 0400 root) says to run as root or pass a dump.
//
// decode_table() dispatches on the signature to decode_dmar/ivrs/iort and
// fills the error's source with the table's origin.
//
// Thread safety: pure functions, apart from the file reads of load_tables.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "iovakit/acpi/dmar.h"
#include "iovakit/acpi/iort.h"
#include "iovakit/acpi/ivrs.h"
#include "iovakit/result.h"

namespace iovakit::acpi {

struct RawTable {
  std::string source;     // "dmar.dat", "dump.txt:17" (line of the heading), "/sys/.../DMAR2"
  std::string signature;  // "DMAR", "IVRS" or "IORT"
  std::vector<std::uint8_t> bytes;
};

// True for "DMAR", "IVRS", "IORT".
bool is_iommu_signature(std::string_view signature);
// True for a sysfs table file name of an IOMMU table: "DMAR", "IVRS2", ...
bool is_iommu_table_file_name(std::string_view name);

// The IOMMU tables in the content of one input: a binary table (its
// signature must be an IOMMU one) or acpidump text (other tables skipped; no
// IOMMU table at all is an Error of class kNotFound).
Result<std::vector<RawTable>> split_tables(std::span<const std::uint8_t> content, std::string_view source);

// A file (as split_tables) or a folder of binary tables (sysfs layout).
Result<std::vector<RawTable>> load_tables(const std::string& path);

using DecodedTable = std::variant<Dmar, Ivrs, Iort>;

Result<DecodedTable> decode_table(const RawTable& table);

}  // namespace iovakit::acpi
