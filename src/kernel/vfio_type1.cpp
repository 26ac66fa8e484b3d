// Type1Container: the container and group steps (open, SET_CONTAINER,
// SET_IOMMU, attach, detach). MAP/UNMAP are in vfio_type1_dma.cpp, the
// explanations in vfio_type1_explain.cpp.
#include "iovakit/kernel/vfio_type1.h"

#include <algorithm>
#include <utility>

#include <fmt/core.h>

namespace iovakit::kernel {

using iova::ResvRegion;
using iova::ResvType;

namespace {

constexpr const char* kAttach = "vfio_iommu_type1_attach_group";
constexpr const char* kDetach = "vfio_iommu_type1_detach_group";

std::string region_text(const ResvRegion& r) {
  return fmt::format("{} region {:#x}-{:#x}", iova::type_name(r.type), r.start, r.last());
}

}  // namespace

Type1Container::Type1Container(KernelProfile profile, std::uint32_t dma_entry_limit, bool allow_unsafe_interrupts)
    : profile_(std::move(profile)),
      dma_entry_limit_(dma_entry_limit),
      allow_unsafe_interrupts_(allow_unsafe_interrupts),
      dmas_(profile_.features.type1_inclusive_end),
      dma_avail_(dma_entry_limit) {}

std::uint64_t Type1Container::min_page_size() const {
  // (size_t)1 << __ffs(iommu->pgsize_bitmap); the bitmap is never 0 here.
  return pgsize_bitmap_ & (~pgsize_bitmap_ + 1);
}

const Type1GroupSpec* Type1Container::find_group(std::uint32_t group_id) const {
  for (const auto& g : groups_) {
    if (g.group_id == group_id) return &g;
  }
  return nullptr;
}

bool Type1Container::in_container(std::uint32_t group_id) const {
  if (find_group(group_id) != nullptr) return true;
  if (std::find(emulated_.begin(), emulated_.end(), group_id) != emulated_.end()) return true;
  return std::any_of(waiting_.begin(), waiting_.end(), [&](const auto& g) { return g.group_id == group_id; });
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_open (v3.6+; the fresh
// iova_list is empty, pgsize_bitmap PAGE_MASK, dma_avail = dma_entry_limit).
// Type 6 (nesting) is accepted only where VFIO_CHECK_EXTENSION still
// reports it (type1_nesting: up to v6.12; 35890f85573c removed it for
// v6.13); the container's driver lookup then fails with -ENODEV.
Outcome Type1Container::type1_open(std::uint32_t type) {
  const bool nesting_ok = profile_.features.type1_nesting && type == kVfioType1NestingIommu;
  if (type != kVfioType1Iommu && type != kVfioType1v2Iommu && !nesting_ok) {
    return Outcome::failure(Errno::kENODEV, "vfio_ioctl_set_iommu",
                            fmt::format("no IOMMU driver accepts type {} (VFIO_CHECK_EXTENSION: type1 takes 1 and 3{})",
                                        type, profile_.features.type1_nesting ? ", and 6 (nesting)" : ""));
  }
  iommu_set_ = true;
  v2_ = type != kVfioType1Iommu;
  nesting_ = type == kVfioType1NestingIommu;
  iova_list_.clear();
  dmas_.clear();
  pgsize_bitmap_ = kPageMask;
  dma_avail_ = dma_entry_limit_;
  vaddr_invalid_count_ = 0;
  domains_.clear();
  groups_.clear();
  emulated_.clear();
  return Outcome::success("vfio_iommu_type1_open",
                          fmt::format("type1 {} opened: empty usable IOVA list, no IOVA capability yet",
                                      v2_ ? (nesting_ ? "v2 (nesting)" : "v2") : "v1"));
}

// drivers/vfio/container.c vfio_ioctl_set_iommu + __vfio_container_attach_groups.
Outcome Type1Container::set_iommu(std::uint32_t type) {
  if (waiting_.empty() || iommu_set_) {
    return Outcome::failure(Errno::kEINVAL, "vfio_ioctl_set_iommu",
                            iommu_set_ ? "the container already has an IOMMU driver"
                                       : "VFIO_SET_IOMMU needs at least one group in the container first");
  }
  std::vector<Type1GroupSpec> pending = std::move(waiting_);
  waiting_.clear();
  if (Outcome opened = type1_open(type); !opened.ok()) {
    waiting_ = std::move(pending);
    return opened;
  }
  // container->group_list is walked head first, and groups are list_add()ed
  // at the head, so the newest group attaches first.
  for (const Type1GroupSpec& g : pending) {
    Outcome attached = attach_group(g);
    if (!attached.ok()) {
      // Unwind: detach the ones attached so far, release the driver.
      release_iommu();
      waiting_ = std::move(pending);
      attached.message =
          fmt::format("group {}: {} (VFIO_SET_IOMMU undone, no driver set)", g.group_id, attached.message);
      return attached;
    }
  }
  return Outcome::success("vfio_ioctl_set_iommu", fmt::format("type {} set; {} group(s) attached; usable list {}", type,
                                                              pending.size(), iova_list_.to_string()));
}

void Type1Container::release_iommu() {
  // vfio_iommu_type1_release: everything of the vfio_iommu goes.
  iommu_set_ = false;
  v2_ = false;
  nesting_ = false;
  iova_list_.clear();
  dmas_.clear();
  pgsize_bitmap_ = kPageMask;
  dma_avail_ = dma_entry_limit_;
  vaddr_invalid_count_ = 0;
  domains_.clear();
  groups_.clear();
  emulated_.clear();
}

// drivers/vfio/group.c vfio_group_ioctl_set_container ->
// drivers/vfio/container.c vfio_container_attach_group.
Outcome Type1Container::set_container(Type1GroupSpec group) {
  if (in_container(group.group_id)) {
    return Outcome::failure(Errno::kEINVAL, "vfio_group_ioctl_set_container",
                            fmt::format("group {} is already in a container", group.group_id));
  }
  if (group.refusal && group.refusal->stage == RefusalStage::kClaimDmaOwner) {
    const DriverRefusal& r = *group.refusal;
    return Outcome::failure(r.err, r.function.empty() ? "iommu_group_claim_dma_owner" : r.function,
                            fmt::format("group {}: claiming DMA ownership failed at VFIO_GROUP_SET_CONTAINER: {}",
                                        group.group_id, r.message));
  }
  if (iommu_set_) return attach_group(group);
  waiting_.insert(waiting_.begin(), std::move(group));
  return Outcome::success("vfio_container_attach_group", "group added to the container; it attaches at VFIO_SET_IOMMU");
}

// drivers/vfio/group.c vfio_group_ioctl_unset_container ->
// drivers/vfio/container.c vfio_container_detach_group: type1 detach, then
// "detaching the last group deprivileges a container": the driver is
// released and all type1 state (list, mappings) is gone.
Outcome Type1Container::unset_container(std::uint32_t group_id) {
  if (!in_container(group_id)) {
    return Outcome::failure(Errno::kEINVAL, "vfio_group_ioctl_unset_container",
                            fmt::format("group {} is not in this container", group_id));
  }
  auto waiting = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& g) { return g.group_id == group_id; });
  Outcome out = Outcome::success("vfio_container_detach_group", "group left the container before VFIO_SET_IOMMU");
  if (waiting != waiting_.end()) {
    waiting_.erase(waiting);
  } else {
    out = detach_group(group_id);
  }
  if (iommu_set_ && groups_.empty() && emulated_.empty()) {
    release_iommu();
    out.message += "; the container has no group left, so the IOMMU driver is released (all type1 state is gone)";
  }
  return out;
}

// vfio_iommu_aper_conflict (v5.4+): the new aperture is disjoint from the
// list's span, or a mapping lies in the part of the span it cuts off. Holes
// inside the list are not checked. Before v6.19 the second search,
// vfio_find_dma(end + 1, last->end - end), wraps to 0 when the list ends at
// U64_MAX and is blind.
bool Type1Container::aper_conflict(std::uint64_t start, std::uint64_t end) const {
  if (iova_list_.empty()) return false;
  const IovaNode& first = iova_list_.front();
  const IovaNode& last = iova_list_.back();
  if (start > last.end || end < first.start) return true;
  if (start > first.start && dmas_.find(first.start, start - first.start) != nullptr) return true;
  if (end < last.end && dmas_.find(end + 1, last.end - end) != nullptr) return true;
  return false;
}

// vfio_iommu_resv_conflict (v5.4+): vfio_find_dma(region->start,
// region->length) for every region that is not DIRECT_RELAXABLE.
const Type1Dma* Type1Container::resv_conflict(const std::vector<ResvRegion>& regions, const ResvRegion** region) const {
  for (const ResvRegion& r : regions) {
    if (r.type == ResvType::kDirectRelaxable) continue;
    if (const Type1Dma* dma = dmas_.find(r.start, r.length)) {
      *region = &r;
      return dma;
    }
  }
  return nullptr;
}

// vfio_update_pgsize_bitmap (v5.? through 7.1): AND of every domain's
// bitmap starting from ULONG_MAX; sub-page bits collapse to PAGE_SIZE.
void Type1Container::update_pgsize_bitmap() {
  std::uint64_t bitmap = ~std::uint64_t{0};
  for (const Type1Domain& d : domains_) bitmap &= d.pgsize_bitmap;
  if ((bitmap & ~kPageMask) != 0) {
    bitmap &= kPageMask;
    bitmap |= kPageSize;
  }
  pgsize_bitmap_ = bitmap;
}

void Type1Container::remove_all_mappings() {
  // vfio_iommu_unmap_unpin_all: vfio_remove_dma gives each slot back.
  dma_avail_ += static_cast<std::uint32_t>(dmas_.size());
  dmas_.clear();
  vaddr_invalid_count_ = 0;
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_attach_group, steps as
// in linux-iommu-semantics.md 11.3 (6.1.119 and 7.0; the EBUSY of step 1
// came with the 6.2 vaddr fixes and is in 6.1.119 through stable).
Outcome Type1Container::attach_group(const Type1GroupSpec& group) {
  if (!iommu_set_) {
    return Outcome::failure(Errno::kEINVAL, "vfio_container_attach_group",
                            "the container has no IOMMU driver (VFIO_SET_IOMMU not done)");
  }
  const KernelFeatures& f = profile_.features;
  // 1. Attach could require pinning: not while a vaddr is invalid.
  if (f.type1_vaddr_unmap_all && vaddr_invalid_count_ != 0) {
    return Outcome::failure(Errno::kEBUSY, kAttach,
                            fmt::format("{} mapping(s) have an invalidated vaddr (UNMAP_DMA with "
                                        "VFIO_DMA_UNMAP_FLAG_VADDR); attach could require pinning",
                                        vaddr_invalid_count_));
  }
  // 2. Duplicates.
  if (find_group(group.group_id) != nullptr ||
      std::find(emulated_.begin(), emulated_.end(), group.group_id) != emulated_.end()) {
    return Outcome::failure(Errno::kEINVAL, kAttach,
                            fmt::format("group {} is already attached to this container", group.group_id));
  }
  // 3. Emulated (mdev) group: no domain, no list change.
  if (group.emulated) {
    emulated_.insert(emulated_.begin(), group.group_id);
    return Outcome::success(kAttach, fmt::format("emulated (mdev) group {} added; no IOMMU domain, usable list "
                                                 "unchanged {}",
                                                 group.group_id, iova_list_.to_string()));
  }
  // 4. Domain allocation; 5. iommu_attach_group.
  if (group.refusal && group.refusal->stage != RefusalStage::kClaimDmaOwner) {
    const DriverRefusal& r = *group.refusal;
    const bool alloc = r.stage == RefusalStage::kDomainAlloc;
    return Outcome::failure(r.err,
                            r.function.empty() ? (alloc ? "iommu_domain_alloc" : "iommu_attach_group") : r.function,
                            fmt::format("group {}: {} failed: {}", group.group_id,
                                        alloc ? "allocating its IOMMU domain"
                                              : "attaching it to "
                                                "its new domain",
                                        r.message));
  }
  const std::uint64_t aper_start = group.aperture.first();
  const std::uint64_t aper_end = group.aperture.last();
  Type1IovaList copy = iova_list_;
  if (f.type1_iova_list) {
    // 6. The aperture (read after attach) against the list and mappings.
    if (aper_conflict(aper_start, aper_end)) {
      const bool disjoint =
          !iova_list_.empty() && (aper_start > iova_list_.back().end || aper_end < iova_list_.front().start);
      return Outcome::failure(
          Errno::kEINVAL, kAttach,
          fmt::format("vfio_iommu_aper_conflict: group {}'s aperture {:#x}-{:#x} {} the usable list {}", group.group_id,
                      aper_start, aper_end, disjoint ? "is disjoint from" : "would cut off existing mappings in",
                      iova_list_.to_string()));
    }
    // 7-8. The group's reserved regions against existing mappings.
    const ResvRegion* hit = nullptr;
    if (const Type1Dma* dma = resv_conflict(group.regions, &hit)) {
      return Outcome::failure(
          Errno::kEINVAL, kAttach,
          fmt::format("vfio_iommu_resv_conflict: group {}'s {} overlaps the existing mapping {:#x}-{:#x}",
                      group.group_id, region_text(*hit), dma->iova, dma->last()));
    }
    // 9. Narrow a copy: aperture, then exclusion.
    copy.aper_resize(aper_start, aper_end);
    if (!copy.resv_exclude(group.regions)) {
      return Outcome::failure(Errno::kEINVAL, kAttach,
                              fmt::format("vfio_iommu_resv_exclude: group {}'s reserved regions and aperture "
                                          "leave no usable IOVA range",
                                          group.group_id));
    }
  }
  // 10. SW_MSI base (hardware MSI takes precedence).
  const std::optional<std::uint64_t> msi_base = sw_msi_base(group.regions);
  // 11. MSI isolation.
  if (!group.isolated_msi && !allow_unsafe_interrupts_) {
    return Outcome::failure(Errno::kEPERM, kAttach,
                            "vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the module param "
                            "\"allow_unsafe_interrupts\" to enable VFIO IOMMU support on this platform");
  }
  // 12. Reuse a compatible domain (same iommu_ops and cache coherency).
  std::string how;
  auto reuse = std::find_if(domains_.begin(), domains_.end(), [&](const Type1Domain& d) {
    return d.iommu_ops == group.iommu_ops && d.enforce_cache_coherency == group.enforce_cache_coherency;
  });
  if (reuse != domains_.end()) {
    reuse->groups.insert(reuse->groups.begin(), group.group_id);
    how = fmt::format("joined existing domain {}", reuse->id);
  } else {
    // 13. Replay (not modelled: no pinning). 14. MSI cookie, add domain.
    Type1Domain d;
    d.id = next_domain_id_++;
    d.aperture = group.aperture;
    d.pgsize_bitmap = group.pgsize_bitmap;
    d.iommu_ops = group.iommu_ops;
    d.enforce_cache_coherency = group.enforce_cache_coherency;
    d.groups.push_back(group.group_id);
    d.msi_base = msi_base;
    domains_.insert(domains_.begin(), std::move(d));
    update_pgsize_bitmap();
    how = fmt::format("new domain {}{}", domains_.front().id,
                      msi_base ? fmt::format(", MSI cookie at {:#x}", *msi_base) : std::string());
  }
  groups_.push_back(group);
  // 15. Commit the list.
  if (f.type1_iova_list) iova_list_ = std::move(copy);
  return Outcome::success(kAttach, fmt::format("group {} attached ({}); usable list {}", group.group_id, how,
                                               f.type1_iova_list ? iova_list_.to_string() : "not kept (pre-5.4)"));
}

// vfio_iommu_resv_refresh (v5.4+): the regions of every remaining group go
// into ONE list (iommu_get_group_resv_regions appends and merges across
// groups), the copy becomes [first.start, last.end], and is cut again.
Outcome Type1Container::resv_refresh(Type1IovaList& copy) const {
  if (copy.empty()) {
    return Outcome::failure(Errno::kEINVAL, "vfio_iommu_resv_refresh", "the list copy is empty; the old list stays");
  }
  iova::ResvList merged(profile_.features.resv_merge);
  for (const Type1Domain& d : domains_) {
    for (std::uint32_t id : d.groups) {
      if (const Type1GroupSpec* g = find_group(id)) merged.insert_all(g->regions);
    }
  }
  const std::uint64_t start = copy.front().start;
  const std::uint64_t end = copy.back().end;
  copy.clear();
  copy.aper_resize(start, end);
  if (!copy.resv_exclude(merged.regions())) {
    return Outcome::failure(Errno::kEINVAL, "vfio_iommu_resv_refresh",
                            "the remaining groups' regions leave no usable range; the old list stays");
  }
  return Outcome::success("vfio_iommu_resv_refresh", "list rebuilt from the remaining groups' regions");
}

// drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_detach_group (the only
// operation that widens the list): aper_expand over the remaining domains,
// then resv_refresh; after the last IOMMU-backed group the list is
// [0, U64_MAX], not empty.
Outcome Type1Container::detach_group(std::uint32_t group_id) {
  auto em = std::find(emulated_.begin(), emulated_.end(), group_id);
  if (em != emulated_.end()) {
    emulated_.erase(em);
    std::string extra;
    if (emulated_.empty() && domains_.empty()) {
      remove_all_mappings();
      extra = "; no group left with a domain: every mapping is unmapped";
    }
    return Outcome::success(kDetach,
                            fmt::format("emulated group {} removed; usable list unchanged{}", group_id, extra));
  }
  auto git = std::find_if(groups_.begin(), groups_.end(), [&](const auto& g) { return g.group_id == group_id; });
  if (git == groups_.end()) {
    return Outcome::failure(Errno::kEINVAL, kDetach, fmt::format("group {} is not attached", group_id));
  }
  Type1IovaList copy = iova_list_;
  std::string notes;
  auto dom = std::find_if(domains_.begin(), domains_.end(), [&](const Type1Domain& d) {
    return std::find(d.groups.begin(), d.groups.end(), group_id) != d.groups.end();
  });
  groups_.erase(git);
  if (dom != domains_.end()) {
    dom->groups.erase(std::find(dom->groups.begin(), dom->groups.end(), group_id));
    if (dom->groups.empty()) {
      if (domains_.size() == 1) {
        if (emulated_.empty()) {
          remove_all_mappings();
          notes += "; last domain gone: every mapping is unmapped";
        } else {
          notes += "; last domain gone: mappings stay for the mdev groups (re-accounted)";
        }
      }
      domains_.erase(dom);
      if (profile_.features.type1_iova_list && !copy.empty()) {
        // vfio_iommu_aper_expand
        std::uint64_t start = 0;
        std::uint64_t end = ~std::uint64_t{0};
        for (const Type1Domain& d : domains_) {
          start = std::max(start, d.aperture.first());
          end = std::min(end, d.aperture.last());
        }
        copy.set_bounds(start, end);
      }
      update_pgsize_bitmap();
    }
  }
  if (!profile_.features.type1_iova_list) {
    return Outcome::success(kDetach, fmt::format("group {} detached{}", group_id, notes));
  }
  Outcome refreshed = resv_refresh(copy);
  if (!refreshed.ok()) {
    return Outcome::success(
        kDetach, fmt::format("group {} detached{}; {}: {}", group_id, notes, refreshed.function, refreshed.message));
  }
  iova_list_ = std::move(copy);
  return Outcome::success(kDetach,
                          fmt::format("group {} detached{}; usable list {}", group_id, notes, iova_list_.to_string()));
}

}  // namespace iovakit::kernel
