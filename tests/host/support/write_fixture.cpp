// host_write_fixture NAME DIR: writes one of the synthetic hosts of
// fixtures.h to DIR as a sysfs-shaped folder (links included). Used to make
// the bundled example (examples/hosts/intel-laptop is `iovakit snapshot` of
// the intel-laptop fixture) and to look at a fixture with `iovakit --root`.
//
// host_write_fixture --seeds DIR: writes the seed corpus of fuzz_host_sysfs:
// each fixture's capture in the fuzzer's record format (fuzz/host_tree_format.h;
// config space cut to 256 bytes, so a seed stays far under run_fuzzer.sh's
// 64 KiB -max_len), and the four broken inputs of bad_input_test.cpp.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "fuzz/host_tree_format.h"
#include "host/support/fixtures.h"
#include "iovakit/host/snapshot.h"

namespace {

using iovakit::host::FileTree;
using iovakit::host::NodeType;
using iovakit::host::testing::amd_ivmd;
using iovakit::host::testing::arm_iort_rmr;
using iovakit::host::testing::intel_laptop;
using iovakit::host::testing::pcie_to_pci;
using iovakit::host::testing::planted_secrets;
using iovakit::host::testing::server_nic_rmrr;
using iovakit::host::testing::SysfsFixture;

const std::map<std::string, SysfsFixture (*)()>& fixtures() {
  static const std::map<std::string, SysfsFixture (*)()> by_name = {
      {"intel-laptop", intel_laptop}, {"server-nic-rmrr", server_nic_rmrr}, {"amd-ivmd", amd_ivmd},
      {"arm-iort-rmr", arm_iort_rmr}, {"pcie-to-pci", pcie_to_pci},         {"planted-secrets", planted_secrets}};
  return by_name;
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return static_cast<bool>(out);
}

// The capture of a fixture, configs cut to 256 bytes.
FileTree seed_tree(const SysfsFixture& f) {
  const FileTree full = f.build();
  iovakit::host::TreeSource source(full, "seed");
  const FileTree captured = iovakit::host::capture_snapshot(source).value().tree;
  FileTree out;
  for (const auto& [path, node] : captured.nodes()) {
    if (node.type == NodeType::kFile) {
      const bool config = path.size() > 7 && path.substr(path.size() - 7) == "/config";
      (void)out.add_file(path, config ? node.data.substr(0, 256) : node.data);
    } else if (node.type == NodeType::kSymlink) {
      (void)out.add_symlink(path, node.data);
    } else {
      (void)out.add_directory(path);
    }
  }
  return out;
}

int write_seeds(const std::string& dir) {
  bool ok = true;
  for (const auto& [name, make] : fixtures()) {
    if (name == "planted-secrets") continue;  // its capture is intel-laptop's
    ok = ok && write_file(fmt::format("{}/{}.tree", dir, name), iovakit::fuzz::encode_tree(seed_tree(make())));
  }
  SysfsFixture bad_class = intel_laptop();
  bad_class.file(bad_class.pci_dir("0000:00:14.0") + "/class", "\x01\xfe garbage\n");
  ok = ok && write_file(dir + "/garbage-class.tree", iovakit::fuzz::encode_tree(seed_tree(bad_class)));
  SysfsFixture truncated = intel_laptop();
  truncated.file(truncated.pci_dir("0000:00:14.0") + "/config", std::string("\x86\x80\x2f", 3));
  ok = ok && write_file(dir + "/truncated-config.tree", iovakit::fuzz::encode_tree(seed_tree(truncated)));
  SysfsFixture dangling = pcie_to_pci();
  dangling.link("sys/bus/pci/devices/0000:00:1d.1", "../../../devices/pci0000:00/0000:00:1d.1");
  dangling.link(dangling.pci_dir("0000:00:1f.0") + "/driver", "../../../bus/pci/drivers/lpc_ich");
  dangling.link("sys/kernel/iommu_groups/8/devices/0000:00:1f.7", "../../../../devices/pci0000:00/0000:00:1f.7");
  ok = ok && write_file(dir + "/dangling-links.tree", iovakit::fuzz::encode_tree(seed_tree(dangling)));
  SysfsFixture huge;
  std::string lines;
  for (int i = 0; i < 10000; ++i) lines += "0x00000000fee00000 0x00000000feefffff msi\n";
  huge.group(0, "DMA", lines);
  ok = ok && write_file(dir + "/reserved-regions-10000-lines.tree", iovakit::fuzz::encode_tree(huge.build()));
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--seeds") return write_seeds(argv[2]);
  const auto it = argc == 3 ? fixtures().find(argv[1]) : fixtures().end();
  if (it == fixtures().end()) {
    std::fprintf(stderr, "usage: host_write_fixture NAME DIR | --seeds DIR; NAME is one of:");
    for (const auto& [name, make] : fixtures()) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 64;
  }
  if (auto status = iovakit::host::write_tree_to_directory(it->second().build(), argv[2]); !status) {
    std::fprintf(stderr, "%s\n", status.error().to_string().c_str());
    return 1;
  }
  return 0;
}
