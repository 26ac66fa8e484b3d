#include "iovakit/kernel/platform_prediction.h"

#include <fmt/core.h>

#include <algorithm>

namespace iovakit::kernel {

namespace {

constexpr const char* kRmrrLockMessage =
    "Device is ineligible for IOMMU domain attach due to platform RMRR requirement.  Contact your platform vendor.";
constexpr const char* kRequireDirectMessage =
    "Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 "
    "mapping. Contact your platform vendor.";

// The dev_printk prefix: the bound driver's name, or the bus name.
std::string log_prefix(const std::string& driver, const pci::Bdf& bdf) {
  return fmt::format("{} {}: ", driver.empty() ? "pci" : driver, bdf.to_string());
}

std::string driver_of(const PlatformInput& input, std::size_t device) {
  return device < input.drivers.size() ? input.drivers[device] : std::string();
}

// The driver the device has once the user prepared the group for VFIO.
// The devices assigned are bound to vfio-pci; a member whose driver uses the
// DMA API must be unbound or rebound first (the prediction takes vfio-pci);
// unbound members and drivers that manage DMA stay as they are.
std::string driver_after_rebind(const PlatformInput& input, std::size_t device) {
  if (std::find(input.assigned.begin(), input.assigned.end(), device) != input.assigned.end()) return "vfio-pci";
  std::string current = driver_of(input, device);
  if (current.empty() || driver_manages_dma(current)) return current;
  return "vfio-pci";
}

void add_unknown(std::vector<std::string>& unknowns, std::string text) {
  if (std::find(unknowns.begin(), unknowns.end(), text) == unknowns.end()) unknowns.push_back(std::move(text));
}

struct GeometryResult {
  iova::Range aperture = iova::Range::full();
  std::uint64_t pgsize_bitmap = 0x1000;
  std::string explanation;
};

GeometryResult intel_geometry(const PlatformInput& input, const IntelDmarState& state, std::size_t device,
                              const KernelFeatures& features, std::vector<std::string>& unknowns) {
  GeometryResult out;
  const auto unit = state.device_unit[device];
  if (!unit) return out;
  const acpi::Drhd& drhd = input.dmar->drhds[state.units[*unit].drhd_index];
  IntelUnitRegisters regs;
  const auto found = input.intel_registers.find(drhd.register_base);
  if (found != input.intel_registers.end()) {
    regs = found->second;
  } else {
    // Without the capability register, take MGAW from the DMAR host address
    // width and assume 3- and 4-level tables and both large pages.
    const unsigned haw = input.dmar->host_address_width();
    regs.cap = (static_cast<std::uint64_t>((haw - 1) & 0x3fU) << 16U) | (0x6ULL << 8U) | (0x3ULL << 34U);
    add_unknown(
        unknowns,
        fmt::format(
            "the capability register of the unit at {:#x} is unknown (/sys/class/iommu/dmar*/intel-iommu/cap); the "
            "aperture assumes MGAW = the DMAR host address width ({}) and 39/48-bit tables",
            drhd.register_base, haw));
  }
  auto g = intel_vfio_geometry(regs, input.intel_scalable_mode, features);
  if (!g) {
    add_unknown(unknowns, g.error().message());
    return out;
  }
  out.aperture = g->aperture;
  out.pgsize_bitmap = g->pgsize_bitmap;
  out.explanation = g->explanation;
  return out;
}

// Per-device refusal at the blocking-domain attach of the claim.
void add_refusal(DevicePrediction& d, const PlatformInput& input, const KernelFeatures& features,
                 const IntelDmarState* intel, std::size_t device) {
  const pci::Topology& topology = *input.topology;
  const std::string prefix = log_prefix(driver_after_rebind(input, device), topology.bdf(device));
  if (intel != nullptr && features.intel_rmrr_attach_refused) {
    const IntelRmrrLock lock = intel_rmrr_lock(topology, *intel, features, device);
    if (lock.locked) {
      d.refusal = Outcome::failure(
          Errno::kEPERM, "intel_iommu_attach_device",
          fmt::format("{} is RMRR-locked: RMRR #{} reaches it{} and it is neither USB nor display "
                      "(device_is_rmrr_locked)",
                      topology.bdf(device).to_string(), *lock.rmrr_index,
                      *lock.via_device == device
                          ? ""
                          : fmt::format(" through bridge {}", topology.bdf(*lock.via_device).to_string())));
      d.refusal_log = prefix + "DMAR: " + kRmrrLockMessage;
      return;
    }
  }
  if (features.core_require_direct) {
    for (const DeviceRegion& r : d.regions) {
      if (r.region.type != iova::ResvType::kDirect) continue;
      d.refusal = Outcome::failure(
          Errno::kEINVAL, "__iommu_device_set_domain",
          fmt::format("{} has a firmware-required 1:1 (direct) region {} ({}), so it cannot be moved to the "
                      "blocking domain (require_direct)",
                      topology.bdf(device).to_string(), r.region.range() ? r.region.range()->to_string() : "?",
                      r.cause.detail));
      d.refusal_log = prefix + kRequireDirectMessage;
      return;
    }
  }
}

}  // namespace

Type1GroupSpec type1_group_spec(const GroupModel& group, const KernelFeatures& features) {
  Type1GroupSpec spec;
  spec.group_id = group.id;
  spec.regions.assign(group.regions.begin(), group.regions.end());
  spec.aperture = group.aperture;
  spec.pgsize_bitmap = group.pgsize_bitmap;
  spec.isolated_msi = group.isolated_msi;
  if (!group.claim.ok()) {
    DriverRefusal refusal;
    refusal.stage = features.vfio_claim_dma_owner ? RefusalStage::kClaimDmaOwner : RefusalStage::kAttachDomain;
    refusal.err = group.claim.err;
    refusal.function = group.claim.function;
    refusal.message = group.claim_log;
    spec.refusal = refusal;
  }
  return spec;
}

bool driver_manages_dma(std::string_view driver) {
  // .driver_managed_dma = true: drivers/vfio/pci/vfio_pci.c (and the
  // variant drivers, all named *vfio-pci or vfio-*), drivers/pci/pci-stub.c,
  // drivers/pci/pcie/portdrv.c (v5.19, the DMA ownership series).
  return driver == "vfio-pci" || driver == "pci-stub" || driver == "pcieport" || driver.starts_with("vfio-") ||
         driver.ends_with("-vfio-pci") || driver.ends_with("_vfio_pci");
}

const GroupModel* PlatformPrediction::group_of(std::size_t device) const {
  if (device >= groups.group_of.size() || !groups.group_of[device]) return nullptr;
  return &group_models[*groups.group_of[device]];
}

Result<PlatformPrediction> predict_platform(const PlatformInput& input, const KernelProfile& profile) {
  if (input.topology == nullptr) return Error(Errc::kInvalidArgument, "predict_platform: no PCI topology");
  const pci::Topology& topology = *input.topology;
  const KernelFeatures& features = profile.features;
  PlatformPrediction out;
  out.profile = profile;
  out.driver = input.driver;
  out.devices.resize(topology.size());

  std::optional<IntelDmarState> intel;
  std::optional<AmdIvrsState> amd;
  std::vector<bool> has_iommu(topology.size(), false);

  if (input.absent) {
    out.remapping_enabled = false;
    out.disabled_reason = input.absent_reason.empty() ? "no IOMMU" : input.absent_reason;
    for (DevicePrediction& d : out.devices) d.no_iommu_reason = out.disabled_reason;
    GroupOptions none;
    none.driver = input.driver;
    none.has_iommu.assign(topology.size(), false);
    out.groups = predict_iommu_groups(topology, none);
    return out;
  }
  switch (input.driver) {
    case IommuDriver::kIntelVtd: {
      if (input.dmar == nullptr) return Error(Errc::kInvalidArgument, "Intel VT-d needs the DMAR table");
      intel = intel_dmar_boot(topology, *input.dmar, input.intel);
      out.kernel_log = intel->kernel_log;
      out.remapping_enabled = intel->remapping_enabled;
      out.disabled_reason = intel->disabled_reason;
      for (std::size_t d = 0; d < topology.size(); ++d) has_iommu[d] = intel->device_unit[d].has_value();
      break;
    }
    case IommuDriver::kAmdVi: {
      if (input.ivrs == nullptr) return Error(Errc::kInvalidArgument, "AMD-Vi needs the IVRS table");
      amd = amd_ivrs_boot(topology, *input.ivrs, input.amd);
      out.kernel_log = amd->kernel_log;
      out.remapping_enabled = amd->remapping_enabled;
      out.disabled_reason = amd->disabled_reason;
      for (std::size_t d = 0; d < topology.size(); ++d) has_iommu[d] = amd->device_ivhd[d].has_value();
      break;
    }
    case IommuDriver::kArmSmmuV3: {
      if (input.iort == nullptr) return Error(Errc::kInvalidArgument, "Arm SMMU needs the IORT table");
      out.remapping_enabled = true;
      for (std::size_t d = 0; d < topology.size(); ++d) {
        has_iommu[d] = arm_stream_target(topology, *input.iort, d).has_value();
      }
      break;
    }
    case IommuDriver::kVirtioIommu: {
      out.remapping_enabled = true;
      for (std::size_t d = 0; d < topology.size(); ++d) {
        const auto& cfg = topology.config(d);
        const bool is_viommu = is_virtio_iommu(cfg.vendor_id(), cfg.device_id());
        const bool assigned = std::find(input.assigned.begin(), input.assigned.end(), d) != input.assigned.end();
        has_iommu[d] = !is_viommu && (!input.virtio_only_bound_devices || assigned || !driver_of(input, d).empty());
      }
      break;
    }
  }
  if (!out.remapping_enabled) has_iommu.assign(topology.size(), false);

  // Per-device regions and refusals.
  for (std::size_t d = 0; d < topology.size(); ++d) {
    DevicePrediction& dev = out.devices[d];
    dev.has_iommu = has_iommu[d];
    if (!dev.has_iommu) {
      dev.no_iommu_reason = out.remapping_enabled ? "no IOMMU unit serves this device" : out.disabled_reason;
      continue;
    }
    switch (input.driver) {
      case IommuDriver::kIntelVtd: dev.regions = intel_resv_regions(topology, *input.dmar, *intel, features, d); break;
      case IommuDriver::kAmdVi: dev.regions = amd_resv_regions(topology, *input.ivrs, *amd, features, d); break;
      case IommuDriver::kArmSmmuV3: {
        ArmResvResult arm = arm_resv_regions(topology, *input.iort, input.arm, d);
        dev.regions = std::move(arm.regions);
        dev.unknowns = std::move(arm.unknowns);
        out.kernel_log.insert(out.kernel_log.end(), arm.kernel_log.begin(), arm.kernel_log.end());
        break;
      }
      case IommuDriver::kVirtioIommu: {
        // viommu_get_resv_regions: the PROBE regions (kept sorted by start),
        // then the software MSI window when no MSI region was reported.
        bool has_msi = false;
        std::vector<iova::ResvRegion> probe = input.virtio_probe_regions;
        std::stable_sort(probe.begin(), probe.end(),
                         [](const iova::ResvRegion& a, const iova::ResvRegion& b) { return a.start < b.start; });
        for (const auto& r : probe) {
          has_msi = has_msi || r.type == iova::ResvType::kMsi;
          dev.regions.push_back({r, {RegionSource::kVirtioProbe, {}, {}, {}, "reported by the virtio-iommu device"}});
        }
        if (!has_msi) {
          dev.regions.push_back({{kArmSwMsiBase, kArmSwMsiSize, iova::ResvType::kSwMsi,
                                  iova::prot::kWrite | iova::prot::kNoExec | iova::prot::kMmio},
                                 {RegionSource::kSwMsi, {}, {}, {}, "virtio-iommu software MSI window"}});
        }
        break;
      }
    }
    add_refusal(dev, input, features, intel ? &*intel : nullptr, d);
  }

  // Groups.
  GroupOptions group_options;
  group_options.driver = input.driver;
  group_options.acs = input.acs;
  group_options.has_iommu = has_iommu;
  if (amd) {
    for (const auto& [device, alias] : amd->aliases) group_options.ivrs_aliases.push_back({device, alias});
  }
  out.groups = predict_iommu_groups(topology, group_options);
  for (const auto& u : out.groups.uncertainties) add_unknown(out.unknowns, u.reason);

  // iommu_def_domain_type: identity with iommu=pt; strict DMA when asked,
  // or when an Intel unit has caching mode (a virtual IOMMU: "IOMMU batching
  // disallowed due to virtualization", intel_iommu_init -> iommu_set_dma_strict,
  // 5.15+), else lazy.
  bool strict = input.dma_strict || !features.dma_fq_type;
  if (intel) {
    for (const auto& [base, regs] : input.intel_registers) strict = strict || regs.caching_mode();
  }
  const std::string domain_type = input.passthrough ? "identity" : strict ? "DMA" : "DMA-FQ";

  for (const PredictedGroup& group : out.groups.groups) {
    GroupModel model;
    model.id = group.id;
    model.certain = group.certain;
    model.domain_type = domain_type;
    model.regions = iova::ResvList(features.resv_merge);
    for (const GroupMember& m : group.members) {
      model.members.push_back(m.device);
      for (const DeviceRegion& r : out.devices[m.device].regions) model.regions.insert(r.region);
    }
    model.sysfs =
        model.regions.to_sysfs(features.resv_sysfs_emit ? iova::ResvList::kSysfsEmitLimit : iova::ResvList::kNoLimit);
    const std::size_t first = model.members.front();
    switch (input.driver) {
      case IommuDriver::kIntelVtd: {
        const GeometryResult g = intel_geometry(input, *intel, first, features, out.unknowns);
        model.aperture = g.aperture;
        model.pgsize_bitmap = g.pgsize_bitmap;
        model.geometry_explanation = g.explanation;
        model.isolated_msi = input.interrupt_remapping && input.dmar->intr_remap();
        break;
      }
      case IommuDriver::kAmdVi: {
        std::optional<std::uint64_t> efr = input.amd_efr;
        if (!efr && amd->device_ivhd[first]) efr = input.ivrs->ivhds[*amd->device_ivhd[first]].efr;
        const AmdGeometry g = amd_vfio_geometry(efr, input.amd, features);
        model.aperture = g.aperture;
        model.pgsize_bitmap = g.pgsize_bitmap;
        model.geometry_explanation = g.explanation;
        model.isolated_msi = input.interrupt_remapping;
        break;
      }
      case IommuDriver::kArmSmmuV3:
        model.aperture = iova::Range(0, (1ULL << 48) - 1);
        model.pgsize_bitmap = 0x1000 | (1ULL << 21) | (1ULL << 30);
        model.geometry_explanation =
            "SMMUv3 stage 1 with a 4 KiB granule: 48-bit input assumed (IDR registers unknown)";
        model.isolated_msi = input.interrupt_remapping;
        break;
      case IommuDriver::kVirtioIommu:
        model.aperture = input.virtio_input_range;
        model.pgsize_bitmap = input.virtio_page_size_mask;
        model.geometry_explanation = "the virtio-iommu config space input_range and page_size_mask";
        model.isolated_msi = false;  // no interrupt remapping behind virtio-iommu
        break;
    }

    // The claim (see the header): viability first, then the blocking domain.
    for (std::size_t d : model.members) {
      const std::string drv = driver_of(input, d);
      if (!drv.empty() && !driver_manages_dma(drv)) model.must_unbind.push_back(d);
    }
    model.claim = Outcome::success("iommu_group_claim_dma_owner",
                                   "every member can move to the blocking domain: VFIO can own the group");
    for (std::size_t d : model.members) {
      if (out.devices[d].refusal) {
        model.claim = *out.devices[d].refusal;
        model.claim_log = out.devices[d].refusal_log;
        break;
      }
    }
    out.group_models.push_back(std::move(model));
  }
  return out;
}

}  // namespace iovakit::kernel
