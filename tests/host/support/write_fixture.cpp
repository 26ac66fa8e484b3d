// host_write_fixture NAME DIR: writes one of the synthetic hosts of
// fixtures.h to DIR as a sysfs-shaped folder (links included). Used to make
// the bundled example (examples/hosts/intel-laptop is `iovakit snapshot` of
// the intel-laptop fixture) and to look at a fixture with `iovakit --root`.
#include <cstdio>
#include <map>
#include <string>

#include "host/support/fixtures.h"

int main(int argc, char** argv) {
  using namespace iovakit::host::testing;
  const std::map<std::string, SysfsFixture (*)()> fixtures = {
      {"intel-laptop", intel_laptop}, {"server-nic-rmrr", server_nic_rmrr}, {"amd-ivmd", amd_ivmd},
      {"arm-iort-rmr", arm_iort_rmr}, {"pcie-to-pci", pcie_to_pci},         {"planted-secrets", planted_secrets}};
  const auto it = argc == 3 ? fixtures.find(argv[1]) : fixtures.end();
  if (it == fixtures.end()) {
    std::fprintf(stderr, "usage: host_write_fixture NAME DIR; NAME is one of:");
    for (const auto& [name, make] : fixtures) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 64;
  }
  if (auto status = iovakit::host::write_tree_to_directory(it->second().build(), argv[2]); !status) {
    std::fprintf(stderr, "%s\n", status.error().to_string().c_str());
    return 1;
  }
  return 0;
}
