#include "iovakit/acpi/table_header.h"

#include <fmt/core.h>

#include "iovakit/acpi/byte_reader.h"

namespace iovakit::acpi {

std::uint8_t byte_sum(std::span<const std::uint8_t> bytes) {
  unsigned sum = 0;
  for (const std::uint8_t b : bytes) sum += b;
  return static_cast<std::uint8_t>(sum);
}

std::string printable(std::string_view raw) {
  std::size_t end = raw.size();
  while (end > 0 && (raw[end - 1] == '\0' || raw[end - 1] == ' ')) --end;
  std::string out;
  out.reserve(end);
  for (std::size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

Result<TableHeader> read_table_header(std::span<const std::uint8_t> bytes, std::string_view expected_signature,
                                      std::vector<Finding>& findings) {
  const ByteReader r(bytes);
  if (!r.has(0, kTableHeaderSize)) {
    return Error(Errc::kTruncated,
                 fmt::format("{} byte(s) are too few for an ACPI table header (36 bytes)", bytes.size()),
                 Location{{}, {}, bytes.size()});
  }
  TableHeader h;
  h.signature = r.text(0, 4);
  h.length = r.u32(4);
  h.revision = r.u8(8);
  h.checksum = r.u8(9);
  h.oem_id = r.text(10, 6);
  h.oem_table_id = r.text(16, 8);
  h.oem_revision = r.u32(24);
  h.creator_id = r.text(28, 4);
  h.creator_revision = r.u32(32);

  if (!expected_signature.empty() && h.signature != expected_signature) {
    return Error(Errc::kParse, fmt::format(R"(signature "{}" is not "{}")", printable(h.signature), expected_signature),
                 Location{{}, {}, 0});
  }
  if (h.length < kTableHeaderSize) {
    return Error(Errc::kParse, fmt::format("table Length {:#x} is smaller than the 36-byte header", h.length),
                 Location{{}, {}, 4});
  }
  if (h.length > bytes.size()) {
    return Error(Errc::kTruncated,
                 fmt::format("table Length {:#x} but only {:#x} byte(s) are present: the table is truncated", h.length,
                             bytes.size()),
                 Location{{}, {}, bytes.size()});
  }
  const auto table = bytes.first(h.length);
  // The checksum byte that makes the sum 0: stored - sum (mod 256).
  h.computed_checksum = static_cast<std::uint8_t>(h.checksum - byte_sum(table));
  if (!h.checksum_ok()) {
    findings.push_back({9, "checksum",
                        fmt::format("checksum {:#04x} does not make the table sum to zero; the correct byte is {:#04x} "
                                    "(ACPICA warns \"Incorrect checksum in table\" and the table is still used)",
                                    h.checksum, h.computed_checksum)});
  }
  if (bytes.size() > h.length) {
    findings.push_back(
        {h.length, "trailing-bytes",
         fmt::format("{} byte(s) after the table's Length {:#x} are ignored", bytes.size() - h.length, h.length)});
  }
  return h;
}

}  // namespace iovakit::acpi
