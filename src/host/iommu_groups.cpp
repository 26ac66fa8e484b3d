#include "iovakit/host/iommu_groups.h"

#include <algorithm>
#include <string>
#include <utility>

#include "iovakit/host/pci_devices.h"
#include "iovakit/iova/resv_sysfs.h"

namespace iovakit::host {

namespace {

constexpr std::string_view kGroupsDir = "sys/kernel/iommu_groups";
// reserved_regions is a sysfs show() (iommu_group_show_resv_regions,
// drivers/iommu/iommu.c), so it holds at most one page; 64 KiB is the largest
// PAGE_SIZE Linux has (arm64, ppc64). Anything longer did not come from a
// kernel, and a hostile capture must not make us parse megabytes.
constexpr std::size_t kMaxRegionsBytes = std::size_t{64} << 10;

std::string strip_newline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

GroupMember read_member(const FileSource& source, const std::string& devices_dir, const std::string& name,
                        std::vector<Error>& issues) {
  GroupMember member;
  member.name = name;
  const std::string entry = devices_dir + "/" + name;
  if (auto dir = source.resolve(entry)) {
    member.sysfs_path = *dir;
  } else {
    issues.push_back(dir.error());
  }
  if (auto bdf = pci::Bdf::parse(name); bdf && bdf->to_string() == name) {
    member.bdf = *bdf;
  } else if (!member.sysfs_path.empty()) {
    // drivers/acpi/device_sysfs.c: every ACPI device node has "path" (its
    // full namespace name); a platform device links to its node through
    // "firmware_node" (drivers/acpi/glue.c acpi_bind_one).
    const std::string node = member.sysfs_path + "/firmware_node";
    if (source.exists(node + "/path")) {
      if (auto path = source.read_file(node + "/path", 4096)) {
        member.acpi_path = strip_newline(std::move(*path));
      } else {
        issues.push_back(path.error());
      }
    }
  }
  return member;
}

}  // namespace

std::vector<IommuGroup> read_iommu_groups(const FileSource& source, std::vector<Error>& issues) {
  std::vector<IommuGroup> out;
  auto names = source.list_dir(kGroupsDir);
  if (!names) {
    if (names.error().code() != Errc::kNotFound) issues.push_back(names.error());
    return out;
  }
  for (const auto& name : *names) {
    const std::string dir = std::string(kGroupsDir) + "/" + name;
    const auto number = parse_sysfs_decimal(name);
    if (!number || *number < 0 || *number > 0xffffffffLL || std::to_string(*number) != name) {
      issues.emplace_back(Errc::kParse, "not an IOMMU group number", Location{source.display(dir), {}, {}});
      continue;
    }
    IommuGroup group;
    group.number = static_cast<unsigned>(*number);
    const std::string type_path = dir + "/type";
    if (source.exists(type_path)) {
      if (auto type = source.read_file(type_path, 4096)) {
        group.type = strip_newline(std::move(*type));
      } else {
        issues.push_back(type.error());
      }
    }
    const std::string name_path = dir + "/name";
    if (source.exists(name_path)) {
      if (auto group_name = source.read_file(name_path, 4096)) {
        group.name = strip_newline(std::move(*group_name));
      } else {
        issues.push_back(group_name.error());
      }
    }
    const std::string regions_path = dir + "/reserved_regions";
    if (source.exists(regions_path)) {
      if (auto text = source.read_file(regions_path, kMaxRegionsBytes)) {
        group.has_reserved_regions = true;
        group.reserved_regions = std::move(*text);
        auto parsed = iova::parse_reserved_regions(group.reserved_regions, source.display(regions_path));
        if (parsed) {
          group.regions = std::move(*parsed);
          group.regions_parsed = true;
        } else {
          issues.push_back(parsed.error());
        }
      } else if (text.error().code() == Errc::kExhausted) {
        issues.emplace_back(Errc::kExhausted,
                            text.error().message() +
                                ": a sysfs attribute holds at most one page, so this "
                                "reserved_regions did not come from a kernel",
                            text.error().where());
      } else {
        issues.push_back(text.error());
      }
    }
    const std::string devices_dir = dir + "/devices";
    if (auto members = source.list_dir(devices_dir)) {
      for (const auto& m : *members) group.members.push_back(read_member(source, devices_dir, m, issues));
    } else if (members.error().code() != Errc::kNotFound) {
      issues.push_back(members.error());
    }
    out.push_back(std::move(group));
  }
  std::sort(out.begin(), out.end(), [](const IommuGroup& a, const IommuGroup& b) { return a.number < b.number; });
  return out;
}

}  // namespace iovakit::host
