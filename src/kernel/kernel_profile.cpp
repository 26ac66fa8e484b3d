#include "iovakit/kernel/kernel_profile.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/core.h>

namespace iovakit::kernel {

namespace {

constexpr KernelVersion v(unsigned major, unsigned minor) { return KernelVersion{major, minor, 0}; }

// Reads a run of digits at `pos`; false when there is none or it overflows.
bool read_number(std::string_view text, std::size_t& pos, unsigned& out) {
  const char* first = text.data() + pos;
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || ptr == first) return false;
  pos += static_cast<std::size_t>(ptr - first);
  return true;
}

KernelProfile make_profile(std::string name, KernelVersion version, std::string summary) {
  KernelProfile p = profile_for_version(version);
  p.name = std::move(name);
  p.summary = std::move(summary);
  return p;
}

const char* bool_text(bool b) { return b ? "1" : "0"; }

Result<bool> parse_bool(std::string_view flag, std::string_view value) {
  if (value == "1" || value == "true" || value == "on" || value == "yes") return true;
  if (value == "0" || value == "false" || value == "off" || value == "no") return false;
  return Error(Errc::kInvalidArgument, fmt::format("{}: expected 0 or 1, got \"{}\"", flag, value));
}

}  // namespace

Result<KernelVersion> KernelVersion::parse(std::string_view text) {
  constexpr std::string_view kProcPrefix = "Linux version ";
  if (text.substr(0, kProcPrefix.size()) == kProcPrefix) text.remove_prefix(kProcPrefix.size());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
  KernelVersion out;
  std::size_t pos = 0;
  if (!read_number(text, pos, out.major) || pos >= text.size() || text[pos] != '.' ||
      !read_number(text, ++pos, out.minor)) {
    return Error(Errc::kParse,
                 fmt::format("\"{}\" is not a kernel version (expected X.Y, X.Y.Z or a /proc/version line)",
                             text.substr(0, 64)));
  }
  if (pos < text.size() && text[pos] == '.') {
    std::size_t p = pos + 1;
    if (!read_number(text, p, out.patch)) out.patch = 0;  // "6.1.rc2": no patch level
  }
  return out;
}

std::string KernelVersion::to_string() const { return fmt::format("{}.{}.{}", major, minor, patch); }

KernelProfile profile_for_version(const KernelVersion& version) {
  KernelProfile p;
  p.name = fmt::format("{}.{}", version.major, version.minor);
  p.version = version;
  p.summary = "mainline " + p.name;
  KernelFeatures& f = p.features;
  f.resv_merge =
      version >= v(5, 3) ? iova::ResvMergeAlgorithm::kSortedStack : iova::ResvMergeAlgorithm::kRecursiveOverlap;
  f.resv_sysfs_emit = version >= v(6, 4);
  f.core_require_direct = version >= v(6, 6);
  f.vfio_claim_dma_owner = version >= v(5, 19);
  f.dma_fq_type = version >= v(5, 15);
  f.intel_relaxable_rmrr = version >= v(5, 3);
  f.intel_rmrr_attach_refused = version >= v(3, 17) && version < v(6, 6);
  f.intel_rmrr_via_bridge = version >= v(5, 3);
  f.intel_isa_resv_region = version >= v(5, 3);
  f.intel_floppy_wa = true;
  // The generic page-table conversions (iommupt: d373449d8e97 for VT-d,
  // 789a5913b29c for AMD) were merged for v6.19.
  f.intel_aperture = version >= v(6, 19) ? IntelAperture::kFixedAtAlloc : IntelAperture::kNarrowedAtAttach;
  f.amd_aperture = version >= v(6, 19) ? AmdAperture::kHats : AmdAperture::kFull64;
  // Read in 7.0 and absent in 6.1; the release in between is not dated
  // here, so only 7.0+ profiles honour it (override when a kernel has it).
  f.amd_ht_range_ignore = version >= v(7, 0);
  f.type1_iova_list = version >= v(5, 4);
  f.type1_migration_cap = version >= v(5, 8);
  f.type1_dma_avail_cap = version >= v(5, 10);
  f.type1_caps_aligned = version >= v(6, 6);
  f.type1_inclusive_end = version >= v(6, 19);
  // 35890f85573c "vfio: Remove VFIO_TYPE1_NESTING_IOMMU", merged for v6.13.
  f.type1_nesting = version < v(6, 13);
  f.type1_dma_entry_limit = version >= v(5, 1);
  f.type1_vaddr_unmap_all = version >= v(5, 12);
  f.iommufd = version >= v(6, 2);
  return p;
}

