#include "iovakit/kernel/iommu_groups.h"

#include <fmt/core.h>

#include <algorithm>
#include <bitset>
#include <map>
#include <set>

#include "iovakit/pci/dma_alias.h"

namespace iovakit::kernel {

namespace {

std::string name(const pci::Topology& t, std::size_t i) { return t.bdf(i).to_string(); }

// One replay of pci_device_group() over a probe order, with unknown ACS
// answers resolved one way.
class Replay {
 public:
  Replay(const pci::Topology& t, const GroupOptions& o, const std::vector<std::size_t>& order, bool assume_isolated)
      : t_(t), o_(o), order_(order), assume_isolated_(assume_isolated), group_of_(t.size()), info_(t.size()) {
    extra_alias_.resize(t.size());
    if (o.driver == IommuDriver::kAmdVi) {
      for (const IvrsAlias& a : o.ivrs_aliases) {
        if (a.device >= t.size()) continue;
        const pci::Bdf& self = t.bdf(a.device);
        if (a.alias_rid == self.rid()) continue;
        if ((a.alias_rid >> 8U) == self.bus()) {
          extra_alias_[a.device].set(a.alias_rid & 0xffU);  // setup_aliases -> pci_add_dma_alias
        } else {
          notes_.push_back(
              fmt::format("IVRS alias {} of {} is on another bus: the AMD driver copies the device-table "
                          "entry to it (clone_alias) but pci_device_group does not group by it",
                          pci::format_rid(a.alias_rid), self.to_string()));
        }
      }
    }
  }

  void run() {
    for (std::size_t pos = 0; pos < order_.size(); ++pos) {
      const std::size_t dev = order_[pos];
      if (!has_iommu(dev)) continue;
      GroupMember& m = info_[dev];
      m.device = dev;
      m.probe_position = pos;
      device_group(dev, m);
    }
  }

  [[nodiscard]] const std::vector<std::optional<std::size_t>>& group_of() const { return group_of_; }
  [[nodiscard]] std::size_t group_count() const { return group_count_; }
  [[nodiscard]] const std::vector<GroupMember>& info() const { return info_; }
  [[nodiscard]] const std::vector<GroupUncertainty>& unknowns() const { return unknowns_; }
  [[nodiscard]] const std::vector<std::string>& notes() const { return notes_; }
  [[nodiscard]] bool consulted_unknown_acs() const { return consulted_unknown_acs_; }
  // Devices whose alias walk or upstream walk met something unknown.
  [[nodiscard]] const std::set<std::size_t>& incomplete() const { return incomplete_; }

 private:
  struct Found {
    std::size_t group;
    std::size_t holder;
  };

  [[nodiscard]] bool has_iommu(std::size_t dev) const {
    return o_.has_iommu.empty() || (dev < o_.has_iommu.size() && o_.has_iommu[dev]);
  }

  void note_unknown(std::size_t dev, const std::string& why) {
    consulted_unknown_acs_ = true;
    if (!seen_unknown_.insert(why).second) return;
    unknowns_.push_back(
        {dev, fmt::format("{} (taken as {} here)", why, assume_isolated_ ? "isolated" : "not isolated")});
  }

  // pci_acs_enabled(dev, REQ_ACS_FLAGS), unknown resolved by the policy.
  bool isolated(std::size_t dev) {
    auto it = isolated_.find(dev);
    if (it != isolated_.end()) return it->second;
    const AcsDecision d = pci_acs_enabled(t_, dev, kReqAcsFlags, o_.acs);
    bool value = d.enabled == Tristate::kYes;
    if (d.enabled == Tristate::kUnknown) {
      note_unknown(dev, d.explanation);
      value = assume_isolated_;
    }
    isolated_.emplace(dev, value);
    return value;
  }

  // pci_acs_path_enabled(bridge, NULL, REQ_ACS_FLAGS).
  bool path_isolated(std::size_t bridge) {
    auto it = path_.find(bridge);
    if (it != path_.end()) return it->second;
    const AcsPathDecision d = pci_acs_path_enabled(t_, bridge, kReqAcsFlags, o_.acs);
    bool value = d.enabled == Tristate::kYes;
    if (d.enabled == Tristate::kUnknown) {
      note_unknown(d.culprit.value_or(bridge), d.explanation);
      value = assume_isolated_;
    }
    path_.emplace(bridge, value);
    return value;
  }

  [[nodiscard]] bool same_bus(std::size_t a, std::size_t b) const {
    return t_.bdf(a).segment() == t_.bdf(b).segment() && t_.bdf(a).bus() == t_.bdf(b).bus();
  }

