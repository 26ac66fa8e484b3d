#include "iovakit/pci/scope_match.h"

#include <fmt/core.h>

#include <algorithm>

namespace iovakit::pci {

namespace {

bool is_pci_scope(std::uint8_t type) { return type == kScopeEndpoint || type == kScopeBridge; }

std::string_view scope_type_name(std::uint8_t type) {
  switch (type) {
    case kScopeEndpoint: return "endpoint";
    case kScopeBridge: return "bridge";
    case kScopeIoapic: return "ioapic";
    case kScopeHpet: return "hpet";
    case kScopeNamespace: return "acpi-ns";
    default: return "unknown";
  }
}

std::string hops_string(const std::vector<Bdf>& path) {
  std::string out;
  for (const auto& hop : path) {
    if (!out.empty()) out += ',';
    out += fmt::format("({})", format_devfn(hop.devfn()));
  }
  return out;
}

// The header/class test of dmar_insert_dev_scope: true when acceptable.
bool scope_type_fits(const ConfigSpace& config, std::uint8_t scope_type) {
  const bool normal = config.header_type() == HeaderType::kNormal;
  if (scope_type == kScopeEndpoint) return normal;
  return !normal || config.kernel_class().is_bridge();
}

}  // namespace

std::string DeviceScope::to_string() const {
  std::string out = fmt::format("{} {:02x}:", scope_type_name(type), start_bus);
  for (std::size_t i = 0; i < path.size(); ++i) {
    out += fmt::format("{}{:02x}.{:x}", i == 0 ? "" : "/", path[i].device, path[i].function);
  }
  return out;
}

std::optional<NotifyInfo> notify_info(const Topology& topology, std::size_t device) {
  const auto& rec = topology.record(device);
  if (rec.is_virtfn || rec.config.is_virtual_function() || !rec.bdf.is_acpi_segment()) return std::nullopt;
  return NotifyInfo{static_cast<std::uint16_t>(rec.bdf.segment()), topology.root_bus(device),
                    topology.path_from_root(device)};
}

PathMatch match_pci_path(const NotifyInfo& info, std::uint8_t scope_bus, std::span<const ScopePathElement> path) {
  if (info.root_bus == scope_bus && info.path.size() == path.size()) {
    bool same = true;
    for (std::size_t i = 0; i < path.size() && same; ++i) {
      same = path[i].device == info.path[i].device() && path[i].function == info.path[i].function();
    }
    if (same) return PathMatch::kExact;
  }
  if (path.size() != 1 || info.path.empty()) return PathMatch::kNone;
  const Bdf& self = info.path.back();
  if (scope_bus == self.bus() && path[0].device == self.device() && path[0].function == self.function()) {
    return PathMatch::kFallback;
  }
  return PathMatch::kNone;
}

std::string fallback_log_line(std::uint8_t scope_bus, const ScopePathElement& element) {
  return fmt::format("DMAR: [Firmware Bug]: RMRR entry for device {:02x}:{:02x}.{:x} is broken - applying workaround",
                     scope_bus, element.device, element.function);
}

UnitMatch insert_dev_scope(const Topology& topology, std::size_t device, std::uint16_t unit_segment,
                           std::span<const DeviceScope> scopes) {
  UnitMatch out;
  const auto info = notify_info(topology, device);
  if (!info || info->segment != unit_segment) {
    out.outcome = ScopeOutcome::kIgnored;
    return out;
  }
  for (std::size_t k = 0; k < scopes.size(); ++k) {
    const auto& scope = scopes[k];
    if (!is_pci_scope(scope.type)) continue;
    const PathMatch match = match_pci_path(*info, scope.start_bus, scope.path);
    if (match == PathMatch::kNone) continue;
    if (match == PathMatch::kFallback) out.kernel_log.push_back(fallback_log_line(scope.start_bus, scope.path[0]));
    out.scope_index = k;
    out.path_match = match;
    if (!scope_type_fits(topology.config(device), scope.type)) {
      out.outcome = ScopeOutcome::kTypeMismatch;
      out.kernel_log.push_back(
          fmt::format("DMAR: Device scope type does not match for {}", topology.bdf(device).to_string()));
      return out;
    }
    out.outcome = ScopeOutcome::kInserted;
    return out;
  }
  return out;
}

bool is_downstream_to_pci_bridge(const Topology& topology, std::size_t device, std::size_t bridge) {
  const auto range = topology.bus_range(bridge);
  return range && topology.bdf(bridge).segment() == topology.bdf(device).segment() &&
         range->contains(topology.bdf(device).bus());
}

UnitResolution resolve_unit(const Topology& topology, std::uint16_t unit_segment, std::span<const DeviceScope> scopes) {
  UnitResolution out;
  for (std::size_t i = 0; i < topology.size(); ++i) {
    auto match = insert_dev_scope(topology, i, unit_segment, scopes);
    out.kernel_log.insert(out.kernel_log.end(), match.kernel_log.begin(), match.kernel_log.end());
    if (match.outcome == ScopeOutcome::kInserted) {
      out.slots.push_back({i, *match.scope_index, match.path_match});
    } else if (match.outcome == ScopeOutcome::kTypeMismatch) {
      out.rejections.push_back({i, *match.scope_index, match.kernel_log.back()});
    }
  }
  // intel_iommu_get_resv_regions: i_dev == dev || is_downstream_to_pci_bridge(dev, i_dev).
  for (std::size_t i = 0; i < topology.size(); ++i) {
    for (const auto& slot : out.slots) {
      if (slot.device == i || is_downstream_to_pci_bridge(topology, i, slot.device)) {
        out.reach.push_back({i, slot.device, slot.scope_index});
      }
    }
  }
  return out;
}

SpecResolution resolve_spec_path(const Topology& topology, std::uint16_t segment, const DeviceScope& scope) {
  SpecResolution out;
  if (scope.path.empty()) {
    out.failure = "the scope has no path elements";
    return out;
  }
  std::uint8_t bus = scope.start_bus;
  for (std::size_t k = 0; k < scope.path.size(); ++k) {
    const auto& hop = scope.path[k];
    if (hop.device > kMaxDevice || hop.function > kMaxFunction) {
      out.failure =
          fmt::format("hop {} ({:02x}.{:x}) is not a valid device and function", k + 1, hop.device, hop.function);
      return out;
    }
    const Bdf named(segment, bus, hop.device, hop.function);
    out.walked.push_back(named);
    const auto index = topology.find(named);
    if (!index) {
      out.failure = fmt::format("hop {} names {}, which is not present", k + 1, named.to_string());
      return out;
    }
    if (k + 1 == scope.path.size()) {
      out.device = index;
      return out;
    }
    const auto range = topology.bus_range(*index);
    if (!topology.config(*index).is_bridge_header() || !range) {
      out.failure =
          fmt::format("hop {} names {}, which is not a bridge with a secondary bus", k + 1, named.to_string());
      return out;
    }
    bus = range->secondary;
  }
  return out;
}

std::vector<ScopeComparison> compare_scopes(const Topology& topology, std::uint16_t unit_segment,
                                            std::span<const DeviceScope> scopes) {
  const UnitResolution unit = resolve_unit(topology, unit_segment, scopes);
  std::vector<ScopeComparison> out;
  for (std::size_t k = 0; k < scopes.size(); ++k) {
    if (!is_pci_scope(scopes[k].type)) continue;
    ScopeComparison cmp;
    cmp.scope_index = k;
    for (const auto& slot : unit.slots) {
      if (slot.scope_index != k) continue;
      cmp.kernel_slots.push_back(slot.device);
      cmp.kernel_match = slot.path_match;
    }
    cmp.spec = resolve_spec_path(topology, unit_segment, scopes[k]);
    cmp.agree = cmp.spec.device && cmp.kernel_slots.size() == 1 && cmp.kernel_slots[0] == *cmp.spec.device;

    const std::string spec_text =
        cmp.spec.device ? fmt::format("the VT-d walk names {}", topology.bdf(*cmp.spec.device).to_string())
                        : fmt::format("the VT-d walk fails: {}", *cmp.spec.failure);
    if (cmp.agree) {
      cmp.explanation =
          cmp.kernel_match == PathMatch::kFallback
              ? fmt::format(
                    "{}; Linux agrees only through its one-element fallback and logs a "
                    "firmware bug (start bus {:02x} is the device's bus, not its root bus)",
                    spec_text, scopes[k].start_bus)
              : fmt::format("{}; Linux matches it by path from root bus {:02x}", spec_text, scopes[k].start_bus);
    } else if (!cmp.kernel_slots.empty()) {
      cmp.explanation =
          fmt::format("{}; Linux instead slots {}", spec_text, topology.bdf(cmp.kernel_slots.front()).to_string());
    } else if (cmp.spec.device) {
      const std::size_t dev = *cmp.spec.device;
      const auto info = notify_info(topology, dev);
      const auto rejected = std::find_if(unit.rejections.begin(), unit.rejections.end(),
                                         [&](const auto& r) { return r.device == dev && r.scope_index == k; });
      const auto earlier = std::find_if(unit.slots.begin(), unit.slots.end(),
                                        [&](const auto& s) { return s.device == dev && s.scope_index != k; });
      if (!info) {
        cmp.explanation = fmt::format("{}; Linux never matches it (an SR-IOV VF or a segment above 0xffff)", spec_text);
      } else if (rejected != unit.rejections.end()) {
        cmp.explanation = fmt::format("{}; Linux matches the path but rejects the scope type: \"{}\"", spec_text,
                                      rejected->kernel_log);
      } else if (earlier != unit.slots.end()) {
        cmp.explanation = fmt::format("{}; Linux slotted it already through entry {}", spec_text, earlier->scope_index);
      } else {
        cmp.explanation = fmt::format(
            "{}; Linux matches nothing: the device's path from root bus {:02x} is {} (depth {}), the scope's starts "
            "at bus {:02x} with depth {}",
            spec_text, info->root_bus, hops_string(info->path), info->path.size(), scopes[k].start_bus,
            scopes[k].path.size());
      }
    } else {
      cmp.explanation = fmt::format("{}; Linux matches nothing either", spec_text);
    }
    out.push_back(std::move(cmp));
  }
  return out;
}

}  // namespace iovakit::pci
