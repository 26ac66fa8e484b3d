#include "iovakit/host/host.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <fmt/core.h>

namespace iovakit::host {

namespace {

std::string strip_newline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

std::optional<std::string> optional_text(const FileSource& source, std::string_view path, std::vector<Error>& issues) {
  auto text = source.read_file(path, 1U << 16U);
  if (text) return std::move(*text);
  if (text.error().code() != Errc::kNotFound) issues.push_back(text.error());
  return std::nullopt;
}

KernelInfo read_kernel_info(const FileSource& source, std::vector<Error>& issues) {
  KernelInfo info;
  // fs/proc/version.c: "Linux version <release> (<builder>) (<compiler>) <version>\n".
  if (auto text = optional_text(source, "proc/version", issues)) {
    info.version_text = strip_newline(std::move(*text));
    info.release = release_from_version_text(info.version_text);
    if (auto version = kernel::KernelVersion::parse(info.version_text)) info.version = *version;
  }
  if (!info.version) {
    // kernel/utsname_sysctl.c: the release alone.
    if (auto text = optional_text(source, "proc/sys/kernel/osrelease", issues)) {
      info.release = strip_newline(std::move(*text));
      if (auto version = kernel::KernelVersion::parse(info.release)) {
        info.version = *version;
      } else {
        issues.emplace_back(Errc::kParse, "kernel release does not parse: " + version.error().message(),
                            Location{source.display("proc/sys/kernel/osrelease"), {}, {}});
      }
    } else if (!info.version_text.empty()) {
      issues.emplace_back(Errc::kParse, "kernel version does not parse",
                          Location{source.display("proc/version"), {}, {}});
    }
  }
  if (auto text = optional_text(source, "proc/cmdline", issues)) {
    info.cmdline = parse_kernel_command_line(*text);
    info.cmdline_known = true;
  }
  return info;
}

// sysfs shows one or two hex words in amd-iommu/features and the order of two
// changed between kernels (iommu_units.h); the IVHD's EFR image (types 0x11
// and 0x40) says which is the EFR.
void resolve_amd_features(Host& host) {
  const acpi::Ivrs* ivrs = host.firmware.ivrs();
  if (ivrs == nullptr) return;
  std::set<std::uint64_t> efrs;
  for (const auto& h : ivrs->ivhds) {
    if (h.efr) efrs.insert(*h.efr);
  }
  for (auto& unit : host.units) {
    if (!unit.amd || unit.amd->values.size() != 2 || unit.amd->efr) continue;
    const auto& v = unit.amd->values;
    const bool first = efrs.contains(v[0]);
    const bool second = efrs.contains(v[1]);
    if (first != second) {
      unit.amd->efr = first ? v[0] : v[1];
      unit.amd->efr2 = first ? v[1] : v[0];
    }
  }
}

void cross_check(const FileSource& source, Host& host) {
  std::set<unsigned> numbers;
  for (const auto& g : host.groups) numbers.insert(g.number);
  std::set<std::string> units;
  for (const auto& u : host.units) units.insert(u.name);
  for (const auto& d : host.devices) {
    if (d.iommu_group && !numbers.contains(*d.iommu_group)) {
      host.issues.emplace_back(Errc::kNotFound,
                               fmt::format("names IOMMU group {}, which is not listed", *d.iommu_group),
                               Location{source.display(d.sysfs_path + "/iommu_group"), {}, {}});
    }
    if (d.iommu && !units.contains(*d.iommu)) {
      host.issues.emplace_back(Errc::kNotFound, "names IOMMU unit " + *d.iommu + ", which is not listed",
                               Location{source.display(d.sysfs_path + "/iommu"), {}, {}});
    }
  }
  for (const auto& g : host.groups) {
    for (const auto& m : g.members) {
      if (!m.bdf) continue;
      const auto index = host.find_device(*m.bdf);
      if (!index) {
        host.issues.emplace_back(
            Errc::kNotFound, m.name + " is a member but not a listed PCI function",
            Location{source.display(fmt::format("sys/kernel/iommu_groups/{}/devices", g.number)), {}, {}});
      } else if (host.devices[*index].iommu_group != g.number) {
        host.issues.emplace_back(
            Errc::kParse,
            fmt::format("{} is a member, but its iommu_group link says {}", m.name,
                        host.devices[*index].iommu_group ? std::to_string(*host.devices[*index].iommu_group)
                                                         : std::string("nothing")),
            Location{source.display(fmt::format("sys/kernel/iommu_groups/{}/devices", g.number)), {}, {}});
      }
    }
  }
}

}  // namespace

std::optional<std::size_t> Host::find_device(const pci::Bdf& bdf) const {
  auto it = std::lower_bound(devices.begin(), devices.end(), bdf,
                             [](const PciDevice& d, const pci::Bdf& b) { return d.bdf < b; });
  if (it == devices.end() || it->bdf != bdf) return std::nullopt;
  return static_cast<std::size_t>(it - devices.begin());
}

const IommuGroup* Host::find_group(unsigned number) const {
  for (const auto& g : groups) {
    if (g.number == number) return &g;
  }
  return nullptr;
}

const IommuUnit* Host::find_unit(std::string_view name) const {
  for (const auto& u : units) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

Result<Host> build_host(const FileSource& source, const HostOptions& options) {
  auto sys = source.type_of("sys");
  if (!sys || *sys != NodeType::kDirectory) {
    return Error(
        sys ? Errc::kInvalidArgument : sys.error().code(),
        "not a sysfs root: it has no sys/ directory" + (sys ? std::string() : " (" + sys.error().message() + ")"),
        Location{source.root_name(), {}, {}});
  }
  Host host;
  host.root = source.root_name();
  host.live = source.is_live();
  host.kernel = read_kernel_info(source, host.issues);

  auto readings = read_pci_devices(source, host.issues);
  std::vector<pci::DeviceRecord> records;
  records.reserve(readings.size());
  for (auto& r : readings) {
    if (options.names != nullptr) {
      PciDevice& d = r.device;
      d.vendor_name = options.names->vendor(d.vendor);
      d.device_name = options.names->device(d.vendor, d.device);
      if (d.subsystem_vendor && d.subsystem_device && *d.subsystem_vendor != 0 && *d.subsystem_vendor != 0xffff) {
        d.subsystem_name = options.names->subsystem(d.vendor, d.device, *d.subsystem_vendor, *d.subsystem_device);
      }
    }
    host.devices.push_back(std::move(r.device));
    records.push_back(std::move(r.record));
  }
  if (auto topology = pci::Topology::build(std::move(records))) {
    host.topology = std::move(*topology);
  } else {
    host.issues.emplace_back(topology.error().code(), "PCI topology: " + topology.error().message(),
                             Location{source.display("sys/bus/pci/devices"), {}, {}});
  }

  host.groups = read_iommu_groups(source, host.issues);
  host.units = read_iommu_units(source, host.issues);
  host.firmware = read_firmware_tables(source);
  resolve_amd_features(host);

  if (options.dmesg_text) {
    host.dmesg_source = options.dmesg_source;
    auto log = acpi::parse_kernel_log(*options.dmesg_text, options.dmesg_source);
    if (log) {
      host.dmesg = std::move(*log);
    } else {
      host.issues.push_back(log.error());
    }
  } else if (!source.is_live() && source.exists(kCapturedDmesg)) {
    // A capture may carry the kernel log as a top-level "dmesg" file; the
    // live root never has one (the log is not a file there).
    if (auto text = source.read_file(kCapturedDmesg)) {
      host.dmesg_source = source.display(kCapturedDmesg);
      auto log = acpi::parse_kernel_log(*text, host.dmesg_source);
      if (log) {
        host.dmesg = std::move(*log);
      } else {
        host.issues.push_back(log.error());
      }
    } else {
      host.issues.push_back(text.error());
    }
  }
  cross_check(source, host);
  return host;
}

namespace {

bool same_issues(const std::vector<Error>& a, const std::vector<Error>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].code() != b[i].code() || a[i].message() != b[i].message()) return false;
  }
  return true;
}

