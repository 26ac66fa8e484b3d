#include "iovakit/kernel/amd_resv.h"

#include <algorithm>
#include <map>

#include <fmt/core.h>

namespace iovakit::kernel {

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint8_t kMaxSupportedIvhd = 0x40;  // ACPI_IVHD_TYPE_MAX_SUPPORTED

// PAGE_ALIGN in unsigned long arithmetic: wraps like the kernel's.
std::uint64_t page_align(std::uint64_t x) { return (x + (kPage - 1)) & ~(kPage - 1); }

bool is_ivhd_type(std::uint8_t t) { return t == 0x10 || t == 0x11 || t == 0x40; }

}  // namespace

AmdIvrsState amd_ivrs_boot(const pci::Topology& topology, const acpi::Ivrs& ivrs, const AmdBootOptions& options) {
  AmdIvrsState state;
  state.device_ivhd.assign(topology.size(), std::nullopt);

  if (!ivrs.header.checksum_ok()) {
    state.disabled_reason =
        "the IVRS checksum is wrong: check_ivrs_checksum logs \"IVRS invalid checksum\" and the "
        "AMD IOMMU driver does not start (-ENODEV)";
    state.kernel_log.emplace_back("AMD-Vi: [Firmware Bug]: IVRS invalid checksum");
    return state;
  }
  if (ivrs.ivhds.empty()) {
    state.disabled_reason = "the IVRS table has no IVHD block: no IOMMU to drive";
    return state;
  }

  // get_highest_supported_ivhd_type: walk the blocks in table order while
  // their type is at most 0x40; the last one describing the same IOMMU as
  // the first block decides.
  struct Block {
    std::size_t offset;
    std::uint8_t type;
    std::uint16_t devid;
  };
  std::vector<Block> blocks;
  for (const auto& h : ivrs.ivhds) blocks.push_back({h.offset, h.type, h.devid});
  for (const auto& m : ivrs.ivmds) blocks.push_back({m.offset, m.type, m.devid});
  for (const auto& u : ivrs.unknown) blocks.push_back({u.offset, u.type, 0});
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.offset < b.offset; });
  std::uint8_t target = blocks.front().type;
  const std::uint16_t first_devid = blocks.front().devid;
  for (const Block& b : blocks) {
    if (b.type > kMaxSupportedIvhd) break;
    if (b.devid == first_devid) target = b.type;
  }
  state.ivhd_type = target;
  if (!is_ivhd_type(target)) {
    state.disabled_reason = fmt::format("the IVHD type Linux would use ({:#x}) is not one it supports", target);
    return state;
  }

  // find_last_devid_from_ivhd, per segment.
  std::map<std::uint16_t, std::uint16_t> last_bdf;
  std::vector<acpi::DeviceMap> maps(ivrs.ivhds.size());
  for (std::size_t i = 0; i < ivrs.ivhds.size(); ++i) {
    if (ivrs.ivhds[i].type != target) continue;
    state.ivhds.push_back(i);
    maps[i] = acpi::expand_device_entries(ivrs.ivhds[i]);
    std::uint16_t& last = last_bdf[ivrs.ivhds[i].segment];
    for (const auto& range : maps[i].ranges) last = std::max(last, range.last);
  }

  if (!options.enabled) {
    state.disabled_reason = "amd_iommu=off (or iommu=off) on the kernel command line";
    return state;
  }
  state.remapping_enabled = true;

  // rlookup: the IVHD whose entries name the devid; aliases from alias entries.
  for (std::size_t d = 0; d < topology.size(); ++d) {
    const pci::Bdf& bdf = topology.bdf(d);
    if (!bdf.is_acpi_segment()) continue;
    const auto seg = static_cast<std::uint16_t>(bdf.segment());
    const auto last = last_bdf.find(seg);
    if (last == last_bdf.end() || bdf.rid() > last->second) continue;  // check_device: devid > last_bdf
    for (std::size_t i : state.ivhds) {
      if (ivrs.ivhds[i].segment != seg) continue;
      const acpi::DevidRange* range = maps[i].find(bdf.rid());
      if (range == nullptr) continue;
      state.device_ivhd[d] = i;
      if (range->alias && *range->alias != bdf.rid()) state.aliases.emplace_back(d, *range->alias);
      break;
    }
  }

  // init_memory_definitions -> init_unity_map_range, IVRS order.
  for (std::size_t m = 0; m < ivrs.ivmds.size(); ++m) {
    const acpi::Ivmd& ivmd = ivrs.ivmds[m];
    if (!ivmd.unity() && !ivmd.exclusion()) continue;
    AmdUnityRange u;
    u.ivmd_index = m;
    u.segment = ivmd.segment();
    u.address_start = page_align(ivmd.start);
    u.address_end = u.address_start + page_align(ivmd.size);
    // prot = flags >> 1 (IR -> read, IW -> write); an exclusion range is
    // forced to read/write, dropping the exclusion bit.
    const bool read = ivmd.read() || ivmd.exclusion();
    const bool write = ivmd.write() || ivmd.exclusion();
    u.prot = (read ? iova::prot::kRead : 0U) | (write ? iova::prot::kWrite : 0U);
    if (ivmd.type == 0x20) {
      u.devid_start = 0;
      const auto last = last_bdf.find(u.segment);
      u.devid_end = last == last_bdf.end() ? 0 : last->second;
    } else {
      u.devid_start = ivmd.first_devid();
      u.devid_end = ivmd.last_devid();
    }
    state.kernel_log.push_back(
        fmt::format("AMD-Vi: IVMD_TYPE{} devid_start: {:04x}:{:02x}:{:02x}.{} devid_end: {:04x}:{:02x}:{:02x}.{} "
                    "range_start: {:016x} range_end: {:016x} flags: {:x}",
                    ivmd.type == 0x20 ? "_ALL" : (ivmd.type == 0x22 ? "_RANGE" : ""), u.segment, u.devid_start >> 8U,
                    (u.devid_start >> 3U) & 0x1fU, u.devid_start & 7U, u.segment, u.devid_end >> 8U,
                    (u.devid_end >> 3U) & 0x1fU, u.devid_end & 7U, u.address_start, u.address_end, ivmd.flags));
    state.unity.push_back(u);
  }
  return state;
}

