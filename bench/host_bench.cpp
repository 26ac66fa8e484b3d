// Building a Host from a synthetic sysfs tree at SR-IOV scale: 4,096 PCI
// functions (16 root ports, each with a PF at bus:00.0 and 254 VFs, devfn
// 1..254, linked to it by physfn) in 512 IOMMU groups of 8, one VT-d unit
// translating all of them, the kernel laid out as sysfs does (links from
// sys/bus/pci/devices, iommu_group, iommu, driver, group devices/, the
// unit's devices/). Config space is 4 KiB per function (what root reads).
//
//   BM_BuildHost/memory   the tree in memory (TreeSource: a .tar.gz capture)
//   BM_BuildHost/folder   the tree written to a folder once, read through
//                         DirectorySource each time (page cache warm: the
//                         cost of the syscalls, not of the disk)
//
// Each iteration gets a fresh source (its lstat cache empty), as one run of
// `iovakit host` does. Counter: functions per second. With
// IOVAKIT_BENCH_SMOKE set (ctest -L bench, under ASan) the tree has 2 ports
// (512 functions) so the check stays quick.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "host/support/sysfs_fixture.h"
#include "iovakit/host/file_source.h"
#include "iovakit/host/host.h"

namespace {

using iovakit::host::FileTree;
using iovakit::host::testing::SysfsFixture;

unsigned ports() { return std::getenv("IOVAKIT_BENCH_SMOKE") != nullptr ? 2 : 16; }
constexpr unsigned kFunctionsPerBus = 255;  // the PF and 254 VFs
constexpr unsigned kGroupSize = 8;

// A PCIe config space: capability list at 0x40 with the PCIe capability
// (type: 0 endpoint, 4 root port); ports get a type 1 header and bus numbers.
std::vector<std::uint8_t> config(std::uint16_t vendor, std::uint16_t device, std::uint32_t klass, unsigned type,
                                 unsigned secondary = 0) {
  std::vector<std::uint8_t> c(4096, 0);
  const auto put16 = [&c](std::size_t o, unsigned v) {
    c[o] = static_cast<std::uint8_t>(v & 0xffU);
    c[o + 1] = static_cast<std::uint8_t>((v >> 8U) & 0xffU);
  };
  put16(0x00, vendor);
  put16(0x02, device);
  put16(0x06, 0x0010);  // status: capability list
  c[0x09] = static_cast<std::uint8_t>(klass & 0xffU);
  c[0x0a] = static_cast<std::uint8_t>((klass >> 8U) & 0xffU);
  c[0x0b] = static_cast<std::uint8_t>((klass >> 16U) & 0xffU);
  c[0x34] = 0x40;
  c[0x40] = 0x10;  // PCI Express capability, last in the list
  put16(0x42, 0x2U | (type << 4U));
  if (type == 4) {
    c[0x0e] = 0x01;
    c[0x19] = static_cast<std::uint8_t>(secondary);
    c[0x1a] = static_cast<std::uint8_t>(secondary);
  }
  return c;
}

FileTree sriov_tree() {
  SysfsFixture f;
  f.kernel("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.76-1",
           "BOOT_IMAGE=/vmlinuz ro intel_iommu=on iommu=pt");
  f.intel_unit("dmar0", 0xd2008c40660462, 0xf050da, 0xfed91000);
  unsigned index = 0;
  const auto next_group = [&index] { return index++ / kGroupSize; };
  for (unsigned p = 0; p < ports(); ++p) {
    const unsigned bus = p + 1;
    f.pci({.bdf = fmt::format("0000:00:{:02x}.0", p + 1),
           .config = config(0x8086, 0x2030, 0x060400, 4, bus),
           .driver = "pcieport",
           .group = next_group(),
           .iommu = "dmar0"});
    const std::string pf = fmt::format("0000:{:02x}:00.0", bus);
    const std::string port = fmt::format("0000:00:{:02x}.0", p + 1);
    f.pci({.bdf = pf,
           .config = config(0x8086, 0x1592, 0x020000, 0),
           .parent = port,
           .driver = "ice",
           .group = next_group(),
           .iommu = "dmar0"});
    for (unsigned devfn = 1; devfn < kFunctionsPerBus; ++devfn) {
      // A VF's config space reads 0xffff for its IDs; sysfs has them.
      f.pci({.bdf = fmt::format("0000:{:02x}:{:02x}.{}", bus, devfn >> 3U, devfn & 7U),
             .config = config(0xffff, 0xffff, 0x020000, 0),
             .parent = port,
             .driver = "vfio-pci",
             .group = next_group(),
             .iommu = "dmar0",
             .physfn = pf,
             .sysfs_vendor = 0x8086,
             .sysfs_device = 0x1889});
    }
  }
  for (unsigned g = 0; g < index / kGroupSize; ++g) {
    f.group(g, "DMA", "0x00000000fee00000 0x00000000feefffff msi\n");
  }
  return f.build();
}

const FileTree& tree() {
  static const FileTree built = sriov_tree();
  return built;
}

void report(benchmark::State& state, const iovakit::host::Host& host) {
  state.counters["functions"] = static_cast<double>(host.devices.size());
  state.counters["groups"] = static_cast<double>(host.groups.size());
  state.counters["issues"] = static_cast<double>(host.issues.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * host.devices.size()));
}

void BM_BuildHost_Memory(benchmark::State& state) {
  iovakit::host::Host last;
  for (auto _ : state) {
    state.PauseTiming();
    auto source = std::make_unique<iovakit::host::TreeSource>(tree(), "bench");
    state.ResumeTiming();
    auto host = iovakit::host::build_host(*source);
    benchmark::DoNotOptimize(host);
    state.PauseTiming();
    last = std::move(*host);
    source.reset();
    state.ResumeTiming();
  }
  report(state, last);
}
BENCHMARK(BM_BuildHost_Memory)->Name("BM_BuildHost/memory")->Unit(benchmark::kMillisecond);

void BM_BuildHost_Folder(benchmark::State& state) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "iovakit-host-bench";
  std::filesystem::remove_all(dir);
  if (auto status = iovakit::host::write_tree_to_directory(tree(), dir.string()); !status) {
    state.SkipWithError(status.error().to_string().c_str());
    return;
  }
  iovakit::host::Host last;
  for (auto _ : state) {
    auto source = iovakit::host::open_root(dir.string());
    auto host = iovakit::host::build_host(**source);
    benchmark::DoNotOptimize(host);
    state.PauseTiming();
    last = std::move(*host);
    state.ResumeTiming();
  }
  report(state, last);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_BuildHost_Folder)->Name("BM_BuildHost/folder")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
