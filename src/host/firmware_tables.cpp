#include "iovakit/host/firmware_tables.h"

#include <span>
#include <string>
#include <utility>

namespace iovakit::host {

namespace {

constexpr std::string_view kTablesDir = "sys/firmware/acpi/tables";
// The largest IOMMU table in the corpus is a few KiB; 1 MiB is far beyond any
// real one and bounds what a hostile capture can make us hold.
constexpr std::size_t kMaxTableBytes = std::size_t{1} << 20;

template <typename T>
const T* first_of(const std::vector<FirmwareTable>& tables) {
  for (const auto& t : tables) {
    if (t.decoded) {
      if (const auto* p = std::get_if<T>(&*t.decoded)) return p;
    }
  }
  return nullptr;
}

}  // namespace

const acpi::Dmar* FirmwareTables::dmar() const { return first_of<acpi::Dmar>(tables); }
const acpi::Ivrs* FirmwareTables::ivrs() const { return first_of<acpi::Ivrs>(tables); }
const acpi::Iort* FirmwareTables::iort() const { return first_of<acpi::Iort>(tables); }

const FirmwareTable* FirmwareTables::table_of(const void* decoded) const {
  for (const auto& t : tables) {
    if (!t.decoded) continue;
    const void* p = std::visit([](const auto& v) -> const void* { return &v; }, *t.decoded);
    if (p == decoded) return &t;
  }
  return nullptr;
}

FirmwareTables read_firmware_tables(const FileSource& source) {
  FirmwareTables out;
  auto names = source.list_dir(kTablesDir);
  if (!names) {
    if (names.error().code() != Errc::kNotFound) out.errors.push_back(names.error());
    return out;
  }
  for (const auto& name : *names) {
    if (!acpi::is_iommu_table_file_name(name)) continue;
    out.present.push_back(name);
  }
  for (const auto& name : out.present) {
    const std::string path = std::string(kTablesDir) + "/" + name;
    auto bytes = source.read_file(path, kMaxTableBytes);
    if (!bytes) {
      Error error = bytes.error();
      if (error.code() == Errc::kPermission) {
        out.permission_denied = true;
        error = Error(Errc::kPermission,
                      error.message() +
                          " (ACPI tables are readable by root only: run as root, "
                          "or pass a capture made by root with --root)",
                      error.where());
      }
      out.errors.push_back(std::move(error));
      continue;
    }
    const std::span<const std::uint8_t> data(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size());
    auto raw = acpi::split_tables(data, source.display(path));
    if (!raw) {
      out.errors.push_back(raw.error());
      continue;
    }
    for (auto& table : *raw) {
      FirmwareTable entry;
      entry.path = path;
      auto decoded = acpi::decode_table(table);
      if (decoded) {
        entry.decoded = std::move(*decoded);
      } else {
        out.errors.push_back(decoded.error());
      }
      entry.raw = std::move(table);
      out.tables.push_back(std::move(entry));
    }
  }
  return out;
}

bool same_tables(const FirmwareTables& a, const FirmwareTables& b) {
  if (a.present != b.present || a.tables.size() != b.tables.size() || a.errors.size() != b.errors.size() ||
      a.permission_denied != b.permission_denied) {
    return false;
  }
  for (std::size_t i = 0; i < a.tables.size(); ++i) {
    const auto& x = a.tables[i];
    const auto& y = b.tables[i];
    if (x.path != y.path || x.raw.signature != y.raw.signature || x.raw.bytes != y.raw.bytes ||
        x.decoded.has_value() != y.decoded.has_value()) {
      return false;
    }
  }
  for (std::size_t i = 0; i < a.errors.size(); ++i) {
    if (a.errors[i].code() != b.errors[i].code() || a.errors[i].message() != b.errors[i].message()) return false;
  }
  return true;
}

}  // namespace iovakit::host