const std::vector<KernelProfile>& kernel_presets() {
  static const std::vector<KernelProfile> presets = [] {
    std::vector<KernelProfile> out;
    out.push_back(make_profile("4.18", v(4, 18), "no relaxable RMRRs, no usable IOVA list (RHEL 8 base)"));
    KernelProfile seed =
        make_profile("4.18+iova-list", v(4, 18),
                     "usable IOVA list backported without the relaxable RMRR type: USB/GPU RMRRs are plain direct and "
                     "punch holes in the VFIO list");
    seed.features.type1_iova_list = true;
    out.push_back(std::move(seed));
    out.push_back(make_profile("5.3", v(5, 3), "relaxable RMRRs; no usable IOVA list yet"));
    out.push_back(make_profile("5.4", v(5, 4), "VFIO type1 validates MAP_DMA against the usable IOVA list"));
    out.push_back(make_profile("5.10", v(5, 10), "GET_INFO with migration and DMA_AVAIL capabilities"));
    out.push_back(make_profile("6.1", v(6, 1), "Debian 12; Intel refuses RMRR-locked devices with EPERM"));
    out.push_back(make_profile("6.6", v(6, 6), "core refuses 1:1-mapped devices with EINVAL; aligned GET_INFO caps"));
    out.push_back(make_profile("6.12", v(6, 12), "Debian 12 backports; iommufd, virtio-iommu"));
    out.push_back(make_profile("7.0", v(7, 0), "newest read: generic page tables, inclusive type1 ends"));
    return out;
  }();
  return presets;
}

Result<KernelProfile> find_preset(std::string_view name) {
  for (const auto& p : kernel_presets()) {
    if (p.name == name) return p;
  }
  std::string names;
  for (const auto& p : kernel_presets()) names += (names.empty() ? "" : ", ") + p.name;
  return Error(Errc::kNotFound, fmt::format("no kernel preset \"{}\" (presets: {})", name, names));
}

Result<KernelProfile> resolve_profile(std::string_view spec) {
  if (auto preset = find_preset(spec)) return preset;
  auto version = KernelVersion::parse(spec);
  if (!version) return version.error();
  if (*version < v(4, 11)) {
    return Error(Errc::kUnsupported,
                 fmt::format("kernel {} predates reserved regions (v4.11); iovakit models 4.11 and later", spec));
  }
  return profile_for_version(*version);
}

