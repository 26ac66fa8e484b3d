#include "iovakit/acpi/acpidump_text.h"

#include <optional>

#include <fmt/core.h>

namespace iovakit::acpi {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "DMAR @ 0x0000000000000000": signature and address.
struct Heading {
  std::string signature;
  std::uint64_t address = 0;
};

std::optional<Heading> parse_heading(std::string_view line) {
  line = trim_right(trim_left(line));
  if (line.size() < 4 + 5) return std::nullopt;
  const std::string_view sig = line.substr(0, 4);
  for (const char c : sig) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '!';
    if (!ok) return std::nullopt;
  }
  std::string_view rest = line.substr(4);
  if (rest.substr(0, 5) != " @ 0x") return std::nullopt;
  rest.remove_prefix(5);
  if (rest.empty() || rest.size() > 16) return std::nullopt;
  Heading h{std::string(sig), 0};
  for (const char c : rest) {
    const int v = hex_value(c);
    if (v < 0) return std::nullopt;
    h.address = (h.address << 4) | static_cast<unsigned>(v);
  }
  return h;
}

// "    0000: 44 4D ...  ASCII": the offset and the rest after ": ", or nullopt
// when the line is not a dump line at all.
struct DumpLine {
  std::uint64_t offset = 0;
  std::string_view bytes;
};

std::optional<DumpLine> split_dump_line(std::string_view line) {
  line = trim_right(trim_left(line));
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon < 4 || colon > 8) return std::nullopt;
  DumpLine d;
  for (std::size_t i = 0; i < colon; ++i) {
    const int v = hex_value(line[i]);
    if (v < 0) return std::nullopt;
    d.offset = (d.offset << 4) | static_cast<unsigned>(v);
  }
  d.bytes = line.substr(colon + 1);
  return d;
}

}  // namespace

bool looks_like_acpidump_text(std::string_view text) {
  std::size_t lines = 0;
  // Pasted dumps often start with some prose; a binary table never has a
  // "SIG @ 0x..." line, so looking further is safe.
  while (!text.empty() && lines < 200) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (parse_heading(line)) return true;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
    ++lines;
  }
  return false;
}

Result<std::vector<DumpedTable>> parse_acpidump_text(std::string_view text, std::string_view source) {
  std::vector<DumpedTable> tables;
  bool in_table = false;
  std::size_t line_no = 0;
  const auto error = [&](std::string message) {
    return Error(Errc::kParse, std::move(message), Location{std::string(source), line_no, {}});
  };
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);

    if (auto h = parse_heading(line)) {
      tables.push_back({std::move(h->signature), h->address, line_no, {}});
      in_table = true;
      continue;
    }
    const auto d = split_dump_line(line);
    if (!d) {
      in_table = false;  // a blank line or prose ends the table
      continue;
    }
    if (!in_table) continue;  // a hex line outside any table: not ours
    auto& bytes = tables.back().bytes;
    if (d->offset != bytes.size()) {
      return error(fmt::format("dump line offset {:#x} does not continue {} at {:#x}", d->offset,
                               tables.back().signature, bytes.size()));
    }
    // Tokens: " HH" repeated, up to 16; a double space (or the end) starts
    // the ASCII column.
    std::string_view rest = d->bytes;
    std::size_t count = 0;
    while (count < 16 && rest.size() >= 3 && rest[0] == ' ' && rest[1] != ' ') {
      const int hi = hex_value(rest[1]);
      const int lo = hex_value(rest[2]);
      if (hi < 0 || lo < 0 || (rest.size() > 3 && rest[3] != ' ')) {
        return error(
            fmt::format("malformed hex byte \"{}\" in the {} dump", rest.substr(1, 2), tables.back().signature));
      }
      bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
      rest.remove_prefix(3);
      ++count;
    }
    if (count == 0) return error(fmt::format("dump line of {} holds no byte", tables.back().signature));
  }
  if (tables.empty()) {
    return Error(Errc::kNotFound, "no acpidump table heading (\"SIG @ 0x...\") found",
                 Location{std::string(source), {}, {}});
  }
  return tables;
}

}  // namespace iovakit::acpi
