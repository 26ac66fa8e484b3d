// iovakit/pci/bdf.h: a PCI function's address, segment:bus:device.function.
//
// Design
// ------
// A Bdf names one PCI function the way Linux prints it (pci_name(), the
// directory names under /sys/bus/pci/devices): "%04x:%02x:%02x.%d", e.g.
// "0000:00:02.0". The segment (Linux: PCI domain) is kept in 32 bits because
// domains above 0xffff exist: Intel VMD creates its child domains from 0x10000
// upwards (vmd_find_free_domain), and they print with five hex digits
// ("10000:e0:1d.0"). ACPI tables (DMAR, IVRS, IORT) carry 16-bit segments, and
// Linux's DMAR code ignores devices whose domain exceeds U16_MAX
// (dmar_alloc_pci_notify_info, drivers/iommu/intel/dmar.c, 6.1 and 7.0), so
// is_acpi_segment() answers whether a table can name the device at all.
//
// The 8-bit devfn packs device (5 bits) and function (3 bits) exactly like the
// kernel's PCI_DEVFN(slot, func); the 16-bit requester ID (Linux
// pci_dev_id()/PCI_DEVID(bus, devfn), AMD's "devid" in IVRS) is bus<<8 | devfn.
//
// Parsing accepts "SSSS:BB:DD.F" (4 to 8 segment digits) and the short
// "BB:DD.F" (segment 0), hex digits in either case; anything else is an Error
// whose location is the byte offset of the first bad character. Bdfs order by
// (segment, bus, device, function), which is also lspci's order.
//
// Complexity: every operation is O(1) (parse is O(length of text)).
// Thread safety: a plain value.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "iovakit/result.h"

namespace iovakit::pci {

inline constexpr unsigned kMaxDevice = 31;
inline constexpr unsigned kMaxFunction = 7;

// PCI_DEVFN / PCI_SLOT / PCI_FUNC (include/uapi/linux/pci.h).
constexpr std::uint8_t make_devfn(unsigned device, unsigned function) {
  return static_cast<std::uint8_t>(((device & 0x1fU) << 3) | (function & 0x07U));
}
constexpr unsigned devfn_device(std::uint8_t devfn) { return devfn >> 3U; }
constexpr unsigned devfn_function(std::uint8_t devfn) { return devfn & 0x07U; }

// "02.0": the device.function part of a devfn, as the kernel prints it.
std::string format_devfn(std::uint8_t devfn);
// "00:02.0": a bus and devfn (a requester ID) without the segment.
std::string format_rid(std::uint16_t rid);

class Bdf {
 public:
  // 0000:00:00.0.
  constexpr Bdf() = default;
  // Precondition: device <= 31 and function <= 7 (checked: throws
  // std::invalid_argument, a programming error). Use make() for input.
  Bdf(std::uint32_t segment, std::uint8_t bus, unsigned device, unsigned function);
  // Any devfn is valid: every 8-bit value names a device and function.
  static constexpr Bdf from_devfn(std::uint32_t segment, std::uint8_t bus, std::uint8_t devfn) {
    return {RawTag{}, segment, bus, devfn};
  }

  static Result<Bdf> make(std::uint32_t segment, unsigned bus, unsigned device, unsigned function);
  // The requester ID form: bus = rid >> 8, devfn = rid & 0xff.
  static constexpr Bdf from_rid(std::uint32_t segment, std::uint16_t rid) {
    return from_devfn(segment, static_cast<std::uint8_t>(rid >> 8U), static_cast<std::uint8_t>(rid & 0xffU));
  }
  // "0000:00:02.0", "00:02.0" (segment 0), "10000:e0:1d.0".
  static Result<Bdf> parse(std::string_view text);

  [[nodiscard]] constexpr std::uint32_t segment() const { return segment_; }
  [[nodiscard]] constexpr std::uint8_t bus() const { return bus_; }
  [[nodiscard]] constexpr unsigned device() const { return devfn_device(devfn_); }
  [[nodiscard]] constexpr unsigned function() const { return devfn_function(devfn_); }
  [[nodiscard]] constexpr std::uint8_t devfn() const { return devfn_; }
  // pci_dev_id(): bus << 8 | devfn; AMD IVRS calls this the devid.
  [[nodiscard]] constexpr std::uint16_t rid() const {
    return static_cast<std::uint16_t>((static_cast<unsigned>(bus_) << 8U) | devfn_);
  }
  // True when an ACPI table's 16-bit segment field can name this device
  // (segment <= 0xffff); false for VMD child domains.
  [[nodiscard]] constexpr bool is_acpi_segment() const { return segment_ <= 0xffffU; }
  // Same segment and bus, another devfn.
  [[nodiscard]] constexpr Bdf with_devfn(std::uint8_t devfn) const { return from_devfn(segment_, bus_, devfn); }

  // "0000:00:02.0" (pci_name()'s "%04x:%02x:%02x.%d").
  [[nodiscard]] std::string to_string() const;
  // "00:02.0": bus:device.function, the form kernel DMAR messages print.
  [[nodiscard]] std::string to_short_string() const;

  friend constexpr bool operator==(const Bdf&, const Bdf&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  friend constexpr std::strong_ordering operator<=>(const Bdf&, const Bdf&) = default;

 private:
  struct RawTag {};
  constexpr Bdf(RawTag /*tag*/, std::uint32_t segment, std::uint8_t bus, std::uint8_t devfn)
      : segment_(segment), bus_(bus), devfn_(devfn) {}

  std::uint32_t segment_ = 0;
  std::uint8_t bus_ = 0;
  std::uint8_t devfn_ = 0;
};

}  // namespace iovakit::pci