namespace {

struct FlagSpec {
  std::string_view name;
  bool KernelFeatures::*member;
};

constexpr FlagSpec kBoolFlags[] = {
    {"resv_sysfs_emit", &KernelFeatures::resv_sysfs_emit},
    {"core_require_direct", &KernelFeatures::core_require_direct},
    {"vfio_claim_dma_owner", &KernelFeatures::vfio_claim_dma_owner},
    {"dma_fq_type", &KernelFeatures::dma_fq_type},
    {"intel_relaxable_rmrr", &KernelFeatures::intel_relaxable_rmrr},
    {"intel_rmrr_attach_refused", &KernelFeatures::intel_rmrr_attach_refused},
    {"intel_rmrr_via_bridge", &KernelFeatures::intel_rmrr_via_bridge},
    {"intel_isa_resv_region", &KernelFeatures::intel_isa_resv_region},
    {"intel_floppy_wa", &KernelFeatures::intel_floppy_wa},
    {"amd_ht_range_ignore", &KernelFeatures::amd_ht_range_ignore},
    {"type1_iova_list", &KernelFeatures::type1_iova_list},
    {"type1_migration_cap", &KernelFeatures::type1_migration_cap},
    {"type1_dma_avail_cap", &KernelFeatures::type1_dma_avail_cap},
    {"type1_caps_aligned", &KernelFeatures::type1_caps_aligned},
    {"type1_inclusive_end", &KernelFeatures::type1_inclusive_end},
    {"type1_nesting", &KernelFeatures::type1_nesting},
    {"type1_dma_entry_limit", &KernelFeatures::type1_dma_entry_limit},
    {"type1_vaddr_unmap_all", &KernelFeatures::type1_vaddr_unmap_all},
    {"iommufd", &KernelFeatures::iommufd},
};

std::string_view merge_name(iova::ResvMergeAlgorithm a) {
  return a == iova::ResvMergeAlgorithm::kSortedStack ? "sorted-stack" : "recursive-overlap";
}
std::string_view intel_aperture_name(IntelAperture a) {
  return a == IntelAperture::kFixedAtAlloc ? "fixed-at-alloc" : "narrowed-at-attach";
}
std::string_view amd_aperture_name(AmdAperture a) { return a == AmdAperture::kHats ? "hats" : "full64"; }

std::string known_flags() {
  std::string out = "resv_merge, intel_aperture, amd_aperture";
  for (const auto& f : kBoolFlags) out += fmt::format(", {}", f.name);
  return out;
}

}  // namespace

Status apply_override(KernelProfile& profile, std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    return Error(Errc::kInvalidArgument, fmt::format("\"{}\": expected flag=value", assignment));
  }
  const std::string_view flag = assignment.substr(0, eq);
  const std::string_view value = assignment.substr(eq + 1);
  KernelFeatures& f = profile.features;
  bool done = false;
  if (flag == "resv_merge") {
    if (value == "sorted-stack")
      f.resv_merge = iova::ResvMergeAlgorithm::kSortedStack;
    else if (value == "recursive-overlap")
      f.resv_merge = iova::ResvMergeAlgorithm::kRecursiveOverlap;
    else
      return Error(Errc::kInvalidArgument, "resv_merge: expected sorted-stack or recursive-overlap");
    done = true;
  } else if (flag == "intel_aperture") {
    if (value == "fixed-at-alloc")
      f.intel_aperture = IntelAperture::kFixedAtAlloc;
    else if (value == "narrowed-at-attach")
      f.intel_aperture = IntelAperture::kNarrowedAtAttach;
    else
      return Error(Errc::kInvalidArgument, "intel_aperture: expected fixed-at-alloc or narrowed-at-attach");
    done = true;
  } else if (flag == "amd_aperture") {
    if (value == "hats")
      f.amd_aperture = AmdAperture::kHats;
    else if (value == "full64")
      f.amd_aperture = AmdAperture::kFull64;
    else
      return Error(Errc::kInvalidArgument, "amd_aperture: expected hats or full64");
    done = true;
  } else {
    for (const auto& spec : kBoolFlags) {
      if (spec.name != flag) continue;
      auto b = parse_bool(flag, value);
      if (!b) return b.error();
      f.*spec.member = *b;
      done = true;
    }
  }
  if (!done) {
    return Error(Errc::kInvalidArgument, fmt::format("unknown kernel flag \"{}\" (known: {})", flag, known_flags()));
  }
  if (profile.name.find("+custom") == std::string::npos) profile.name += "+custom";
  return {};
}

std::vector<std::pair<std::string, std::string>> describe_features(const KernelFeatures& features) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("resv_merge", std::string(merge_name(features.resv_merge)));
  out.emplace_back("intel_aperture", std::string(intel_aperture_name(features.intel_aperture)));
  out.emplace_back("amd_aperture", std::string(amd_aperture_name(features.amd_aperture)));
  for (const auto& spec : kBoolFlags) out.emplace_back(std::string(spec.name), bool_text(features.*spec.member));
  return out;
}

}  // namespace iovakit::kernel
