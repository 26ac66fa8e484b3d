#include "iovakit/host/iommu_units.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "iovakit/acpi/table_header.h"

namespace iovakit::host {

namespace {

constexpr std::string_view kClassDir = "sys/class/iommu";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return text;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::optional<std::string> optional_file(const FileSource& source, const std::string& path,
                                         std::vector<Error>& issues) {
  if (!source.exists(path)) return std::nullopt;
  auto text = source.read_file(path, 4096);
  if (!text) {
    issues.push_back(text.error());
    return std::nullopt;
  }
  return std::move(*text);
}

std::optional<std::uint64_t> register_file(const FileSource& source, const std::string& path,
                                           std::vector<Error>& issues) {
  auto text = optional_file(source, path, issues);
  if (!text) return std::nullopt;
  auto value = parse_register_hex(*text);
  if (!value) {
    issues.emplace_back(Errc::kParse, fmt::format("not a hex register value: \"{}\"", acpi::printable(trim(*text))),
                        Location{source.display(path), {}, {}});
  }
  return value;
}

}  // namespace

std::string_view unit_kind_name(UnitKind kind) {
  switch (kind) {
    case UnitKind::kIntel: return "intel-vtd";
    case UnitKind::kAmd: return "amd-vi";
    case UnitKind::kArmSmmuV3: return "arm-smmu-v3";
    case UnitKind::kArmSmmu: return "arm-smmu";
    case UnitKind::kVirtio: return "virtio-iommu";
    case UnitKind::kUnknown: return "unknown";
  }
  return "unknown";
}

std::vector<unsigned> IntelCapabilities::sagaw_widths() const {
  std::vector<unsigned> out;
  for (unsigned bit = 0; bit < 5; ++bit) {
    if ((sagaw() >> bit) & 1U) out.push_back(30 + 9 * bit);
  }
  return out;
}

std::optional<unsigned> AmdFeatures::hats() const {
  if (!efr) return std::nullopt;
  return static_cast<unsigned>((*efr >> 10U) & 0x3U);
}

std::optional<unsigned> AmdFeatures::gats() const {
  if (!efr) return std::nullopt;
  return static_cast<unsigned>((*efr >> 12U) & 0x3U);
}

std::optional<unsigned> AmdFeatures::pasmax() const {
  if (!efr) return std::nullopt;
  return static_cast<unsigned>((*efr >> 32U) & 0x1fU);
}

std::optional<bool> AmdFeatures::guest_translation() const {
  if (!efr) return std::nullopt;
  return ((*efr >> 4U) & 1U) != 0;
}

std::optional<std::uint64_t> parse_register_hex(std::string_view text) {
  text = trim(text);
  if (starts_with(text, "0x") || starts_with(text, "0X")) text.remove_prefix(2);
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 16);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::vector<IommuUnit> read_iommu_units(const FileSource& source, std::vector<Error>& issues) {
  std::vector<IommuUnit> out;
  auto names = source.list_dir(kClassDir);
  if (!names) {
    if (names.error().code() != Errc::kNotFound) issues.push_back(names.error());
    return out;
  }
  for (const auto& name : *names) {
    IommuUnit unit;
    unit.name = name;
    const std::string entry = std::string(kClassDir) + "/" + name;
    auto dir = source.resolve(entry);
    if (!dir) {
      issues.push_back(dir.error());
      out.push_back(std::move(unit));
      continue;
    }
    unit.sysfs_path = *dir;
    // iommu_device_sysfs_add puts the class device in an "iommu" directory
    // below its parent device (device_add's class glue directory).
    if (const std::size_t cut = dir->rfind("/iommu/"); cut != std::string::npos) unit.parent = dir->substr(0, cut);

    if (source.exists(*dir + "/intel-iommu")) {
      unit.kind = UnitKind::kIntel;
      const auto cap = register_file(source, *dir + "/intel-iommu/cap", issues);
      const auto ecap = register_file(source, *dir + "/intel-iommu/ecap", issues);
      if (cap && ecap) unit.intel = IntelCapabilities{*cap, *ecap};
      if (auto version = optional_file(source, *dir + "/intel-iommu/version", issues)) {
        unit.intel_version = std::string(trim(*version));
      }
      unit.intel_address = register_file(source, *dir + "/intel-iommu/address", issues);
    } else if (source.exists(*dir + "/amd-iommu")) {
      unit.kind = UnitKind::kAmd;
      AmdFeatures amd;
      if (auto cap = register_file(source, *dir + "/amd-iommu/cap", issues)) {
        amd.cap = static_cast<std::uint32_t>(*cap);
      }
      if (auto features = optional_file(source, *dir + "/amd-iommu/features", issues)) {
        amd.features_text = std::string(trim(*features));
        std::string_view rest = amd.features_text;
        bool ok = !rest.empty();
        while (ok && !rest.empty()) {
          const std::size_t colon = rest.find(':');
          const auto value = parse_register_hex(rest.substr(0, colon));
          if (!value) ok = false;
          if (value) amd.values.push_back(*value);
          rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        }
        if (!ok || amd.values.size() > 2) {
          issues.emplace_back(Errc::kParse, "not one or two hex values: \"" + acpi::printable(amd.features_text) + "\"",
                              Location{source.display(*dir + "/amd-iommu/features"), {}, {}});
          amd.values.clear();
        }
        if (amd.values.size() == 1) amd.efr = amd.values[0];
      }
      unit.amd = std::move(amd);
    } else if (starts_with(name, "smmu3.")) {
      unit.kind = UnitKind::kArmSmmuV3;
    } else if (starts_with(name, "smmu.")) {
      unit.kind = UnitKind::kArmSmmu;
    } else if (starts_with(name, "virtio")) {
      unit.kind = UnitKind::kVirtio;
    }

    const std::string devices_dir = *dir + "/devices";
    if (source.exists(devices_dir)) {
      if (auto devices = source.list_dir(devices_dir)) {
        // Each entry is a link to the device (iommu_device_link); reading it
        // also puts it in a snapshot.
        for (const auto& device : *devices) {
          if (auto target = source.read_link(std::string(devices_dir).append("/").append(device)); !target)
            issues.push_back(target.error());
        }
        unit.devices = std::move(*devices);
      } else {
        issues.push_back(devices.error());
      }
    }
    out.push_back(std::move(unit));
  }
  return out;
}

}  // namespace iovakit::host
