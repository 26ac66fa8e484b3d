// Type1Container: iovakit's own questions about a mapping. Not kernel code:
// they read the same state the kernel's checks read and say what happens at
// run time (hazards_of) or why vfio_iommu_iova_dma_valid refuses
// (explain_map).
#include <algorithm>

#include <fmt/core.h>

#include "iovakit/kernel/vfio_type1.h"

namespace iovakit::kernel {

using iova::Range;
using iova::ResvRegion;
using iova::ResvType;

namespace {

// [iova, iova + size - 1], or nothing for size 0 or a wrap.
std::optional<Range> request_range(std::uint64_t iova, std::uint64_t size) {
  if (size == 0 || iova + (size - 1) < iova) return std::nullopt;
  return Range(iova, iova + (size - 1));
}

std::string consequence_of(const ResvRegion& r) {
  switch (r.type) {
    case ResvType::kDirect:
      return "replaces a firmware-required identity mapping (RMRR/IVMD/RMR): firmware-initiated DMA there will "
             "hit this mapping's memory or fault";
    case ResvType::kDirectRelaxable:
      return "drops a relaxable identity mapping (USB/GPU RMRR, ISA range): the kernel allows this for "
             "assignment; legacy firmware DMA there may land in this mapping";
    case ResvType::kReserved:
      return "lies in a reserved window (e.g. the AMD HyperTransport range): device DMA there never reaches "
             "memory";
    case ResvType::kMsi:
      return "lies in the MSI doorbell window, which is not translated: device writes there raise interrupts "
             "instead of reaching memory, reads fault";
    case ResvType::kSwMsi:
      return "collides with the software MSI window, where the kernel maps MSI doorbells: interrupts or DMA "
             "there will be corrupted";
  }
  return "overlaps a reserved region";
}

// Parts of `r` outside `bound` (at most two).
std::vector<Range> outside(const Range& r, const Range& bound) {
  std::vector<Range> out;
  if (r.first() < bound.first()) out.emplace_back(r.first(), std::min(r.last(), bound.first() - 1));
  if (r.last() > bound.last()) out.emplace_back(std::max(r.first(), bound.last() + 1), r.last());
  return out;
}

}  // namespace

std::vector<Hazard> Type1Container::hazards_of(std::uint64_t iova, std::uint64_t size) const {
  std::vector<Hazard> out;
  const std::optional<Range> r = request_range(iova, size);
  if (!r) return out;
  for (const Type1GroupSpec& g : groups_) {
    for (const ResvRegion& region : g.regions) {
      const std::optional<Range> rr = region.range();
      if (!rr) continue;
      const std::optional<Range> overlap = rr->intersect(*r);
      if (!overlap) continue;
      Hazard h;
      h.kind =
          region.type == ResvType::kDirectRelaxable ? Hazard::Kind::kRelaxableRegion : Hazard::Kind::kReservedRegion;
      h.group_id = g.group_id;
      h.region = region;
      h.overlap = *overlap;
      h.consequence = fmt::format("{} overlaps group {}'s {} region {}: it {}", overlap->to_string(), g.group_id,
                                  iova::type_name(region.type), rr->to_string(), consequence_of(region));
      out.push_back(std::move(h));
    }
  }
  for (const Type1Domain& d : domains_) {
    for (const Range& part : outside(*r, d.aperture)) {
      Hazard h;
      h.kind = Hazard::Kind::kOutsideAperture;
      h.group_id = d.groups.empty() ? 0 : d.groups.front();
      h.overlap = part;
      h.consequence = fmt::format(
          "{} is beyond the aperture {} of domain {} (group {}): the IOMMU cannot translate "
          "it, so the map fails in iommu_map or the device cannot reach it",
          part.to_string(), d.aperture.to_string(), d.id, h.group_id);
      out.push_back(std::move(h));
    }
  }
  return out;
}

MapExplanation Type1Container::explain_map(std::uint64_t iova, std::uint64_t size) const {
  MapExplanation ex;
  ex.request = request_range(iova, size);
  ex.list_present = profile_.features.type1_iova_list && !iova_list_.empty();
  if (!ex.request) {
    ex.summary =
        size == 0 ? "size 0: MAP_DMA refuses it before any range check"
                  : fmt::format("{:#x} + {:#x} wraps past 2^64: MAP_DMA refuses it before any range check", iova, size);
    return ex;
  }
  const Range r = *ex.request;
  if (!ex.list_present) {
    ex.valid = true;
    ex.summary = fmt::format(
        "{}: no usable list ({}), so vfio_iommu_iova_dma_valid accepts every range; {} hazard(s) at run time",
        r.to_string(),
        !profile_.features.type1_iova_list ? "kernel before the v5.4 usable-IOVA-list series"
                                           : "fresh container or only mdev groups",
        hazards_of(iova, size).size());
    return ex;
  }
  ex.valid = iova_list_.dma_valid(r.first(), r.last());
  for (const IovaNode& n : iova_list_.nodes()) {
    if (n.start <= r.last() && n.end >= r.first()) ex.overlapping_nodes.push_back(n);
  }
  if (ex.valid) {
    ex.summary = fmt::format("{} fits in one usable range ({:#x}-{:#x})", r.to_string(),
                             ex.overlapping_nodes.front().start, ex.overlapping_nodes.front().end);
    return ex;
  }
  iova::RangeSet unexplained = iova::RangeSet{r}.subtract(iova_list_.to_range_set());
  // Regions of attached groups that the list excludes.
  for (const Type1GroupSpec& g : groups_) {
    for (const ResvRegion& region : g.regions) {
      if (region.type == ResvType::kDirectRelaxable) continue;
      const std::optional<Range> rr = region.range();
      if (!rr) continue;
      const std::optional<Range> overlap = rr->intersect(r);
      if (!overlap) continue;
      MapExplanation::Obstacle o;
      o.kind = MapExplanation::Obstacle::Kind::kReservedRegion;
      o.group_id = g.group_id;
      o.region = region;
      o.overlap = *overlap;
      o.text = fmt::format("group {}'s {} region {} (excluded by vfio_iommu_resv_exclude) covers {}", g.group_id,
                           iova::type_name(region.type), rr->to_string(), overlap->to_string());
      ex.obstacles.push_back(std::move(o));
      unexplained.erase(*rr);
    }
  }
  // The aperture: the intersection of every domain's aperture.
  Range aperture = Range::full();
  std::uint32_t low_group = 0;
  std::uint32_t high_group = 0;
  for (const Type1Domain& d : domains_) {
    const std::uint32_t gid = d.groups.empty() ? 0 : d.groups.front();
    if (d.aperture.first() >= aperture.first()) low_group = gid;
    if (d.aperture.last() <= aperture.last()) high_group = gid;
    aperture = Range(std::max(aperture.first(), d.aperture.first()), std::min(aperture.last(), d.aperture.last()));
  }
  for (const Range& part : outside(r, aperture)) {
    MapExplanation::Obstacle o;
    o.kind = MapExplanation::Obstacle::Kind::kApertureEdge;
    o.group_id = part.first() < aperture.first() ? low_group : high_group;
    o.overlap = part;
    o.text = fmt::format("{} is outside the container's aperture {} (set by group {}'s domain)", part.to_string(),
                         aperture.to_string(), o.group_id);
    ex.obstacles.push_back(std::move(o));
    unexplained.erase(part);
  }
  for (const Range& part : unexplained) {
    MapExplanation::Obstacle o;
    o.kind = MapExplanation::Obstacle::Kind::kListQuirk;
    o.overlap = part;
    o.text = fmt::format(
        "{} is missing from the list although no region or aperture excludes it: the kernel's "
        "vfio_iommu_aper_resize drops a node whose last byte equals the new start (or whose first "
        "byte equals the new end)",
        part.to_string());
    ex.obstacles.push_back(std::move(o));
  }
  if (ex.obstacles.empty()) {
    MapExplanation::Obstacle o;
    o.kind = MapExplanation::Obstacle::Kind::kNodeSplit;
    o.overlap = r;
    o.text =
        "every byte is usable, but the range spans two adjacent list nodes (a zero-length reserved region split "
        "a node in vfio_iommu_resv_exclude); vfio_iommu_iova_dma_valid needs one node to hold it all";
    ex.obstacles.push_back(std::move(o));
  }
  std::string nodes;
  for (const IovaNode& n : ex.overlapping_nodes) {
    nodes += fmt::format("{}{:#x}-{:#x}", nodes.empty() ? "" : ", ", n.start, n.end);
  }
  ex.summary = fmt::format(
      "MAP_DMA {} fails with EINVAL (vfio_iommu_iova_dma_valid): it overlaps usable range(s) "
      "[{}] but {}",
      r.to_string(), nodes, ex.obstacles.front().text);
  if (ex.obstacles.size() > 1) ex.summary += fmt::format(" (and {} more obstacle(s))", ex.obstacles.size() - 1);
  return ex;
}

}  // namespace iovakit::kernel
