// iovakit ranges --device BDF...: the usable IOVA list of a VFIO type1
// container holding those devices' groups, with the cause of every hole.
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "command.h"
#include "exit_codes.h"
#include "host_model.h"
#include "iovakit/kernel/container_plan.h"
#include "iovakit/report/iova_json.h"
#include "iovakit/report/table.h"

namespace iovakit::cli {

namespace {

std::string size_text(const iova::Range& r) {
  const iova::uint128 size = r.size();  // may be 2^64
  if (size > iova::uint128{~0ULL}) return "16 EiB";
  auto s = static_cast<std::uint64_t>(size);
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (u < 6 && s >= 1024 && s % 1024 == 0) {
    s /= 1024;
    ++u;
  }
  return fmt::format("{} {}", s, units[u]);
}

report::Json cause_json(const kernel::HoleCause& c, const pci::Topology& t) {
  report::Json devices = report::Json::array();
  for (std::size_t d : c.devices) devices.push_back(t.bdf(d).to_string());
  return {{"kind", c.kind == kernel::HoleCause::Kind::kAperture ? "aperture" : "region"},
          {"group", c.group},
          {"devices", devices},
          {"text", c.text}};
}

}  // namespace

int run_ranges(const RangesOptions& opt, const Context& ctx) {
  auto loaded = load_host_model(ctx, opt.model, opt.devices);
  if (auto* e = std::get_if<ModelError>(&loaded)) {
    std::cerr << "iovakit ranges: " << e->message << "\n";
    return e->exit_code;
  }
  const HostModel& m = std::get<HostModel>(loaded);
  const pci::Topology& t = *m.host->topology;
  std::vector<std::size_t> devices;
  for (const auto& text : opt.devices) devices.push_back(*t.find(*pci::Bdf::parse(text)));
  const kernel::ContainerPlan plan = kernel::plan_container(m.prediction, t, devices, opt.allow_unsafe_interrupts);
  const int code = plan.attached && plan.problems.empty() ? kExitOk : kExitFindings;

  if (opt.json) {
    report::Json usable = report::Json::array();
    for (const auto& r : plan.usable) usable.push_back({report::hex_string(r.first()), report::hex_string(r.last())});
    report::Json holes = report::Json::array();
    for (const auto& h : plan.holes) {
      report::Json causes = report::Json::array();
      for (const auto& c : h.causes) causes.push_back(cause_json(c, t));
      holes.push_back(
          {{"range", {report::hex_string(h.range.first()), report::hex_string(h.range.last())}}, {"causes", causes}});
    }
    report::Json relaxable = report::Json::array();
    for (const auto& c : plan.relaxable) relaxable.push_back(cause_json(c, t));
    std::cout << report::Json{{"schema", "iovakit.ranges/1"},
                              {"root", m.host->root},
                              {"profile", m.prediction.profile.name},
                              {"devices", opt.devices},
                              {"groups", plan.groups},
                              {"attached", plan.attached},
                              {"enforced", plan.enforced},
                              {"pgsize_bitmap", report::hex_string(plan.pgsize_bitmap)},
                              {"usable", usable},
                              {"holes", holes},
                              {"relaxable", relaxable},
                              {"problems", plan.problems},
                              {"unknowns", m.prediction.unknowns}}
                     .dump(2)
              << "\n";
    return code;
  }

  const report::Style style = ctx.out_style();
  std::string out = style.paint(fmt::format("Usable IOVA ranges of a type1 container with {} (kernel profile {})",
                                            fmt::join(opt.devices, ", "), m.prediction.profile.name),
                                report::Tone::kHeading) +
                    "\n";
  for (const auto& p : plan.problems) out += style.paint("problem: " + p, report::Tone::kBad) + "\n";
  if (!plan.enforced) {
    out += style.paint(
               "this kernel has no usable IOVA list: MAP_DMA into a hole succeeds and the device faults or "
               "corrupts memory at run time",
               report::Tone::kWarning) +
           "\n";
  }
  report::Table table({{"FIRST"}, {"LAST"}, {"SIZE", report::Align::kRight}, {"STATE"}, {"CAUSE"}});
  std::vector<std::pair<iova::Range, const kernel::PlanHole*>> rows;
  for (const auto& r : plan.usable) rows.emplace_back(r, nullptr);
  for (const auto& h : plan.holes) rows.emplace_back(h.range, &h);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first.first() < b.first.first(); });
  for (const auto& [range, hole] : rows) {
    if (hole == nullptr) {
      table.add_row({fmt::format("{:#018x}", range.first()), fmt::format("{:#018x}", range.last()), size_text(range),
                     report::Cell("usable", report::Tone::kGood), ""});
      continue;
    }
    for (std::size_t i = 0; i < std::max<std::size_t>(hole->causes.size(), 1); ++i) {
      const std::string cause = hole->causes.empty() ? "" : hole->causes[i].text;
      if (i == 0) {
        table.add_row({fmt::format("{:#018x}", range.first()), fmt::format("{:#018x}", range.last()), size_text(range),
                       report::Cell("hole", report::Tone::kBad), cause});
      } else {
        table.add_row({"", "", "", "", cause});
      }
    }
  }
  out += "\n" + table.render(style);
  if (!plan.relaxable.empty()) {
    out += "\n" +
           style.paint("Relaxable regions (usable; the identity map firmware asked for is lost while assigned)",
                       report::Tone::kWarning) +
           "\n";
    for (const auto& c : plan.relaxable) out += "  " + c.text + "\n";
  }
  for (const auto& u : m.prediction.unknowns) out += style.paint("unknown: " + u, report::Tone::kWarning) + "\n";
  std::cout << out;
  return code;
}

}  // namespace iovakit::cli
