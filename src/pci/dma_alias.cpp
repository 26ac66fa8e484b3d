#include "iovakit/pci/dma_alias.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>

#include "iovakit/pci/dma_quirks.h"

namespace iovakit::pci {

namespace {

struct MaskBit {
  AliasReason reason = AliasReason::kQuirkAlias;
  std::string explanation;
};

std::vector<const DmaQuirk*> quirks_of(const Topology& topology, std::size_t i) {
  const auto& config = topology.config(i);
  return match_dma_quirks(config.vendor_id(), config.device_id(), config.subsystem_vendor_id(), config.subsystem_id(),
                          config.kernel_class().class16());
}

bool has_quirk(const Topology& topology, std::size_t i, DmaQuirkKind kind) {
  const auto quirks = quirks_of(topology, i);
  return std::any_of(quirks.begin(), quirks.end(), [kind](const DmaQuirk* q) { return q->kind == kind; });
}

// dma_alias_mask with the first reason for each bit; unknowns collects
// aliases that exist but cannot be computed.
std::array<std::optional<MaskBit>, 256> alias_mask(const Topology& topology, std::size_t i,
                                                   std::vector<std::string>* unknowns) {
  std::array<std::optional<MaskBit>, 256> mask;
  const auto& rec = topology.record(i);
  for (const DmaQuirk* quirk : quirks_of(topology, i)) {
    if (quirk->kind == DmaQuirkKind::kSwitchtecNtbAlias && unknowns && rec.extra_dma_alias_devfns.empty()) {
      unknowns->push_back(
          fmt::format("{} ({}): {} reads its proxy-ID aliases from the device's MMIO; they are not "
                      "in config space and none were recorded",
                      rec.bdf.to_string(), quirk->device_name, quirk->function));
    }
    for (const std::uint8_t devfn : quirk_alias_devfns(*quirk, rec.bdf.devfn())) {
      if (mask[devfn]) continue;
      mask[devfn] = MaskBit{AliasReason::kQuirkAlias,
                            fmt::format("{} ({}) adds devfn {} to the DMA alias mask (drivers/pci/quirks.c)",
                                        quirk->function, quirk->device_name, format_devfn(devfn))};
    }
  }
  for (const std::uint8_t devfn : rec.extra_dma_alias_devfns) {
    if (mask[devfn]) continue;
    mask[devfn] = MaskBit{AliasReason::kRecordedAlias, fmt::format("devfn {} was recorded as a DMA alias of {}",
                                                                   format_devfn(devfn), rec.bdf.to_string())};
  }
  return mask;
}

// quirk_use_pcie_bridge_dma_alias's test, evaluated for bridge b. nullopt
// when config space does not say.
std::optional<bool> pcie_bridge_alias_flag(const Topology& topology, std::size_t b) {
  if (!has_quirk(topology, b, DmaQuirkKind::kPcieBridgeAlias)) return false;
  const auto& config = topology.config(b);
  if (topology.on_root_bus(b) || config.header_type() != HeaderType::kBridge) return false;
  if (config.pcie_presence() != Presence::kAbsent) {
    return config.pcie_presence() == Presence::kPresent ? std::optional<bool>(false) : std::nullopt;
  }
  const auto parent = topology.parent(b);
  if (!parent) return std::nullopt;
  const auto& up = topology.config(*parent);
  if (up.pcie_presence() == Presence::kUnknown) return std::nullopt;
  return up.is_pcie() && up.pcie()->type() != PcieType::kPcieToPciBridge;
}

}  // namespace

std::string_view alias_reason_name(AliasReason reason) {
  switch (reason) {
    case AliasReason::kRequesterId: return "requester-id";
    case AliasReason::kQuirkAlias: return "quirk";
    case AliasReason::kRecordedAlias: return "recorded";
    case AliasReason::kPcieToPciBridge: return "pcie-to-pci-bridge";
    case AliasReason::kPciToPcieBridge: return "pci-to-pcie-bridge";
    case AliasReason::kConventionalBridge: return "conventional-bridge";
    case AliasReason::kPcieBridgeAliasQuirk: return "pcie-bridge-alias-quirk";
  }
  return "unknown";
}

std::vector<Bdf> DmaAliasResult::unique_rids() const {
  std::vector<Bdf> out;
  for (const auto& alias : aliases) {
    if (std::find(out.begin(), out.end(), alias.rid) == out.end()) out.push_back(alias.rid);
  }
  return out;
}

std::optional<std::size_t> real_dma_device(const Topology& topology, std::size_t device) {
  const auto& rec = topology.record(device);
  if (rec.bdf.is_acpi_segment() || !rec.sysfs_path || !rec.sysfs_path->host_device) return device;
  return topology.find(*rec.sysfs_path->host_device);
}

std::vector<std::uint8_t> dma_alias_devfns(const Topology& topology, std::size_t device) {
  const auto mask = alias_mask(topology, device, nullptr);
  std::vector<std::uint8_t> out;
  for (unsigned devfn = 0; devfn < mask.size(); ++devfn) {
    if (mask[devfn]) out.push_back(static_cast<std::uint8_t>(devfn));
  }
  return out;
}

bool devices_are_dma_aliases(const Topology& topology, std::size_t a, std::size_t b) {
  const auto in_mask = [&](std::size_t owner, std::size_t other) {
    const auto devfns = dma_alias_devfns(topology, owner);
    return std::binary_search(devfns.begin(), devfns.end(), topology.bdf(other).devfn());
  };
  return in_mask(a, b) || in_mask(b, a) || real_dma_device(topology, a) == b || real_dma_device(topology, b) == a;
}

DmaAliasResult dma_aliases(const Topology& topology, std::size_t device) {
  DmaAliasResult result;
  const auto real = real_dma_device(topology, device);
  if (!real) {
    result.complete = false;
    result.dma_device = device;
    result.unknowns.push_back(
        fmt::format("{} is in a VMD domain; its DMA appears as VMD endpoint {} "
                    "(pci_real_dma_dev), which is not among the records",
                    topology.bdf(device).to_string(), topology.record(device).sysfs_path->host_device->to_string()));
    return result;
  }
  const std::size_t pdev = *real;
  result.dma_device = pdev;
  const Bdf& self = topology.bdf(pdev);
  const std::string own = pdev == device
                              ? std::string("its own requester ID")
                              : fmt::format("the requester ID of VMD endpoint {} (pci_real_dma_dev)", self.to_string());
  result.aliases.push_back({self, pdev, AliasReason::kRequesterId, fmt::format("{}: {}", self.to_string(), own)});

  const auto mask = alias_mask(topology, pdev, &result.unknowns);
  for (unsigned devfn = 0; devfn < mask.size(); ++devfn) {
    if (!mask[devfn]) continue;
    result.aliases.push_back(
        {self.with_devfn(static_cast<std::uint8_t>(devfn)), pdev, mask[devfn]->reason, mask[devfn]->explanation});
  }

  std::size_t child = pdev;
  for (auto up = topology.parent(pdev); up; child = *up, up = topology.parent(*up)) {
    const std::size_t b = *up;
    const auto& config = topology.config(b);
    const Bdf& bridge = topology.bdf(b);
    if (has_quirk(topology, b, DmaQuirkKind::kBridgeXlateRoot)) {
      result.stopped_at = b;
      return result;
    }
    const auto range = topology.bus_range(b);
    const auto secondary_alias = [&](AliasReason reason, std::string_view why) {
      if (!range) {
        result.complete = false;
        result.unknowns.push_back(
            fmt::format("bridge {} aliases to its secondary bus, which is not configured", bridge.to_string()));
        return;
      }
      const Bdf alias = Bdf::from_devfn(bridge.segment(), range->secondary, 0);
      result.aliases.push_back(
          {alias, b, reason, fmt::format("{}: {} {}", alias.to_string(), bridge.to_string(), why)});
    };
    switch (config.pcie_presence()) {
      case Presence::kUnknown:
        result.complete = false;
        result.unknowns.push_back(
            fmt::format("whether bridge {} is PCI Express is unknown ({}); a conventional or "
                        "PCIe-to-PCI bridge there would add an alias",
                        bridge.to_string(), config_extent_name(config.extent())));
        break;
      case Presence::kPresent:
        switch (config.pcie()->type()) {
          case PcieType::kPcieToPciBridge:
            secondary_alias(AliasReason::kPcieToPciBridge,
                            "is a PCIe-to-PCI/PCI-X bridge: it forwards DMA from its secondary bus as (secondary, "
                            "00.0) (PCI_EXP_TYPE_PCI_BRIDGE)");
            break;
          case PcieType::kPciToPcieBridge:
            result.aliases.push_back({bridge, b, AliasReason::kPciToPcieBridge,
                                      fmt::format("{}: PCI/PCI-X-to-PCIe bridge, DMA from below carries its ID "
                                                  "(PCI_EXP_TYPE_PCIE_BRIDGE)",
                                                  bridge.to_string())});
            break;
          default: break;  // ports pass requester IDs through; other types add nothing
        }
        break;
      case Presence::kAbsent: {
        const auto flag = pcie_bridge_alias_flag(topology, b);
        if (!flag) {
          result.complete = false;
          result.unknowns.push_back(
              fmt::format("quirk_use_pcie_bridge_dma_alias for {} needs its parent's PCIe "
                          "type, which is unknown",
                          bridge.to_string()));
        }
        if (flag.value_or(false)) {
          secondary_alias(AliasReason::kPcieBridgeAliasQuirk,
                          "is a PCIe-to-PCI bridge without a PCIe capability; quirk_use_pcie_bridge_dma_alias set "
                          "PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS");
        } else {
          result.aliases.push_back({bridge, b, AliasReason::kConventionalBridge,
                                    fmt::format("{}: conventional PCI bridge, it takes ownership of DMA from "
                                                "below it",
                                                bridge.to_string())});
        }
        break;
      }
    }
  }
  // A parent named by sysfs but not recorded hides every bridge above it.
  if (!topology.on_root_bus(child) && !topology.parent(child)) {
    result.complete = false;
    result.unknowns.push_back(
        fmt::format("the bridge above {} is not among the records; aliases it and the "
                    "bridges above it add are unknown",
                    topology.bdf(child).to_string()));
  }
  return result;
}

}  // namespace iovakit::pci