  // pci_devs_are_dma_aliases, with the IVRS bits setup_aliases adds.
  bool aliases(std::size_t a, std::size_t b) {
    if (extra_alias_[a].test(t_.bdf(b).devfn()) || extra_alias_[b].test(t_.bdf(a).devfn())) return true;
    return pci::devices_are_dma_aliases(t_, a, b);
  }

  std::optional<Found> holder(std::size_t dev) const {
    if (group_of_[dev]) return Found{*group_of_[dev], dev};
    return std::nullopt;
  }

  // get_pci_alias_group().
  std::optional<Found> alias_group(std::size_t pdev, std::bitset<256>& devfns, std::vector<GroupStep>& trail) {
    const std::uint8_t devfn = t_.bdf(pdev).devfn();
    if (devfns.test(devfn)) return std::nullopt;
    devfns.set(devfn);
    if (auto found = holder(pdev)) return found;
    for (const std::size_t tmp : order_) {
      if (tmp == pdev || !same_bus(tmp, pdev) || !aliases(pdev, tmp)) continue;
      trail.push_back({GroupStepKind::kDmaAlias, pdev, tmp});
      if (auto found = alias_group(tmp, devfns, trail)) return found;
      if (auto found = function_alias_group(tmp, devfns, trail)) return found;
      trail.pop_back();
    }
    return std::nullopt;
  }

  // get_pci_function_alias_group().
  std::optional<Found> function_alias_group(std::size_t pdev, std::bitset<256>& devfns, std::vector<GroupStep>& trail) {
    if (!kernel_multifunction(t_, pdev) || isolated(pdev)) return std::nullopt;
    for (const std::size_t tmp : order_) {
      if (tmp == pdev || !same_bus(tmp, pdev) || t_.bdf(tmp).device() != t_.bdf(pdev).device()) continue;
      if (isolated(tmp)) continue;
      trail.push_back({GroupStepKind::kSlotFunction, pdev, tmp});
      if (auto found = alias_group(tmp, devfns, trail)) return found;
      trail.pop_back();
    }
    return std::nullopt;
  }

  // pci_device_group() for one device.
  void device_group(std::size_t dev, GroupMember& m) {
    std::vector<GroupStep> trail;
    std::optional<Found> found;
    // 1. The DMA alias walk; data.pdev ends as the last attributed function.
    const pci::DmaAliasResult walk = pci::dma_aliases(t_, dev);
    for (const std::string& why : walk.unknowns) {
      unknowns_.push_back({dev, "DMA alias walk incomplete: " + why});
      incomplete_.insert(dev);
    }
    std::size_t pdev = dev;
    for (const pci::DmaAlias& a : walk.aliases) {
      pdev = a.attributed_to;
      if (auto h = holder(pdev)) {
        found = h;
        break;
      }
    }
    if (pdev != dev) trail.push_back({GroupStepKind::kAliasOwner, dev, pdev});
    // 2. Upstream until an ACS-isolated path.
    if (!found) {
      std::size_t cur = pdev;
      while (!t_.on_root_bus(cur)) {
        const auto bridge = t_.parent(cur);
        if (!bridge) {
          unknowns_.push_back({dev, fmt::format("the bridge above {} is not among the records; the upstream ACS "
                                                "walk stops there",
                                                name(t_, cur))});
          incomplete_.insert(dev);
          break;
        }
        if (path_isolated(*bridge)) break;
        trail.push_back({GroupStepKind::kNonIsolatedBridge, pdev, *bridge});
        pdev = *bridge;
        if (auto h = holder(pdev)) {
          found = h;
          break;
        }
        cur = *bridge;
      }
    }
    // 3 and 4: aliases and slot functions of pdev.
    if (!found) {
      std::bitset<256> devfns;
      found = alias_group(pdev, devfns, trail);
      if (!found) found = function_alias_group(pdev, devfns, trail);
    }
    m.steps = trail;
    if (found) {
      group_of_[dev] = found->group;
      m.joined = found->holder;
    } else {
      group_of_[dev] = group_count_++;  // 5. iommu_group_alloc()
    }
  }

