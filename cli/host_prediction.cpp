#include "host_prediction.h"

#include <fmt/format.h>

#include <algorithm>

#include "iovakit/report/table.h"

namespace iovakit::cli {

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
