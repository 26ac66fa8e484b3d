// iovakit predict: what the kernel will do on this host, from firmware and
// topology alone: IOMMU groups, each group's reserved_regions file, whether
// VFIO can claim it, and (with --step) the answer to each VFIO operation.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "command.h"
#include "exit_codes.h"
#include "host_model.h"
#include "iovakit/kernel/vfio_session.h"
#include "iovakit/report/iova_json.h"
#include "iovakit/report/table.h"

namespace iovakit::cli {

namespace {

std::string driver_name(kernel::IommuDriver d) {
  switch (d) {
    case kernel::IommuDriver::kIntelVtd: return "intel-vtd";
    case kernel::IommuDriver::kAmdVi: return "amd-vi";
    case kernel::IommuDriver::kArmSmmuV3: return "arm-smmu-v3";
    case kernel::IommuDriver::kVirtioIommu: return "virtio-iommu";
  }
  return "?";
}

std::vector<std::string> sysfs_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

report::Json info_json(const kernel::VfioInfoObservation& info) {
  report::Json caps = report::Json::array();
  for (const auto& c : info.caps) caps.push_back({c.offset, c.id, c.version, c.next});
  report::Json ranges = report::Json::array();
  for (const auto& r : info.iova_ranges) ranges.push_back({report::hex_string(r.start), report::hex_string(r.end)});
  report::Json out = {{"argsz", info.argsz}, {"copied", info.copied}, {"caps", caps}, {"iova_ranges", ranges}};
  out["dma_avail"] = info.dma_avail ? report::Json(*info.dma_avail) : report::Json();
  out["pgsizes"] = info.pgsizes ? report::Json(report::hex_string(*info.pgsizes)) : report::Json();
  if (info.migration) {
    out["migration"] = {{"pgsize_bitmap", report::hex_string(info.migration->pgsize_bitmap)},
                        {"max_dirty_bitmap_size", report::hex_string(info.migration->max_dirty_bitmap_size)}};
  } else {
    out["migration"] = nullptr;
  }
  return out;
}

}  // namespace

int run_predict(const PredictOptions& opt, const Context& ctx) {
  // Devices the steps bind are the ones assigned: the kernel messages name
  // them with vfio-pci.
  std::vector<std::string> bound;
  for (const auto& s : opt.steps) {
    if (s.starts_with("bind=")) bound.push_back(s.substr(5));
  }
  auto loaded = load_host_model(ctx, opt.model, bound);
  if (auto* e = std::get_if<ModelError>(&loaded)) {
    std::cerr << "iovakit predict: " << e->message << "\n";
    return e->exit_code;
  }
  const HostModel& m = std::get<HostModel>(loaded);
  const kernel::PlatformPrediction& p = m.prediction;
  const pci::Topology& t = *m.host->topology;

  std::vector<kernel::VfioStepResult> results;
  if (!opt.steps.empty()) {
    kernel::VfioSession session(p, t, opt.allow_unsafe_interrupts);
    for (const auto& text : opt.steps) {
      auto step = kernel::parse_vfio_step(text);
      if (!step) {
        std::cerr << "iovakit predict: --step " << step.error().message() << "\n";
        return kExitUsage;
      }
      results.push_back(session.run(*step));
    }
  }
  bool refused = false;
  for (const auto& g : p.group_models) refused = refused || !g.claim.ok();
  const int code = !p.remapping_enabled ? kExitNoIommu : refused ? kExitFindings : kExitOk;

  if (opt.json) {
    report::Json groups = report::Json::array();
    for (const auto& g : p.group_models) {
      report::Json devices = report::Json::array();
      for (std::size_t d : g.members) devices.push_back(t.bdf(d).to_string());
      report::Json unbind = report::Json::array();
      for (std::size_t d : g.must_unbind) unbind.push_back(t.bdf(d).to_string());
      groups.push_back({{"id", g.id},
                        {"devices", devices},
                        {"type", g.domain_type},
                        {"reserved_regions", sysfs_lines(g.sysfs)},
                        {"certain", g.certain},
                        {"aperture", {report::hex_string(g.aperture.first()), report::hex_string(g.aperture.last())}},
                        {"pgsize_bitmap", report::hex_string(g.pgsize_bitmap)},
                        {"isolated_msi", g.isolated_msi},
                        {"claim",
                         {{"errno", std::string(g.claim.ok() ? "0" : g.claim.name())},
                          {"function", g.claim.function},
                          {"message", g.claim.message},
                          {"kmsg", g.claim_log}}},
                        {"must_unbind", unbind}});
    }
    report::Json no_iommu = report::Json::array();
    for (std::size_t d = 0; d < p.devices.size(); ++d) {
      if (!p.devices[d].has_iommu) {
        no_iommu.push_back({{"device", t.bdf(d).to_string()}, {"reason", p.devices[d].no_iommu_reason}});
      }
    }
    // Step keys as the oracle names them: the step, then "step (#n)" for
    // its n-th repetition.
    report::Json steps = report::Json::object();
    report::Json kmsg = report::Json::object();
    report::Json list = report::Json::array();
    report::Json info;
    report::Json infos = report::Json::array();
    std::map<std::string, int> seen;
    for (const auto& r : results) {
      const int n = ++seen[r.step.text];
      const std::string key = n == 1 ? r.step.text : fmt::format("{} (#{})", r.step.text, n);
      steps[key] = r.result;
      kmsg[key] = r.kmsg;
      list.push_back({{"step", r.step.text},
                      {"result", r.result},
                      {"function", r.outcome.function},
                      {"message", r.outcome.message},
                      {"kmsg", r.kmsg}});
      if (r.info) infos.push_back(info_json(*r.info));
      if (r.info && info.is_null()) info = infos.back();
    }
    report::Json doc = {{"schema", "iovakit.predict/1"},
                        {"root", m.host->root},
                        {"profile", p.profile.name},
                        {"driver", driver_name(p.driver)},
                        {"remapping_enabled", p.remapping_enabled},
                        {"disabled_reason", p.disabled_reason},
                        {"groups", groups},
                        {"groups_count", p.group_models.size()},
                        {"no_iommu", no_iommu},
                        {"steps", steps},
                        {"step_results", list},
                        {"kmsg", kmsg},
                        {"info", info.is_null() ? report::Json::object() : info},
                        {"infos", infos},
                        {"kernel_log", p.kernel_log},
                        {"unknowns", p.unknowns},
                        {"notes", m.platform.notes}};
    std::cout << doc.dump(2) << "\n";
    return code;
  }

  const report::Style style = ctx.out_style();
  std::string out = style.paint(fmt::format("Prediction for {} (kernel profile {}, {})", m.host->root, p.profile.name,
                                            driver_name(p.driver)),
                                report::Tone::kHeading) +
                    "\n";
  if (!p.remapping_enabled) {
    out += style.paint("DMA remapping does not start: " + p.disabled_reason, report::Tone::kBad) + "\n";
  }
  report::Table table({{"GROUP", report::Align::kRight}, {"DEVICES"}, {"TYPE"}, {"VFIO CLAIM"}});
  for (const auto& g : p.group_models) {
    std::string devices;
    for (std::size_t d : g.members) devices += (devices.empty() ? "" : " ") + t.bdf(d).to_string();
    table.add_row(
        {std::to_string(g.id), devices, g.domain_type,
         g.claim.ok() ? report::Cell("ok", report::Tone::kGood)
                      : report::Cell(std::string(g.claim.name()) + " (" + g.claim.function + ")", report::Tone::kBad)});
  }
  out += "\n" + table.render(style);
  for (const auto& g : p.group_models) {
    out += "\n" + style.paint(fmt::format("group {} reserved_regions", g.id), report::Tone::kHeading) + "\n";
    for (const auto& line : sysfs_lines(g.sysfs)) out += "  " + line + "\n";
    if (!g.claim.ok()) out += "  " + style.paint("refused: " + g.claim.message, report::Tone::kBad) + "\n";
    if (!g.claim_log.empty()) out += "  kernel: " + g.claim_log + "\n";
  }
  if (!results.empty()) {
    report::Table steps({{"STEP"}, {"RESULT"}, {"WHY"}});
    for (const auto& r : results) {
      steps.add_row({r.step.text, report::Cell(r.result, r.outcome.ok() ? report::Tone::kGood : report::Tone::kBad),
                     r.outcome.message});
    }
    out += "\n" + steps.render(style);
  }
  for (const auto& u : p.unknowns) out += style.paint("unknown: " + u, report::Tone::kWarning) + "\n";
  for (const auto& n : m.platform.notes) out += style.paint("note: " + n, report::Tone::kDim) + "\n";
  std::cout << out;
  return code;
}

}  // namespace iovakit::cli
