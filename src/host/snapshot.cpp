#include "iovakit/host/snapshot.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "iovakit/acpi/table_input.h"
#include "iovakit/host/archive.h"
#include "iovakit/host/host.h"
#include "iovakit/pci/bdf.h"

namespace iovakit::host {

namespace {

const std::vector<AllowRule>& rules() {
  static const std::vector<AllowRule> list = [] {
    std::vector<AllowRule> r;
    const auto add = [&r](std::string_view p, NodeType t, std::string_view why) { r.push_back({p, t, why}); };
    add("proc/version", NodeType::kFile, "kernel version (kernel_info.h)");
    add("proc/cmdline", NodeType::kFile, "kernel command line (kernel_info.h)");
    add("proc/sys/kernel/osrelease", NodeType::kFile, "kernel release when /proc/version does not parse");
    add("dmesg", NodeType::kFile, "the kernel log given with --dmesg");
    add("sys/bus/pci/devices", NodeType::kDirectory, "PCI functions (pci_devices.h)");
    add("sys/bus/pci/devices/{bdf}", NodeType::kSymlink, "PCI function -> device directory");
    add("sys/devices/**/{bdf}/{vendor,device,subsystem_vendor,subsystem_device,class,revision,config,numa_node,"
        "secondary_bus_number,subordinate_bus_number,sriov_totalvfs,sriov_numvfs}",
        NodeType::kFile, "PCI function attributes");
    add("sys/devices/**/{bdf}/{physfn,driver,iommu_group,iommu}", NodeType::kSymlink,
        "PCI function links: PF, driver, group, unit");
    add("sys/devices/**/firmware_node", NodeType::kSymlink, "ACPI companion of a platform group member");
    add("sys/devices/LNXSYSTM:00/**/path", NodeType::kFile, "ACPI namespace path of a platform group member");
    add("sys/kernel/iommu_groups", NodeType::kDirectory, "IOMMU groups (iommu_groups.h)");
    add("sys/kernel/iommu_groups/{n}/{type,reserved_regions,name}", NodeType::kFile, "group attributes");
    add("sys/kernel/iommu_groups/{n}/devices", NodeType::kDirectory, "group members");
    add("sys/kernel/iommu_groups/{n}/devices/*", NodeType::kSymlink, "group member -> device directory");
    // Folders a link points to, kept (empty when nothing in them is read) so
    // the link resolves in the capture as it did on the host: a name only.
    add("sys/bus/pci/drivers/*", NodeType::kDirectory, "the folder a driver link points to");
    add("sys/devices/**", NodeType::kDirectory, "a device folder a group, unit or PCI link points to");
    add("sys/kernel/iommu_groups/{n}", NodeType::kDirectory, "the folder an iommu_group link points to");
    add("sys/class/iommu", NodeType::kDirectory, "IOMMU units (iommu_units.h)");
    add("sys/class/iommu/*", NodeType::kSymlink, "unit -> device directory");
    add("sys/devices/**/iommu/*/intel-iommu/{cap,ecap,version,address}", NodeType::kFile, "VT-d registers");
    add("sys/devices/**/iommu/*/amd-iommu/{cap,features}", NodeType::kFile, "AMD-Vi registers");
    add("sys/devices/**/iommu/*/devices", NodeType::kDirectory, "devices a unit translates");
    add("sys/devices/**/iommu/*/devices/*", NodeType::kSymlink, "unit member -> device directory");
    add("sys/firmware/acpi/tables", NodeType::kDirectory, "ACPI table folder (listed, IOMMU tables only read)");
    add("sys/firmware/acpi/tables/{table}", NodeType::kFile, "DMAR, IVRS, IORT (firmware_tables.h)");
    return r;
  }();
  return list;
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t next = text.find('/', pos);
    if (next == std::string_view::npos) next = text.size();
    out.push_back(text.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

bool match_component(std::string_view pattern, std::string_view name) {
  if (name.empty()) return false;
  if (pattern == "*") return true;
  if (pattern == "{bdf}") {
    auto bdf = pci::Bdf::parse(name);
    return bdf && bdf->to_string() == name;
  }
  if (pattern == "{n}") {
    return name.size() <= 10 && name.find_first_not_of("0123456789") == std::string_view::npos;
  }
  if (pattern == "{table}") return acpi::is_iommu_table_file_name(name);
  if (pattern.size() >= 2 && pattern.front() == '{' && pattern.back() == '}') {
    std::string_view options = pattern.substr(1, pattern.size() - 2);
    while (!options.empty()) {
      const std::size_t comma = options.find(',');
      if (options.substr(0, comma) == name) return true;
      if (comma == std::string_view::npos) break;
      options.remove_prefix(comma + 1);
    }
    return false;
  }
  return pattern == name;
}

bool match_parts(const std::vector<std::string_view>& pattern, std::size_t p, const std::vector<std::string_view>& path,
                 std::size_t i) {
  if (p == pattern.size()) return i == path.size();
  if (pattern[p] == "**") {
    for (std::size_t k = i; k <= path.size(); ++k) {
      if (match_parts(pattern, p + 1, path, k)) return true;
    }
    return false;
  }
  if (i == path.size() || !match_component(pattern[p], path[i])) return false;
  return match_parts(pattern, p + 1, path, i + 1);
}

Error os_error(const std::string& path, std::string_view what) {
  const int err = errno;
  return Error(err == EACCES || err == EPERM ? Errc::kPermission : Errc::kIo,
               std::string(what) + ": " + std::strerror(err), Location{path, {}, {}});
}

}  // namespace

const std::vector<AllowRule>& snapshot_allow_list() { return rules(); }

bool match_snapshot_pattern(std::string_view pattern, std::string_view path) {
  return match_parts(split(pattern), 0, split(path), 0);
}

bool snapshot_allows(std::string_view path, NodeType type) {
  return std::any_of(rules().begin(), rules().end(), [&](const AllowRule& rule) {
    return rule.type == type && match_snapshot_pattern(rule.pattern, path);
  });
}

Result<SnapshotResult> capture_snapshot(const FileSource& source, const SnapshotOptions& options) {
  AccessLog log;
  source.record_to(&log);
  auto host = build_host(source);
  source.record_to(nullptr);
  if (!host) return host.error();

  SnapshotResult out;
  out.host_issues = std::move(host->issues);
  // build_host's first check (a sys/ folder) reads nothing, so nothing
  // records it; a root where nothing below sys/ was usable still has one.
  if (auto status = out.tree.add_directory("sys"); !status) return status.error();
  for (const auto& access : log.entries) {
    if (!snapshot_allows(access.path, access.type)) {
      return Error(Errc::kUnsupported,
                   "the host reader touched a " + std::string(node_type_name(access.type)) +
                       " outside the snapshot allow-list (a bug in iovakit; nothing was written)",
                   Location{source.display(access.path), {}, {}});
    }
    Status status;
    switch (access.type) {
      case NodeType::kFile: status = out.tree.add_file(access.path, access.data); break;
      case NodeType::kSymlink: status = out.tree.add_symlink(access.path, access.data); break;
      case NodeType::kDirectory: status = out.tree.add_directory(access.path); break;
      case NodeType::kOther: break;
    }
    if (!status) return status.error();
  }
  // A link the reader only resolved (driver -> sys/bus/pci/drivers/<name>,
  // a group member whose folder holds nothing the reader reads) must not
  // dangle in the capture, or the capture reads differently: give it its
  // target folder, empty. Targets with content are captured already.
  for (const auto& access : log.entries) {
    if (access.type != NodeType::kSymlink) continue;
    auto target = source.resolve(access.path);
    if (!target || out.tree.find(*target) != nullptr) continue;
    auto type = source.type_of(*target);
    if (type && *type == NodeType::kDirectory && snapshot_allows(*target, NodeType::kDirectory)) {
      if (auto status = out.tree.add_directory(*target); !status) return status.error();
    }
  }
  if (options.dmesg_text) {
    if (auto status = out.tree.add_file(kCapturedDmesg, *options.dmesg_text); !status) return status.error();
  }
  for (const auto& [path, node] : out.tree.nodes()) {
    switch (node.type) {
      case NodeType::kFile: ++out.files; break;
      case NodeType::kSymlink: ++out.links; break;
      case NodeType::kDirectory: ++out.directories; break;
      case NodeType::kOther: break;
    }
  }
  return out;
}

bool is_archive_output(std::string_view output) {
  const auto ends_with = [output](std::string_view suffix) {
    return output.size() >= suffix.size() && output.substr(output.size() - suffix.size()) == suffix;
  };
  return ends_with(".tar.gz") || ends_with(".tgz");
}

Status write_snapshot(const FileTree& tree, const std::string& output) {
  if (!is_archive_output(output)) return write_tree_to_directory(tree, output);
  auto compressed = gzip_compress(write_tar(tree));
  if (!compressed) return compressed.error();
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return os_error(output, "create");
  std::string_view rest = *compressed;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Error error = os_error(output, "write");
      ::close(fd);
      ::unlink(output.c_str());
      return error;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) return os_error(output, "close");
  return {};
}

}  // namespace iovakit::host
