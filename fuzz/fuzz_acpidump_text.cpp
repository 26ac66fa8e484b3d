// Fuzzes acpidump text parsing and the whole input chain behind it
// (split_tables -> decode_table). Invariants: errors carry a line (text) or
// an offset (decoders); tables come in line order with at most 16 bytes per
// dump line; every IOMMU table found decodes or fails with a located error;
// JSON serialises.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "fuzz_acpi_common.h"
#include "iovakit/acpi/acpidump_text.h"
#include "iovakit/acpi/table_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using iovakit::fuzz::check;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tables = iovakit::acpi::parse_acpidump_text(text, "fuzz");
  if (tables.ok()) {
    std::size_t last_line = 0;
    std::size_t lines = 1;
    for (const char c : text) lines += c == '\n' ? 1 : 0;
    for (const auto& t : *tables) {
      check(t.line > last_line && t.line <= lines);
      check(t.bytes.size() <= 16 * (lines - t.line));
      last_line = t.line;
    }
  } else {
    check(!tables.error().message().empty());
    check(tables.error().code() == iovakit::Errc::kNotFound || tables.error().where().line.has_value());
  }
  auto raw = iovakit::acpi::split_tables(std::span<const std::uint8_t>(data, size), "fuzz");
  if (!raw.ok()) return 0;
  for (const auto& r : *raw) {
    check(iovakit::acpi::is_iommu_signature(r.signature));
    auto decoded = iovakit::acpi::decode_table(r);
    if (decoded.ok()) {
      iovakit::fuzz::check_json(*decoded);
    } else {
      check(decoded.error().where().source == r.source);
      iovakit::fuzz::check_error(decoded.error(), r.bytes.size());
    }
  }
  return 0;
}
