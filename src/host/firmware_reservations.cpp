#include "iovakit/host/firmware_reservations.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "iovakit/acpi/table_header.h"
#include "iovakit/host/host.h"
#include "iovakit/pci/scope_match.h"

namespace iovakit::host {

std::string_view reservation_kind_name(ReservationKind kind) {
  switch (kind) {
    case ReservationKind::kRmrr: return "RMRR";
    case ReservationKind::kIvmd: return "IVMD";
    case ReservationKind::kRmr: return "RMR";
  }
  return "RMRR";
}

std::string_view reservation_match_name(ReservationMatch match) {
  switch (match) {
    case ReservationMatch::kScopeExact: return "exact-path";
    case ReservationMatch::kScopeFallback: return "fallback-path";
    case ReservationMatch::kViaBridge: return "via-bridge";
    case ReservationMatch::kIvmdDevid: return "devid";
    case ReservationMatch::kRmrStreamId: return "stream-id";
  }
  return "exact-path";
}

namespace {

std::string scope_text(const acpi::DeviceScope& scope) {
  return fmt::format("{} scope {}", acpi::scope_type_name(scope.type), scope.path_string());
}

std::string table_name(const Host& host, const void* decoded) {
  const FirmwareTable* t = host.firmware.table_of(decoded);
  return t != nullptr ? t->raw.source : std::string();
}

void map_rmrrs(const Host& host, const acpi::Dmar& dmar, ReservationMap& out) {
  if (!host.topology) return;
  const pci::Topology& topology = *host.topology;
  const std::string table = table_name(host, &dmar);
  for (const auto& rmrr : dmar.rmrrs) {
    const std::string label = fmt::format("RMRR #{} at {:#x}", rmrr.index, rmrr.offset);
    std::vector<pci::DeviceScope> scopes;
    scopes.reserve(rmrr.scopes.size());
    for (const auto& s : rmrr.scopes) {
      pci::DeviceScope scope{s.type, s.start_bus, {}};
      for (const auto& e : s.path) scope.path.push_back({e.device, e.function});
      scopes.push_back(std::move(scope));
    }
    const pci::UnitResolution resolution = pci::resolve_unit(topology, rmrr.segment, scopes);
    std::set<std::size_t> used_scopes;
    for (const auto& reach : resolution.reach) {
      used_scopes.insert(reach.scope_index);
      FirmwareReservation r;
      r.kind = ReservationKind::kRmrr;
      r.device = reach.device;
      r.member = host.devices[reach.device].bdf.to_string();
      r.table = table;
      r.index = rmrr.index;
      r.offset = rmrr.offset;
      r.base = rmrr.base;
      r.end_or_length = rmrr.end;
      r.range = rmrr.range();
      r.flags = rmrr.reserved;
      const acpi::DeviceScope& scope = rmrr.scopes[reach.scope_index];
      if (reach.via_bridge()) {
        r.match = ReservationMatch::kViaBridge;
        r.via = reach.slot;
        r.how = fmt::format("{} at {:#x}: below bridge {}", scope_text(scope), scope.offset,
                            host.devices[reach.slot].bdf.to_string());
      } else {
        pci::PathMatch path = pci::PathMatch::kExact;
        for (const auto& slot : resolution.slots) {
          if (slot.device == reach.slot) path = slot.path_match;
        }
        r.match = path == pci::PathMatch::kFallback ? ReservationMatch::kScopeFallback : ReservationMatch::kScopeExact;
        r.how = fmt::format("{} at {:#x}: {}", scope_text(scope), scope.offset,
                            path == pci::PathMatch::kFallback
                                ? "fallback (a one-element path matched on the device's own bus)"
                                : "exact path");
      }
      if (!rmrr.sanity.ok()) r.note = "fails Linux's rmrr_sanity_check (still used: the kernel only logs it)";
      out.reservations.push_back(std::move(r));
    }
    for (const auto& rejection : resolution.rejections) {
      used_scopes.insert(rejection.scope_index);
      out.notes.push_back(fmt::format("{}: {} matches {} but the scope type does not fit its header ({})", label,
                                      scope_text(rmrr.scopes[rejection.scope_index]),
                                      host.devices[rejection.device].bdf.to_string(), rejection.kernel_log));
    }
    for (std::size_t i = 0; i < rmrr.scopes.size(); ++i) {
      const auto& s = rmrr.scopes[i];
      if (used_scopes.contains(i)) continue;
      if (s.type == acpi::scope_type::kEndpoint || s.type == acpi::scope_type::kBridge) {
        out.notes.push_back(
            fmt::format("{}: {} at {:#x} names no PCI function of this host", label, scope_text(s), s.offset));
      } else if (s.type == acpi::scope_type::kNamespace) {
        std::string name;
        for (const auto& a : dmar.andds) {
          if (a.device_number == s.enumeration_id) name = acpi::printable(a.name);
        }
        out.notes.push_back(fmt::format("{}: ACPI namespace device #{} {} (not a PCI function)", label,
                                        s.enumeration_id, name.empty() ? "(no ANDD)" : name));
      }
    }
    for (const auto& line : resolution.kernel_log) out.kernel_log.push_back(line);
  }
}

void map_ivmds(const Host& host, const acpi::Ivrs& ivrs, ReservationMap& out) {
  const std::string table = table_name(host, &ivrs);
  for (std::size_t i = 0; i < ivrs.ivmds.size(); ++i) {
    const acpi::Ivmd& m = ivrs.ivmds[i];
    const std::uint16_t first = m.first_devid();
    const std::uint16_t last = m.last_devid();
    const std::string devids =
        m.type == acpi::ivrs_type::kIvmdAll
            ? std::string("all devids")
            : (first == last ? "devid " + acpi::devid_string(first)
                             : fmt::format("devids {}-{}", acpi::devid_string(first), acpi::devid_string(last)));
    bool any = false;
    for (std::size_t d = 0; d < host.devices.size(); ++d) {
      const pci::Bdf& bdf = host.devices[d].bdf;
      if (bdf.segment() != m.segment() || bdf.rid() < first || bdf.rid() > last) continue;
      any = true;
      FirmwareReservation r;
      r.kind = ReservationKind::kIvmd;
      r.match = ReservationMatch::kIvmdDevid;
      r.device = d;
      r.member = bdf.to_string();
      r.table = table;
      r.index = i;
      r.offset = m.offset;
      r.base = m.start;
      r.end_or_length = m.size;
      r.range = m.range();
      r.flags = m.flags;
      r.how = fmt::format("IVMD type {:#04x} at {:#x}: {} (segment {})", m.type, m.offset, devids, m.segment());
      if (!m.unity() && !m.exclusion()) {
        r.note = "neither unity nor exclusion flag: init_memory_definitions skips it";
      } else if (m.exclusion()) {
        r.note = "exclusion range: Linux maps it as a read/write unity range (init_unity_map_range)";
      }
      out.reservations.push_back(std::move(r));
    }
    if (!any) {
      out.notes.push_back(fmt::format("IVMD #{} at {:#x}: {} (segment {}) names no PCI function of this host", i,
                                      m.offset, devids, m.segment()));
    }
  }
}

struct StreamHit {
  std::size_t smmu = 0;  // table offset of the SMMU node
  std::uint32_t stream = 0;
};

// iort_node_map_id: follow ID mappings from `node` until an SMMU (or give up
// at an ITS group, an unknown node, or after a few hops).
void map_stream(const acpi::Iort& iort, const acpi::IortNode& node, std::optional<std::uint32_t> id, int depth,
                std::vector<StreamHit>& hits) {
  if (depth > 8) return;
  for (const auto& m : node.mappings) {
    std::uint32_t out_id = m.output_base;
    if (!m.single()) {
      if (!id) continue;
      if (*id < m.input_base || *id - m.input_base > m.id_count) continue;
      out_id = m.output_base + (*id - m.input_base);
    }
    const acpi::IortNode* next = iort.node_at(m.output_reference);
    if (next == nullptr) continue;
    if (next->type == acpi::iort_node::kSmmu || next->type == acpi::iort_node::kSmmuV3) {
      hits.push_back({next->offset, out_id});
    } else if (next->type != acpi::iort_node::kItsGroup) {
      map_stream(iort, *next, out_id, depth + 1, hits);
    }
  }
}

void add_rmrs(const Host& host, const acpi::Iort& iort, const std::vector<StreamHit>& hits,
              const FirmwareReservation& base, const std::string& via, ReservationMap& out) {
  const std::string table = table_name(host, &iort);
  std::size_t rmr_index = 0;
  for (const auto& node : iort.nodes) {
    if (!node.rmr) continue;
    const std::size_t index = rmr_index++;
    std::optional<StreamHit> hit;
    for (const auto& m : node.mappings) {
      for (const auto& h : hits) {
        if (m.output_reference == h.smmu && h.stream >= m.output_base && h.stream - m.output_base <= m.id_count) {
          hit = h;
        }
      }
    }
    if (!hit) continue;
    for (std::size_t d = 0; d < node.rmr->descriptors.size(); ++d) {
      const auto& desc = node.rmr->descriptors[d];
      FirmwareReservation r = base;
      r.kind = ReservationKind::kRmr;
      r.match = ReservationMatch::kRmrStreamId;
      r.table = table;
      r.index = index;
      r.offset = node.offset;
      r.base = desc.base;
      r.end_or_length = desc.length;
      r.range = desc.range();
      r.flags = node.rmr->flags;
      r.how = fmt::format("RMR node at {:#x}, descriptor {} at {:#x}: StreamID {:#x} on SMMU node {:#x}{}", node.offset,
                          d, desc.offset, hit->stream, hit->smmu, via);
      if (iort.header.revision < 5) {
        r.note = fmt::format("IORT revision {}: Linux uses RMR nodes only from revision 5 (iort_find_rmrs)",
                             iort.header.revision);
      }
      if (base.device && r.note.empty()) {
        r.note =
            "Linux applies RMRs to PCI devices only when the host bridge asks to preserve its boot "
            "configuration (_DSM function 5), which sysfs does not show";
      }
      out.reservations.push_back(std::move(r));
    }
  }
}

void map_rmrs(const Host& host, const acpi::Iort& iort, ReservationMap& out) {
  // PCI functions: root complex node of the segment, requester ID in.
  for (std::size_t d = 0; d < host.devices.size(); ++d) {
    const pci::Bdf& bdf = host.devices[d].bdf;
    for (const auto& node : iort.nodes) {
      if (!node.root_complex || node.root_complex->segment != bdf.segment()) continue;
      std::vector<StreamHit> hits;
      map_stream(iort, node, bdf.rid(), 0, hits);
      if (hits.empty()) continue;
      FirmwareReservation base;
      base.device = d;
      base.member = bdf.to_string();
      add_rmrs(host, iort, hits, base,
               fmt::format(" (requester ID {:#06x} through root complex at {:#x})", bdf.rid(), node.offset), out);
    }
  }
  // Platform devices in groups: the named component with the member's ACPI path.
  for (const auto& group : host.groups) {
    for (const auto& member : group.members) {
      if (member.bdf || !member.acpi_path) continue;
      for (const auto& node : iort.nodes) {
        if (!node.named_component || node.named_component->name != *member.acpi_path) continue;
        std::vector<StreamHit> hits;
        map_stream(iort, node, std::nullopt, 0, hits);
        if (hits.empty()) continue;
        FirmwareReservation base;
        base.member = member.name;
        base.group = group.number;
        add_rmrs(host, iort, hits, base, fmt::format(" (named component {} at {:#x})", *member.acpi_path, node.offset),
                 out);
      }
    }
  }
  // RMR nodes that reach nothing on this host.
  std::set<std::size_t> used;
  for (const auto& r : out.reservations) {
    if (r.kind == ReservationKind::kRmr) used.insert(r.offset);
  }
  for (const auto& node : iort.nodes) {
    if (!node.rmr || used.contains(node.offset)) continue;
    std::string ids;
    for (const auto& m : node.mappings) {
      ids += (ids.empty() ? "" : ", ") + fmt::format("{:#x}", m.output_base);
      if (m.id_count > 0) ids += fmt::format("-{:#x}", std::uint64_t{m.output_base} + m.id_count);
      std::string component;
      for (const auto& nc : iort.nodes) {
        if (!nc.named_component) continue;
        std::vector<StreamHit> hits;
        map_stream(iort, nc, std::nullopt, 0, hits);
        for (const auto& h : hits) {
          if (h.smmu == m.output_reference && h.stream >= m.output_base && h.stream - m.output_base <= m.id_count) {
            component = nc.named_component->name;
          }
        }
      }
      ids += fmt::format("@{:#x}", m.output_reference) + (component.empty() ? "" : " (" + component + ")");
    }
    out.notes.push_back(fmt::format("RMR node at {:#x} (StreamIDs {}) reaches no device this host lists", node.offset,
                                    ids.empty() ? "none" : ids));
  }
}

}  // namespace

ReservationMap map_firmware_reservations(const Host& host) {
  ReservationMap out;
  for (const auto& table : host.firmware.tables) {
    if (!table.decoded) continue;
    if (const auto* dmar = std::get_if<acpi::Dmar>(&*table.decoded)) map_rmrrs(host, *dmar, out);
    if (const auto* ivrs = std::get_if<acpi::Ivrs>(&*table.decoded)) map_ivmds(host, *ivrs, out);
    if (const auto* iort = std::get_if<acpi::Iort>(&*table.decoded)) map_rmrs(host, *iort, out);
  }
  return out;
}

}  // namespace iovakit::host