bool same_log(const std::optional<acpi::KernelLog>& a, const std::optional<acpi::KernelLog>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (a->lines != b->lines || a->records.size() != b->records.size()) return false;
  for (std::size_t i = 0; i < a->records.size(); ++i) {
    const auto& x = a->records[i];
    const auto& y = b->records[i];
    if (x.line != y.line || x.kind != y.kind || x.message != y.message || x.device != y.device || x.range != y.range) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool same_host(const Host& a, const Host& b) {
  if (!(a.kernel == b.kernel) || a.devices != b.devices || a.groups != b.groups || a.units != b.units) return false;
  if (a.topology.has_value() != b.topology.has_value()) return false;
  if (a.topology) {
    for (std::size_t i = 0; i < a.topology->size(); ++i) {
      const auto& x = a.topology->config(i).bytes();
      const auto& y = b.topology->config(i).bytes();
      if (!std::equal(x.begin(), x.end(), y.begin(), y.end()) || a.topology->parent(i) != b.topology->parent(i) ||
          a.topology->bus_range(i) != b.topology->bus_range(i)) {
        return false;
      }
    }
  }
  return same_tables(a.firmware, b.firmware) && same_log(a.dmesg, b.dmesg) && same_issues(a.issues, b.issues);
}

}  // namespace iovakit::host
