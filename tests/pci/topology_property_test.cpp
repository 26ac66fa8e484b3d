// Property tests over random PCI hierarchies numbered the way Linux numbers
// buses (depth first). For each one: the topology from sysfs paths equals the
// topology inferred from bus ranges; every device is matched exactly by the
// DMAR scope spelling its own path, and the VT-d walk of that scope agrees;
// the DMA alias walk adds one alias per aliasing bridge above the device.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "iovakit/pci/dma_alias.h"
#include "iovakit/pci/scope_match.h"
#include "pci/support/machines.h"
#include "support/rng.h"

namespace iovakit::pci {
namespace {

struct Generated {
  std::vector<DeviceRecord> with_sysfs;
  std::vector<DeviceRecord> without_sysfs;
  std::vector<std::size_t> aliasing_bridges_above;  // by position in with_sysfs
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Generated run() {
    populate(0, {}, 0, false, 0);
    return std::move(out_);
  }

 private:
  void add(const Bdf& bdf, const testing::ConfigBuilder& config, const std::vector<Bdf>& above, std::size_t aliasing) {
    std::string sysfs = "/sys/devices/pci0000:00";
    for (const auto& hop : above) sysfs += "/" + hop.to_string();
    sysfs += "/" + bdf.to_string();
    out_.with_sysfs.push_back(testing::record(bdf.to_string(), config, sysfs));
    out_.without_sysfs.push_back(testing::record(bdf.to_string(), config));
    out_.aliasing_bridges_above.push_back(aliasing);
  }

  // Fills `bus` with functions; conventional buses get conventional devices.
  void populate(std::uint8_t bus, const std::vector<Bdf>& above, int depth, bool conventional_bus,
                std::size_t aliasing) {
    const unsigned slots = 1 + static_cast<unsigned>(rng_.below(3));
    auto device = static_cast<unsigned>(rng_.below(4));
    for (unsigned s = 0; s < slots && device <= kMaxDevice; ++s, device += 1 + static_cast<unsigned>(rng_.below(6))) {
      const bool make_bridge = depth < 4 && next_bus_ < 240 && rng_.below(3) == 0;
      if (!make_bridge) {
        const unsigned functions = 1 + static_cast<unsigned>(rng_.below(3));
        for (unsigned fn = 0; fn < functions; ++fn) {
          const Bdf bdf(0, bus, device, fn);
          const auto config =
              conventional_bus ? testing::conventional(0x1234, 0x0001, 0x0c0300, functions > 1)
                               : testing::pcie_endpoint(0x1234, 0x0002, 0x020000, PcieType::kEndpoint, functions > 1);
          add(bdf, config, above, aliasing);
        }
        continue;
      }
      const Bdf bdf(0, bus, device, 0);
      const auto secondary = static_cast<std::uint8_t>(next_bus_++);
      const bool to_pci = !conventional_bus && rng_.below(4) == 0;
      std::vector<Bdf> below = above;
      below.push_back(bdf);
      const std::size_t child_aliasing = aliasing + ((to_pci || conventional_bus) ? 1 : 0);
      const std::size_t index = out_.with_sysfs.size();
      // Placeholder subordinate: patched once the bus below is numbered.
      add(bdf, testing::pci_bridge(0x1234, 0x0003, bus, 0, 0), above, aliasing);
      populate(secondary, below, depth + 1, conventional_bus || to_pci, child_aliasing);
      const auto subordinate = static_cast<std::uint8_t>(next_bus_ - 1);
      testing::ConfigBuilder config = conventional_bus
                                          ? testing::pci_bridge(0x1234, 0x0003, bus, secondary, subordinate)
                                          : testing::pcie_bridge(0x1234, 0x0004,
                                                                 to_pci       ? PcieType::kPcieToPciBridge
                                                                 : depth == 0 ? PcieType::kRootPort
                                                                              : PcieType::kDownstreamPort,
                                                                 bus, secondary, subordinate);
      out_.with_sysfs[index].config = config.parse();
      out_.without_sysfs[index].config = config.parse();
    }
  }

  iovakit::testing::SplitMix64 rng_;
  unsigned next_bus_ = 1;
  Generated out_;
};

TEST(TopologyProperty, SysfsAndBusRangesAgreeAndEveryDeviceMatchesItsOwnScope) {
  std::size_t devices = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(seed);
    Generated g = Generator(seed).run();
    const std::vector<std::size_t> aliasing = g.aliasing_bridges_above;
    std::vector<Bdf> order;
    for (const auto& rec : g.with_sysfs) order.push_back(rec.bdf);
    const Topology a = testing::build(std::move(g.with_sysfs));
    const Topology b = testing::build(std::move(g.without_sysfs));
    ASSERT_EQ(a.size(), b.size());
    EXPECT_TRUE(a.issues().empty());
    EXPECT_TRUE(b.issues().empty());
    for (std::size_t i = 0; i < a.size(); ++i) {
      ++devices;
      ASSERT_EQ(a.bdf(i), b.bdf(i));
      EXPECT_EQ(a.path_from_root(i), b.path_from_root(i)) << a.bdf(i).to_string();
      EXPECT_EQ(a.parent(i), b.parent(i)) << a.bdf(i).to_string();
      EXPECT_EQ(a.root_bus(i), 0);

      DeviceScope scope{a.config(i).is_bridge_header() ? kScopeBridge : kScopeEndpoint, a.root_bus(i), {}};
      for (const auto& hop : a.path_from_root(i)) {
        scope.path.push_back({static_cast<std::uint8_t>(hop.device()), static_cast<std::uint8_t>(hop.function())});
      }
      const auto match = insert_dev_scope(a, i, 0, std::vector{scope});
      EXPECT_EQ(match.outcome, ScopeOutcome::kInserted) << scope.to_string();
      EXPECT_EQ(match.path_match, PathMatch::kExact) << scope.to_string();
      const auto cmp = compare_scopes(a, 0, std::vector{scope});
      ASSERT_EQ(cmp.size(), 1U);
      EXPECT_TRUE(cmp[0].agree) << cmp[0].explanation;

      const auto position = static_cast<std::size_t>(std::find(order.begin(), order.end(), a.bdf(i)) - order.begin());
      const auto result = dma_aliases(a, i);
      EXPECT_TRUE(result.complete);
      EXPECT_EQ(result.aliases.size(), 1 + aliasing[position]) << a.bdf(i).to_string();
    }
  }
  EXPECT_GT(devices, 1000U);
}

}  // namespace
}  // namespace iovakit::pci
