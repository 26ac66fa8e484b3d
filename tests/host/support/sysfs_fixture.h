// Builds synthetic sysfs trees the way the kernel lays them out, as a
// host::FileTree (write it to disk with write_tree_to_directory, or read it in
// memory with TreeSource):
//   sys/bus/pci/devices/<bdf> -> ../../../devices/pci<seg>:<bus>/.../<bdf>
//     (drivers/pci/bus.c pci_bus_add_device -> device_add; the directory
//     nests below each upstream bridge, drivers/pci/probe.c pci_setup_device)
//   <dir>/{vendor,device,subsystem_vendor,subsystem_device,class,revision,
//     config,numa_node,irq,resource,enable,...} (drivers/pci/pci-sysfs.c)
//   <dir>/driver -> ../../../bus/pci/drivers/<name>, <dir>/iommu_group ->
//     ../../../kernel/iommu_groups/<n>, <dir>/iommu -> ../../virtual/iommu/dmar0
//   sys/kernel/iommu_groups/<n>/{type,reserved_regions,devices/<bdf> -> ...}
//   sys/class/iommu/<unit> -> ../../devices/virtual/iommu/<unit> (Intel), or
//     below the AMD IOMMU's PCI function, or below an Arm platform device
//   sys/firmware/acpi/tables/<SIG>, proc/version, proc/cmdline
// All links are relative, computed from the link's own folder, as sysfs
// writes them. Files the host model does not read (irq, resource, enable,
// driver bind files) are written too, so that snapshot tests can check they
// stay behind.
//
// No gtest dependency: the benchmark and the seed writer use it too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "iovakit/host/file_tree.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/pci/bdf.h"