  const pci::Topology& t_;
  const GroupOptions& o_;
  const std::vector<std::size_t>& order_;
  bool assume_isolated_;
  std::vector<std::optional<std::size_t>> group_of_;
  std::vector<GroupMember> info_;
  std::vector<std::bitset<256>> extra_alias_;
  std::size_t group_count_ = 0;
  std::map<std::size_t, bool> isolated_;
  std::map<std::size_t, bool> path_;
  std::vector<GroupUncertainty> unknowns_;
  std::set<std::string> seen_unknown_;
  std::vector<std::string> notes_;
  bool consulted_unknown_acs_ = false;
  std::set<std::size_t> incomplete_;
};

MemberReason reason_of(const GroupMember& m) {
  if (!m.joined || m.steps.empty()) return MemberReason::kOwnGroup;
  switch (m.steps.front().kind) {
    case GroupStepKind::kAliasOwner: return MemberReason::kAliasThroughBridge;
    case GroupStepKind::kNonIsolatedBridge: return MemberReason::kBehindBridge;
    case GroupStepKind::kDmaAlias: return MemberReason::kDmaAlias;
    case GroupStepKind::kSlotFunction: return MemberReason::kSlotFunction;
  }
  return MemberReason::kOwnGroup;
}

std::string step_text(const pci::Topology& t, const GroupOptions& o, const GroupStep& s) {
  switch (s.kind) {
    case GroupStepKind::kAliasOwner: {
      const pci::DmaAliasResult walk = pci::dma_aliases(t, s.from);
      std::string how;
      for (const pci::DmaAlias& a : walk.aliases) {
        if (a.attributed_to == s.to) how = a.explanation;
      }
      return fmt::format("{}'s DMA reaches the IOMMU attributed to bridge {} (pci_for_each_dma_alias: {})",
                         name(t, s.from), name(t, s.to), how);
    }
    case GroupStepKind::kNonIsolatedBridge: {
      const AcsPathDecision path = pci_acs_path_enabled(t, s.to, kReqAcsFlags, o.acs);
      return fmt::format(
          "{} sits behind bridge {}, and the path from there to the root bus is not ACS-isolated "
          "(pci_acs_path_enabled: {})",
          name(t, s.from), name(t, s.to), path.explanation);
    }
    case GroupStepKind::kDmaAlias:
      return fmt::format("{} and {} are DMA aliases on bus {:02x} (pci_devs_are_dma_aliases)", name(t, s.from),
                         name(t, s.to), t.bdf(s.from).bus());
    case GroupStepKind::kSlotFunction: {
      const AcsDecision acs = pci_acs_enabled(t, s.from, kReqAcsFlags, o.acs);
      return fmt::format(
          "{} and {} are functions of multifunction slot {:02x}:{:02x} and neither is ACS-isolated "
          "(get_pci_function_alias_group; {})",
          name(t, s.from), name(t, s.to), t.bdf(s.from).bus(), t.bdf(s.from).device(), acs.explanation);
    }
  }
  return {};
}

std::string explain(const pci::Topology& t, const GroupOptions& o, const GroupMember& m, unsigned id) {
  std::string text;
  for (const GroupStep& s : m.steps) {
    text += step_text(t, o, s);
    text += "; ";
  }
  if (m.joined) {
    text += fmt::format("{} was already in group {}, so {} joins it", name(t, *m.joined), id, name(t, m.device));
  } else {
    text += fmt::format("no existing group was found, so group {} is allocated for {}", id, name(t, m.device));
  }
  return text;
}

std::vector<std::set<std::size_t>> partition(const Replay& r, std::size_t n) {
  std::vector<std::set<std::size_t>> members(r.group_count());
  for (std::size_t i = 0; i < n; ++i) {
    if (const auto g = r.group_of()[i]) members[*g].insert(i);
  }
  return members;
}

}  // namespace

std::string_view iommu_driver_name(IommuDriver driver) {
  switch (driver) {
    case IommuDriver::kIntelVtd: return "intel-iommu";
    case IommuDriver::kAmdVi: return "amd-iommu";
    case IommuDriver::kArmSmmuV3: return "arm-smmu-v3";
    case IommuDriver::kVirtioIommu: return "virtio-iommu";
  }
  return "unknown";
}

std::string_view group_step_name(GroupStepKind kind) {
  switch (kind) {
    case GroupStepKind::kAliasOwner: return "alias-owner";
    case GroupStepKind::kNonIsolatedBridge: return "non-isolated-bridge";
    case GroupStepKind::kDmaAlias: return "dma-alias";
    case GroupStepKind::kSlotFunction: return "slot-function";
  }
  return "unknown";
}

std::string_view member_reason_name(MemberReason reason) {
  switch (reason) {
    case MemberReason::kOwnGroup: return "own-group";
    case MemberReason::kAliasThroughBridge: return "alias-through-bridge";
    case MemberReason::kBehindBridge: return "behind-non-acs-bridge";
    case MemberReason::kDmaAlias: return "dma-alias";
    case MemberReason::kSlotFunction: return "slot-function";
  }
  return "unknown";
}

std::vector<std::size_t> GroupPrediction::members_with(std::size_t device) const {
  std::vector<std::size_t> out;
  if (device >= group_of.size() || !group_of[device]) return out;
  for (const auto& m : groups[*group_of[device]].members) out.push_back(m.device);
  return out;
}

std::vector<std::size_t> pci_probe_order(const pci::Topology& topology) {
  std::vector<std::size_t> out;
  std::vector<bool> seen(topology.size(), false);
  // Per bus: every function in devfn order, then each bridge's bus.
  const auto visit = [&](const auto& self, std::vector<std::size_t> bus) -> void {
    std::sort(bus.begin(), bus.end(), [&](std::size_t a, std::size_t b) { return topology.bdf(a) < topology.bdf(b); });
    for (const std::size_t d : bus) {
      seen[d] = true;
      out.push_back(d);
    }
    for (const std::size_t d : bus) {
      std::map<std::pair<std::uint32_t, std::uint8_t>, std::vector<std::size_t>> below;
      for (const std::size_t c : topology.children(d)) {
        if (!topology.record(c).is_virtfn && !seen[c])
          below[{topology.bdf(c).segment(), topology.bdf(c).bus()}].push_back(c);
      }
      for (auto& [key, devices] : below) self(self, std::move(devices));
    }
  };
  std::map<std::pair<std::uint32_t, std::uint8_t>, std::vector<std::size_t>> roots;
  for (std::size_t i = 0; i < topology.size(); ++i) {
    if (!topology.parent(i) && !topology.record(i).is_virtfn)
      roots[{topology.bdf(i).segment(), topology.bdf(i).bus()}].push_back(i);
  }
  for (auto& [key, devices] : roots) visit(visit, std::move(devices));
  // SR-IOV VFs (and anything unreached) last, in BDF order.
  for (std::size_t i = 0; i < topology.size(); ++i) {
    if (!seen[i]) out.push_back(i);
  }
  return out;
}

GroupPrediction predict_iommu_groups(const pci::Topology& topology, const GroupOptions& options) {
  return predict_iommu_groups(topology, options, pci_probe_order(topology));
}

GroupPrediction predict_iommu_groups(const pci::Topology& topology, const GroupOptions& options,
                                     const std::vector<std::size_t>& probe_order) {
  GroupOptions effective = options;
  if (effective.driver == IommuDriver::kAmdVi) effective.acs.ivrs_present = true;  // amd_iommu needs IVRS
  Replay primary(topology, effective, probe_order, effective.assume_isolated_when_unknown);
  primary.run();
  GroupPrediction out;
  out.probe_order = probe_order;
  out.notes = primary.notes();
  out.uncertainties = primary.unknowns();
  out.group_of = primary.group_of();
  out.groups.resize(primary.group_count());
  for (std::size_t g = 0; g < out.groups.size(); ++g)
    out.groups[g].id = effective.first_group_id + static_cast<unsigned>(g);
  for (const std::size_t dev : probe_order) {
    const auto g = primary.group_of()[dev];
    if (!g) {
      out.no_iommu.push_back(dev);
      continue;
    }
    GroupMember m = primary.info()[dev];
    m.reason = reason_of(m);
    m.explanation = explain(topology, effective, m, out.groups[*g].id);
    out.groups[*g].members.push_back(std::move(m));
  }
  for (const std::size_t dev : primary.incomplete()) {
    if (const auto g = out.group_of[dev]) out.groups[*g].certain = false;
  }
  if (primary.consulted_unknown_acs()) {
    Replay other(topology, effective, probe_order, !effective.assume_isolated_when_unknown);
    other.run();
    const auto mine = partition(primary, topology.size());
    const auto theirs = partition(other, topology.size());
    for (const std::size_t dev : probe_order) {
      const auto a = primary.group_of()[dev];
      const auto b = other.group_of()[dev];
      if (!a || !b || mine[*a] == theirs[*b]) continue;
      std::string with;
      for (const std::size_t d : theirs[*b]) {
        if (d != dev) with += (with.empty() ? "" : ", ") + name(topology, d);
      }
      out.uncertainties.push_back(
          {dev, fmt::format("{}'s group depends on the unknown ACS answers above: taking them as {} would {}",
                            name(topology, dev), effective.assume_isolated_when_unknown ? "not isolated" : "isolated",
                            with.empty() ? std::string("leave it alone in its group") : "group it with " + with)});
      out.groups[*a].certain = false;
    }
  }
  return out;
}

}  // namespace iovakit::kernel
