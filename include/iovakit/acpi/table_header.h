// iovakit/acpi/table_header.h: the 36-byte ACPI table header, and findings.
//
// Design
// ------
// Every ACPI table starts with the same header (ACPI spec 5.2.6; ACPICA
// source/include/actbl.h ACPI_TABLE_HEADER): signature, Length, revision,
// checksum, OEM and creator identification. read_table_header() validates
// the parts a decoder relies on and returns an Error, naming the byte offset,
// when the table cannot be decoded at all:
//   - fewer than 36 bytes, or a Length below 36;
//   - a Length larger than the bytes actually present (truncated table);
//   - a signature other than the one the caller expects.
// A Length below the number of bytes given is fine (a dump may carry
// trailing bytes); the decoders use only Length bytes and say so in a
// Finding.
//
// A bad checksum is not an Error. ACPICA's AcpiTbVerifyChecksum only warns
// ("Incorrect checksum in table") and Linux goes on using the table, so the
// table is decoded and a Finding carries the stored and the computed
// checksum. (The AMD IOMMU driver is stricter: drivers/iommu/amd/init.c
// check_ivrs_checksum refuses an IVRS with a bad sum, "IVRS invalid
// checksum", in the 3.x amd_iommu_init.c and the 6.x/7.x amd/init.c read for
// this layer; that is kernel policy and belongs to the linux layer, which can
// read `checksum_ok`.)
//
// A Finding is something a person should know about a table that still
// decodes: where (byte offset from the table start), a stable kebab-case
// code for programs, and a sentence for people. Decoders append findings in
// table order.
//
// Strings (signature, OEM IDs) are kept as the raw bytes; printable() makes
// a display form (NUL padding dropped, other bytes escaped).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/result.h"

namespace iovakit::acpi {

inline constexpr std::size_t kTableHeaderSize = 36;

struct Finding {
  std::size_t offset = 0;  // byte offset from the start of the table
  std::string code;        // stable identifier, e.g. "checksum", "rmrr-base-unaligned"
  std::string message;     // one sentence for people

  friend bool operator==(const Finding&, const Finding&) = default;
};

struct TableHeader {
  std::string signature;  // 4 raw bytes, e.g. "DMAR"
  std::uint32_t length = 0;
  std::uint8_t revision = 0;
  std::uint8_t checksum = 0;           // the stored byte at offset 9
  std::uint8_t computed_checksum = 0;  // the byte that would make the sum 0
  std::string oem_id;                  // 6 raw bytes
  std::string oem_table_id;            // 8 raw bytes
  std::uint32_t oem_revision = 0;
  std::string creator_id;  // 4 raw bytes ("INTL", "AMI ", ...)
  std::uint32_t creator_revision = 0;

  [[nodiscard]] bool checksum_ok() const { return checksum == computed_checksum; }
};

// Reads and checks the header of `bytes` (see the design comment). Findings
// (bad checksum, bytes after Length) are appended to `findings`.
// `expected_signature` empty accepts any signature.
Result<TableHeader> read_table_header(std::span<const std::uint8_t> bytes, std::string_view expected_signature,
                                      std::vector<Finding>& findings);

// The 8-bit sum of `bytes`; a valid table sums to 0.
std::uint8_t byte_sum(std::span<const std::uint8_t> bytes);

// Display form of raw bytes: trailing NULs and spaces removed, other
// non-printable bytes as \xNN ("SKL\0\0\0\0\0" -> "SKL").
std::string printable(std::string_view raw);

}  // namespace iovakit::acpi