namespace iovakit::host::testing {

// The relative symlink target from the folder holding `link` to `target`
// (both root-relative).
inline std::string relative_link(std::string_view link, std::string_view target) {
  std::vector<std::string_view> from;
  std::vector<std::string_view> to;
  const auto split = [](std::string_view s, std::vector<std::string_view>& out) {
    std::size_t pos = 0;
    while (pos <= s.size()) {
      std::size_t next = s.find('/', pos);
      if (next == std::string_view::npos) next = s.size();
      if (next > pos) out.push_back(s.substr(pos, next - pos));
      pos = next + 1;
    }
  };
  split(link, from);
  split(target, to);
  from.pop_back();  // the link's folder
  std::size_t common = 0;
  while (common < from.size() && common < to.size() && from[common] == to[common]) ++common;
  std::string out;
  for (std::size_t i = common; i < from.size(); ++i) out += "../";
  for (std::size_t i = common; i < to.size(); ++i) out += std::string(to[i]) + (i + 1 < to.size() ? "/" : "");
  return out;
}

struct PciSpec {
  std::string bdf{};
  std::vector<std::uint8_t> config{};  // the bytes the config file holds
  std::string parent{};                // the upstream bridge's BDF, "" on a root bus
  std::string driver{};                // "" when unbound
  std::optional<unsigned> group{};
  std::string iommu{};  // unit name, "" for none
  int numa = -1;
  std::string physfn{};                         // PF's BDF for an SR-IOV VF
  std::optional<std::uint32_t> sysfs_class{};   // when the kernel's class differs from config
  std::optional<std::uint16_t> sysfs_vendor{};  // a VF's IDs (its config space reads 0xffff)
  std::optional<std::uint16_t> sysfs_device{};
};

struct PlatformSpec {
  std::string name{};       // "CIXH5010:00"
  std::string acpi_path{};  // "\\_SB_.DPU0"
  std::optional<unsigned> group{};
  std::string iommu{};
};

class SysfsFixture {
 public:
  SysfsFixture& kernel(std::string version_line, std::string cmdline) {
    version_ = std::move(version_line);
    cmdline_ = std::move(cmdline);
    return *this;
  }
  SysfsFixture& pci(PciSpec spec) {
    pci_.push_back(std::move(spec));
    return *this;
  }
  SysfsFixture& platform(PlatformSpec spec) {
    platform_.push_back(std::move(spec));
    return *this;
  }
  SysfsFixture& group(unsigned number, std::string type, std::string reserved_regions) {
    groups_[number] = {std::move(type), std::move(reserved_regions)};
    return *this;
  }
  // An Intel unit under sys/devices/virtual/iommu (parent NULL).
  SysfsFixture& intel_unit(const std::string& name, std::uint64_t cap, std::uint64_t ecap, std::uint64_t address) {
    Unit u{name, "sys/devices/virtual/iommu/" + name};
    u.files["intel-iommu/cap"] = fmt::format("{:x}\n", cap);
    u.files["intel-iommu/ecap"] = fmt::format("{:x}\n", ecap);
    u.files["intel-iommu/version"] = "1:0\n";
    u.files["intel-iommu/address"] = fmt::format("{:x}\n", address);
    u.files["intel-iommu/domains_supported"] = "65536\n";
    u.files["intel-iommu/domains_used"] = "9\n";
    units_.push_back(std::move(u));
    return *this;
  }
  // An AMD unit below the IOMMU's own PCI function.
  SysfsFixture& amd_unit(std::string name, std::string iommu_bdf, std::uint32_t cap, const std::string& features) {
    Unit u{std::move(name), ""};
    u.parent_pci = std::move(iommu_bdf);
    u.files["amd-iommu/cap"] = fmt::format("{:x}\n", cap);
    u.files["amd-iommu/features"] = features + "\n";
    units_.push_back(std::move(u));
    return *this;
  }
  // An Arm SMMU below its platform device (no attribute group).
  SysfsFixture& platform_unit(const std::string& name, const std::string& platform_device) {
    units_.push_back(Unit{name, "sys/devices/platform/" + platform_device + "/iommu/" + name});
    return *this;
  }
  SysfsFixture& table(const std::string& name, std::string bytes) {
    return file("sys/firmware/acpi/tables/" + name, std::move(bytes));
  }
  SysfsFixture& file(std::string path, std::string content) {
    extra_files_[std::move(path)] = std::move(content);
    return *this;
  }
  SysfsFixture& link(std::string path, std::string target) {
    extra_links_[std::move(path)] = std::move(target);
    return *this;
  }

  // The device folder of a PCI function (root-relative).
  [[nodiscard]] std::string pci_dir(const std::string& bdf) const {
    const PciSpec* spec = find(bdf);
    if (spec == nullptr) return {};
    if (spec->parent.empty()) {
      const auto b = pci::Bdf::parse(bdf).value();
      return fmt::format("sys/devices/pci{:04x}:{:02x}/{}", b.segment(), b.bus(), bdf);
    }
    return pci_dir(spec->parent) + "/" + bdf;
  }

