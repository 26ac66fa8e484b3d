// Properties of pci_device_group() (drivers/iommu/iommu.c) over random PCI
// hierarchies: root ports, switches, PCIe-to-PCI bridges, multifunction
// endpoints and RCiEPs, each port with ACS enabled, disabled or absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "iovakit/kernel/iommu_groups.h"
#include "kernel/iommu_groups_test_support.h"
#include "support/rng.h"

namespace iovakit::kernel {
namespace {

using pci::PcieType;
using testing::endpoint;
using testing::port;

// A generated machine and, per device, whether the generator built it as a
// single-function PCIe endpoint whose every upstream bridge isolates.
struct Machine {
  std::vector<pci::DeviceRecord> records;
  std::set<std::string> isolated_endpoints;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Machine make() {
    const unsigned slots = 1 + static_cast<unsigned>(rng_.below(5));
    for (unsigned s = 0; s < slots; ++s) {
      const auto device = static_cast<std::uint8_t>(1 + s * 3);
      switch (rng_.below(3)) {
        case 0: root_port(device); break;
        case 1: functions(0, device, PcieType::kRcIntegratedEndpoint, true); break;
        default: conventional_slot(0, device); break;
      }
    }
    return std::move(m_);
  }

 private:
  std::optional<testing::Acs> random_acs() {
    switch (rng_.below(3)) {
      case 0: return testing::kAcsOn;
      case 1: return testing::kAcsOff;
      default: return std::nullopt;
    }
  }

  static std::string bdf(std::uint8_t bus, unsigned device, unsigned function) {
    return pci::Bdf(0, bus, device, function).to_string();
  }

  // One to three functions of a slot; PCIe endpoints or RCiEPs.
  void functions(std::uint8_t bus, unsigned device, PcieType type, bool path_isolated) {
    const unsigned count = 1 + static_cast<unsigned>(rng_.below(3));
    const bool mf = count > 1;
    for (unsigned f = 0; f < count; ++f) {
      const auto acs = mf ? random_acs() : std::nullopt;
      m_.records.push_back(testing::record(bdf(bus, device, f), endpoint(0x1af4, 0x1041, 0x020000, mf, acs, type)));
      if (!mf && path_isolated) m_.isolated_endpoints.insert(bdf(bus, device, f));
    }
  }

  void conventional_slot(std::uint8_t bus, unsigned device) {
    const unsigned count = 1 + static_cast<unsigned>(rng_.below(3));
    for (unsigned f = 0; f < count; ++f) {
      m_.records.push_back(
          testing::record(bdf(bus, device, f), testing::conventional(0x1af4, 0x1000, 0x020000, count > 1)));
    }
  }

  // What hangs below a port; returns the subordinate bus.
  std::uint8_t below(std::uint8_t bus, bool path_isolated, int depth) {
    switch (depth > 2 ? 0 : rng_.below(3)) {
      case 0: functions(bus, 0, PcieType::kEndpoint, path_isolated); return bus;
      case 1: {  // a switch
        const std::uint8_t inner = next_bus_++;
        const std::size_t usp = reserve();
        const unsigned ports = 1 + static_cast<unsigned>(rng_.below(3));
        std::uint8_t sub = inner;
        for (unsigned p = 0; p < ports; ++p) {
          const auto acs = random_acs();
          const std::uint8_t secondary = next_bus_++;
          const std::size_t dsp = reserve();
          const bool isolating = acs.has_value() && acs->control == testing::kAcsOn.control;
          sub = below(secondary, path_isolated && isolating, depth + 1);
          m_.records[dsp] = testing::record(
              bdf(inner, p * 4, 0), port(0x1b36, 0x000e, PcieType::kDownstreamPort, inner, secondary, sub, acs));
        }
        m_.records[usp] = testing::record(bdf(bus, 0, 0),
                                          port(0x1b36, 0x000d, PcieType::kUpstreamPort, bus, inner, sub, std::nullopt));
        return sub;
      }
      default: {  // a PCIe-to-PCI bridge with conventional devices
        const std::uint8_t secondary = next_bus_++;
        m_.records.push_back(testing::record(
            bdf(bus, 0, 0), port(0x104c, 0x8240, PcieType::kPcieToPciBridge, bus, secondary, secondary, std::nullopt)));
        const unsigned devices = 1 + static_cast<unsigned>(rng_.below(3));
        for (unsigned d = 0; d < devices; ++d) conventional_slot(secondary, 4 + d);
        return secondary;
      }
    }
  }

  void root_port(std::uint8_t device) {
    const auto acs = random_acs();
    const std::uint8_t secondary = next_bus_++;
    const std::size_t rp = reserve();
    const bool isolating = acs.has_value() && acs->control == testing::kAcsOn.control;
    const std::uint8_t sub = below(secondary, isolating, 0);
    m_.records[rp] =
        testing::record(bdf(0, device, 0), port(0x1b36, 0x000c, PcieType::kRootPort, 0, secondary, sub, acs));
  }

  std::size_t reserve() {
    m_.records.push_back(testing::record("0000:ff:1f.7", testing::conventional(0x1af4, 0x1000, 0)));
    return m_.records.size() - 1;
  }

