#include "iovakit/acpi/table_input.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/core.h>

#include "iovakit/acpi/acpidump_text.h"

namespace iovakit::acpi {

namespace {

// Largest file read as a table: ACPI Length is 32 bits, but no IOMMU table
// comes near 16 MiB; a bigger file is not one.
constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t{64} << 20;

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxInputBytes) {
    return Error(Errc::kUnsupported, fmt::format("file of {} bytes is too large for a firmware table or dump", size),
                 Location{path.string(), {}, {}});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return Error(Errc::kPermission,
                   fmt::format("{} (the ACPI tables in sysfs are readable by root only: run as root, or pass a "
                               "table dumped with `acpidump -b` or `acpidump` text)",
                               std::strerror(err)),
                   Location{path.string(), {}, {}});
    }
    return Error(Errc::kIo, std::strerror(err), Location{path.string(), {}, {}});
  }
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error(Errc::kIo, "read error", Location{path.string(), {}, {}});
  return data;
}

}  // namespace

bool is_iommu_signature(std::string_view signature) {
  return signature == "DMAR" || signature == "IVRS" || signature == "IORT";
}

bool is_iommu_table_file_name(std::string_view name) {
  if (name.size() < 4 || !is_iommu_signature(name.substr(0, 4))) return false;
  return std::all_of(name.begin() + 4, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<std::vector<RawTable>> split_tables(std::span<const std::uint8_t> content, std::string_view source) {
  const std::string_view text(reinterpret_cast<const char*>(content.data()), content.size());
  // Text first: acpidump output also starts with the signature ("DMAR @ 0x...").
  if (content.size() >= 4 && is_iommu_signature(text.substr(0, 4)) && !looks_like_acpidump_text(text)) {
    return std::vector<RawTable>{
        {std::string(source), std::string(text.substr(0, 4)), {content.begin(), content.end()}}};
  }
  if (!looks_like_acpidump_text(text)) {
    if (content.size() >= 4 && (content[0] >= 'A' && content[0] <= 'Z')) {
      return Error(Errc::kUnsupported,
                   fmt::format("not an IOMMU table: signature \"{}\" (expected DMAR, IVRS or IORT, or acpidump text)",
                               printable(text.substr(0, 4))),
                   Location{std::string(source), {}, 0});
    }
    return Error(Errc::kParse, "neither a DMAR/IVRS/IORT table nor acpidump text",
                 Location{std::string(source), {}, 0});
  }
  auto dumped = parse_acpidump_text(text, source);
  if (!dumped) return std::move(dumped).error();
  std::vector<RawTable> out;
  for (auto& t : *dumped) {
    if (!is_iommu_signature(t.signature)) continue;
    out.push_back({fmt::format("{}:{}", source, t.line), t.signature, std::move(t.bytes)});
  }
  if (out.empty()) {
    return Error(Errc::kNotFound, fmt::format("the dump holds {} table(s) but no DMAR, IVRS or IORT", dumped->size()),
                 Location{std::string(source), {}, {}});
  }
  return out;
}

Result<std::vector<RawTable>> load_tables(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p(path);
  const auto status = std::filesystem::status(p, ec);
  if (ec) {
    const auto code = ec == std::errc::permission_denied ? Errc::kPermission : Errc::kIo;
    return Error(code, ec.message(), Location{path, {}, {}});
  }
  if (!std::filesystem::is_directory(status)) {
    auto data = read_file(p);
    if (!data) return std::move(data).error();
    return split_tables(*data, path);
  }
  std::vector<std::filesystem::path> names;
  for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_iommu_table_file_name(name)) names.push_back(entry.path());
  }
  if (ec)
    return Error(ec == std::errc::permission_denied ? Errc::kPermission : Errc::kIo, ec.message(),
                 Location{path, {}, {}});
  std::sort(names.begin(), names.end());
  if (names.empty()) {
    return Error(Errc::kNotFound, "no DMAR, IVRS or IORT file in this folder", Location{path, {}, {}});
  }
  std::vector<RawTable> out;
  for (const auto& file : names) {
    auto data = read_file(file);
    if (!data) return std::move(data).error();
    auto tables = split_tables(*data, file.string());
    if (!tables) return std::move(tables).error();
    for (auto& t : *tables) out.push_back(std::move(t));
  }
  return out;
}

Result<DecodedTable> decode_table(const RawTable& table) {
  const auto tag = [&table](Error e) { return std::move(e).in_source(table.source); };
  if (table.signature == "DMAR") {
    auto d = decode_dmar(table.bytes);
    if (!d) return tag(std::move(d).error());
    return DecodedTable(std::move(d).value());
  }
  if (table.signature == "IVRS") {
    auto d = decode_ivrs(table.bytes);
    if (!d) return tag(std::move(d).error());
    return DecodedTable(std::move(d).value());
  }
  if (table.signature == "IORT") {
    auto d = decode_iort(table.bytes);
    if (!d) return tag(std::move(d).error());
    return DecodedTable(std::move(d).value());
  }
  return tag(Error(Errc::kUnsupported, fmt::format("no decoder for signature \"{}\"", printable(table.signature)),
                   Location{{}, {}, 0}));
}

}  // namespace iovakit::acpi
