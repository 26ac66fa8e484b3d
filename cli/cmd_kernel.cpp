// iovakit kernel: show the kernel profile the model applies (preset or
// version, plus --set overrides), or list the presets.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "command.h"
#include "exit_codes.h"
#include "iovakit/host/file_source.h"
#include "iovakit/kernel/kernel_profile.h"
#include "iovakit/report/iova_json.h"
#include "iovakit/report/table.h"

namespace iovakit::cli {

namespace {

report::Json profile_json(const kernel::KernelProfile& p) {
  report::Json flags = report::Json::object();
  for (const auto& [name, value] : kernel::describe_features(p.features)) flags[name] = value;
  return {{"name", p.name}, {"version", p.version.to_string()}, {"summary", p.summary}, {"features", flags}};
}

// The host's kernel version, from /proc/version of --root (the running
// system by default).
Result<kernel::KernelVersion> running_kernel(const std::string& root) {
  auto source = host::open_root(root);
  if (!source) return source.error();
  auto line = (*source)->read_file("proc/version", 1U << 16U);
  if (!line) return Error(line.error().code(), line.error().message() + "; pass --kernel X.Y", line.error().where());
  return kernel::KernelVersion::parse(*line);
}

}  // namespace

int run_kernel(const KernelOptions& opt, const Context& ctx) {
  const report::Style style = ctx.out_style();
  if (opt.list) {
    if (opt.json) {
      report::Json presets = report::Json::array();
      for (const auto& p : kernel::kernel_presets()) presets.push_back(profile_json(p));
      std::cout << report::Json{{"schema", "iovakit.kernel-presets/1"}, {"presets", presets}}.dump(2) << "\n";
      return kExitOk;
    }
    report::Table table({{"PRESET"}, {"SUMMARY"}});
    for (const auto& p : kernel::kernel_presets()) table.add_row({p.name, p.summary});
    std::cout << table.render(style);
    return kExitOk;
  }

  Result<kernel::KernelProfile> profile = Error(Errc::kInvalidArgument, "no kernel");
  if (opt.kernel.empty()) {
    auto version = running_kernel(ctx.root);
    if (!version) {
      std::cerr << "iovakit kernel: " << version.error().to_string() << "\n";
      return kExitBadInput;
    }
    profile = kernel::profile_for_version(*version);
  } else {
    profile = kernel::resolve_profile(opt.kernel);
  }
  if (!profile) {
    std::cerr << "iovakit kernel: " << profile.error().to_string() << "\n";
    return kExitBadInput;
  }
  for (const auto& assignment : opt.overrides) {
    if (auto status = kernel::apply_override(*profile, assignment); !status) {
      std::cerr << "iovakit kernel: --set " << status.error().to_string() << "\n";
      return kExitUsage;
    }
  }

  if (opt.json) {
    std::cout << report::Json{{"schema", "iovakit.kernel/1"}, {"profile", profile_json(*profile)}}.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << style.paint(fmt::format("Kernel profile {}", profile->name), report::Tone::kHeading) << " ("
            << profile->summary << ")\n\n";
  report::Table table({{"FLAG"}, {"VALUE"}});
  for (const auto& [name, value] : kernel::describe_features(profile->features)) table.add_row({name, value});
  std::cout << table.render(style, 2);
  return kExitOk;
}

}  // namespace iovakit::cli
