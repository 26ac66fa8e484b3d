// iovakit/host/firmware_tables.h: the DMAR, IVRS and IORT tables of a sysfs root.
//
// Design
// ------
// The kernel exposes every ACPI table it loaded as a file under
// sys/firmware/acpi/tables/ (drivers/acpi/sysfs.c acpi_table_attr_init; a
// second table with the same signature is "SSDT2"-style, numbered from 2),
// mode 0400 root. Only the IOMMU tables are read (acpi::is_iommu_table_file_name):
// the folder also holds tables that must never leave the machine (MSDM and
// SLIC carry Windows licence keys), and the snapshot captures only what this
// reader read.
//
// A table that cannot be read (EACCES for non-root users) or does not decode
// is kept as a message with its path, never fatal: the host model goes on
// with what is readable, and `present` still lists the files seen, so
// "there is a DMAR but I may not read it" is distinguishable from "no DMAR".
//
// Thread safety: one FileSource.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "iovakit/acpi/table_input.h"
#include "iovakit/host/file_source.h"
#include "iovakit/result.h"

namespace iovakit::host {

struct FirmwareTable {
  acpi::RawTable raw;  // source: the display path ("/sys/firmware/acpi/tables/DMAR")
  std::string path;    // root-relative
  std::optional<acpi::DecodedTable> decoded;
};

struct FirmwareTables {
  std::vector<std::string> present;   // IOMMU table files in the folder ("DMAR", "IVRS2"), sorted
  std::vector<FirmwareTable> tables;  // those read, in `present` order
  std::vector<Error> errors;          // unreadable or undecodable tables
  bool permission_denied = false;     // at least one was refused by the OS

  // The first decoded table of each kind; nullptr when none.
  [[nodiscard]] const acpi::Dmar* dmar() const;
  [[nodiscard]] const acpi::Ivrs* ivrs() const;
  [[nodiscard]] const acpi::Iort* iort() const;
  [[nodiscard]] const FirmwareTable* table_of(const void* decoded) const;
};

FirmwareTables read_firmware_tables(const FileSource& source);

// Equal raw bytes, sources and presence (the decoded forms follow from the bytes).
bool same_tables(const FirmwareTables& a, const FirmwareTables& b);

}  // namespace iovakit::host
