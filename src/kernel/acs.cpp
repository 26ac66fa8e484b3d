#include "iovakit/kernel/acs.h"

#include <fmt/core.h>

#include "iovakit/kernel/acs_quirks.h"

namespace iovakit::kernel {

namespace {

using pci::PcieType;
using pci::Presence;

constexpr std::uint16_t kVendorIntel = 0x8086;
constexpr std::uint16_t kSv = pci::kAcsSourceValidation;
constexpr std::uint16_t kTb = pci::kAcsTranslationBlocking;
constexpr std::uint16_t kRr = pci::kAcsRequestRedirect;
constexpr std::uint16_t kCr = pci::kAcsCompletionRedirect;
constexpr std::uint16_t kUf = pci::kAcsUpstreamForwarding;
constexpr std::uint16_t kEc = pci::kAcsEgressControl;
constexpr std::uint16_t kDt = pci::kAcsDirectTranslatedP2p;
constexpr std::uint16_t kRedirectBits = kRr | kCr | kEc;  // what disable_acs_redir clears
constexpr std::size_t kIntelLpcRcbaReg = 0xf0;            // INTEL_LPC_RCBA_REG
constexpr std::uint32_t kIntelLpcRcbaEnable = 1U << 0U;   // INTEL_LPC_RCBA_ENABLE

Tristate tri(bool value) { return value ? Tristate::kYes : Tristate::kNo; }

// pci_acs_ctrl_enabled(): all requested controls are among those provided.
bool ctrl_enabled(std::uint16_t requested, std::uint16_t provided) { return (requested & provided) == requested; }

std::string flags_text(std::uint16_t flags) { return pci::acs_flags_string(flags); }

// What the kernel knows about a function.
struct View {
  const pci::Topology& topology;
  std::size_t index;
  const pci::ConfigSpace& config;
  std::string name;  // "0000:00:1c.0 [8086:1c10]"

  View(const pci::Topology& t, std::size_t i)
      : topology(t),
        index(i),
        config(t.config(i)),
        name(fmt::format("{} [{:04x}:{:04x}]", t.bdf(i).to_string(), t.config(i).vendor_id(),
                         t.config(i).device_id())) {}

