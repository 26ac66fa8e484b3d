#include "host_prediction.h"

#include <fmt/format.h>

#include <algorithm>

#include "iovakit/kernel/container_plan.h"
#include "iovakit/report/table.h"
#include "vfio_live.h"

namespace iovakit::cli {

std::size_t HostComparison::differences() const {
  return static_cast<std::size_t>(
      std::count_if(groups.begin(), groups.end(), [](const GroupComparison& g) { return !g.matches(); }));
}

HostComparison compare_prediction(const host::Host& h, const kernel::PlatformPrediction& p) {
  HostComparison out;
  out.profile = p.profile.name;
  out.unknowns = p.unknowns;
  const pci::Topology& t = *h.topology;
  std::vector<bool> used(p.group_models.size(), false);
  const auto predicted_devices = [&](const kernel::GroupModel& g) {
    std::vector<std::string> v;
    for (std::size_t d : g.members) v.push_back(t.bdf(d).to_string());
    std::sort(v.begin(), v.end());
    return v;
  };
  const auto fill_predicted = [&](GroupComparison& c, std::size_t i) {
    const kernel::GroupModel& g = p.group_models[i];
    used[i] = true;
    c.predicted = true;
    c.predicted_devices = predicted_devices(g);
    c.predicted_regions = g.sysfs;
    c.claim = g.claim.ok() ? "ok" : fmt::format("{} ({})", g.claim.name(), g.claim.function);
    c.claim_log = g.claim_log;
  };
  for (const host::IommuGroup& r : h.groups) {
    GroupComparison c;
    c.number = r.number;
    c.reported = true;
    for (const auto& m : r.members) c.reported_devices.push_back(m.name);
    std::sort(c.reported_devices.begin(), c.reported_devices.end());
    c.reported_regions = r.reserved_regions;
    c.modelled =
        std::any_of(r.members.begin(), r.members.end(), [](const host::GroupMember& m) { return m.bdf.has_value(); });
    for (const auto& m : r.members) {
      if (!m.bdf) continue;
      const auto d = t.find(*m.bdf);
      const kernel::GroupModel* g = d ? p.group_of(*d) : nullptr;
      if (g == nullptr) continue;
      const auto i = static_cast<std::size_t>(g - p.group_models.data());
      if (!used[i]) fill_predicted(c, i);
      break;
    }
    out.groups.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < p.group_models.size(); ++i) {
    if (used[i]) continue;
    GroupComparison c;
    c.number = p.group_models[i].id;
    fill_predicted(c, i);
    out.groups.push_back(std::move(c));
  }
  return out;
}

void probe_vfio(const host::Host& h, const kernel::PlatformPrediction& p, HostComparison& comparison) {
  for (GroupComparison& c : comparison.groups) {
    if (!c.reported) continue;
    const host::IommuGroup* r = h.find_group(c.number);
    std::vector<std::size_t> members;
    bool all_vfio = r != nullptr && !r->members.empty();
    for (const auto& m : r != nullptr ? r->members : std::vector<host::GroupMember>{}) {
      const auto d = m.bdf ? h.find_device(*m.bdf) : std::nullopt;
      if (!d) continue;
      members.push_back(*d);
      const auto& drv = h.devices[*d].driver;
      all_vfio = all_vfio && (!drv || *drv == "vfio-pci" || kernel::driver_manages_dma(*drv));
    }
    if (!all_vfio || members.empty()) continue;
    auto live = read_live_vfio_info(c.number);
    if (!live) {
      c.live_error = live.error().message();
      continue;
    }
    iova::RangeSet usable;
    for (const auto& range : live->decoded.iova_ranges.value_or(std::vector<kernel::VfioIovaRange>{})) {
      usable = usable.unite(iova::RangeSet{iova::Range(range.start, range.end)});
    }
    c.live_usable = usable;
    c.predicted_usable = kernel::plan_container(p, *h.topology, {members.front()}).usable;
  }
}

std::string print_comparison(const HostComparison& c, const report::Style& style) {
  std::string out =
      style.paint(fmt::format("Predicted from firmware and topology (kernel profile {}) vs reported", c.profile),
                  report::Tone::kHeading) +
      "\n";
  report::Table table({{"GROUP", report::Align::kRight}, {"DEVICES"}, {"RESERVED_REGIONS"}, {"VFIO CLAIM"}});
  for (const GroupComparison& g : c.groups) {
    const std::string devices = !g.modelled         ? "not modelled (no PCI member)"
                                : !g.reported       ? "predicted only"
                                : !g.predicted      ? "not predicted"
                                : g.devices_match() ? "same"
                                                    : "differ";
    const std::string regions = !g.reported || !g.predicted ? "-" : g.regions_match() ? "same" : "differ";
    table.add_row({std::to_string(g.number),
                   report::Cell(devices, devices == "same" ? report::Tone::kGood
                                         : !g.modelled     ? report::Tone::kDim
                                                           : report::Tone::kBad),
                   report::Cell(regions, regions == "same" ? report::Tone::kGood : report::Tone::kBad),
                   report::Cell(g.claim.empty() ? "-" : g.claim,
                                g.claim == "ok" ? report::Tone::kGood : report::Tone::kWarning)});
  }
  out += table.render(style);
  for (const GroupComparison& g : c.groups) {
    if (g.reported && g.predicted && !g.devices_match()) {
      out += fmt::format("  group {}: reported devices {}, predicted {}\n", g.number,
                         fmt::join(g.reported_devices, " "), fmt::join(g.predicted_devices, " "));
    }
    if (g.reported && g.predicted && !g.regions_match()) {
      out += fmt::format("  group {}: reported reserved_regions:\n{}  predicted:\n{}", g.number, g.reported_regions,
                         g.predicted_regions);
    }
    if (!g.claim_log.empty()) out += fmt::format("  group {}: VFIO would fail: {}\n", g.number, g.claim_log);
    if (!g.live_error.empty()) out += fmt::format("  group {}: --probe-vfio: {}\n", g.number, g.live_error);
    if (g.live_usable) {
      out += fmt::format("  group {}: usable IOVA list from the kernel {} the prediction\n", g.number,
                         g.usable_match() ? "equals" : "DIFFERS FROM");
      if (!g.usable_match()) {
        for (const auto& r : *g.live_usable) out += "    kernel    " + r.to_string() + "\n";
        for (const auto& r : *g.predicted_usable) out += "    predicted " + r.to_string() + "\n";
      }
    }
  }
  out += c.differences() == 0 ? style.paint("prediction and kernel agree\n", report::Tone::kGood)
                              : style.paint(fmt::format("{} group(s) differ: a rule iovakit misses, or a kernel or "
                                                        "firmware quirk worth reporting\n",
                                                        c.differences()),
                                            report::Tone::kBad);
  for (const auto& u : c.unknowns) out += style.paint("unknown: " + u, report::Tone::kWarning) + "\n";
  return out;
}

report::Json comparison_json(const HostComparison& c) {
  report::Json groups = report::Json::array();
  const auto ranges = [](const std::optional<iova::RangeSet>& s) {
    if (!s) return report::Json();
    report::Json a = report::Json::array();
    for (const auto& r : *s) a.push_back({fmt::format("{:#x}", r.first()), fmt::format("{:#x}", r.last())});
    return a;
  };
  for (const GroupComparison& g : c.groups) {
    groups.push_back({{"number", g.number},
                      {"reported", g.reported},
                      {"predicted", g.predicted},
                      {"matches", g.matches()},
                      {"modelled", g.modelled},
                      {"reported_devices", g.reported_devices},
                      {"predicted_devices", g.predicted_devices},
                      {"reported_reserved_regions", g.reported_regions},
                      {"predicted_reserved_regions", g.predicted_regions},
                      {"claim", g.claim},
                      {"claim_kmsg", g.claim_log},
                      {"live_usable", ranges(g.live_usable)},
                      {"predicted_usable", ranges(g.predicted_usable)},
                      {"live_error", g.live_error}});
  }
  return {{"profile", c.profile}, {"differences", c.differences()}, {"groups", groups}, {"unknowns", c.unknowns}};
}

}  // namespace iovakit::cli
