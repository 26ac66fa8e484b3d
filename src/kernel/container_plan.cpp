#include "iovakit/kernel/container_plan.h"

#include <fmt/core.h>

#include <algorithm>

#include "iovakit/kernel/vfio_type1.h"

namespace iovakit::kernel {

namespace {

std::string bdf_list(const pci::Topology& t, const std::vector<std::size_t>& devices) {
  std::string out;
  for (std::size_t d : devices) out += (out.empty() ? "" : ", ") + t.bdf(d).to_string();
  return out;
}

// The members of `group` whose own regions overlap `region`, and the
// firmware/driver causes they carry.
HoleCause region_cause(const PlatformPrediction& p, const pci::Topology& t, const GroupModel& group,
                       const iova::ResvRegion& region) {
  HoleCause c;
  c.kind = HoleCause::Kind::kRegion;
  c.group = group.id;
  c.region = region;
  const auto merged = region.range();
  std::vector<std::string> details;
  for (std::size_t d : group.members) {
    for (const DeviceRegion& r : p.devices[d].regions) {
      const auto own = r.region.range();
      if (!merged || !own || r.region.type != region.type || !merged->overlaps(*own)) continue;
      if (std::find(c.devices.begin(), c.devices.end(), d) == c.devices.end()) c.devices.push_back(d);
      if (std::find(details.begin(), details.end(), r.cause.detail) == details.end()) details.push_back(r.cause.detail);
    }
  }
  std::string why;
  for (const auto& s : details) why += (why.empty() ? "" : "; ") + s;
  c.text = fmt::format("group {}: {} region {} of {}{}{}", group.id, iova::type_name(region.type),
                       merged ? merged->to_string() : std::string("?"), bdf_list(t, c.devices), why.empty() ? "" : ": ",
                       why);
  return c;
}

}  // namespace

ContainerPlan plan_container(const PlatformPrediction& p, const pci::Topology& t,
                             const std::vector<std::size_t>& devices, bool allow_unsafe_interrupts) {
  ContainerPlan plan;
  const KernelFeatures& f = p.profile.features;
  Type1Container container(p.profile, kDefaultDmaEntryLimit, allow_unsafe_interrupts);
  std::vector<const GroupModel*> groups;
  for (std::size_t d : devices) {
    const GroupModel* g = p.group_of(d);
    if (g == nullptr) {
      const std::string why = d < p.devices.size() ? p.devices[d].no_iommu_reason : std::string();
      plan.problems.push_back(fmt::format("{} has no IOMMU group{}{}: VFIO cannot use it", t.bdf(d).to_string(),
                                          why.empty() ? "" : ": ", why));
      continue;
    }
    if (std::find(groups.begin(), groups.end(), g) != groups.end()) continue;
    groups.push_back(g);
    plan.groups.push_back(g->id);
  }
  bool ok = !groups.empty();
  for (const GroupModel* g : groups) {
    Outcome o = container.set_container(type1_group_spec(*g, f));
    if (!o.ok()) {
      plan.problems.push_back(fmt::format("group {}: {}{}", g->id, o.to_string(),
                                          g->claim_log.empty() ? "" : fmt::format(" (kernel: \"{}\")", g->claim_log)));
      ok = false;
    }
    plan.steps.push_back(std::move(o));
  }
  if (ok) {
    Outcome o = container.set_iommu(kVfioType1v2Iommu);
    if (!o.ok()) {
      plan.problems.push_back(o.to_string());
      ok = false;
    }
    plan.steps.push_back(std::move(o));
  }
  plan.attached = ok;
  plan.enforced = f.type1_iova_list;
  plan.pgsize_bitmap = container.pgsize_bitmap();

  // The list: the container's, or (before the usable list existed) what it
  // would be: the apertures' intersection minus every non-relaxable region.
  if (ok && f.type1_iova_list) {
    plan.usable = container.iova_list().to_range_set();
  } else {
    iova::RangeSet usable{iova::Range::full()};
    for (const GroupModel* g : groups) {
      usable = usable.intersect(iova::RangeSet{g->aperture});
      for (const auto& r : g->regions) {
        if (r.type == iova::ResvType::kDirectRelaxable) continue;
        if (auto range = r.range()) usable = usable.subtract(iova::RangeSet{*range});
      }
    }
    plan.usable = usable;
  }

  for (const iova::Range& hole : plan.usable.complement()) {
    PlanHole h{hole, {}};
    for (const GroupModel* g : groups) {
      if (!g->aperture.contains(hole)) {
        HoleCause c;
        c.kind = HoleCause::Kind::kAperture;
        c.group = g->id;
        c.text = fmt::format("group {}: outside its domain's aperture {}{}{}", g->id, g->aperture.to_string(),
                             g->geometry_explanation.empty() ? "" : ": ", g->geometry_explanation);
        h.causes.push_back(std::move(c));
      }
      for (const auto& r : g->regions) {
        const auto range = r.range();
        if (r.type == iova::ResvType::kDirectRelaxable || !range || !range->overlaps(hole)) continue;
        h.causes.push_back(region_cause(p, t, *g, r));
      }
    }
    plan.holes.push_back(std::move(h));
  }
  for (const GroupModel* g : groups) {
    for (const auto& r : g->regions) {
      if (r.type == iova::ResvType::kDirectRelaxable) plan.relaxable.push_back(region_cause(p, t, *g, r));
    }
  }
  return plan;
}

}  // namespace iovakit::kernel
