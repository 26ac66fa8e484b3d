#include "iovakit/pci/topology.h"

#include <fmt/core.h>

#include <algorithm>

namespace iovakit::pci {

namespace {

std::string range_string(const BusRange& range) {
  return fmt::format("[{:02x}-{:02x}]", range.secondary, range.subordinate);
}

}  // namespace

Result<Topology> Topology::build(std::vector<DeviceRecord> records) {
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.bdf < b.bdf; });
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0 && records[i].bdf == records[i - 1].bdf) {
      return Error(Errc::kInvalidArgument, fmt::format("device {} is recorded twice", records[i].bdf.to_string()));
    }
    if (records[i].sysfs_path && records[i].sysfs_path->device() != records[i].bdf) {
      return Error(Errc::kInvalidArgument,
                   fmt::format("the record for {} carries the sysfs path of {}", records[i].bdf.to_string(),
                               records[i].sysfs_path->device().to_string()));
    }
  }
  Topology topology;
  topology.records_ = std::move(records);
  topology.nodes_.resize(topology.records_.size());
  topology.compute_ranges();
  for (std::size_t i = 0; i < topology.size(); ++i) topology.infer_parent(i);
  if (auto status = topology.compute_paths(); !status) return status.error();
  for (std::size_t i = 0; i < topology.size(); ++i) {
    if (const auto p = topology.nodes_[i].parent) topology.nodes_[*p].children.push_back(i);
  }
  return topology;
}

void Topology::compute_ranges() {
  for (std::size_t i = 0; i < size(); ++i) {
    const auto& rec = records_[i];
    if (!rec.config.is_bridge_header()) continue;
    BusRange range;
    if (rec.bus_range) {
      range = *rec.bus_range;
    } else if (const auto numbers = rec.config.bus_numbers()) {
      range = {numbers->secondary, numbers->subordinate};
    }
    if (range.secondary > rec.bdf.bus() && range.subordinate >= range.secondary) {
      nodes_[i].range = range;
      continue;
    }
    issues_.push_back({TopologyIssueKind::kBusRangeUnconfigured, rec.bdf,
                       fmt::format("bridge {} on bus {:02x} has bus range {}, which is not configured (the kernel "
                                   "would log \"bridge configuration invalid\" and renumber it); nothing is placed "
                                   "below it",
                                   rec.bdf.to_string(), rec.bdf.bus(), range_string(range))});
  }
}

void Topology::infer_parent(std::size_t i) {
  const auto& rec = records_[i];
  auto& node = nodes_[i];
  if (rec.sysfs_path) {
    const auto parent_bdf = rec.sysfs_path->parent();
    if (!parent_bdf) return;  // on a root bus
    node.source = ParentSource::kSysfs;
    node.parent = find(*parent_bdf);
    if (!node.parent) {
      issues_.push_back({TopologyIssueKind::kParentNotInRecords, rec.bdf,
                         fmt::format("sysfs places {} below {}, which is not among the records; its DMA aliases "
                                     "above that bridge cannot be computed",
                                     rec.bdf.to_string(), parent_bdf->to_string())});
      return;
    }
    const auto& range = nodes_[*node.parent].range;
    if (!range || !range->contains(rec.bdf.bus())) {
      issues_.push_back(
          {TopologyIssueKind::kSysfsConflict, rec.bdf,
           fmt::format("sysfs places {} below {}, whose bus range {} does not hold bus {:02x}", rec.bdf.to_string(),
                       parent_bdf->to_string(), range ? range_string(*range) : std::string("(none)"), rec.bdf.bus())});
    }
    return;
  }
  std::vector<std::size_t> exact;
  std::optional<std::size_t> enclosing;
  for (std::size_t j = 0; j < size(); ++j) {
    const auto& range = nodes_[j].range;
    if (j == i || !range || records_[j].bdf.segment() != rec.bdf.segment()) continue;
    if (range->secondary == rec.bdf.bus()) exact.push_back(j);
    if (range->contains(rec.bdf.bus()) && (!enclosing || range->secondary > nodes_[*enclosing].range->secondary)) {
      enclosing = j;
    }
  }
  if (!exact.empty()) {
    node.parent = exact.front();
    node.source = ParentSource::kBusRange;
    if (exact.size() > 1) {
      issues_.push_back(
          {TopologyIssueKind::kAmbiguousParent, rec.bdf,
           fmt::format("{} bridges have secondary bus {:02x}; {} is taken as the parent of {}", exact.size(),
                       rec.bdf.bus(), records_[exact.front()].bdf.to_string(), rec.bdf.to_string())});
    }
    return;
  }
  if (enclosing) {
    node.parent = enclosing;
    node.source = ParentSource::kEnclosingRange;
    if (!rec.is_virtfn) {
      issues_.push_back({TopologyIssueKind::kHiddenBridge, rec.bdf,
                         fmt::format("bus {:02x} of {} lies inside bridge {}'s range {} but no recorded bridge has "
                                     "it as its secondary bus (a hidden bridge or a virtual bus)",
                                     rec.bdf.bus(), rec.bdf.to_string(), records_[*enclosing].bdf.to_string(),
                                     range_string(*nodes_[*enclosing].range))});
    }
  }
}