  [[nodiscard]] Presence pcie() const { return config.pcie_presence(); }
  // pci_pcie_type(): 0 (PCI_EXP_TYPE_ENDPOINT) for a function without the
  // capability, because pcie_flags_reg stays 0; nullopt when unknown.
  [[nodiscard]] std::optional<PcieType> type() const {
    if (pcie() == Presence::kUnknown) return std::nullopt;
    return config.is_pcie() ? config.pcie()->type() : PcieType::kEndpoint;
  }
  [[nodiscard]] Tristate is_type(std::initializer_list<PcieType> types, bool require_pcie) const {
    if (pcie() == Presence::kUnknown) return Tristate::kUnknown;
    if (require_pcie && pcie() == Presence::kAbsent) return Tristate::kNo;
    const PcieType t = *type();
    for (const PcieType want : types) {
      if (t == want) return Tristate::kYes;
    }
    return Tristate::kNo;
  }
};

bool is_intel_pch_port_id(const View& v) {
  return v.config.vendor_id() == kVendorIntel && intel_pch_acs_id(v.config.device_id());
}
bool is_intel_spt_port_id(const View& v) {
  return v.config.vendor_id() == kVendorIntel && intel_spt_pch_acs_id(v.config.device_id());
}

// The ACS registers pci_acs_flags_enabled (or the SPT quirk) would read.
struct ControlState {
  Presence presence = Presence::kUnknown;
  std::uint16_t capabilities = 0;
  std::uint16_t control = 0;
  std::string note;  // what the options changed, or why unknown
};

std::optional<bool> any_selector_matches(const std::vector<PciDeviceSelector>& list, const View& v) {
  bool unknown = false;
  for (const auto& sel : list) {
    const auto m = selector_matches(sel, v.topology, v.index);
    if (!m) unknown = true;
    if (m.value_or(false)) return true;
  }
  if (unknown) return std::nullopt;
  return false;
}

ControlState control_state(const View& v, const AcsOptions& options) {
  ControlState s;
  s.presence = v.config.acs_presence();
  if (s.presence == Presence::kUnknown) {
    s.note = fmt::format("{} has no extended config space in the data ({}), so its ACS capability is unknown", v.name,
                         pci::config_extent_name(v.config.extent()));
    return s;
  }
  if (s.presence == Presence::kAbsent) return s;
  const auto& acs = *v.config.acs();
  // Sunrise/Union Point root ports keep capability and control as dwords at
  // +4 and +8 (pci_quirk_intel_spt_pch_acs); only the low 16 bits are used.
  const bool spt = is_intel_spt_port_id(v) && v.is_type({PcieType::kRootPort}, true) == Tristate::kYes;
  if (spt) {
    const auto cap = v.config.read32(acs.offset + 4U);
    const auto ctrl = v.config.read32(acs.offset + 8U);
    if (!cap || !ctrl) {
      s.presence = Presence::kUnknown;
      s.note = fmt::format("{}: the Sunrise Point ACS registers at +4/+8 lie beyond the data", v.name);
      return s;
    }
    s.capabilities = static_cast<std::uint16_t>(*cap & 0xffffU);
    s.control = static_cast<std::uint16_t>(*ctrl & 0xffffU);
  } else {
    s.capabilities = acs.capabilities;
    s.control = acs.control;
  }
  const bool pch = is_intel_pch_port_id(v) && v.is_type({PcieType::kRootPort}, true) == Tristate::kYes;
  if (options.control_source == AcsControlSource::kSimulateBoot && options.acs_requested && !pch) {
    // pci_std_enable_acs / pci_quirk_enable_intel_spt_pch_acs: SV RR CR UF
    // where implemented (TB only with ATS disabled or untrusted devices).
    const auto before = s.control;
    s.control = static_cast<std::uint16_t>(s.control | (s.capabilities & kReqAcsFlags));
    if (s.control != before) {
      s.note += fmt::format("pci_enable_acs sets {} at boot; ", flags_text(s.control & ~before & 0xffffU));
    }
  }
  const auto redir = any_selector_matches(options.disable_acs_redir, v);
  std::optional<bool> config_match = false;
  const ConfigAcsEntry* config_entry = nullptr;
  for (const auto& entry : options.config_acs) {
    const auto m = selector_matches(entry.device, v.topology, v.index);
    if (!m) config_match = std::nullopt;
    if (m.value_or(false)) {
      config_entry = &entry;
      config_match = true;
      break;
    }
  }
  if (!redir || !config_match) {
    s.presence = Presence::kUnknown;
    s.note += "a device path on the command line runs through a bridge missing from the records";
    return s;
  }
  if (*redir) {
    s.control = static_cast<std::uint16_t>(s.control & ~kRedirectBits);
    s.note += "pci=disable_acs_redir clears RR CR EC; ";
  }
  if (config_entry != nullptr) {
    if (spt) {
      // __pci_config_acs -> pci_quirk_disable_intel_spt_pch_acs_redir.
      s.control = static_cast<std::uint16_t>(s.control & ~kRedirectBits);
      s.note += "pci=config_acs on a Sunrise Point port clears RR CR EC (pci_quirk_disable_intel_spt_pch_acs_redir); ";
    } else {
      s.control =
          static_cast<std::uint16_t>((s.control & ~config_entry->mask) | (config_entry->flags & config_entry->mask));
      s.note += fmt::format("pci=config_acs sets control to {}; ", flags_text(s.control));
    }
  }
  return s;
}

// pci_acs_flags_enabled().
AcsDecision flags_enabled(const View& v, std::uint16_t flags, const AcsOptions& options, AcsRule rule,
                          std::string_view why) {
  const ControlState s = control_state(v, options);
  AcsDecision d;
  d.rule = rule;
  if (s.presence == Presence::kUnknown) {
    d.enabled = Tristate::kUnknown;
    d.rule = AcsRule::kUnknown;
    d.explanation = fmt::format("{}: {} needs its ACS capability, but {}", v.name, why, s.note);
    return d;
  }
  if (s.presence == Presence::kAbsent) {
    d.enabled = Tristate::kNo;
    d.explanation = fmt::format("{}: {} and it has no ACS capability (pci_acs_flags_enabled: false)", v.name, why);
    return d;
  }
  const auto needed = static_cast<std::uint16_t>(flags & (s.capabilities | kEc));
  d.enabled = tri((s.control & needed) == needed);
  d.explanation = fmt::format(
      "{}: {}; ACS capability {} control {}{}: {} {} (pci_acs_flags_enabled: a control the port does not implement "
      "counts as enabled)",
      v.name, why, flags_text(s.capabilities), flags_text(s.control), s.note.empty() ? "" : " (" + s.note + ")",
      flags_text(needed), d.enabled == Tristate::kYes ? "enabled" : "not all enabled");
  return d;
}

// One quirks.c function. kNoMatch means it returned a negative value.
enum class QuirkAnswer : std::uint8_t { kNoMatch, kNo, kYes, kUnknown };

struct QuirkOutcome {
  QuirkAnswer answer = QuirkAnswer::kNoMatch;
  std::string why;
};

QuirkOutcome answer(bool value, std::string why) {
  return {value ? QuirkAnswer::kYes : QuirkAnswer::kNo, std::move(why)};
}

// The Intel PCH quirk's PCI_DEV_FLAGS_ACS_ENABLED_QUIRK.
std::pair<Tristate, std::string> intel_pch_flag(const View& v, const AcsOptions& options) {
  if (!options.acs_requested) {
    return {Tristate::kNo, "no IOMMU driver requested ACS, so pci_quirk_enable_intel_pch_acs never ran"};
  }
  const pci::Bdf& self = v.topology.bdf(v.index);
  const pci::Bdf lpc(self.segment(), self.bus(), 31, 0);
  const auto found = v.topology.find(lpc);
  if (!found) {
    return {Tristate::kYes, fmt::format("no function at {} (the LPC), so the RCBA read returns all ones and "
                                        "pci_quirk_enable_intel_lpc_acs proceeds",
                                        lpc.to_string())};
  }
  const auto rcba = v.topology.config(*found).read32(kIntelLpcRcbaReg);
  if (!rcba) {
    return {Tristate::kUnknown, fmt::format("the LPC {}'s RCBA register (config 0xf0) is beyond the {} bytes given",
                                            lpc.to_string(), v.topology.config(*found).size())};
  }
  if ((*rcba & kIntelLpcRcbaEnable) == 0) {
    return {Tristate::kNo, fmt::format("RCBA is disabled on {} (config 0xf0 = {:#010x}): \"Failed to enable Intel "
                                       "PCH ACS quirk\"",
                                       lpc.to_string(), *rcba)};
  }
  return {Tristate::kYes, fmt::format("RCBA is enabled on {}, so the boot-time workaround set "
                                      "PCI_DEV_FLAGS_ACS_ENABLED_QUIRK",
                                      lpc.to_string())};
}

QuirkOutcome evaluate_quirk(const AcsQuirk& row, const View& v, std::uint16_t flags, const AcsOptions& options) {
  const auto unknown = [&v](std::string_view what) {
    return QuirkOutcome{QuirkAnswer::kUnknown,
                        fmt::format("whether {} applies depends on the PCIe {} of {}, which the {} bytes given do "
                                    "not show",
                                    "the quirk", what, v.name, v.config.size())};
  };
  const auto isolating = [&](std::string_view what) {
    return answer(ctrl_enabled(flags, kReqAcsFlags),
                  fmt::format("{} isolate like ACS SV RR CR UF without the capability", what));
  };
  switch (row.kind) {
    case AcsQuirkKind::kAmdSouthbridge: {
      if (!kernel_multifunction(v.topology, v.index) || !v.topology.on_root_bus(v.index)) return {};
      if (!options.ivrs_present) return {};
      const auto masked = static_cast<std::uint16_t>(flags & (kRr | kCr | kEc | kDt));
      return answer(ctrl_enabled(masked, kRr | kCr),
                    "AMD southbridge functions on the root bus with an IVRS table redirect all peer traffic "
                    "upstream (RR CR; SV UF do not apply to multifunction devices)");
    }
    case AcsQuirkKind::kMultifunctionEndpoint:
      return answer(ctrl_enabled(flags, kSv | kTb | kRr | kCr | kUf | kDt),
                    "the vendor verified that its functions do no peer-to-peer");
    case AcsQuirkKind::kIntelRciep: {
      const Tristate rc = v.is_type({PcieType::kRcIntegratedEndpoint}, false);
      if (rc == Tristate::kUnknown) return unknown("type");
      if (rc == Tristate::kNo) return {};
      return isolating("Intel RCiEPs (VT-d r3.1 sec 3.16: peer-to-peer only on translated addresses)");
    }
    case AcsQuirkKind::kQcomRootPort: return isolating("these Qualcomm/HXT root ports");
    case AcsQuirkKind::kNxpRootPort: return isolating("these NXP root ports (one segment each)");
    case AcsQuirkKind::kXgene: return isolating("these X-Gene/Ampere root ports");
    case AcsQuirkKind::kBroadcomRootPort: return isolating("iProc PAXB root ports");
    case AcsQuirkKind::kLoongsonRootPort: return isolating("Loongson root ports");
    case AcsQuirkKind::kIntelPch: {
      if (!intel_pch_acs_id(v.config.device_id())) return {};
      const Tristate rp = v.is_type({PcieType::kRootPort}, true);
      if (rp == Tristate::kUnknown) return unknown("type");
      if (rp == Tristate::kNo) return {};
      const auto [flag, why] = intel_pch_flag(v, options);
      if (flag == Tristate::kUnknown) return {QuirkAnswer::kUnknown, why};
      if (flag == Tristate::kYes) return isolating("Intel PCH root ports with the workaround enabled (" + why + ")");
      return answer(ctrl_enabled(flags, 0), "the Intel PCH workaround is not enabled: " + why);
    }
    case AcsQuirkKind::kIntelSptPch: {
      if (!intel_spt_pch_acs_id(v.config.device_id())) return {};
      const Tristate rp = v.is_type({PcieType::kRootPort}, true);
      if (rp == Tristate::kUnknown) return unknown("type");
      if (rp == Tristate::kNo) return {};
      const ControlState s = control_state(v, options);
      if (s.presence == Presence::kUnknown) return {QuirkAnswer::kUnknown, s.note};
      if (s.presence == Presence::kAbsent) return {};
      const auto needed = static_cast<std::uint16_t>(flags & (s.capabilities | kEc));
      return answer(
          ctrl_enabled(needed, s.control),
          fmt::format("Sunrise/Union Point root port: ACS control read as a dword at +8: capability {} "
                      "control {}{}",
                      flags_text(s.capabilities), flags_text(s.control), s.note.empty() ? "" : " (" + s.note + ")"));
    }
    case AcsQuirkKind::kCavium: {
      if (!cavium_acs_id(v.config.device_id())) return {};
      const Tristate rp = v.is_type({PcieType::kRootPort}, true);
      if (rp == Tristate::kUnknown) return unknown("type");
      if (rp == Tristate::kNo) return {};
      return isolating("Cavium ThunderX root ports");
    }
    case AcsQuirkKind::kAnnapurnaRootPort: {
      const Tristate rp = v.is_type({PcieType::kRootPort}, false);
      if (rp == Tristate::kUnknown) return unknown("type");
      if (rp == Tristate::kNo) return {};
      return answer((flags & ~kReqAcsFlags) == 0, "Annapurna Labs root ports cannot send traffic to each other");
    }
    case AcsQuirkKind::kZhaoxinPorts: {
      const Tristate port = v.is_type({PcieType::kRootPort, PcieType::kDownstreamPort}, true);
      if (port == Tristate::kUnknown) return unknown("type");
      if (port == Tristate::kNo) return {};
      if (!zhaoxin_acs_id(v.config.device_id())) {
        return answer(false, "a Zhaoxin root/downstream port outside the quirk's ID list is declared not isolated");
      }
      return isolating("these Zhaoxin root/downstream ports");
    }
    case AcsQuirkKind::kWangxunNic: {
      if (!wangxun_acs_id(v.config.device_id(), options.include_after_6_6_14_quirks)) {
        return answer(false, "a Wangxun device outside the quirk's ID list is declared not isolated");
      }
      return isolating("Wangxun NIC functions");
    }
  }
  return {};
}

bool row_matches(const AcsQuirk& row, const pci::ConfigSpace& config) {
  return (row.vendor == kPciAnyId || row.vendor == config.vendor_id()) &&
         (row.device == kPciAnyId || row.device == config.device_id());
}

// pcie_acs_overrides() of the out-of-tree patch.
QuirkOutcome evaluate_override(const AcsOverride& ov, const View& v) {
  if (v.pcie() == Presence::kUnknown) {
    return {QuirkAnswer::kUnknown, "pcie_acs_override needs to know whether " + v.name + " is PCIe"};
  }
  if (v.pcie() == Presence::kAbsent) return {};
  const Presence acs = v.config.acs_presence();
  if (acs == Presence::kUnknown) {
    return {QuirkAnswer::kUnknown,
            "pcie_acs_override skips devices with an ACS capability, and whether " + v.name + " has one is unknown"};
  }
  if (acs == Presence::kPresent) return {};
  for (const auto& id : ov.ids) {
    if (id.vendor == v.config.vendor_id() && id.device == v.config.device_id()) {
      return {QuirkAnswer::kYes, fmt::format("pcie_acs_override=id:{:04x}:{:04x}", id.vendor, id.device)};
    }
  }
  switch (*v.type()) {
    case PcieType::kDownstreamPort:
    case PcieType::kRootPort:
      if (ov.downstream) return {QuirkAnswer::kYes, "pcie_acs_override=downstream"};
      break;
    case PcieType::kEndpoint:
    case PcieType::kUpstreamPort:
    case PcieType::kLegacyEndpoint:
    case PcieType::kRcIntegratedEndpoint:
      if (ov.multifunction && kernel_multifunction(v.topology, v.index)) {
        return {QuirkAnswer::kYes, "pcie_acs_override=multifunction"};
      }
      break;
    default: break;
  }
  return {};
}

}  // namespace

std::string_view tristate_name(Tristate value) {
  switch (value) {
    case Tristate::kNo: return "no";
    case Tristate::kYes: return "yes";
    case Tristate::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string_view acs_rule_name(AcsRule rule) {
  switch (rule) {
    case AcsRule::kQuirk: return "quirk";
    case AcsRule::kOverride: return "pcie_acs_override";
    case AcsRule::kConventional: return "conventional-pci";
    case AcsRule::kNeverIsolating: return "bridge-type";
    case AcsRule::kPortControl: return "port-acs-control";
    case AcsRule::kMultifunctionControl: return "multifunction-acs-control";
    case AcsRule::kSingleFunction: return "single-function";
    case AcsRule::kUnknown: return "unknown";
  }
  return "unknown";
}

void apply_command_line(AcsOptions& options, const AcsCommandLine& cmdline, bool has_acs_override_patch,
                        bool has_config_acs) {
  options.acs_override = has_acs_override_patch ? cmdline.acs_override : std::nullopt;
  options.disable_acs_redir = cmdline.disable_acs_redir;
  options.config_acs = has_config_acs ? cmdline.config_acs : std::vector<ConfigAcsEntry>{};
}

bool kernel_multifunction(const pci::Topology& topology, std::size_t device) {
  const auto& config = topology.config(device);
  if (config.is_multifunction()) return true;
  if (topology.record(device).is_virtfn) return false;
  const pci::Bdf& bdf = topology.bdf(device);
  if (bdf.function() != 0) return true;  // pci_scan_slot: fn > 0
  if (bdf.device() == 0) return false;
  // Below a root or downstream port only device 0 is scanned
  // (only_one_child) unless ARI finds more: then fn > 0 as well.
  const auto parent = topology.parent(device);
  if (!parent) return false;
  const auto& up = topology.config(*parent);
  return up.is_pcie() && (up.pcie()->type() == PcieType::kRootPort || up.pcie()->type() == PcieType::kDownstreamPort);
}

std::optional<std::uint16_t> effective_acs_control(const pci::Topology& topology, std::size_t device,
                                                   const AcsOptions& options) {
  const View v(topology, device);
  const ControlState s = control_state(v, options);
  if (s.presence != Presence::kPresent) return std::nullopt;
  return s.control;
}

AcsDecision pci_acs_enabled(const pci::Topology& topology, std::size_t device, std::uint16_t flags,
                            const AcsOptions& options) {
  const View v(topology, device);
  AcsDecision d;
  // 1. pci_dev_specific_acs_enabled().
  const auto rows = acs_quirks();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const AcsQuirk& row = rows[r];
    if (row.era == AcsQuirkEra::kAfter6614 && !options.include_after_6_6_14_quirks) continue;
    if (!row_matches(row, v.config)) continue;
    const QuirkOutcome q = evaluate_quirk(row, v, flags, options);
    if (q.answer == QuirkAnswer::kNoMatch) continue;
    d.rule = q.answer == QuirkAnswer::kUnknown ? AcsRule::kUnknown : AcsRule::kQuirk;
    d.quirk_row = r;
    d.enabled = q.answer == QuirkAnswer::kUnknown ? Tristate::kUnknown : tri(q.answer == QuirkAnswer::kYes);
    d.explanation = fmt::format("{}: {} ({}, drivers/pci/quirks.c): {}", v.name, acs_quirk_function(row.kind),
                                row.device_name, q.why);
    return d;
  }
  if (options.acs_override) {
    const QuirkOutcome q = evaluate_override(*options.acs_override, v);
    if (q.answer != QuirkAnswer::kNoMatch) {
      d.rule = q.answer == QuirkAnswer::kUnknown ? AcsRule::kUnknown : AcsRule::kOverride;
      d.enabled = q.answer == QuirkAnswer::kUnknown ? Tristate::kUnknown : tri(q.answer == QuirkAnswer::kYes);
      d.explanation =
          fmt::format("{}: {} (out-of-tree pcie_acs_overrides: assumed isolated, not verified)", v.name, q.why);
      return d;
    }
  }
  // 2. Conventional PCI.
  if (v.pcie() == Presence::kUnknown) {
    d.explanation = fmt::format(
        "{}: only the first {} bytes of config space are known, so whether it is PCI "
        "Express (and its port type) is unknown",
        v.name, v.config.size());
    return d;
  }
  if (v.pcie() == Presence::kAbsent) {
    d.enabled = Tristate::kNo;
    d.rule = AcsRule::kConventional;
    d.explanation = fmt::format(
        "{}: conventional PCI never isolates: every device on a shared bus can see the "
        "others' DMA (pci_acs_enabled)",
        v.name);
    return d;
  }
  const PcieType type = *v.type();
  const std::string type_name = pci::pcie_type_name(type);
  const bool mf = kernel_multifunction(topology, device);
  switch (type) {
    case PcieType::kPciToPcieBridge:
    case PcieType::kPcieToPciBridge:
    case PcieType::kRcEventCollector:
      d.enabled = Tristate::kNo;
      d.rule = AcsRule::kNeverIsolating;
      d.explanation = fmt::format("{}: a {} is never treated as isolating (pci_acs_enabled, PCIe 3.0 sec 6.12.1)",
                                  v.name, type_name);
      return d;
    case PcieType::kDownstreamPort:
    case PcieType::kRootPort:
      return flags_enabled(v, flags, options, AcsRule::kPortControl,
                           fmt::format("a {} must provide {} in ACS", type_name, flags_text(flags)));
    case PcieType::kEndpoint:
    case PcieType::kUpstreamPort:
    case PcieType::kLegacyEndpoint:
    case PcieType::kRcIntegratedEndpoint:
      if (mf) {
        return flags_enabled(v, flags, options, AcsRule::kMultifunctionControl,
                             fmt::format("a multifunction {} must provide {} in ACS", type_name, flags_text(flags)));
      }
      break;
    default: break;
  }
  d.enabled = Tristate::kYes;
  d.rule = AcsRule::kSingleFunction;
  d.explanation =
      fmt::format("{}: a single-function {} needs no ACS (pci_acs_enabled, PCIe 3.0 sec 6.12.1.3)", v.name, type_name);
  return d;
}

AcsPathDecision pci_acs_path_enabled(const pci::Topology& topology, std::size_t start, std::uint16_t flags,
                                     const AcsOptions& options) {
  AcsPathDecision out;
  out.enabled = Tristate::kYes;
  std::size_t cur = start;
  for (;;) {
    const AcsDecision d = pci_acs_enabled(topology, cur, flags, options);
    if (d.enabled == Tristate::kNo) {
      out.enabled = Tristate::kNo;
      out.culprit = cur;
      out.explanation = d.explanation;
      return out;
    }
    if (d.enabled == Tristate::kUnknown && out.enabled == Tristate::kYes) {
      out.enabled = Tristate::kUnknown;
      out.culprit = cur;
      out.explanation = d.explanation;
    }
    if (topology.on_root_bus(cur)) break;
    const auto up = topology.parent(cur);
    if (!up) {
      if (out.enabled == Tristate::kYes) {
        out.enabled = Tristate::kUnknown;
        out.culprit = cur;
        out.explanation = fmt::format(
            "the bridge above {} is not among the records, so the path to the root bus "
            "is unknown",
            topology.bdf(cur).to_string());
      }
      return out;
    }
    cur = *up;
  }
  if (out.enabled == Tristate::kYes) {
    out.explanation = fmt::format("every function from {} to the root bus provides {} (pci_acs_path_enabled)",
                                  topology.bdf(start).to_string(), flags_text(flags));
  }
  return out;
}

}  // namespace iovakit::kernel
