#include "iovakit/iova/resv_sysfs.h"

#include <fmt/core.h>

namespace iovakit::iova {

namespace {

constexpr std::size_t kHexDigits = 16;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads "0x" + 16 lower-case hex digits at `text[pos]`; `what` names the field.
Result<std::uint64_t> read_address(std::string_view line, std::size_t& pos, std::string_view what) {
  if (line.substr(pos, 2) != "0x") {
    return Error(Errc::kParse, fmt::format("column {}: {} must start with \"0x\"", pos + 1, what));
  }
  pos += 2;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kHexDigits; ++i, ++pos) {
    const int digit = pos < line.size() ? hex_value(line[pos]) : -1;
    if (digit < 0) {
      return Error(Errc::kParse,
                   fmt::format("column {}: {} must have exactly 16 lower-case hex digits after \"0x\"", pos + 1, what));
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return value;
}

Result<ResvRegion> parse_line(std::string_view line) {
  std::size_t pos = 0;
  auto start = read_address(line, pos, "the start address");
  if (!start) return start.error();
  if (pos >= line.size() || line[pos] != ' ') {
    return Error(Errc::kParse, fmt::format("column {}: expected one space after the start address", pos + 1));
  }
  ++pos;
  auto end = read_address(line, pos, "the end address");
  if (!end) return end.error();
  if (pos >= line.size() || line[pos] != ' ') {
    return Error(Errc::kParse, fmt::format("column {}: expected one space after the end address", pos + 1));
  }
  ++pos;
  const std::string_view name = line.substr(pos);
  if (name.empty()) return Error(Errc::kParse, fmt::format("column {}: missing region type", pos + 1));
  if (name.back() == '\r') return Error(Errc::kParse, "line ends with a carriage return (DOS line ending)");
  const auto type = parse_resv_type(name);
  if (!type) {
    return Error(
        Errc::kParse,
        fmt::format("column {}: unknown region type \"{}\" (expected direct, direct-relaxable, reserved or msi)",
                    pos + 1, name.substr(0, 32)));
  }
  return ResvRegion{*start, *end - *start + 1, *type, 0};
}

}  // namespace

Result<std::vector<ResvRegion>> parse_reserved_regions(std::string_view text, std::string_view source) {
  std::vector<ResvRegion> regions;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const std::size_t newline = text.find('\n', pos);
    const Location where{std::string(source), line_no, std::nullopt};
    if (newline == std::string_view::npos) {
      return Error(Errc::kTruncated,
                   "last line has no newline: the file is cut short (7.0+ kernels stop reserved_regions at 4095 bytes)",
                   where);
    }
    const std::string_view line = text.substr(pos, newline - pos);
    pos = newline + 1;
    if (line.empty()) return Error(Errc::kParse, "empty line", where);
    auto region = parse_line(line);
    if (!region) return Error(region.error().code(), region.error().message(), where);
    regions.push_back(*region);
  }
  return regions;
}

}  // namespace iovakit::iova
