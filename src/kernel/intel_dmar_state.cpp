#include "iovakit/kernel/intel_dmar_state.h"

#include <fmt/core.h>

#include <algorithm>

#include "iovakit/kernel/iommu_groups.h"

namespace iovakit::kernel {

namespace {

// dmar_insert_dev_scope for one structure: records a slot, returns false on
// the -EINVAL that stops the device's walk.
bool offer(const pci::Topology& topology, std::size_t device, std::uint16_t segment,
           const std::vector<pci::DeviceScope>& scopes, std::vector<IntelSlot>& slots, bool& inserted,
           std::vector<std::string>& log) {
  const pci::UnitMatch match = pci::insert_dev_scope(topology, device, segment, scopes);
  log.insert(log.end(), match.kernel_log.begin(), match.kernel_log.end());
  inserted = match.outcome == pci::ScopeOutcome::kInserted;
  if (inserted) slots.push_back({device, *match.scope_index, match.path_match});
  return !match.aborts_later_units();
}

bool in_slots(const pci::Topology& topology, std::size_t device, const std::vector<IntelSlot>& slots) {
  return std::ranges::any_of(slots, [&](const IntelSlot& slot) {
    return slot.device == device || pci::is_downstream_to_pci_bridge(topology, device, slot.device);
  });
}

}  // namespace

std::vector<pci::DeviceScope> to_pci_scopes(const std::vector<acpi::DeviceScope>& scopes) {
  std::vector<pci::DeviceScope> out;
  out.reserve(scopes.size());
  for (const acpi::DeviceScope& s : scopes) {
    pci::DeviceScope p;
    p.type = s.type;
    p.start_bus = s.start_bus;
    for (const auto& hop : s.path) p.path.push_back({hop.device, hop.function});
    out.push_back(std::move(p));
  }
  return out;
}

IntelDmarState intel_dmar_boot(const pci::Topology& topology, const acpi::Dmar& dmar, const IntelBootOptions& options) {
  IntelDmarState state;
  state.device_unit.assign(topology.size(), std::nullopt);

  // dmar_register_drhd_unit: include-all units at the tail, the others at
  // the head of dmar_drhd_units.
  for (std::size_t i = dmar.drhds.size(); i-- > 0;) {
    if (!dmar.drhds[i].include_pci_all()) state.units.push_back({i, false, false, {}});
  }
  for (std::size_t i = 0; i < dmar.drhds.size(); ++i) {
    if (dmar.drhds[i].include_pci_all()) state.units.push_back({i, true, false, {}});
  }
  // dmar_parse_one_rmrr: list_add at the head of dmar_rmrr_units.
  for (std::size_t i = dmar.rmrrs.size(); i-- > 0;) state.rmrrs.push_back({i, {}});

  std::vector<std::vector<pci::DeviceScope>> unit_scopes;
  for (const auto& unit : state.units) unit_scopes.push_back(to_pci_scopes(dmar.drhds[unit.drhd_index].scopes));
  std::vector<std::vector<pci::DeviceScope>> rmrr_scopes;
  for (const auto& rmrr : state.rmrrs) rmrr_scopes.push_back(to_pci_scopes(dmar.rmrrs[rmrr.rmrr_index].scopes));

  // dmar_dev_scope_init -> dmar_pci_bus_add_dev for every device, in the
  // order the PCI core added them. The first error is kept in
  // dmar_dev_scope_status and fails intel_iommu_init.
  std::optional<std::string> scope_error;
  for (std::size_t device : pci_probe_order(topology)) {
    if (!pci::notify_info(topology, device)) continue;  // VFs, VMD domains
    bool ok = true;
    for (std::size_t u = 0; u < state.units.size() && ok; ++u) {
      if (state.units[u].include_all) continue;
      bool inserted = false;
      ok = offer(topology, device, dmar.drhds[state.units[u].drhd_index].segment, unit_scopes[u], state.units[u].slots,
                 inserted, state.kernel_log);
      if (inserted) break;
    }
    // dmar_iommu_notify_scope_dev: RMRRs, then ATSRs (not ALL_PORTS), then
    // SATCs; a negative return ends the walk.
    for (std::size_t r = 0; r < state.rmrrs.size() && ok; ++r) {
      bool inserted = false;
      ok = offer(topology, device, dmar.rmrrs[state.rmrrs[r].rmrr_index].segment, rmrr_scopes[r], state.rmrrs[r].slots,
                 inserted, state.kernel_log);
    }
    for (std::size_t a = dmar.atsrs.size(); a-- > 0 && ok;) {  // list_add: newest first
      if (dmar.atsrs[a].all_ports()) continue;
      std::vector<IntelSlot> slots;
      bool inserted = false;
      ok = offer(topology, device, dmar.atsrs[a].segment, to_pci_scopes(dmar.atsrs[a].scopes), slots, inserted,
                 state.kernel_log);
    }
    for (std::size_t s = dmar.satcs.size(); s-- > 0 && ok;) {
      std::vector<IntelSlot> slots;
      bool inserted = false;
      ok = offer(topology, device, dmar.satcs[s].segment, to_pci_scopes(dmar.satcs[s].scopes), slots, inserted,
                 state.kernel_log);
    }
    if (!ok && !scope_error) {
      scope_error = fmt::format(
          "a DMAR device scope names {} with the wrong scope type: dmar_insert_dev_scope returned -EINVAL, "
          "dmar_dev_scope_init failed and intel_iommu_init gave up DMA remapping",
          topology.bdf(device).to_string());
    }
  }

  // intel_iommu_init: the width check of parse_dmar_table ("Invalid DMAR haw")
  // comes first, then the scope status, then the command line.
  if (dmar.width < 11) {
    state.disabled_reason =
        fmt::format("the DMAR host address width byte is {} (below 11): \"Invalid DMAR haw\"", dmar.width);
    state.kernel_log.emplace_back("DMAR: Invalid DMAR haw");
  } else if (scope_error) {
    state.disabled_reason = *scope_error;
  } else if (!options.enabled) {
    state.disabled_reason = "intel_iommu=off (or the kernel's default is off and intel_iommu=on is missing)";
  } else if (dmar.drhds.empty()) {
    state.disabled_reason = "the DMAR table has no DRHD: no remapping unit";
  } else {
    state.remapping_enabled = true;
  }

  // init_no_remapping_devices: a unit with an empty scope is ignored; one
  // that serves only graphics is ignored with intel_iommu=igfx_off.
  for (IntelUnitState& unit : state.units) {
    if (unit.include_all) continue;
    if (unit.slots.empty()) {
      unit.ignored = true;
      continue;
    }
    bool only_gfx = true;
    for (const IntelSlot& slot : unit.slots)
      only_gfx = only_gfx && topology.config(slot.device).kernel_class().is_display();
    if (only_gfx && options.igfx_off) unit.ignored = true;
  }

  // device_to_iommu (6.1) / device_lookup_iommu (7.0) walk every unit,
  // ignored ones included (for_each_iommu); the first that claims the device
  // wins. An ignored unit was never registered with the IOMMU core, so
  // intel_iommu_probe_device then fails with -ENODEV: the device has no IOMMU.
  if (state.remapping_enabled) {
    for (std::size_t device = 0; device < topology.size(); ++device) {
      if (!topology.bdf(device).is_acpi_segment()) continue;
      for (std::size_t u = 0; u < state.units.size(); ++u) {
        const IntelUnitState& unit = state.units[u];
        if (dmar.drhds[unit.drhd_index].segment != topology.bdf(device).segment()) continue;
        if (unit.include_all || in_slots(topology, device, unit.slots)) {
          if (!unit.ignored) state.device_unit[device] = u;
          break;
        }
      }
    }
  }
  return state;
}

}  // namespace iovakit::kernel
