#include "iovakit/kernel/intel_resv.h"

#include <algorithm>
#include <bit>

#include <fmt/core.h>

namespace iovakit::kernel {

namespace {

constexpr std::uint64_t k2M = 1ULL << 21;
constexpr std::uint64_t k1G = 1ULL << 30;

// The slot reaches the device: it is the device, or (v5.3+) a bridge above it.
bool slot_reaches(const pci::Topology& topology, const KernelFeatures& features, std::size_t device,
                  std::size_t slot_device) {
  if (slot_device == device) return true;
  return features.intel_rmrr_via_bridge && pci::is_downstream_to_pci_bridge(topology, device, slot_device);
}

std::uint64_t width_mask(unsigned width) { return width >= 64 ? iova::kU64Max : (1ULL << width) - 1; }

}  // namespace

bool intel_rmrr_relaxable(const pci::Topology& topology, std::size_t device) {
  const pci::ClassCode cls = topology.config(device).kernel_class();
  return cls.is_usb() || cls.is_display();
}

std::vector<DeviceRegion> intel_resv_regions(const pci::Topology& topology, const acpi::Dmar& dmar,
                                             const IntelDmarState& state, const KernelFeatures& features,
                                             std::size_t device) {
  std::vector<DeviceRegion> out;
  const bool relaxable = features.intel_relaxable_rmrr && intel_rmrr_relaxable(topology, device);
  for (const IntelRmrrState& rmrr_state : state.rmrrs) {
    const acpi::Rmrr& rmrr = dmar.rmrrs[rmrr_state.rmrr_index];
    for (const IntelSlot& slot : rmrr_state.slots) {
      if (!slot_reaches(topology, features, device, slot.device)) continue;
      DeviceRegion r;
      // Length is end - base + 1 in the kernel's size_t arithmetic, even for
      // an RMRR that fails rmrr_sanity_check (the kernel still uses it).
      r.region = {rmrr.base, rmrr.end - rmrr.base + 1,
                  relaxable ? iova::ResvType::kDirectRelaxable : iova::ResvType::kDirect,
                  iova::prot::kRead | iova::prot::kWrite};
      r.cause.source = RegionSource::kRmrr;
      r.cause.table_index = rmrr.index;
      r.cause.table_offset = rmrr.offset;
      r.cause.via_device = slot.device;
      const acpi::DeviceScope& scope = rmrr.scopes[slot.scope_index];
      r.cause.detail = fmt::format(
          "RMRR #{} at offset {:#x}: {} scope {}{}{}", rmrr.index, rmrr.offset, acpi::scope_type_name(scope.type),
          scope.path_string(), slot.path_match == pci::PathMatch::kFallback ? " (one-element fallback)" : "",
          slot.device == device ? "" : fmt::format(", through bridge {}", topology.bdf(slot.device).to_string()));
      if (relaxable) {
        r.cause.detail += "; relaxable: the device is USB or display";
      }
      out.push_back(std::move(r));
    }
  }
  if (features.intel_floppy_wa && features.intel_isa_resv_region &&
      topology.config(device).kernel_class().is_isa_bridge()) {
    DeviceRegion r;
    r.region = {0, kIsaFloppySize, iova::ResvType::kDirectRelaxable, iova::prot::kRead | iova::prot::kWrite};
    r.cause.source = RegionSource::kIsaFloppy;
    r.cause.detail = "ISA bridge: 0-16 MiB identity map for ISA DMA (CONFIG_INTEL_IOMMU_FLOPPY_WA)";
    out.push_back(std::move(r));
  }
  DeviceRegion msi;
  msi.region = {kIntelIoapicStart, kIntelIoapicSize, iova::ResvType::kMsi, 0};
  msi.cause.source = RegionSource::kIoapicMsi;
  msi.cause.detail = "the interrupt (IOAPIC/MSI) address window, never translated";
  out.push_back(std::move(msi));
  return out;
}

IntelRmrrLock intel_rmrr_lock(const pci::Topology& topology, const IntelDmarState& state,
                              const KernelFeatures& features, std::size_t device) {
  IntelRmrrLock lock;
  // device_has_rmrr: the first RMRR (list order) with a slot reaching it.
  for (const IntelRmrrState& rmrr : state.rmrrs) {
    for (const IntelSlot& slot : rmrr.slots) {
      if (slot_reaches(topology, features, device, slot.device)) {
        lock.rmrr_index = rmrr.rmrr_index;
        lock.via_device = slot.device;
        break;
      }
    }
    if (lock.rmrr_index) break;
  }
  // USB and display devices are exempt since the check exists (v3.17), long
  // before their RMRRs were reported as relaxable.
  lock.locked = lock.rmrr_index.has_value() && !intel_rmrr_relaxable(topology, device);
  return lock;
}

Result<IntelGeometry> intel_vfio_geometry(const IntelUnitRegisters& regs, bool scalable_mode,
                                          const KernelFeatures& features) {
  IntelGeometry g;
  const bool sm = scalable_mode && regs.smts();
  const unsigned mgaw = regs.mgaw();
  const unsigned sagaw = regs.sagaw();

  if (features.intel_aperture == IntelAperture::kNarrowedAtAttach) {
    // __iommu_calculate_sagaw, then the largest agaw <= width_to_agaw(57).
    const unsigned fl_sagaw = (1U << 2U) | (regs.fl5lp() ? (1U << 3U) : 0U);
    unsigned effective = sagaw;
    if (sm && regs.flts()) effective = regs.slts() ? (fl_sagaw & sagaw) : fl_sagaw;
    int agaw = 3;
    while (agaw >= 0 && ((effective >> static_cast<unsigned>(agaw)) & 1U) == 0) --agaw;
    if (agaw < 0) {
      return Error(Errc::kUnsupported,
                   fmt::format("no supported address width (effective SAGAW {:#x}): \"Cannot get a valid agaw\", "
                               "the unit is not used",
                               effective));
    }
    const unsigned agaw_width = std::min(30U + 9U * static_cast<unsigned>(agaw), 64U);
    g.width = std::min(agaw_width, mgaw);
    // first_level_by_default(IOMMU_DOMAIN_UNMANAGED): first level only when
    // the unit has it and lacks second level.
    g.first_level = sm && regs.flts() && !regs.slts();
    g.explanation = fmt::format("6.1 rule: agaw width {} capped at MGAW {} -> {} bits{}", agaw_width, mgaw, g.width,
                                g.first_level ? ", first-level table (one bit less)" : "");
  } else {
    if (sm && regs.flts()) {
      g.first_level = true;
      g.width = (mgaw > 48 && regs.fl5lp()) ? std::min(57U, mgaw) : std::min(48U, mgaw);
    } else if (mgaw > 48 && (sagaw & (1U << 3U)) != 0) {
      g.width = std::min(57U, mgaw);
    } else if (mgaw > 39 && (sagaw & (1U << 2U)) != 0) {
      g.width = std::min(48U, mgaw);
    } else if (mgaw > 30 && (sagaw & (1U << 1U)) != 0) {
      g.width = std::min(39U, mgaw);
    } else {
      return Error(Errc::kUnsupported,
                   fmt::format("no second-stage level fits MGAW {} and SAGAW {:#x}: no paging domain", mgaw, sagaw));
    }
    g.explanation = fmt::format("7.0 rule: {} stage, {} bits{}", g.first_level ? "first" : "second", g.width,
                                g.first_level ? " (sign-extended: one bit less)" : "");
  }
  const unsigned bits = g.first_level ? g.width - 1 : g.width;
  g.aperture = iova::Range(0, width_mask(bits));

  g.pgsize_bitmap = 0x1000;
  if (g.first_level) {
    g.pgsize_bitmap |= k2M | (regs.fl1gp() ? k1G : 0);
  } else {
    const auto levels = static_cast<int>(std::bit_width(regs.super_page()));  // fls(cap_super_page_val)
    if (levels >= 1) g.pgsize_bitmap |= k2M;
    if (levels >= 2) g.pgsize_bitmap |= k1G;
  }
  return g;
}

}  // namespace iovakit::kernel