std::vector<DeviceRegion> amd_resv_regions(const pci::Topology& topology, const acpi::Ivrs& ivrs,
                                           const AmdIvrsState& state, const KernelFeatures& features,
                                           std::size_t device) {
  std::vector<DeviceRegion> out;
  const pci::Bdf& bdf = topology.bdf(device);
  const std::uint16_t devid = bdf.rid();
  for (const AmdUnityRange& u : state.unity) {
    if (u.segment != bdf.segment() || devid < u.devid_start || devid > u.devid_end) continue;
    const acpi::Ivmd& ivmd = ivrs.ivmds[u.ivmd_index];
    DeviceRegion r;
    r.region = {u.address_start, u.address_end - u.address_start, iova::ResvType::kDirect, u.prot};
    r.cause.source = RegionSource::kIvmd;
    r.cause.table_index = u.ivmd_index;
    r.cause.table_offset = ivmd.offset;
    r.cause.detail = fmt::format(
        "IVMD #{} (type {:#x}) at offset {:#x}: devids {:04x}-{:04x}, {}{}", u.ivmd_index, ivmd.type, ivmd.offset,
        u.devid_start, u.devid_end,
        ivmd.exclusion() ? "exclusion range, treated as a read/write unity map" : "unity map",
        (ivmd.start % kPage != 0 || ivmd.size % kPage != 0) ? "; start and length rounded up to pages separately" : "");
    out.push_back(std::move(r));
  }
  DeviceRegion msi;
  msi.region = {kAmdMsiStart, kAmdMsiSize, iova::ResvType::kMsi, 0};
  msi.cause.source = RegionSource::kAmdMsi;
  msi.cause.detail = "the MSI address window, never translated";
  out.push_back(std::move(msi));

  bool ht_ignored = false;
  if (features.amd_ht_range_ignore) {
    const auto ivhd = state.device_ivhd[device];
    const auto& efr2 = ivhd ? ivrs.ivhds[*ivhd].efr2 : std::nullopt;
    ht_ignored = efr2.has_value() && ((*efr2 >> 11U) & 1U) != 0;  // FEATURE_HT_RANGE_IGNORE
  }
  if (!ht_ignored) {
    DeviceRegion ht;
    ht.region = {kAmdHtStart, kAmdHtSize, iova::ResvType::kReserved, 0};
    ht.cause.source = RegionSource::kAmdHtHole;
    ht.cause.detail = "the HyperTransport window below 1 TiB, reserved by the AMD driver";
    out.push_back(std::move(ht));
  }
  return out;
}

AmdGeometry amd_vfio_geometry(std::optional<std::uint64_t> efr, const AmdBootOptions& options,
                              const KernelFeatures& features) {
  AmdGeometry g;
  if (options.pgtbl_v2) {
    const unsigned bits = features.amd_aperture == AmdAperture::kHats ? 47 : 48;
    g.aperture = iova::Range(0, (1ULL << bits) - 1);
    g.pgsize_bitmap = 0x1000 | (1ULL << 21) | (1ULL << 30);
    g.explanation = fmt::format("v2 page table: {} bits", bits);
    return g;
  }
  // AMD_IOMMU_PGSIZES: every power of two from 4 KiB except 512 GiB.
  g.pgsize_bitmap = ~0xfffULL & ~(2ULL << 38);
  if (features.amd_aperture == AmdAperture::kFull64) {
    g.aperture = iova::Range::full();
    g.explanation = "6.1 rule: v1 page table, the whole 64-bit space (dma_max_address)";
    return g;
  }
  const unsigned hats = efr ? static_cast<unsigned>((*efr >> 10U) & 3U) : 0U;
  const unsigned vasz = std::min(64U, (hats + 3U) * 9U + 21U);
  g.aperture = iova::Range(0, vasz >= 64 ? iova::kU64Max : (1ULL << vasz) - 1);
  g.explanation = fmt::format("7.0 rule: v1 page table, HATS {} -> {} bits{}", hats, vasz,
                              efr ? "" : " (EFR unknown: HATS 0 assumed)");
  return g;
}

}  // namespace iovakit::kernel
