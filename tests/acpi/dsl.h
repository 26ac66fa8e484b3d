// Test support: reads the fields of an iasl data-table disassembly (.dsl).
//
// iasl prints one field per line as
//   [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
// ("[058h 0088   8]" in older versions, "[058h 0088 008h]" in newer ones),
// with offsets from the table start. Lines without the bracket (decoded flag
// bits, comments, the raw hex dump) are skipped. A "**** Unknown ..." line
// means iasl stopped decoding there; `stopped_at` is the offset of the last
// field before it. The corpus tests look fields up by table offset, so a
// decoder and iasl are compared byte position by byte position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace iovakit::acpi::testing {

struct DslField {
  std::size_t offset = 0;
  std::string name;
  std::string value;  // text after " : ", trimmed
};

inline std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

class Dsl {
 public:
  static Dsl parse(std::string_view text) {
    Dsl dsl;
    std::size_t last_offset = 0;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (line.find("**** Unknown") != std::string_view::npos || line.find("**** Invalid") != std::string_view::npos) {
        if (!dsl.stopped_at) dsl.stopped_at = last_offset;
        continue;
      }
      if (line.size() < 8 || line[0] != '[') continue;
      const auto close = line.find(']');
      const auto colon = line.find(" : ", close == std::string_view::npos ? 0 : close);
      if (close == std::string_view::npos || colon == std::string_view::npos) continue;
      const std::string_view bracket = line.substr(1, close - 1);
      const auto h = bracket.find('h');
      if (h == std::string_view::npos) continue;
      DslField f;
      f.offset = std::stoul(std::string(bracket.substr(0, h)), nullptr, 16);
      f.name = trim(line.substr(close + 1, colon - close - 1));
      f.value = trim(line.substr(colon + 3));
      last_offset = f.offset;
      dsl.fields_.emplace(f.offset, f);
    }
    return dsl;
  }

  static std::optional<Dsl> load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream buf;
    buf << in.rdbuf();
    return parse(buf.str());
  }

  // The field at `offset` whose name is one of `names`.
  [[nodiscard]] std::optional<DslField> field(std::size_t offset, const std::vector<std::string>& names) const {
    const auto [lo, hi] = fields_.equal_range(offset);
    for (auto it = lo; it != hi; ++it) {
      for (const auto& n : names) {
        if (it->second.name == n) return it->second;
      }
    }
    return std::nullopt;
  }
  [[nodiscard]] std::size_t size() const { return fields_.size(); }

  std::optional<std::size_t> stopped_at;

 private:
  std::multimap<std::size_t, DslField> fields_;
};

// The leading hex number of a value ("0001 [Reserved Memory Region]" -> 1,
// "1D,07" -> 0x1d), or nullopt.
inline std::optional<std::uint64_t> hex_value(std::string_view v) {
  std::uint64_t out = 0;
  std::size_t digits = 0;
  for (const char c : v) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) break;
    out = (out << 4) | static_cast<unsigned>(d);
    ++digits;
  }
  if (digits == 0 || digits > 16) return std::nullopt;
  return out;
}

// A quoted value without its quotes ("\"DMAR\"    [DMA..]" -> "DMAR").
inline std::string unquote(std::string_view v) {
  const auto a = v.find('"');
  const auto b = v.find('"', a == std::string_view::npos ? 0 : a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos) return std::string(v);
  return std::string(v.substr(a + 1, b - a - 1));
}

}  // namespace iovakit::acpi::testing
