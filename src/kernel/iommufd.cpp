#include "iovakit/kernel/iommufd.h"

#include <algorithm>
#include <bit>

#include <fmt/core.h>

namespace iovakit::kernel {

using iova::ResvRegion;
using iova::ResvType;

namespace {

constexpr std::uint64_t kU64Max = ~std::uint64_t{0};
constexpr std::uint64_t kPage = 4096;

std::uint64_t lowest_bit(std::uint64_t x) { return x & (~x + 1); }

std::string owner_text(const ResvOwner& o) {
  return fmt::format("{} {}", o.kind == ResvOwner::Kind::kDomain ? "domain" : "device", o.id);
}

// __alloc_iova_check_range (io_pagetable.c, v6.2+): ALIGN_UP the start (an
// overflow fails), OR in the page offset, then `aligned >= last` fails even
// when one byte would fit.
bool check_range(std::uint64_t* start, std::uint64_t last, std::uint64_t length, std::uint64_t align,
                 std::uint64_t page_offset) {
  std::uint64_t aligned = *start + (align - 1);
  if (aligned < *start) return false;
  aligned &= ~(align - 1);
  aligned |= page_offset;
  if (aligned >= last || last - aligned < length - 1) return false;
  *start = aligned;
  return true;
}

}  // namespace

IoasModel::IoasModel(KernelProfile profile) : profile_(std::move(profile)) {}

std::optional<Outcome> IoasModel::absent() const {
  if (profile_.features.iommufd) return std::nullopt;
  return Outcome::failure(Errno::kENODEV, "iommufd_fops_open",
                          fmt::format("kernel {} has no iommufd (/dev/iommu, merged in v6.2)", profile_.name));
}

// Interval-tree intersection (interval_tree_iter_first): node.start <= last
// && node.last >= start, whatever the order of the query's ends.
const IoasArea* IoasModel::area_intersecting(std::uint64_t start, std::uint64_t last) const {
  auto it = areas_.upper_bound(start);
  if (it != areas_.begin() && std::prev(it)->second.last >= start) it = std::prev(it);
  if (it == areas_.end() || it->second.iova > last) return nullptr;
  return &it->second;
}

const IoasReservation* IoasModel::reserved_intersecting(std::uint64_t start, std::uint64_t last) const {
  for (const IoasReservation& r : reserved_) {
    if (r.start <= last && r.last >= start) return &r;
  }
  return nullptr;
}

const IommuIovaRange* IoasModel::allowed_intersecting(std::uint64_t start, std::uint64_t last) const {
  for (const IommuIovaRange& a : allowed_) {
    if (a.start <= last && a.last >= start) return &a;
  }
  return nullptr;
}

// iopt_reserve_iova (v6.2+): -EADDRINUSE over a mapping or an allowed range.
Outcome IoasModel::reserve(std::uint64_t start, std::uint64_t last, ResvOwner owner, const std::string& what) {
  if (const IoasArea* a = area_intersecting(start, last)) {
    return Outcome::failure(
        Errno::kEADDRINUSE, "iopt_reserve_iova",
        fmt::format("{} {:#x}-{:#x} overlaps the existing mapping {:#x}-{:#x}", what, start, last, a->iova, a->last));
  }
  if (const IommuIovaRange* a = allowed_intersecting(start, last)) {
    return Outcome::failure(Errno::kEADDRINUSE, "iopt_reserve_iova",
                            fmt::format("{} {:#x}-{:#x} overlaps the allowed range {:#x}-{:#x} (ALLOW_IOVAS)", what,
                                        start, last, a->start, a->last));
  }
  reserved_.push_back(IoasReservation{start, last, owner});
  return Outcome::success("iopt_reserve_iova", fmt::format("{} reserved for {}", what, owner_text(owner)));
}

// __iopt_remove_reserved_iova: every reservation of the owner.
void IoasModel::remove_reserved(ResvOwner owner) {
  std::erase_if(reserved_, [&](const IoasReservation& r) { return r.owner == owner; });
}

void IoasModel::recalculate_alignment() {
  // iopt_calculate_iova_alignment (no accesses, large pages enabled).
  std::uint64_t align = 1;
  for (const IoasDomain& d : domains_) align = std::max(align, lowest_bit(d.pgsize_bitmap));
  iova_alignment_ = align;
}

// drivers/iommu/iommufd/io_pagetable.c iopt_table_add_domain (v6.2+).
Outcome IoasModel::add_domain(const IoasDomain& domain) {
  if (auto a = absent()) return *a;
  constexpr const char* kFn = "iopt_table_add_domain";
  if (std::any_of(domains_.begin(), domains_.end(), [&](const IoasDomain& d) { return d.id == domain.id; })) {
    return Outcome::failure(Errno::kEEXIST, kFn, fmt::format("domain {} is already in the IOAS", domain.id));
  }
  const std::uint64_t new_align = std::max(lowest_bit(domain.pgsize_bitmap), iova_alignment_);
  if (new_align > kPage) {
    return Outcome::failure(Errno::kEINVAL, kFn,
                            fmt::format("the domain's smallest page {:#x} is above PAGE_SIZE", new_align));
  }
  if (new_align != iova_alignment_) {
    // iopt_check_iova_alignment
    for (const auto& [iova, a] : areas_) {
      if (((a.iova | (a.last - a.iova + 1) | (a.uptr % kPage)) & (new_align - 1)) != 0) {
        return Outcome::failure(
            Errno::kEADDRINUSE, "iopt_check_iova_alignment",
            fmt::format("mapping {:#x}-{:#x} is not aligned to the domain's page {:#x}", a.iova, a.last, new_align));
      }
    }
  }
  const ResvOwner owner{ResvOwner::Kind::kDomain, domain.id};
  if (domain.aperture.first() != 0) {
    Outcome r = reserve(0, domain.aperture.first() - 1, owner, "below the aperture,");
    if (!r.ok()) {
      remove_reserved(owner);
      return r;
    }
  }
  if (domain.aperture.last() != kU64Max) {
    Outcome r = reserve(domain.aperture.last() + 1, kU64Max, owner, "above the aperture,");
    if (!r.ok()) {
      remove_reserved(owner);
      return r;
    }
  }
  domains_.push_back(domain);
  iova_alignment_ = new_align;
  return Outcome::success(
      kFn, fmt::format("domain {} added: outside its aperture {} is reserved", domain.id, domain.aperture.to_string()));
}

// iopt_table_remove_domain: its aperture reservations go with it.
Outcome IoasModel::remove_domain(std::uint32_t domain_id) {
  if (auto a = absent()) return *a;
  auto it = std::find_if(domains_.begin(), domains_.end(), [&](const IoasDomain& d) { return d.id == domain_id; });
  if (it == domains_.end()) {
    return Outcome::failure(Errno::kENOENT, "iopt_table_remove_domain",
                            fmt::format("domain {} is not in the IOAS", domain_id));
  }
  domains_.erase(it);
  remove_reserved(ResvOwner{ResvOwner::Kind::kDomain, domain_id});
  recalculate_alignment();
  return Outcome::success("iopt_table_remove_domain", fmt::format("domain {} removed", domain_id));
}

// drivers/iommu/iommufd/io_pagetable.c iopt_table_enforce_dev_resv_regions
// (v6.2+): the device's own list (iommu_get_resv_regions, not the group's),
// DIRECT_RELAXABLE skipped, every other type reserved in list order; then
// "drivers must offer sane combinations": SW_MSI with MSI, or two SW_MSI,
// is a WARN and -EINVAL. Any failure removes all of the device's
// reservations.
Outcome IoasModel::enforce_dev_resv_regions(std::uint32_t device_id, std::span<const ResvRegion> regions) {
  constexpr const char* kFn = "iopt_table_enforce_dev_resv_regions";
  const ResvOwner owner{ResvOwner::Kind::kDevice, device_id};
  unsigned hw_msi = 0;
  unsigned sw_msi = 0;
  std::optional<std::uint64_t> sw_start;
  for (const ResvRegion& r : regions) {
    if (r.type == ResvType::kDirectRelaxable) continue;
    if (r.type == ResvType::kMsi) ++hw_msi;
    if (r.type == ResvType::kSwMsi) {
      sw_start = r.start;
      ++sw_msi;
    }
    Outcome o = reserve(r.start, r.length - 1 + r.start, owner,
                        fmt::format("device {}'s {} region", device_id, iova::type_name(r.type)));
    if (!o.ok()) {
      remove_reserved(owner);
      return o;
    }
  }
  if ((sw_msi != 0 && hw_msi != 0) || sw_msi > 1) {
    remove_reserved(owner);
    return Outcome::failure(Errno::kEINVAL, kFn,
                            sw_msi > 1
                                ? fmt::format("device {} reports {} SW_MSI regions (WARN_ON)", device_id, sw_msi)
                                : fmt::format("device {} reports both MSI and SW_MSI regions (WARN_ON)", device_id));
  }
  if (sw_start) sw_msi_[device_id] = *sw_start;
  return Outcome::success(kFn, fmt::format("device {}'s reserved regions enforced", device_id));
}

Outcome IoasModel::attach_device(std::uint32_t device_id, std::span<const ResvRegion> device_regions) {
  if (auto a = absent()) return *a;
  if (std::find(devices_.begin(), devices_.end(), device_id) != devices_.end()) {
    return Outcome::failure(Errno::kEINVAL, "iommufd_device_attach",
                            fmt::format("device {} is already attached", device_id));
  }
  Outcome o = enforce_dev_resv_regions(device_id, device_regions);
  if (o.ok()) devices_.push_back(device_id);
  return o;
}

// drivers/iommu/iommufd/device.c: the auto-domain path. Immediate attach
// reserves the device's regions before iopt_table_add_domain; the replace
// path adds the domain first. Either step fails with -EADDRINUSE when a
// mapping or an allowed range is in the way.
Outcome IoasModel::attach_device_new_domain(std::uint32_t device_id, std::span<const ResvRegion> device_regions,
                                            const IoasDomain& domain, AutoDomainOrder order) {
  if (auto a = absent()) return *a;
  if (std::find(devices_.begin(), devices_.end(), device_id) != devices_.end()) {
    return Outcome::failure(Errno::kEINVAL, "iommufd_device_attach",
                            fmt::format("device {} is already attached", device_id));
  }
  if (order == AutoDomainOrder::kImmediateAttach) {
    Outcome dev = enforce_dev_resv_regions(device_id, device_regions);
    if (!dev.ok()) return dev;
    Outcome dom = add_domain(domain);
    if (!dom.ok()) {
      remove_reserved(ResvOwner{ResvOwner::Kind::kDevice, device_id});
      sw_msi_.erase(device_id);
      return dom;
    }
  } else {
    Outcome dom = add_domain(domain);
    if (!dom.ok()) return dom;
    Outcome dev = enforce_dev_resv_regions(device_id, device_regions);
    if (!dev.ok()) {
      (void)remove_domain(domain.id);
      return dev;
    }
  }
  devices_.push_back(device_id);
  return Outcome::success("iommufd_device_attach",
                          fmt::format("device {} attached with new domain {} ({})", device_id, domain.id,
                                      order == AutoDomainOrder::kImmediateAttach ? "device regions, then aperture"
                                                                                 : "aperture, then device regions"));
}

Outcome IoasModel::detach_device(std::uint32_t device_id) {
  if (auto a = absent()) return *a;
  auto it = std::find(devices_.begin(), devices_.end(), device_id);
  if (it == devices_.end()) {
    return Outcome::failure(Errno::kEINVAL, "iommufd_device_detach",
                            fmt::format("device {} is not attached", device_id));
  }
  devices_.erase(it);
  remove_reserved(ResvOwner{ResvOwner::Kind::kDevice, device_id});
  sw_msi_.erase(device_id);
  return Outcome::success("iommufd_device_detach", fmt::format("device {}'s reservations removed", device_id));
}

std::optional<std::uint64_t> IoasModel::sw_msi_start(std::uint32_t device_id) const {
  auto it = sw_msi_.find(device_id);
  if (it == sw_msi_.end()) return std::nullopt;
  return it->second;
}

// drivers/iommu/iommufd/ioas.c iommufd_ioas_iova_ranges: the holes of
// reserved_itree over [0, ULONG_MAX] (interval_tree_span_iter), so
// overlapping or touching reservations leave no empty hole. The allowed
// ranges are not applied. Reservations with last < start (zero-length or
// wrapping regions) are skipped here: how the kernel's span iterator treats
// such a node is not established.
std::vector<IommuIovaRange> IoasModel::iova_ranges() const {
  std::vector<IoasReservation> sorted;
  for (const IoasReservation& r : reserved_) {
    if (r.start <= r.last) sorted.push_back(r);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  std::vector<IommuIovaRange> out;
  std::uint64_t cursor = 0;
  for (const IoasReservation& r : sorted) {
    if (r.start > cursor) out.push_back(IommuIovaRange{cursor, r.start - 1});
    if (r.last == kU64Max) return out;
    cursor = std::max(cursor, r.last + 1);
  }
  out.push_back(IommuIovaRange{cursor, kU64Max});
  return out;
}

// IOMMU_IOAS_IOVA_RANGES: num_iovas is the capacity in, the total out; only
// what fits is written; the struct is copied back, then -EMSGSIZE if short.
IovaRangesReply IoasModel::iova_ranges_ioctl(std::uint32_t capacity) const {
  IovaRangesReply r;
  if (auto a = absent()) {
    r.outcome = *a;
    return r;
  }
  const std::vector<IommuIovaRange> all = iova_ranges();
  r.num_iovas = static_cast<std::uint32_t>(all.size());
  r.out_iova_alignment = iova_alignment_;
  r.ranges.assign(all.begin(),
                  all.begin() + std::min<std::ptrdiff_t>(capacity, static_cast<std::ptrdiff_t>(all.size())));
  if (all.size() > capacity) {
    r.outcome = Outcome::failure(Errno::kEMSGSIZE, "iommufd_ioas_iova_ranges",
                                 fmt::format("{} usable ranges, room for {}: num_iovas set to {}, call again",
                                             all.size(), capacity, all.size()));
  } else {
    r.outcome = Outcome::success("iommufd_ioas_iova_ranges", fmt::format("{} usable range(s)", all.size()));
  }
  return r;
}

// IOMMU_IOAS_ALLOW_IOVAS: iommufd_ioas_load_iovas validates (start < last,
// no overlap among them: -EINVAL), iopt_set_allow_iova swaps atomically and
// swaps back with -EADDRINUSE when one intersects a reservation. An empty
// list clears the restriction. Fixed-IOVA maps ignore allowed ranges.
Outcome IoasModel::allow_iovas(std::span<const IommuIovaRange> ranges) {
  if (auto a = absent()) return *a;
  std::vector<IommuIovaRange> next;
  for (const IommuIovaRange& r : ranges) {
    if (r.start >= r.last) {
      return Outcome::failure(Errno::kEINVAL, "iommufd_ioas_load_iovas",
                              fmt::format("range {:#x}-{:#x}: start must be below last", r.start, r.last));
    }
    for (const IommuIovaRange& o : next) {
      if (o.start <= r.last && o.last >= r.start) {
        return Outcome::failure(
            Errno::kEINVAL, "iommufd_ioas_load_iovas",
            fmt::format("range {:#x}-{:#x} overlaps {:#x}-{:#x}", r.start, r.last, o.start, o.last));
      }
    }
    next.push_back(r);
  }
  for (const IommuIovaRange& r : next) {
    if (const IoasReservation* res = reserved_intersecting(r.start, r.last)) {
      return Outcome::failure(Errno::kEADDRINUSE, "iopt_set_allow_iova",
                              fmt::format("allowed range {:#x}-{:#x} intersects the reservation {:#x}-{:#x} of {}; "
                                          "the old set stays",
                                          r.start, r.last, res->start, res->last, owner_text(res->owner)));
    }
  }
  std::sort(next.begin(), next.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  allowed_ = std::move(next);
  return Outcome::success("iopt_set_allow_iova", allowed_.empty()
                                                     ? std::string("allowed ranges cleared")
                                                     : fmt::format("{} allowed range(s) set", allowed_.size()));
}

// iopt_check_iova (fixed IOVA).
Outcome IoasModel::check_iova(std::uint64_t iova, std::uint64_t length) const {
  constexpr const char* kFn = "iopt_check_iova";
  if ((iova & (iova_alignment_ - 1)) != 0) {
    return Outcome::failure(Errno::kEINVAL, kFn,
                            fmt::format("iova {:#x} is not aligned to {:#x}", iova, iova_alignment_));
  }
  const std::uint64_t last = iova + (length - 1);
  if (last < iova) return Outcome::failure(Errno::kEOVERFLOW, kFn, "iova + length - 1 overflows");
  if (const IoasReservation* r = reserved_intersecting(iova, last)) {
    return Outcome::failure(Errno::kEINVAL, kFn,
                            fmt::format("{:#x}-{:#x} intersects the reservation {:#x}-{:#x} of {}", iova, last,
                                        r->start, r->last, owner_text(r->owner)));
  }
  if (const IoasArea* a = area_intersecting(iova, last)) {
    return Outcome::failure(
        Errno::kEEXIST, kFn,
        fmt::format("{:#x}-{:#x} overlaps the existing mapping {:#x}-{:#x}", iova, last, a->iova, a->last));
  }
  return Outcome::success(kFn, "the range is free");
}

// iopt_alloc_iova (automatic IOVA): lowest fit first, inside the allowed
// spans or [PAGE_SIZE, ULONG_MAX - PAGE_SIZE], outside reservations and
// mappings.
Outcome IoasModel::alloc_iova(std::uint64_t uptr, std::uint64_t length, std::uint64_t* iova) const {
  constexpr const char* kFn = "iopt_alloc_iova";
  const std::uint64_t page_offset = uptr % kPage;
  if (length == 0 || length >= kU64Max / 2) {
    return Outcome::failure(Errno::kEOVERFLOW, kFn, "length is 0 or at least ULONG_MAX / 2");
  }
  std::uint64_t align = std::bit_ceil(length);  // roundup_pow_of_two
  if (uptr != 0) align = std::min(align, lowest_bit(uptr));
  align = std::min(align, kHugePageSize);
  if (align < iova_alignment_) {
    return Outcome::failure(Errno::kEINVAL, kFn,
                            fmt::format("the alignment {:#x} from length and user address is below the IOAS's {:#x}",
                                        align, iova_alignment_));
  }
  // Allowed spans (touching ranges form one span), clipped.
  std::vector<IommuIovaRange> spans;
  const std::uint64_t lo = kPage;
  const std::uint64_t hi = kU64Max - kPage;
  if (allowed_.empty()) {
    spans.push_back(IommuIovaRange{lo, hi});
  } else {
    for (const IommuIovaRange& a : allowed_) {
      if (a.last < lo || a.start > hi) continue;
      const IommuIovaRange c{std::max(a.start, lo), std::min(a.last, hi)};
      if (!spans.empty() && spans.back().last != kU64Max && c.start <= spans.back().last + 1) {
        spans.back().last = std::max(spans.back().last, c.last);
      } else {
        spans.push_back(c);
      }
    }
  }
  for (IommuIovaRange span : spans) {
    if (!check_range(&span.start, span.last, length, align, page_offset)) continue;
    // interval_tree_for_each_double_span over reserved and areas.
    std::vector<IommuIovaRange> used;
    for (const IoasReservation& r : reserved_) {
      if (r.start <= r.last && r.start <= span.last && r.last >= span.start) used.push_back({r.start, r.last});
    }
    for (auto it = areas_.lower_bound(0); it != areas_.end() && it->second.iova <= span.last; ++it) {
      if (it->second.last >= span.start) used.push_back({it->second.iova, it->second.last});
    }
    std::sort(used.begin(), used.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    std::uint64_t cursor = span.start;
    bool done = false;
    auto try_hole = [&](std::uint64_t first, std::uint64_t last) {
      std::uint64_t s = first;
      if (check_range(&s, last, length, align, page_offset)) {
        *iova = s;
        return true;
      }
      return false;
    };
    for (const IommuIovaRange& u : used) {
      if (u.start > cursor && try_hole(cursor, u.start - 1)) return Outcome::success(kFn, "found a hole");
      if (u.last >= span.last) {
        done = true;
        break;
      }
      cursor = std::max(cursor, u.last + 1);
    }
    if (!done && cursor <= span.last && try_hole(cursor, span.last)) return Outcome::success(kFn, "found a hole");
  }
  return Outcome::failure(Errno::kENOSPC, kFn,
                          fmt::format("no free IOVA hole of {:#x} bytes aligned to {:#x}{}", length, align,
                                      allowed_.empty() ? "" : " within the allowed ranges"));
}

// drivers/iommu/iommufd/ioas.c iommufd_ioas_map, then io_pagetable.c
// iopt_map_user_pages: iopt_alloc_user_pages, iopt_alloc_area_pages
// (length check, then automatic or fixed IOVA), iopt_insert_area.
IoasMapReply IoasModel::map(const IoasMapRequest& req) {
  if (auto a = absent()) return IoasMapReply{*a, std::nullopt};
  auto fail = [](Errno e, const char* fn, std::string msg) {
    return IoasMapReply{Outcome::failure(e, fn, std::move(msg)), std::nullopt};
  };
  constexpr const char* kIoctl = "iommufd_ioas_map";
  if ((req.flags & ~(kIoasMapFixedIova | kIoasMapWriteable | kIoasMapReadable)) != 0) {
    return fail(Errno::kEOPNOTSUPP, kIoctl, fmt::format("unknown flag bits {:#x}", req.flags & ~7U));
  }
  if (req.iova >= kU64Max || req.length >= kU64Max) {
    return fail(Errno::kEOVERFLOW, kIoctl, "iova or length is ULONG_MAX or more");
  }
  if ((req.flags & (kIoasMapWriteable | kIoasMapReadable)) == 0) {
    return fail(Errno::kEINVAL, kIoctl, "neither READABLE nor WRITEABLE is set");
  }
  if (req.uptr + req.length < req.uptr) {
    return fail(Errno::kEOVERFLOW, "iopt_alloc_user_pages", "user address + length overflows");
  }
  if (req.length == 0 || (req.length & (iova_alignment_ - 1)) != 0) {
    return fail(
        Errno::kEINVAL, "iopt_alloc_area_pages",
        fmt::format("length {:#x} is 0 or not a multiple of the IOAS alignment {:#x}", req.length, iova_alignment_));
  }
  std::uint64_t iova = req.iova;
  if ((req.flags & kIoasMapFixedIova) != 0) {
    Outcome c = check_iova(iova, req.length);
    if (!c.ok()) return IoasMapReply{c, std::nullopt};
  } else {
    Outcome c = alloc_iova(req.uptr, req.length, &iova);
    if (!c.ok()) return IoasMapReply{c, std::nullopt};
  }
  if (((req.uptr % kPage) & (iova_alignment_ - 1)) != 0) {
    return fail(Errno::kEINVAL, "iopt_insert_area", "the user address's page offset breaks the IOAS alignment");
  }
  const std::uint64_t last = iova + (req.length - 1);
  areas_.emplace(iova, IoasArea{iova, last, req.uptr});
  return IoasMapReply{Outcome::success(kIoctl, fmt::format("mapped {:#x}-{:#x}{}", iova, last,
                                                           (req.flags & kIoasMapFixedIova) != 0 ? "" : " (automatic)")),
                      iova};
}

// drivers/iommu/iommufd/ioas.c iommufd_ioas_unmap + io_pagetable.c
// iopt_unmap_iova_range: iova 0 with length U64_MAX unmaps all; otherwise
// every area met must lie inside the range (-ENOENT, areas already removed
// stay removed).
IoasUnmapReply IoasModel::unmap(std::uint64_t iova, std::uint64_t length) {
  if (auto a = absent()) return IoasUnmapReply{*a, 0};
  std::uint64_t start = 0;
  std::uint64_t last = kU64Max;
  if (!(iova == 0 && length == kU64Max)) {
    if (iova >= kU64Max || length >= kU64Max) {
      return IoasUnmapReply{Outcome::failure(Errno::kEOVERFLOW, "iommufd_ioas_unmap", "iova or length too large"), 0};
    }
    if (length == 0) return IoasUnmapReply{Outcome::failure(Errno::kEINVAL, "iopt_unmap_iova", "length is 0"), 0};
    if (iova + (length - 1) < iova) {
      return IoasUnmapReply{Outcome::failure(Errno::kEOVERFLOW, "iopt_unmap_iova", "iova + length - 1 overflows"), 0};
    }
    start = iova;
    last = iova + (length - 1);
  }
  std::uint64_t unmapped = 0;
  while (const IoasArea* a = area_intersecting(start, last)) {
    if (a->iova < start || a->last > last) {
      return IoasUnmapReply{Outcome::failure(Errno::kENOENT, "iopt_unmap_iova_range",
                                             fmt::format("the mapping {:#x}-{:#x} is only partly inside the range "
                                                         "(mappings cannot be split)",
                                                         a->iova, a->last)),
                            unmapped};
    }
    unmapped += a->last - a->iova + 1;
    areas_.erase(a->iova);
  }
  return IoasUnmapReply{Outcome::success("iopt_unmap_iova_range", fmt::format("unmapped {:#x} bytes", unmapped)),
                        unmapped};
}

}  // namespace iovakit::kernel
