#include "iovakit/pci/sysfs_path.h"

#include <fmt/core.h>

#include <string>
#include <utility>

namespace iovakit::pci {

namespace {

struct Component {
  std::string_view text;
  std::size_t offset;
};

std::vector<Component> split(std::string_view path) {
  std::vector<Component> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > pos) parts.push_back({path.substr(pos, end - pos), pos});
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return parts;
}

// "pci0000:00" / "pci10000:e0": returns the segment and bus.
std::optional<std::pair<std::uint32_t, std::uint8_t>> root_component(std::string_view text) {
  if (text.substr(0, 3) != "pci") return std::nullopt;
  // Reuse the BDF parser on "SSSS:BB:00.0".
  const auto bdf = Bdf::parse(std::string(text.substr(3)) + ":00.0");
  if (!bdf) return std::nullopt;
  return std::pair{bdf->segment(), bdf->bus()};
}

Error path_error(std::string_view path, std::size_t offset, std::string what) {
  return {Errc::kParse, fmt::format("sysfs device path \"{}\": {}", path.substr(0, 200), what),
          Location{{}, std::nullopt, offset}};
}

}  // namespace

std::optional<Bdf> SysfsDevicePath::parent() const {
  if (chain.size() < 2) return std::nullopt;
  return chain[chain.size() - 2];
}

Result<SysfsDevicePath> parse_sysfs_device_path(std::string_view path) {
  const auto parts = split(path);
  std::optional<std::size_t> root_index;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (root_component(parts[i].text)) root_index = i;
  }
  if (!root_index) return path_error(path, 0, "no root bus component such as \"pci0000:00\"");

  SysfsDevicePath out;
  const auto root = *root_component(parts[*root_index].text);
  out.segment = root.first;
  out.root_bus = root.second;
  if (*root_index > 0) {
    if (auto host = Bdf::parse(parts[*root_index - 1].text)) out.host_device = *host;
  }
  for (std::size_t i = *root_index + 1; i < parts.size(); ++i) {
    auto bdf = Bdf::parse(parts[i].text);
    if (!bdf) {
      return path_error(path, parts[i].offset,
                        fmt::format("\"{}\" after the root bus is not a PCI function", parts[i].text.substr(0, 32)));
    }
    if (bdf->segment() != out.segment) {
      return path_error(path, parts[i].offset,
                        fmt::format("{} is not in segment {:04x} of its root bus", bdf->to_string(), out.segment));
    }
    if (out.chain.empty() && bdf->bus() != out.root_bus) {
      return path_error(path, parts[i].offset,
                        fmt::format("{} sits directly below root bus {:02x} but is on bus {:02x}", bdf->to_string(),
                                    out.root_bus, bdf->bus()));
    }
    out.chain.push_back(*bdf);
  }
  if (out.chain.empty()) return path_error(path, path.size(), "the path ends at the root bus, not at a function");
  return out;
}

}  // namespace iovakit::pci
