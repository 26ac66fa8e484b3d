#include "iovakit/check/host_comparison.h"

#include <fmt/core.h>

#include <algorithm>

#include "iovakit/host/vfio_live.h"
#include "iovakit/kernel/container_plan.h"

namespace iovakit::check {

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
    auto live = host::read_live_vfio_info(c.number);
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

}  // namespace iovakit::check
