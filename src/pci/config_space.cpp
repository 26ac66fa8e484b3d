#include "iovakit/pci/config_space.h"

#include <fmt/core.h>

#include <bitset>
#include <utility>

namespace iovakit::pci {

namespace {

constexpr std::size_t kStatusOffset = 0x06;
constexpr std::uint16_t kStatusCapList = 0x0010;      // PCI_STATUS_CAP_LIST
constexpr std::size_t kCapListPointer = 0x34;         // PCI_CAPABILITY_LIST
constexpr std::size_t kCardbusCapListPointer = 0x14;  // PCI_CB_CAPABILITY_LIST
constexpr std::uint8_t kCapIdPcix = 0x07;             // PCI_CAP_ID_PCIX

Error config_error(Errc code, std::size_t offset, std::string message) {
  return {code, std::move(message), Location{{}, std::nullopt, offset}};
}

ConfigExtent extent_of(std::size_t size) {
  switch (size) {
    case kConfigHeaderSize: return ConfigExtent::kHeader;
    case kConfigCardbusUserSize: return ConfigExtent::kCardbusHeader;
    case kConfigStandardSize: return ConfigExtent::kStandard;
    case kConfigExtendedSize: return ConfigExtent::kExtended;
    default: return ConfigExtent::kOther;
  }
}

}  // namespace

std::string_view header_type_name(HeaderType type) {
  switch (type) {
    case HeaderType::kNormal: return "normal";
    case HeaderType::kBridge: return "PCI-to-PCI bridge";
    case HeaderType::kCardbus: return "CardBus bridge";
  }
  return "unknown";
}

std::string pcie_type_name(PcieType type) {
  switch (type) {
    case PcieType::kEndpoint: return "Endpoint";
    case PcieType::kLegacyEndpoint: return "Legacy Endpoint";
    case PcieType::kRootPort: return "Root Port";
    case PcieType::kUpstreamPort: return "Upstream Port";
    case PcieType::kDownstreamPort: return "Downstream Port";
    case PcieType::kPcieToPciBridge: return "PCIe-to-PCI/PCI-X Bridge";
    case PcieType::kPciToPcieBridge: return "PCI/PCI-X-to-PCIe Bridge";
    case PcieType::kRcIntegratedEndpoint: return "Root Complex Integrated Endpoint";
    case PcieType::kRcEventCollector: return "Root Complex Event Collector";
  }
  return fmt::format("reserved type {:#x}", static_cast<unsigned>(type));
}

std::string_view config_extent_name(ConfigExtent extent) {
  switch (extent) {
    case ConfigExtent::kHeader: return "64-byte header (non-root sysfs read)";
    case ConfigExtent::kCardbusHeader: return "128-byte CardBus header (non-root sysfs read)";
    case ConfigExtent::kStandard: return "256-byte conventional config space";
    case ConfigExtent::kExtended: return "4096-byte extended config space";
    case ConfigExtent::kOther: return "partial config space";
  }
  return "unknown";
}

std::string acs_flags_string(std::uint16_t flags) {
  static constexpr std::pair<std::uint16_t, std::string_view> kNames[] = {
      {kAcsSourceValidation, "SV"},    {kAcsTranslationBlocking, "TB"}, {kAcsRequestRedirect, "RR"},
      {kAcsCompletionRedirect, "CR"},  {kAcsUpstreamForwarding, "UF"},  {kAcsEgressControl, "EC"},
      {kAcsDirectTranslatedP2p, "DT"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "-" : out;
}

Result<ConfigSpace> ConfigSpace::parse(std::span<const std::uint8_t> bytes, ConfigParseOptions options) {
  if (bytes.size() < kConfigHeaderSize) {
    return config_error(Errc::kTruncated, bytes.size(),
                        fmt::format("config space is {} bytes; the 64-byte header is incomplete", bytes.size()));
  }
  if (bytes.size() > kConfigExtendedSize) {
    return config_error(Errc::kParse, kConfigExtendedSize,
                        fmt::format("config space is {} bytes; PCI Express stops at 4096", bytes.size()));
  }
  ConfigSpace config;
  config.bytes_.assign(bytes.begin(), bytes.end());
  config.extent_ = extent_of(bytes.size());
  config.virtual_function_ = options.virtual_function;

  // pci_bus_generic_read_dev_vendor_id (drivers/pci/probe.c): these ID
  // dwords mean nothing answered at this address.
  const std::uint32_t ids = *config.read32(0);
  if (!options.virtual_function && (ids == 0xffffffffU || ids == 0 || ids == 0x0000ffffU || ids == 0xffff0000U)) {
    return config_error(Errc::kParse, 0,
                        fmt::format("vendor/device ID dword {:#010x}: no device responds at this address", ids));
  }
  const std::uint8_t raw_type = config.bytes_[0x0e];
  if ((raw_type & 0x7fU) > static_cast<unsigned>(HeaderType::kCardbus)) {
    return config_error(
        Errc::kUnsupported, 0x0e,
        fmt::format("unknown header type {:02x}, ignoring device (pci_setup_device)", raw_type & 0x7fU));
  }
  config.header_type_ = static_cast<HeaderType>(raw_type & 0x7fU);
  config.class_ = ClassCode((static_cast<std::uint32_t>(config.bytes_[0x0b]) << 16U) |
                            (static_cast<std::uint32_t>(config.bytes_[0x0a]) << 8U) | config.bytes_[0x09]);
  config.kernel_class_ = config.class_;

  if (config.extent_ == ConfigExtent::kOther) {
    config.issues_.push_back(
        {ConfigIssueKind::kUnusualSize, bytes.size(),
         fmt::format("{} bytes is not a size sysfs produces (64, 128, 256 or 4096)", bytes.size())});
  }
  config.walk_capabilities();
  config.decode_features();
  config.walk_extended_capabilities();
  // The first ACS entry is the one pci_acs_init keeps, even when the list
  // later runs past the data.
  if (const auto acs = config.find_extended_capability(kExtCapIdAcs)) {
    const auto cap = config.read16(acs->offset + 4U);
    const auto ctrl = config.read16(acs->offset + 6U);
    if (cap && ctrl) config.acs_ = AcsCapability{acs->offset, *cap, *ctrl};
  }
  return config;
}

std::optional<std::uint8_t> ConfigSpace::read8(std::size_t offset) const {
  if (offset >= bytes_.size()) return std::nullopt;
  return bytes_[offset];
}

std::optional<std::uint16_t> ConfigSpace::read16(std::size_t offset) const {
  if (offset > bytes_.size() || bytes_.size() - offset < 2) return std::nullopt;
  return header16(offset);
}

std::optional<std::uint32_t> ConfigSpace::read32(std::size_t offset) const {
  if (offset > bytes_.size() || bytes_.size() - offset < 4) return std::nullopt;
  return static_cast<std::uint32_t>(header16(offset)) | (static_cast<std::uint32_t>(header16(offset + 2)) << 16U);
}

void ConfigSpace::walk_capabilities() {
  if ((header16(kStatusOffset) & kStatusCapList) == 0) {
    capabilities_known_ = true;  // the kernel does not look at the pointer
    return;
  }
  std::size_t pointer_at = header_type_ == HeaderType::kCardbus ? kCardbusCapListPointer : kCapListPointer;
  std::bitset<kConfigStandardSize> seen;
  for (int ttl = kFindCapTtl;; --ttl) {
    std::size_t pos = bytes_[pointer_at];
    if (pos < kConfigHeaderSize) break;  // the end of the list
    if (ttl == 0) {
      issues_.push_back({ConfigIssueKind::kCapabilityTtlExhausted, pointer_at,
                         fmt::format("capability list still continues after {} entries; the kernel stops there "
                                     "(PCI_FIND_CAP_TTL)",
                                     kFindCapTtl)});
      break;
    }
    if ((pos & 3U) != 0) {
      issues_.push_back({ConfigIssueKind::kCapabilityMisaligned, pointer_at,
                         fmt::format("capability pointer {:#04x} is not dword aligned; the kernel uses {:#04x}", pos,
                                     pos & ~std::size_t{3})});
      pos &= ~std::size_t{3};
    }
    if (pos + 1 >= bytes_.size()) {
      issues_.push_back({ConfigIssueKind::kCapabilitiesBeyondData, pos,
                         fmt::format("the capability list continues at {:#04x}, beyond the {} bytes given ({}); "
                                     "PCI Express and other capabilities are unknown",
                                     pos, bytes_.size(), config_extent_name(extent_))});
      return;  // capabilities_known_ stays false
    }
    if (seen.test(pos)) {
      issues_.push_back({ConfigIssueKind::kCapabilityLoop, pointer_at,
                         fmt::format("capability pointer at {:#04x} leads back to the capability at {:#04x}; the "
                                     "kernel walks the loop until PCI_FIND_CAP_TTL ({}) runs out",
                                     pointer_at, pos, kFindCapTtl)});
      break;
    }
    const std::uint8_t id = bytes_[pos];
    if (id == 0xff) break;  // all ones: the kernel stops here
    seen.set(pos);
    capabilities_.push_back({id, static_cast<std::uint16_t>(pos)});
    pointer_at = pos + 1;
  }
  capabilities_known_ = true;
}

void ConfigSpace::walk_extended_capabilities() {
  if (bytes_.size() <= kConfigStandardSize) {
    // pci_find_next_ext_capability returns 0 when cfg_size <= 256. Whether the
    // kernel's cfg_size is 256 cannot be told from the bytes alone.
    const bool conventional = capabilities_known_ && !pcie_ && !find_capability(kCapIdPcix);
    extended_known_ = conventional && bytes_.size() == kConfigStandardSize;
    if (pcie_) {
      issues_.push_back(
          {ConfigIssueKind::kExtendedUnavailable, kConfigStandardSize,
           fmt::format("PCI Express function but only {} bytes of config space: extended capabilities (ACS, "
                       "SR-IOV, ...) are unknown. If root read 256 bytes from sysfs, the kernel itself has no "
                       "extended config space for it (cfg_size 256) and sees no ACS either",
                       bytes_.size())});
    }
    return;
  }
  std::size_t pos = kConfigStandardSize;
  std::size_t previous = pos;
  std::bitset<kConfigExtendedSize / 4> seen;
  int ttl = kFindExtCapTtl;
  while (pos >= kConfigStandardSize) {
    if (ttl-- <= 0) {
      issues_.push_back({ConfigIssueKind::kExtendedTtlExhausted, previous,
                         fmt::format("extended capability list still continues after {} entries; the kernel stops "
                                     "there ((4096 - 256) / 8)",
                                     kFindExtCapTtl)});
      break;
    }
    const auto header = read32(pos);
    if (!header) {
      issues_.push_back({ConfigIssueKind::kCapabilitiesBeyondData, pos,
                         fmt::format("the extended capability list continues at {:#05x}, beyond the {} bytes given",
                                     pos, bytes_.size())});
      return;  // extended_known_ stays false
    }
    if (*header == 0) break;  // no (more) extended capabilities
    if (seen.test(pos / 4)) {
      issues_.push_back({ConfigIssueKind::kExtendedLoop, previous,
                         fmt::format("extended capability at {:#05x} links back to {:#05x}; the kernel walks the "
                                     "loop until its TTL ({}) runs out",
                                     previous, pos, kFindExtCapTtl)});
      break;
    }
    seen.set(pos / 4);
    extended_.push_back({static_cast<std::uint16_t>(*header & 0xffffU),
                         static_cast<std::uint8_t>((*header >> 16U) & 0xfU), static_cast<std::uint16_t>(pos)});
    previous = pos;
    pos = (*header >> 20U) & 0xffcU;  // PCI_EXT_CAP_NEXT
  }
  extended_known_ = true;
}

void ConfigSpace::decode_features() {
  if (const auto cap = find_capability(kCapIdPcie)) {
    if (const auto flags = read16(cap->offset + 2U)) pcie_ = PcieCapability{cap->offset, *flags};
  }
  switch (header_type_) {
    case HeaderType::kNormal:
      subsystem_vendor_ = read16(0x2c);
      subsystem_device_ = read16(0x2e);
      if (class_.is_pci_bridge()) kernel_class_ = ClassCode(0);
      break;
    case HeaderType::kBridge:
      if (const auto ssvid = find_capability(kCapIdSsvid)) {
        subsystem_vendor_ = read16(ssvid->offset + 4U);
        subsystem_device_ = read16(ssvid->offset + 6U);
      }
      break;
    case HeaderType::kCardbus:
      subsystem_vendor_ = read16(0x40);
      subsystem_device_ = read16(0x42);
      if (!class_.is_cardbus_bridge()) kernel_class_ = ClassCode(0);
      break;
  }
  if (header_type_ != HeaderType::kNormal) {
    bus_numbers_ = BusNumbers{bytes_[0x18], bytes_[0x19], bytes_[0x1a]};
  }
  if (kernel_class_ != class_) {
    issues_.push_back({ConfigIssueKind::kClassHeaderMismatch, 0x09,
                       fmt::format("the kernel logs \"ignoring class {:#08x} (doesn't match header type {:02x})\" "
                                   "and keeps class 0 (pci_setup_device)",
                                   class_.value(), static_cast<unsigned>(header_type_))});
  }
}

std::optional<Capability> ConfigSpace::find_capability(std::uint8_t id) const {
  for (const auto& cap : capabilities_) {
    if (cap.id == id) return cap;
  }
  return std::nullopt;
}

std::optional<ExtendedCapability> ConfigSpace::find_extended_capability(std::uint16_t id) const {
  for (const auto& cap : extended_) {
    if (cap.id == id) return cap;
  }
  return std::nullopt;
}

Presence ConfigSpace::pcie_presence() const {
  if (pcie_) return Presence::kPresent;
  if (!capabilities_known_) return Presence::kUnknown;
  // A capability found but whose flags lie beyond the data is unknown too.
  return find_capability(kCapIdPcie) ? Presence::kUnknown : Presence::kAbsent;
}

Presence ConfigSpace::acs_presence() const {
  if (acs_) return Presence::kPresent;
  if (!extended_known_) return Presence::kUnknown;
  return find_extended_capability(kExtCapIdAcs) ? Presence::kUnknown : Presence::kAbsent;
}

}  // namespace iovakit::pci
