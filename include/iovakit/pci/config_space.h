// iovakit/pci/config_space.h: decoding a PCI function's configuration space.
//
// Design
// ------
// Input is the bytes of /sys/bus/pci/devices/<bdf>/config (or any dump of the
// same registers). That file is 256 bytes for conventional devices and 4096 for
// PCIe ones when read by root, but a non-root reader gets only 64 bytes (128 for
// CardBus bridges): pci_read_config, drivers/pci/pci-sysfs.c ("Several chips
// lock up trying to read undefined config space"). The parser accepts any
// length from 64 to 4096, records which registers were present (extent()), and
// answers "unknown" rather than "absent" for what lies beyond the data:
// capability lists start at 0x40 or later, so a 64-byte read knows the header
// (IDs, class, header type, bridge bus numbers) but not whether the function is
// PCIe, and only a 4096-byte read shows extended capabilities such as ACS.
//
// Fatal problems are Errors with the byte offset: fewer than 64 bytes, more
// than 4096, no device behind the ID registers (the dword at 0 reads
// 0xffffffff, 0, 0x0000ffff or 0xffff0000: pci_bus_generic_read_dev_vendor_id,
// drivers/pci/probe.c) unless the caller says it is an SR-IOV VF, whose ID
// registers read 0xffff by specification, and a header type other than 0, 1, 2
// ("unknown header type %02x, ignoring device", pci_setup_device). Everything
// the kernel tolerates is an issue() instead, with its offset and a sentence:
//
// * Capability list (pci_find_capability -> __pci_find_next_cap_ttl,
//   drivers/pci/pci.c in 6.1; the PCI_FIND_NEXT_CAP() macro in
//   drivers/pci/pci.h since 6.18, same behaviour in 7.0): walked only when
//   Status bit 4 (Capabilities List) is set, from 0x34 (0x14 for CardBus),
//   at most PCI_FIND_CAP_TTL = 48 steps; a pointer below 0x40 ends the list,
//   the low two bits are masked off, an ID of 0xff ends it. A pointer cycle is
//   reported where it closes; the kernel just runs out of TTL.
// * Extended capabilities (pci_find_next_ext_capability; PCI_FIND_NEXT_EXT_CAP
//   since 6.18): only when more than 256 bytes exist, from 0x100, at most
//   (4096 - 256) / 8 = 480 steps, a zero header ends the list, next pointers
//   below 0x100 end it, PCI_EXT_CAP_NEXT masks with 0xffc.
// * The PCI Express capability is the first ID 0x10 (set_pcie_port_type);
//   its flags word gives the Device/Port Type (PCI_EXP_FLAGS_TYPE, bits 7:4).
//   ACS is the first extended ID 0x000d (pci_acs_init); its capability and
//   control words are at +4 and +6.
// * A normal header whose class is PCI-to-PCI bridge, or a CardBus header
//   whose class is not CardBus bridge, makes the kernel replace the class with
//   0 ("ignoring class %#08x (doesn't match header type %02x)",
//   pci_setup_device); kernel_class() returns what the kernel keeps.
//
// The bytes are kept (at most 4 KiB per function) so later layers can read
// registers this type does not decode.
//
// Complexity: parse is O(size); lookups are O(number of capabilities).
// Thread safety: immutable after parse; const methods may be called
// concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/pci/class_code.h"
#include "iovakit/result.h"