Status Topology::compute_paths() {
  enum class State : std::uint8_t { kNew, kActive, kDone };
  std::vector<State> state(size(), State::kNew);
  for (std::size_t start = 0; start < size(); ++start) {
    // Collect the chain of devices whose paths are still unknown, then fill
    // them top-down; a device met twice on one chain closes a cycle.
    std::vector<std::size_t> pending;
    std::optional<std::size_t> cursor = start;
    while (cursor && state[*cursor] != State::kDone) {
      if (state[*cursor] == State::kActive) {
        return Error(Errc::kInvalidArgument,
                     fmt::format("the parent links through {} form a cycle", records_[*cursor].bdf.to_string()));
      }
      state[*cursor] = State::kActive;
      pending.push_back(*cursor);
      cursor = nodes_[*cursor].parent;
    }
    std::reverse(pending.begin(), pending.end());  // top-down
    for (const std::size_t idx : pending) {
      const auto& rec = records_[idx];
      auto& node = nodes_[idx];
      if (node.parent) {
        node.path = nodes_[*node.parent].path;
        node.path.push_back(rec.bdf);
        node.root_bus = nodes_[*node.parent].root_bus;
      }
      if (rec.sysfs_path) {
        if (node.parent && node.path != rec.sysfs_path->chain) {
          issues_.push_back({TopologyIssueKind::kSysfsConflict, rec.bdf,
                             fmt::format("the sysfs path of {} disagrees with its parent's; the device's own path "
                                         "is used",
                                         rec.bdf.to_string())});
        }
        node.path = rec.sysfs_path->chain;
        node.root_bus = rec.sysfs_path->root_bus;
      } else if (!node.parent) {
        node.path = {rec.bdf};
        node.root_bus = rec.bdf.bus();
      }
      state[idx] = State::kDone;
    }
  }
  return {};
}

std::optional<std::size_t> Topology::find(const Bdf& bdf) const {
  const auto it = std::lower_bound(records_.begin(), records_.end(), bdf,
                                   [](const auto& rec, const Bdf& b) { return rec.bdf < b; });
  if (it == records_.end() || it->bdf != bdf) return std::nullopt;
  return static_cast<std::size_t>(it - records_.begin());
}

std::vector<std::size_t> Topology::slot_functions(std::size_t i) const {
  const Bdf& self = bdf(i);
  std::vector<std::size_t> out;
  for (unsigned fn = 0; fn <= kMaxFunction; ++fn) {
    if (const auto j = find(Bdf(self.segment(), self.bus(), self.device(), fn))) out.push_back(*j);
  }
  return out;
}

std::vector<std::size_t> Topology::bus_devices(std::uint32_t segment, std::uint8_t bus) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < size(); ++i) {
    if (bdf(i).segment() == segment && bdf(i).bus() == bus) out.push_back(i);
  }
  return out;
}

bool Topology::is_below(std::size_t i, std::size_t ancestor) const {
  for (auto p = parent(i); p; p = parent(*p)) {
    if (*p == ancestor) return true;
  }
  return false;
}

}  // namespace iovakit::pci
