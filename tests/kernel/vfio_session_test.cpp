// VfioSession on the QEMU q35 machine of the oracle's type1-holes scenario
// (tests/data/qemu/q35-e1000e: QEMU's DMAR, the unit's cap/ecap and the
// functions' config space, captured from the guest). The expected answers
// are the ones Debian's 6.1 and 6.12 kernels gave for the same steps.
#include "iovakit/kernel/vfio_session.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "kernel/platform_test_support.h"

namespace iovakit::kernel {
namespace {

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Q35 {
  pci::Topology topology;
  acpi::Dmar dmar;
  PlatformInput input;
};

std::unique_ptr<Q35> q35() {
  const std::filesystem::path dir = std::filesystem::path(IOVAKIT_TEST_DATA_DIR) / "qemu" / "q35-e1000e";
  std::vector<pci::DeviceRecord> records;
  for (const auto& e : std::filesystem::directory_iterator(dir / "pci")) {
    auto config = pci::ConfigSpace::parse(read_bytes(e.path()));
    EXPECT_TRUE(config.ok());
    records.push_back({.bdf = pci::Bdf::parse(e.path().filename().string()).value(), .config = config.value()});
  }
  auto topology = pci::Topology::build(std::move(records));
  auto dmar = acpi::decode_dmar(read_bytes(dir / "DMAR"));
  EXPECT_TRUE(topology.ok() && dmar.ok());
  auto m = std::make_unique<Q35>(Q35{std::move(topology).value(), std::move(dmar).value(), {}});
  m->input.topology = &m->topology;
  m->input.dmar = &m->dmar;
  m->input.intel_registers[m->dmar.drhds.front().register_base] = {0xd2008c22260286ULL, 0xf00f5eULL};
  return m;
}

std::vector<std::string> run(const PlatformPrediction& p, const pci::Topology& t, const std::vector<std::string>& steps,
                             std::vector<VfioStepResult>* out = nullptr) {
  VfioSession session(p, t);
  std::vector<std::string> results;
  for (const auto& text : steps) {
    auto step = parse_vfio_step(text);
    EXPECT_TRUE(step.ok()) << text;
    VfioStepResult r = session.run(*step);
    results.push_back(text + " -> " + r.result);
    if (out != nullptr) out->push_back(std::move(r));
  }
  return results;
}

TEST(VfioSession, Type1HolesAsTheKernelAnswered) {
  const auto m = q35();
  const std::vector<std::string> steps = {
      "bind=0000:00:02.0",
      "group=0000:00:02.0",
      "iommu=3",
      "map=0xfedff000,0x2000",
      "map=0xfeeff000,0x2000",
      "map=0xfedf0000,0x200000",
      "map=0xfee00000,0x1000",
      "map=0xfeeff000,0x1000",
      "map=0xfedff000,0x1000",
      "map=0xfef00000,0x1000",
      "map=0x0,0x1000",
      "map=0x100000,0x1000",
      "map=0x100000,0x1000",
      "map=0x100800,0x1000",
      "map=0x200000,0x0",
      "map=0x40000000,0x200000",
      "map=0x7ffffff000,0x2000",
      "map=0x7ffffff000,0x1000",
      "map=0x8000000000,0x1000",
      "map=0xfffffffffffff000,0x2000",
      "unmap=0x100000,0x1000",
      "unmap=0x100000,0x1000",
      "map=0x100000,0x1000",
  };
  const std::vector<std::string> want = {
      "bind=0000:00:02.0 -> 0 driver=vfio-pci",
      "group=0000:00:02.0 -> 0",
      "iommu=3 -> 0",
      "map=0xfedff000,0x2000 -> EINVAL",
      "map=0xfeeff000,0x2000 -> EINVAL",
      "map=0xfedf0000,0x200000 -> EINVAL",
      "map=0xfee00000,0x1000 -> EINVAL",
      "map=0xfeeff000,0x1000 -> EINVAL",
      "map=0xfedff000,0x1000 -> 0",
      "map=0xfef00000,0x1000 -> 0",
      "map=0x0,0x1000 -> 0",
      "map=0x100000,0x1000 -> 0",
      "map=0x100000,0x1000 -> EEXIST",
      "map=0x100800,0x1000 -> EINVAL",
      "map=0x200000,0x0 -> EINVAL",
      "map=0x40000000,0x200000 -> 0",
      "map=0x7ffffff000,0x2000 -> EINVAL",
      "map=0x7ffffff000,0x1000 -> 0",
      "map=0x8000000000,0x1000 -> EINVAL",
      "map=0xfffffffffffff000,0x2000 -> EINVAL",
      "unmap=0x100000,0x1000 -> 0 unmapped=0x1000",
      "unmap=0x100000,0x1000 -> 0 unmapped=0x0",
      "map=0x100000,0x1000 -> 0",
  };
  for (const char* profile : {"6.1", "6.12"}) {
    SCOPED_TRACE(profile);
    const PlatformPrediction p = testing::predict(m->input, profile);
    EXPECT_EQ(p.group_of(*m->topology.find(pci::Bdf::parse("0000:00:02.0").value()))->sysfs,
              "0x00000000fee00000 0x00000000feefffff msi\n");
    EXPECT_EQ(run(p, m->topology, steps), want);
  }
}

TEST(VfioSession, GetInfoLayoutPerKernel) {
  const auto m = q35();
  struct Case {
    const char* profile;
    std::vector<std::uint32_t> argsz;
    std::vector<std::uint32_t> copied;
    std::uint32_t iova_cap_offset;
  };
  // 6.1: caps unpadded, IOVA range at 68; 6.12: 8-byte aligned, at 72.
  for (const Case& c : {Case{"6.1", {116, 116, 116}, {16, 20}, 68}, Case{"6.12", {120, 120, 120}, {16, 24}, 72}}) {
    SCOPED_TRACE(c.profile);
    std::vector<VfioStepResult> results;
    run(testing::predict(m->input, c.profile), m->topology,
        {"bind=0000:00:02.0", "group=0000:00:02.0", "iommu=3", "info"}, &results);
    const auto& info = results.back().info;
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->argsz, c.argsz);
    EXPECT_EQ(info->copied, c.copied);
    ASSERT_EQ(info->caps.size(), 3U);
    EXPECT_EQ(info->caps.back().offset, c.iova_cap_offset);
    EXPECT_EQ(info->iova_ranges, (std::vector<VfioIovaRange>{{0, 0xfedfffff}, {0xfef00000, 0x7fffffffff}}));
    EXPECT_EQ(info->pgsizes, 0x40201000U);
    EXPECT_EQ(info->dma_avail, 65535U);
  }
}

TEST(VfioSession, StepsWithoutAGroupOrWithARefusal) {
  const auto m = q35();
  PlatformInput in = m->input;
  // The ISA bridge's group works on both kernels (direct-relaxable only).
  const PlatformPrediction p = testing::predict(in, "6.12");
  EXPECT_EQ(
      run(p, m->topology, {"bind=0000:00:1f.0", "group=0000:00:1f.0", "iommu=3"}),
      (std::vector<std::string>{"bind=0000:00:1f.0 -> 0 driver=vfio-pci", "group=0000:00:1f.0 -> 0", "iommu=3 -> 0"}));
  // Without remapping nothing has a group: bind leaves the device unbound
  // and the group cannot be opened.
  in.intel.enabled = false;
  const PlatformPrediction off = testing::predict(in, "6.12");
  EXPECT_EQ(run(off, m->topology, {"bind=0000:00:02.0", "group=0000:00:02.0"}),
            (std::vector<std::string>{"bind=0000:00:02.0 -> 0 driver=none", "group=0000:00:02.0 -> ENOENT"}));
}

TEST(VfioSession, ParseErrorsNameTheStep) {
  for (const char* bad : {"map=0x1000", "map=zz,0x1000", "bind=00:02", "iommu=", "info=1", "frob=1"}) {
    auto s = parse_vfio_step(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message().find(bad), std::string::npos) << s.error().message();
  }
}

}  // namespace
}  // namespace iovakit::kernel