namespace iovakit::pci {

// Sizes of the sysfs config file (PCI_STD_HEADER_SIZEOF, the non-root CardBus
// view, PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_EXP_SIZE).
inline constexpr std::size_t kConfigHeaderSize = 64;
inline constexpr std::size_t kConfigCardbusUserSize = 128;
inline constexpr std::size_t kConfigStandardSize = 256;
inline constexpr std::size_t kConfigExtendedSize = 4096;
// PCI_FIND_CAP_TTL (drivers/pci/pci.c in 6.1, drivers/pci/pci.h in 7.0).
inline constexpr int kFindCapTtl = 48;
// (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8: the extended-list TTL.
inline constexpr int kFindExtCapTtl = static_cast<int>((kConfigExtendedSize - kConfigStandardSize) / 8);

inline constexpr std::uint8_t kCapIdPcie = 0x10;       // PCI_CAP_ID_EXP
inline constexpr std::uint8_t kCapIdSsvid = 0x0d;      // PCI_CAP_ID_SSVID (bridge subsystem IDs)
inline constexpr std::uint16_t kExtCapIdAcs = 0x000d;  // PCI_EXT_CAP_ID_ACS

// PCI_ACS_* bits of the ACS capability and control registers.
inline constexpr std::uint16_t kAcsSourceValidation = 0x0001;     // SV
inline constexpr std::uint16_t kAcsTranslationBlocking = 0x0002;  // TB
inline constexpr std::uint16_t kAcsRequestRedirect = 0x0004;      // RR
inline constexpr std::uint16_t kAcsCompletionRedirect = 0x0008;   // CR
inline constexpr std::uint16_t kAcsUpstreamForwarding = 0x0010;   // UF
inline constexpr std::uint16_t kAcsEgressControl = 0x0020;        // EC
inline constexpr std::uint16_t kAcsDirectTranslatedP2p = 0x0040;  // DT

// Header Type register bits 6:0 (PCI_HEADER_TYPE_NORMAL/BRIDGE/CARDBUS).
enum class HeaderType : std::uint8_t { kNormal = 0, kBridge = 1, kCardbus = 2 };
std::string_view header_type_name(HeaderType type);

// PCI_EXP_TYPE_*: the Device/Port Type of the PCI Express capability. Values
// 2, 3 and 0xb-0xf are reserved and kept as they are.
enum class PcieType : std::uint8_t {
  kEndpoint = 0x0,              // PCI_EXP_TYPE_ENDPOINT
  kLegacyEndpoint = 0x1,        // PCI_EXP_TYPE_LEG_END
  kRootPort = 0x4,              // PCI_EXP_TYPE_ROOT_PORT
  kUpstreamPort = 0x5,          // PCI_EXP_TYPE_UPSTREAM (switch upstream port)
  kDownstreamPort = 0x6,        // PCI_EXP_TYPE_DOWNSTREAM (switch downstream port)
  kPcieToPciBridge = 0x7,       // PCI_EXP_TYPE_PCI_BRIDGE (PCIe-to-PCI/PCI-X)
  kPciToPcieBridge = 0x8,       // PCI_EXP_TYPE_PCIE_BRIDGE (PCI/PCI-X-to-PCIe)
  kRcIntegratedEndpoint = 0x9,  // PCI_EXP_TYPE_RC_END
  kRcEventCollector = 0xa,      // PCI_EXP_TYPE_RC_EC
};
std::string pcie_type_name(PcieType type);

// What the buffer covered.
enum class ConfigExtent : std::uint8_t {
  kHeader,         // 64 bytes: the non-root sysfs view
  kCardbusHeader,  // 128 bytes: the non-root view of a CardBus bridge
  kStandard,       // 256 bytes: conventional config space
  kExtended,       // 4096 bytes: PCIe extended config space
  kOther,          // any other length between 64 and 4096
};
std::string_view config_extent_name(ConfigExtent extent);

// Whether a capability is there, as far as the bytes tell.
enum class Presence : std::uint8_t { kPresent, kAbsent, kUnknown };

struct Capability {
  std::uint8_t id = 0;
  std::uint16_t offset = 0;
  friend bool operator==(const Capability&, const Capability&) = default;
};

struct ExtendedCapability {
  std::uint16_t id = 0;
  std::uint8_t version = 0;
  std::uint16_t offset = 0;
  friend bool operator==(const ExtendedCapability&, const ExtendedCapability&) = default;
};

struct PcieCapability {
  std::uint16_t offset = 0;
  std::uint16_t flags = 0;  // PCI_EXP_FLAGS
  [[nodiscard]] PcieType type() const { return static_cast<PcieType>((flags >> 4U) & 0xfU); }
  [[nodiscard]] unsigned version() const { return flags & 0xfU; }
  [[nodiscard]] bool slot_implemented() const { return (flags & 0x100U) != 0; }
};

struct AcsCapability {
  std::uint16_t offset = 0;
  std::uint16_t capabilities = 0;  // PCI_ACS_CAP
  std::uint16_t control = 0;       // PCI_ACS_CTRL
  // Egress Control Vector Size, bits 15:8 of the capability register.
  [[nodiscard]] unsigned egress_vector_size() const { return capabilities >> 8U; }
};
// "SV TB RR CR UF EC DT" subset for the set bits, "-" for none.
std::string acs_flags_string(std::uint16_t flags);

// Type 1 and type 2 headers, offsets 0x18, 0x19, 0x1a.
struct BusNumbers {
  std::uint8_t primary = 0;
  std::uint8_t secondary = 0;
  std::uint8_t subordinate = 0;
  friend bool operator==(const BusNumbers&, const BusNumbers&) = default;
};

enum class ConfigIssueKind : std::uint8_t {
  kUnusualSize,             // not 64, 128, 256 or 4096 bytes
  kCapabilitiesBeyondData,  // the list continues past the bytes given
  kCapabilityMisaligned,    // a pointer with bits 1:0 set (the kernel masks them)
  kCapabilityLoop,          // pointers form a cycle
  kCapabilityTtlExhausted,  // 48 entries without an end
  kExtendedUnavailable,     // a PCIe function without its extended space
  kExtendedLoop,            // extended pointers form a cycle
  kExtendedTtlExhausted,    // 480 entries without an end
  kClassHeaderMismatch,     // pci_setup_device would drop the class
};

struct ConfigIssue {
  ConfigIssueKind kind;
  std::size_t offset;  // where in the config space the problem is
  std::string message;
};

struct ConfigParseOptions {
  // An SR-IOV virtual function: its Vendor and Device ID registers read
  // 0xffff (the kernel takes them from the PF), so they are not "no device".
  bool virtual_function = false;
};

class ConfigSpace {
 public:
  static Result<ConfigSpace> parse(std::span<const std::uint8_t> bytes, ConfigParseOptions options = {});

  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] ConfigExtent extent() const { return extent_; }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }
  // Little-endian reads; nullopt when the register lies beyond the data.
  [[nodiscard]] std::optional<std::uint8_t> read8(std::size_t offset) const;
  [[nodiscard]] std::optional<std::uint16_t> read16(std::size_t offset) const;
  [[nodiscard]] std::optional<std::uint32_t> read32(std::size_t offset) const;

  [[nodiscard]] std::uint16_t vendor_id() const { return header16(0x00); }
  [[nodiscard]] std::uint16_t device_id() const { return header16(0x02); }
  [[nodiscard]] std::uint16_t command() const { return header16(0x04); }
  [[nodiscard]] std::uint16_t status() const { return header16(0x06); }
  [[nodiscard]] std::uint8_t revision() const { return bytes_[0x08]; }
  // The class code as read from offsets 0x09-0x0b.
  [[nodiscard]] ClassCode class_code() const { return class_; }
  // The class code as the kernel keeps it in pci_dev->class (0 after a
  // class/header mismatch, see the design comment).
  [[nodiscard]] ClassCode kernel_class() const { return kernel_class_; }
  [[nodiscard]] HeaderType header_type() const { return header_type_; }
  // Header Type bit 7.
  [[nodiscard]] bool is_multifunction() const { return (bytes_[0x0e] & 0x80U) != 0; }
  [[nodiscard]] bool is_bridge_header() const { return header_type_ != HeaderType::kNormal; }
  [[nodiscard]] bool is_virtual_function() const { return virtual_function_; }

  // Subsystem vendor and device: offsets 0x2c/0x2e (type 0), 0x40/0x42
  // (type 2), or the SSVID capability (type 1). nullopt when not in the data.
  [[nodiscard]] std::optional<std::uint16_t> subsystem_vendor_id() const { return subsystem_vendor_; }
  [[nodiscard]] std::optional<std::uint16_t> subsystem_id() const { return subsystem_device_; }
  // Primary/secondary/subordinate bus numbers of type 1 and 2 headers.
  [[nodiscard]] std::optional<BusNumbers> bus_numbers() const { return bus_numbers_; }

  // Standard capabilities in list order, each offset once.
  [[nodiscard]] const std::vector<Capability>& capabilities() const { return capabilities_; }
  // True when the list was walked to its end inside the data.
  [[nodiscard]] bool capabilities_known() const { return capabilities_known_; }
  [[nodiscard]] std::optional<Capability> find_capability(std::uint8_t id) const;
  [[nodiscard]] const std::vector<ExtendedCapability>& extended_capabilities() const { return extended_; }
  [[nodiscard]] bool extended_capabilities_known() const { return extended_known_; }
  [[nodiscard]] std::optional<ExtendedCapability> find_extended_capability(std::uint16_t id) const;

  // The PCI Express capability; pcie_presence() tells absent from unknown.
  [[nodiscard]] const std::optional<PcieCapability>& pcie() const { return pcie_; }
  [[nodiscard]] Presence pcie_presence() const;
  [[nodiscard]] bool is_pcie() const { return pcie_.has_value(); }
  [[nodiscard]] const std::optional<AcsCapability>& acs() const { return acs_; }
  [[nodiscard]] Presence acs_presence() const;

  [[nodiscard]] const std::vector<ConfigIssue>& issues() const { return issues_; }

 private:
  ConfigSpace() = default;
  [[nodiscard]] std::uint16_t header16(std::size_t offset) const {
    return static_cast<std::uint16_t>(bytes_[offset] | (static_cast<unsigned>(bytes_[offset + 1]) << 8U));
  }
  void walk_capabilities();
  void walk_extended_capabilities();
  void decode_features();

  std::vector<std::uint8_t> bytes_;
  ConfigExtent extent_ = ConfigExtent::kHeader;
  bool virtual_function_ = false;
  ClassCode class_;
  ClassCode kernel_class_;
  HeaderType header_type_ = HeaderType::kNormal;
  std::optional<std::uint16_t> subsystem_vendor_;
  std::optional<std::uint16_t> subsystem_device_;
  std::optional<BusNumbers> bus_numbers_;
  std::vector<Capability> capabilities_;
  bool capabilities_known_ = false;
  std::vector<ExtendedCapability> extended_;
  bool extended_known_ = false;
  std::optional<PcieCapability> pcie_;
  std::optional<AcsCapability> acs_;
  std::vector<ConfigIssue> issues_;
};

}  // namespace iovakit::pci
