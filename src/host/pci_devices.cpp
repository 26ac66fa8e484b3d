#include "iovakit/host/pci_devices.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <span>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "iovakit/acpi/table_header.h"

#include "iovakit/pci/sysfs_path.h"

namespace iovakit::host {

namespace {

constexpr std::string_view kDevicesDir = "sys/bus/pci/devices";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t' || text.back() == '\0')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return text;
}

Error issue(const FileSource& source, const std::string& path, std::string message, Errc code = Errc::kParse) {
  return Error(code, std::move(message), Location{source.display(path), {}, {}});
}

// An optional attribute: nullopt when absent; an issue when present but unreadable.
std::optional<std::string> read_attribute(const FileSource& source, const std::string& path,
                                          std::vector<Error>& issues) {
  auto text = source.read_file(path, 4096);
  if (text) return std::move(*text);
  if (text.error().code() != Errc::kNotFound) issues.push_back(text.error());
  return std::nullopt;
}

template <typename T>
std::optional<T> hex_attribute(const FileSource& source, const std::string& path, std::uint32_t max,
                               std::vector<Error>& issues) {
  auto text = read_attribute(source, path, issues);
  if (!text) return std::nullopt;
  const auto value = parse_sysfs_hex(*text);
  if (!value || *value > max) {
    issues.push_back(
        issue(source, path, fmt::format("not a hex value up to {:#x}: \"{}\"", max, acpi::printable(trim(*text)))));
    return std::nullopt;
  }
  return static_cast<T>(*value);
}

std::optional<long long> decimal_attribute(const FileSource& source, const std::string& path, long long min,
                                           long long max, std::vector<Error>& issues) {
  auto text = read_attribute(source, path, issues);
  if (!text) return std::nullopt;
  const auto value = parse_sysfs_decimal(*text);
  if (!value || *value < min || *value > max) {
    issues.push_back(
        issue(source, path, fmt::format("not a number in [{}, {}]: \"{}\"", min, max, acpi::printable(trim(*text)))));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> link_attribute(const FileSource& source, const std::string& path,
                                          std::vector<Error>& issues) {
  if (!source.exists(path)) {
    // A dangling link is still a link: read it so its name is kept, and say so.
    auto target = source.read_link(path);
    if (!target) return std::nullopt;
    issues.push_back(issue(source, path, "dangling link to " + acpi::printable(*target), Errc::kNotFound));
    return link_basename(*target);
  }
  auto target = source.read_link(path);
  if (!target) {
    issues.push_back(target.error());
    return std::nullopt;
  }
  return link_basename(*target);
}

std::optional<PciReading> read_one(const FileSource& source, const std::string& name, std::vector<Error>& issues) {
  const std::string entry = std::string(kDevicesDir) + "/" + name;
  auto bdf = pci::Bdf::parse(name);
  if (!bdf || name != bdf->to_string()) {
    issues.push_back(issue(source, entry, "not a PCI function address (SSSS:BB:DD.F)"));
    return std::nullopt;
  }
  auto dir = source.resolve(entry);
  if (!dir) {
    issues.push_back(dir.error());
    return std::nullopt;
  }
  PciDevice dev;
  dev.bdf = *bdf;
  dev.sysfs_path = *dir;
  const auto attr = [&dir](std::string_view file) { return *dir + "/" + std::string(file); };

  if (auto physfn = link_attribute(source, attr("physfn"), issues)) {
    auto pf = pci::Bdf::parse(*physfn);
    if (pf) {
      dev.physfn = *pf;
    } else {
      issues.push_back(issue(source, attr("physfn"), "does not name a PCI function: " + acpi::printable(*physfn)));
    }
  }

  auto config_bytes = source.read_file(attr("config"), pci::kConfigExtendedSize + 1);
  if (!config_bytes) {
    issues.push_back(config_bytes.error());
    return std::nullopt;
  }
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(config_bytes->data()),
                                            config_bytes->size());
  auto config = pci::ConfigSpace::parse(bytes, {.virtual_function = dev.physfn.has_value()});
  if (!config) {
    const Error& e = config.error();
    issues.emplace_back(e.code(), "config space: " + e.message(),
                        Location{source.display(attr("config")), {}, e.where().offset});
    return std::nullopt;
  }
  dev.config_size = config->size();

  dev.vendor = hex_attribute<std::uint16_t>(source, attr("vendor"), 0xffff, issues).value_or(config->vendor_id());
  dev.device = hex_attribute<std::uint16_t>(source, attr("device"), 0xffff, issues).value_or(config->device_id());
  dev.subsystem_vendor = hex_attribute<std::uint16_t>(source, attr("subsystem_vendor"), 0xffff, issues);
  if (!dev.subsystem_vendor) dev.subsystem_vendor = config->subsystem_vendor_id();
  dev.subsystem_device = hex_attribute<std::uint16_t>(source, attr("subsystem_device"), 0xffff, issues);
  if (!dev.subsystem_device) dev.subsystem_device = config->subsystem_id();
  const auto klass = hex_attribute<std::uint32_t>(source, attr("class"), 0xffffff, issues);
  dev.class_code = klass ? pci::ClassCode(*klass) : config->kernel_class();
  dev.revision = hex_attribute<std::uint8_t>(source, attr("revision"), 0xff, issues).value_or(config->revision());
  if (auto numa = decimal_attribute(source, attr("numa_node"), -1, 65535, issues)) {
    dev.numa_node = static_cast<int>(*numa);
  }
  const auto secondary = decimal_attribute(source, attr("secondary_bus_number"), 0, 255, issues);
  const auto subordinate = decimal_attribute(source, attr("subordinate_bus_number"), 0, 255, issues);
  if (secondary && subordinate) {
    dev.bus_range = pci::BusRange{static_cast<std::uint8_t>(*secondary), static_cast<std::uint8_t>(*subordinate)};
  }
  if (auto total = decimal_attribute(source, attr("sriov_totalvfs"), 0, 65535, issues)) {
    dev.sriov_totalvfs = static_cast<unsigned>(*total);
  }
  if (auto num = decimal_attribute(source, attr("sriov_numvfs"), 0, 65535, issues)) {
    dev.sriov_numvfs = static_cast<unsigned>(*num);
  }
  dev.driver = link_attribute(source, attr("driver"), issues);
  if (auto group = link_attribute(source, attr("iommu_group"), issues)) {
    const auto number = parse_sysfs_decimal(*group);
    if (number && *number >= 0 && *number <= 0xffffffffLL) {
      dev.iommu_group = static_cast<unsigned>(*number);
    } else {
      issues.push_back(issue(source, attr("iommu_group"), "does not name a group number: " + acpi::printable(*group)));
    }
  }
  // The function that *is* an AMD IOMMU has an "iommu" class directory
  // holding its unit (ivhd0) instead of a link to one (device_add's class
  // glue directory); only a link names the unit that translates this device.
  if (auto node = source.entry_type(attr("iommu")); !node || *node != NodeType::kDirectory) {
    dev.iommu = link_attribute(source, attr("iommu"), issues);
  }

  pci::DeviceRecord rec{.bdf = *bdf, .config = std::move(*config)};
  rec.is_virtfn = dev.physfn.has_value();
  rec.bus_range = dev.bus_range;
  if (auto path = pci::parse_sysfs_device_path(*dir); path) {
    if (path->device() == *bdf) {
      rec.sysfs_path = std::move(*path);
    } else {
      issues.push_back(issue(source, entry, "links to " + *dir + ", the directory of another function"));
    }
  } else {
    issues.push_back(issue(source, entry, "links to " + *dir + ", not a PCI device path: " + path.error().message()));
  }
  return PciReading{std::move(dev), std::move(rec)};
}

}  // namespace

std::optional<std::uint32_t> parse_sysfs_hex(std::string_view text) {
  text = trim(text);
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  text.remove_prefix(2);
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 16);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<long long> parse_sysfs_decimal(std::string_view text) {
  text = trim(text);
  long long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string link_basename(std::string_view target) {
  while (!target.empty() && target.back() == '/') target.remove_suffix(1);
  const std::size_t slash = target.rfind('/');
  return std::string(slash == std::string_view::npos ? target : target.substr(slash + 1));
}

std::vector<PciReading> read_pci_devices(const FileSource& source, std::vector<Error>& issues) {
  std::vector<PciReading> out;
  auto names = source.list_dir(kDevicesDir);
  if (!names) {
    if (names.error().code() != Errc::kNotFound) issues.push_back(names.error());
    return out;
  }
  for (const auto& name : *names) {
    if (auto reading = read_one(source, name, issues)) out.push_back(std::move(*reading));
  }
  std::sort(out.begin(), out.end(),
            [](const PciReading& a, const PciReading& b) { return a.device.bdf < b.device.bdf; });
  // The PF's list of VFs, from the VFs' physfn links.
  std::map<pci::Bdf, std::size_t> index;
  for (std::size_t i = 0; i < out.size(); ++i) index.emplace(out[i].device.bdf, i);
  for (const auto& r : out) {
    if (!r.device.physfn) continue;
    if (auto it = index.find(*r.device.physfn); it != index.end()) {
      out[it->second].device.virtfns.push_back(r.device.bdf);
    }
  }
  return out;
}

}  // namespace iovakit::host