  iovakit::testing::SplitMix64 rng_;
  Machine m_;
  std::uint8_t next_bus_ = 1;
};

std::set<std::set<std::size_t>> partition(const GroupPrediction& p) {
  std::set<std::set<std::size_t>> out;
  for (const auto& g : p.groups) {
    std::set<std::size_t> members;
    for (const auto& m : g.members) members.insert(m.device);
    out.insert(members);
  }
  return out;
}

// A probe order that adds every bridge before the devices below it.
std::vector<std::size_t> random_parent_first(const pci::Topology& t, iovakit::testing::SplitMix64& rng) {
  std::vector<std::size_t> out;
  std::vector<bool> placed(t.size(), false);
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!t.parent(i)) ready.push_back(i);
  }
  while (!ready.empty()) {
    const auto k = static_cast<std::size_t>(rng.below(ready.size()));
    const std::size_t d = ready[k];
    ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(k));
    out.push_back(d);
    placed[d] = true;
    for (const std::size_t c : t.children(d)) ready.push_back(c);
  }
  return out;
}

TEST(IommuGroupsProperty, RandomHierarchies) {
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    Generator gen(seed);
    Machine m = gen.make();
    const std::set<std::string> isolated = m.isolated_endpoints;
    const pci::Topology t = testing::build(std::move(m.records));
    const GroupPrediction p = predict_iommu_groups(t, GroupOptions{});
    ASSERT_TRUE(p.certain()) << "seed " << seed;

    // Membership is a partition of all devices, and group_of agrees.
    std::vector<int> seen(t.size(), 0);
    for (std::size_t g = 0; g < p.groups.size(); ++g) {
      ASSERT_FALSE(p.groups[g].members.empty()) << "seed " << seed;
      EXPECT_EQ(p.groups[g].id, g) << "seed " << seed;
      for (const auto& mem : p.groups[g].members) {
        ++seen[mem.device];
        EXPECT_EQ(p.group_of[mem.device], g) << "seed " << seed;
      }
    }
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(seen[i], 1) << "seed " << seed << " device " << i;

    // A single-function endpoint below isolating ports only is alone.
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (!isolated.contains(t.bdf(i).to_string())) continue;
      EXPECT_EQ(p.members_with(i).size(), 1U) << "seed " << seed << " " << t.bdf(i).to_string();
    }

    // Any parent-first probe order gives the same membership.
    iovakit::testing::SplitMix64 rng(seed * 7919);
    for (int round = 0; round < 3; ++round) {
      const GroupPrediction q = predict_iommu_groups(t, GroupOptions{}, random_parent_first(t, rng));
      EXPECT_EQ(partition(q), partition(p)) << "seed " << seed << " round " << round;
    }

    // More isolation never merges groups: with pcie_acs_override every
    // group is inside one of the groups without it.
    GroupOptions ov;
    ov.acs.acs_override = AcsOverride{true, true, {}};
    const GroupPrediction o = predict_iommu_groups(t, ov);
    for (const auto& g : o.groups) {
      const auto base = p.group_of[g.members.front().device].value();
      for (const auto& mem : g.members) {
        EXPECT_EQ(p.group_of[mem.device], base) << "seed " << seed << " " << t.bdf(mem.device).to_string();
      }
    }
  }
}

// Grouping only gets finer as answers turn to "isolated" (checked above with
// the override), so a group that is the same when every unknown answer is
// "no" and when every one is "yes" is the same for any mix: the groups
// predict_iommu_groups marks certain from truncated (64-byte) configs must be
// the groups of the full configs.
TEST(IommuGroupsProperty, CertainGroupsSurviveTruncation) {
  std::size_t certain_seen = 0;
  std::size_t uncertain_seen = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Generator gen(seed);
    Machine m = gen.make();
    const pci::Topology full = testing::build(m.records);
    iovakit::testing::SplitMix64 rng(seed * 104729);
    for (auto& rec : m.records) {
      if (rng.below(4) != 0) continue;
      const auto bytes = rec.config.bytes();
      auto truncated = pci::ConfigSpace::parse(bytes.first(pci::kConfigHeaderSize));
      ASSERT_TRUE(truncated.ok());
      rec.config = std::move(truncated).value();
    }
    const pci::Topology cut = testing::build(std::move(m.records));
    const GroupPrediction truth = predict_iommu_groups(full, GroupOptions{});
    const GroupPrediction p = predict_iommu_groups(cut, GroupOptions{});
    for (const auto& g : p.groups) {
      std::set<std::size_t> members;
      for (const auto& mem : g.members) members.insert(mem.device);
      if (!g.certain) {
        ++uncertain_seen;
        continue;
      }
      ++certain_seen;
      const auto& first = full.bdf(g.members.front().device);
      const auto truth_members = truth.members_with(full.find(first).value());
      EXPECT_EQ(members, std::set<std::size_t>(truth_members.begin(), truth_members.end()))
          << "seed " << seed << " group " << g.id;
    }
  }
  EXPECT_GT(certain_seen, 0U);
  EXPECT_GT(uncertain_seen, 0U);
}

}  // namespace
}  // namespace iovakit::kernel