  [[nodiscard]] FileTree build() const {
    FileTree t;
    const auto add_file = [&t](const std::string& path, std::string content) {
      if (auto s = t.add_file(path, std::move(content)); !s) throw std::runtime_error(s.error().to_string());
    };
    const auto add_link = [&t](const std::string& path, const std::string& target) {
      if (auto s = t.add_symlink(path, relative_link(path, target)); !s) {
        throw std::runtime_error(s.error().to_string());
      }
    };
    const auto add_dir = [&t](const std::string& path) {
      if (auto s = t.add_directory(path); !s) throw std::runtime_error(s.error().to_string());
    };
    if (!version_.empty()) add_file("proc/version", version_ + "\n");
    if (!cmdline_.empty()) add_file("proc/cmdline", cmdline_ + "\n");
    add_dir("sys/bus/pci/devices");
    add_dir("sys/kernel/iommu_groups");
    add_dir("sys/class/iommu");
    add_dir("sys/firmware/acpi/tables");

    std::map<std::string, std::string> unit_dirs;
    for (const auto& u : units_) {
      const std::string dir = u.parent_pci.empty() ? u.dir : fmt::format("{}/iommu/{}", pci_dir(u.parent_pci), u.name);
      unit_dirs[u.name] = dir;
      add_dir(dir);
      for (const auto& [name, content] : u.files) add_file(fmt::format("{}/{}", dir, name), content);
      add_file(dir + "/uevent", "");
      add_link("sys/class/iommu/" + u.name, dir);
    }

    for (const auto& p : pci_) {
      const std::string dir = pci_dir(p.bdf);
      const auto& c = p.config;
      const auto u8 = [&c](std::size_t o) -> unsigned { return o < c.size() ? c[o] : 0U; };
      const auto u16 = [&u8](std::size_t o) { return u8(o) | (u8(o + 1) << 8U); };
      add_file(dir + "/config", std::string(c.begin(), c.end()));
      add_file(dir + "/vendor", fmt::format("{:#06x}\n", p.sysfs_vendor.value_or(u16(0))));
      add_file(dir + "/device", fmt::format("{:#06x}\n", p.sysfs_device.value_or(u16(2))));
      add_file(dir + "/revision", fmt::format("{:#04x}\n", u8(8)));
      const std::uint32_t klass = p.sysfs_class.value_or(u8(9) | (u8(10) << 8U) | (u8(11) << 16U));
      add_file(dir + "/class", fmt::format("{:#08x}\n", klass));
      const bool bridge = (u8(0x0e) & 0x7fU) == 1;
      add_file(dir + "/subsystem_vendor", fmt::format("{:#06x}\n", bridge ? 0 : u16(0x2c)));
      add_file(dir + "/subsystem_device", fmt::format("{:#06x}\n", bridge ? 0 : u16(0x2e)));
      add_file(dir + "/numa_node", fmt::format("{}\n", p.numa));
      add_file(dir + "/irq", "16\n");
      add_file(dir + "/enable", "1\n");
      add_file(dir + "/local_cpulist", "0-3\n");
      add_file(dir + "/resource", "0x00000000f0000000 0x00000000f0ffffff 0x0000000000040200\n");
      add_file(dir + "/driver_override", "(null)\n");
      add_file(dir + "/uevent", fmt::format("PCI_SLOT_NAME={}\n", p.bdf));
      if (bridge) {
        add_file(dir + "/secondary_bus_number", fmt::format("{}\n", u8(0x19)));
        add_file(dir + "/subordinate_bus_number", fmt::format("{}\n", u8(0x1a)));
      }
      add_link("sys/bus/pci/devices/" + p.bdf, dir);
      if (!p.driver.empty()) {
        const std::string drv = "sys/bus/pci/drivers/" + p.driver;
        add_file(drv + "/bind", "");
        add_link(drv + "/" + p.bdf, dir);
        add_link(dir + "/driver", drv);
      }
      if (!p.physfn.empty()) {
        add_link(dir + "/physfn", pci_dir(p.physfn));
      }
      if (p.group) add_group_member(t, *p.group, p.bdf, dir);
      if (!p.iommu.empty()) add_unit_member(t, unit_dirs, p.iommu, p.bdf, dir);
    }
    // SR-IOV PF attributes.
    for (const auto& p : pci_) {
      std::vector<std::string> vfs;
      for (const auto& q : pci_) {
        if (q.physfn == p.bdf) vfs.push_back(q.bdf);
      }
      if (vfs.empty()) continue;
      const std::string dir = pci_dir(p.bdf);
      add_file(dir + "/sriov_totalvfs", fmt::format("{}\n", vfs.size() * 2));
      add_file(dir + "/sriov_numvfs", fmt::format("{}\n", vfs.size()));
      for (std::size_t i = 0; i < vfs.size(); ++i) add_link(dir + fmt::format("/virtfn{}", i), pci_dir(vfs[i]));
    }
    for (const auto& p : platform_) {
      const std::string dir = "sys/devices/platform/" + p.name;
      const std::string node = "sys/devices/LNXSYSTM:00/LNXSYBUS:00/" + p.name;
      add_file(node + "/path", p.acpi_path + "\n");
      add_file(node + "/hid", p.name.substr(0, p.name.find(':')) + "\n");
      add_file(dir + "/uevent", "");
      add_link(dir + "/firmware_node", node);
      if (p.group) add_group_member(t, *p.group, p.name, dir);
      if (!p.iommu.empty()) add_unit_member(t, unit_dirs, p.iommu, p.name, dir);
    }
    for (const auto& [number, g] : groups_) {
      const std::string dir = fmt::format("sys/kernel/iommu_groups/{}", number);
      add_dir(dir + "/devices");
      if (!g.first.empty()) add_file(dir + "/type", g.first + "\n");
      add_file(dir + "/reserved_regions", g.second);
    }
    for (const auto& [path, content] : extra_files_) add_file(path, content);
    for (const auto& [path, target] : extra_links_) {
      if (auto s = t.add_symlink(path, target); !s) throw std::runtime_error(s.error().to_string());
    }
    return t;
  }

