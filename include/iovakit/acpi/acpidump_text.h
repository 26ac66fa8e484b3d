// iovakit/acpi/acpidump_text.h: tables out of `acpidump` text output.
//
// Design
// ------
// `acpidump` (ACPICA, package acpica-tools) prints every table of a machine
// as a hex dump; linux-hardware.org and bug reports carry exactly that text:
//
//   DMAR @ 0x0000000000000000
//       0000: 44 4D 41 52 64 01 00 00 01 4B 48 50 20 20 20 20  DMARd....KHP
//       ...
//
// (ACPICA source/tools/acpidump/apdump.c AcpiDbgPrint / AcpiUtDumpBuffer
// format: a "SIG @ 0xADDRESS" line, then lines of an offset, a colon, up to
// 16 hex bytes separated by one space, and an ASCII column.) The same format
// is what `acpixtract` reads. parse_acpidump_text() returns every table of
// the text, in order, with the line its heading is on. Lines that are neither
// a heading nor a dump line (blank lines, prose around a pasted dump) end the
// current table; a dump line whose offset does not continue the table, or
// with a malformed hex byte, is an Error naming the line. CRLF is accepted.
// The bytes are returned as dumped: checking them against the header's
// Length is the table decoders' job.
//
// The ASCII column is never parsed: after the offset, tokens are read only
// while they are exactly two hex digits separated by single spaces, at most
// 16 per line; the ASCII column starts after a double space.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/result.h"

namespace iovakit::acpi {

struct DumpedTable {
  std::string signature;  // as on the heading line, e.g. "DMAR", "SSDT"
  std::uint64_t address = 0;
  std::size_t line = 0;  // 1-based line of the heading
  std::vector<std::uint8_t> bytes;
};

// Every table in `text`. An input with no table at all is an Error
// (kNotFound), so that a wrong file is not taken for "no tables".
Result<std::vector<DumpedTable>> parse_acpidump_text(std::string_view text, std::string_view source = {});

// True when `text` looks like acpidump output (a heading line within the
// first 200 lines), for callers that must tell it from a binary table.
bool looks_like_acpidump_text(std::string_view text);

}  // namespace iovakit::acpi
