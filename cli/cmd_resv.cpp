// iovakit resv: merge per-device reserved-region lists into a group's list,
// exactly as iommu_get_group_resv_regions does, and print what sysfs shows.
#include <iostream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "command.h"
#include "exit_codes.h"
#include "io.h"
#include "iovakit/iova/resv_region.h"
#include "iovakit/iova/resv_sysfs.h"
#include "iovakit/report/iova_json.h"
#include "iovakit/report/table.h"

namespace iovakit::cli {

namespace {

report::Table region_table(const iova::ResvList& list) {
  report::Table table({{"START"}, {"END"}, {"SIZE", report::Align::kRight}, {"TYPE"}});
  for (const auto& r : list) {
    const auto range = r.range();
    const std::string size = range ? iova::format_size(range->size()) : "wraps";
    report::Tone tone = report::Tone::kPlain;
    if (r.type == iova::ResvType::kDirect) tone = report::Tone::kBad;
    if (r.type == iova::ResvType::kDirectRelaxable) tone = report::Tone::kWarning;
    table.add_row({report::json_address(r.start),
                   report::json_address(r.last()),
                   size,
                   {std::string(iova::type_name(r.type)), tone}});
  }
  return table;
}

}  // namespace

int run_resv(const ResvOptions& opt, const Context& ctx) {
  iova::ResvList merged(opt.legacy_merge ? iova::ResvMergeAlgorithm::kRecursiveOverlap
                                         : iova::ResvMergeAlgorithm::kSortedStack);
  report::Json inputs = report::Json::array();
  std::size_t regions_in = 0;
  for (const auto& path : opt.files) {
    auto text = read_input(path);
    if (!text) {
      std::cerr << "iovakit resv: " << text.error().to_string() << "\n";
      return kExitBadInput;
    }
    auto regions = iova::parse_reserved_regions(*text, path == "-" ? "<stdin>" : path);
    if (!regions) {
      std::cerr << "iovakit resv: " << regions.error().to_string() << "\n";
      return kExitBadInput;
    }
    regions_in += regions->size();
    merged.insert_all(*regions);
    report::Json list = report::Json::array();
    for (const auto& r : *regions) list.push_back(report::to_json(r));
    inputs.push_back({{"source", path}, {"regions", list}});
  }

  const std::string algorithm = opt.legacy_merge ? "recursive-overlap" : "sorted-stack";
  if (opt.json) {
    report::Json regions = report::Json::array();
    for (const auto& r : merged) regions.push_back(report::to_json(r));
    const report::Json out = {{"schema", "iovakit.resv/1"},
                              {"merge_algorithm", algorithm},
                              {"regions", regions},
                              {"sysfs", merged.to_sysfs()},
                              {"inputs", inputs}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (opt.sysfs) {
    std::cout << merged.to_sysfs();
    return kExitOk;
  }

  const report::Style style = ctx.out_style();
  std::cout << fmt::format("{} region(s) from {} list(s) merge into {} group region(s) ({}, {}):\n\n", regions_in,
                           opt.files.size(), merged.size(), "iommu_insert_resv_region",
                           opt.legacy_merge ? "Linux 4.11-5.2" : "Linux 5.3+");
  std::cout << region_table(merged).render(style, 2) << "\n";
  std::cout << style.paint("/sys/kernel/iommu_groups/N/reserved_regions reads:", report::Tone::kHeading) << "\n";
  std::cout << merged.to_sysfs();
  return kExitOk;
}

}  // namespace iovakit::cli