 private:
  struct Unit {
    std::string name;
    std::string dir;
    std::map<std::string, std::string> files{};
    std::string parent_pci{};
  };

  [[nodiscard]] const PciSpec* find(const std::string& bdf) const {
    for (const auto& p : pci_) {
      if (p.bdf == bdf) return &p;
    }
    return nullptr;
  }

  static void add_group_member(FileTree& t, unsigned group, const std::string& name, const std::string& dir) {
    const std::string group_dir = fmt::format("sys/kernel/iommu_groups/{}", group);
    const std::string member = group_dir + "/devices/" + name;
    (void)t.add_symlink(member, relative_link(member, dir));
    (void)t.add_symlink(dir + "/iommu_group", relative_link(dir + "/iommu_group", group_dir));
  }

  static void add_unit_member(FileTree& t, const std::map<std::string, std::string>& unit_dirs, const std::string& unit,
                              const std::string& name, const std::string& dir) {
    auto it = unit_dirs.find(unit);
    if (it == unit_dirs.end()) throw std::runtime_error("no unit " + unit);
    const std::string member = it->second + "/devices/" + name;
    (void)t.add_symlink(member, relative_link(member, dir));
    (void)t.add_symlink(dir + "/iommu", relative_link(dir + "/iommu", it->second));
  }

  std::string version_;
  std::string cmdline_;
  std::vector<PciSpec> pci_;
  std::vector<PlatformSpec> platform_;
  std::map<unsigned, std::pair<std::string, std::string>> groups_;
  std::vector<Unit> units_;
  std::map<std::string, std::string> extra_files_;
  std::map<std::string, std::string> extra_links_;
};

// The reserved_regions text of a group whose devices report these regions
// (each device's list in the kernel's per-device order), merged with the
// kernel's iommu_insert_resv_region (5.3+).
inline std::string group_regions(const std::vector<std::vector<iova::ResvRegion>>& devices) {
  iova::ResvList list;
  for (const auto& d : devices) list.insert_all(d);
  return list.to_sysfs();
}

inline iova::ResvRegion region(std::uint64_t first, std::uint64_t last, iova::ResvType type) {
  return iova::ResvRegion{first, last - first + 1, type, 0};
}

// The Intel driver's per-device list (intel_iommu_get_resv_regions, 6.1):
// RMRRs (given in reverse table order), the ISA bridge's 0-16 MiB, the MSI window.
inline std::vector<iova::ResvRegion> intel_device(std::vector<iova::ResvRegion> rmrrs, bool isa_bridge = false) {
  if (isa_bridge) rmrrs.push_back(region(0, 0xffffff, iova::ResvType::kDirectRelaxable));
  rmrrs.push_back(region(0xfee00000, 0xfeefffff, iova::ResvType::kMsi));
  return rmrrs;
}

}  // namespace iovakit::host::testing
