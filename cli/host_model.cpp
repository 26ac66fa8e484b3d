#include "host_model.h"

#include <algorithm>

#include <fmt/core.h>

#include "exit_codes.h"
#include "iovakit/host/file_source.h"

namespace iovakit::cli {

std::variant<std::optional<kernel::KernelProfile>, ModelError> resolve_host_profile(const ModelOptions& opt,
                                                                                    const host::Host& host) {
  std::optional<kernel::KernelProfile> profile;
  if (!opt.kernel.empty()) {
    auto p = kernel::resolve_profile(opt.kernel);
    if (!p) return ModelError{kExitUsage, "--kernel: " + p.error().to_string()};
    profile = *p;
  } else if (host.kernel.version) {
    profile = kernel::profile_for_version(*host.kernel.version);
  }
  if (profile) {
    for (const auto& a : opt.overrides) {
      if (auto s = kernel::apply_override(*profile, a); !s)
        return ModelError{kExitUsage, "--set " + s.error().to_string()};
    }
  } else if (!opt.overrides.empty()) {
    return ModelError{kExitUsage, "--set needs a profile: the host's kernel version is unknown, pass --kernel"};
  }

  return profile;
}

std::variant<HostModel, ModelError> load_host_model(const Context& ctx, const ModelOptions& opt,
                                                    const std::vector<std::string>& devices) {
  auto source = host::open_root(ctx.root);
  if (!source) return ModelError{kExitBadInput, "cannot read the host root: " + source.error().to_string()};
  auto h = host::build_host(**source);
  if (!h) return ModelError{kExitBadInput, h.error().to_string()};
  HostModel m;
  m.host = std::make_unique<host::Host>(std::move(*h));

  auto resolved = resolve_host_profile(opt, *m.host);
  if (auto* e = std::get_if<ModelError>(&resolved)) return *e;
  const auto& profile = std::get<std::optional<kernel::KernelProfile>>(resolved);

  auto platform = kernel::platform_from_host(*m.host, profile ? &*profile : nullptr);
  if (!platform) return ModelError{kExitNoIommu, platform.error().message()};
  m.platform = std::move(*platform);

  std::vector<std::string> bdfs = opt.assign;
  bdfs.insert(bdfs.end(), devices.begin(), devices.end());
  for (const auto& text : bdfs) {
    auto bdf = pci::Bdf::parse(text);
    if (!bdf) return ModelError{kExitUsage, fmt::format("\"{}\": {}", text, bdf.error().message())};
    auto index = m.host->topology->find(*bdf);
    if (!index) return ModelError{kExitBadInput, fmt::format("no PCI device {} on this host", bdf->to_string())};
    if (std::find(m.assigned.begin(), m.assigned.end(), *index) == m.assigned.end()) m.assigned.push_back(*index);
  }
  m.platform.input.assigned = m.assigned;
  auto prediction = kernel::predict_platform(m.platform.input, m.platform.profile);
  if (!prediction) return ModelError{kExitInternal, prediction.error().to_string()};
  m.prediction = std::move(*prediction);
  return m;
}

}  // namespace iovakit::cli
