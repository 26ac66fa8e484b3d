// iovakit/pci/class_code.h: the 24-bit PCI class code and the kernel's tests on it.
//
// Design
// ------
// Config space offsets 0x09-0x0b hold the class code: base class (bits 23:16),
// sub-class (15:8) and programming interface (7:0). Linux keeps the same 24 bits
// in pci_dev->class and compares them in three widths, so this type offers all
// three: base() (class >> 16, PCI_BASE_CLASS_*), class16() (class >> 8,
// PCI_CLASS_*) and value() (all 24 bits, e.g. PCI_CLASS_STORAGE_EXPRESS).
//
// The predicates carry the kernel's names and meanings (include/linux/pci_ids.h,
// include/linux/pci.h), because IOMMU policy keys off them:
//   is_display()     class >> 16 == PCI_BASE_CLASS_DISPLAY (0x03); Intel
//                    device_rmrr_is_relaxable() (6.1: open-coded; 7.0:
//                    pci_is_display()) treats such RMRRs as relaxable.
//   is_usb()         class >> 8 == PCI_CLASS_SERIAL_USB (0x0c03), the other
//                    relaxable class.
//   is_isa_bridge()  class >> 8 == PCI_CLASS_BRIDGE_ISA (0x0601): the Intel
//                    floppy workaround's 0-16 MiB identity map (6.1 and 7.0).
//   is_bridge()      class >> 16 == PCI_BASE_CLASS_BRIDGE (0x06): what
//                    dmar_insert_dev_scope accepts for a BRIDGE scope on a
//                    normal header (the NTB exception).
// name() gives a short human name (pci.ids wording) for output; vendor and
// device names are the host layer's (libpci), not this type's.
//
// Complexity: O(1). Thread safety: a plain value.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace iovakit::pci {

// Base classes and 16-bit classes used by the predicates (pci_ids.h values).
inline constexpr std::uint8_t kBaseClassStorage = 0x01;
inline constexpr std::uint8_t kBaseClassNetwork = 0x02;
inline constexpr std::uint8_t kBaseClassDisplay = 0x03;
inline constexpr std::uint8_t kBaseClassBridge = 0x06;
inline constexpr std::uint8_t kBaseClassSerial = 0x0c;
inline constexpr std::uint16_t kClassNotDefined = 0x0000;
inline constexpr std::uint16_t kClassNotDefinedVga = 0x0001;
inline constexpr std::uint16_t kClassDisplayVga = 0x0300;
inline constexpr std::uint16_t kClassMultimediaHdAudio = 0x0403;
inline constexpr std::uint16_t kClassBridgeHost = 0x0600;
inline constexpr std::uint16_t kClassBridgeIsa = 0x0601;
inline constexpr std::uint16_t kClassBridgePci = 0x0604;
inline constexpr std::uint16_t kClassBridgeCardbus = 0x0607;
inline constexpr std::uint16_t kClassBridgeOther = 0x0680;
inline constexpr std::uint16_t kClassSerialUsb = 0x0c03;
inline constexpr std::uint32_t kClassStorageExpress = 0x010802;

class ClassCode {
 public:
  constexpr ClassCode() = default;
  // Only the low 24 bits are kept.
  constexpr explicit ClassCode(std::uint32_t value) : value_(value & 0xffffffU) {}

  [[nodiscard]] constexpr std::uint32_t value() const { return value_; }
  [[nodiscard]] constexpr std::uint8_t base() const { return static_cast<std::uint8_t>(value_ >> 16U); }
  [[nodiscard]] constexpr std::uint8_t sub() const { return static_cast<std::uint8_t>((value_ >> 8U) & 0xffU); }
  [[nodiscard]] constexpr std::uint8_t prog_if() const { return static_cast<std::uint8_t>(value_ & 0xffU); }
  [[nodiscard]] constexpr std::uint16_t class16() const { return static_cast<std::uint16_t>(value_ >> 8U); }

  [[nodiscard]] constexpr bool is_display() const { return base() == kBaseClassDisplay; }
  // pci_is_vga(): VGA-compatible display, or the pre-2.0 "not defined, VGA".
  [[nodiscard]] constexpr bool is_vga() const {
    return class16() == kClassDisplayVga || class16() == kClassNotDefinedVga;
  }
  [[nodiscard]] constexpr bool is_usb() const { return class16() == kClassSerialUsb; }
  [[nodiscard]] constexpr bool is_network() const { return base() == kBaseClassNetwork; }
  [[nodiscard]] constexpr bool is_storage() const { return base() == kBaseClassStorage; }
  [[nodiscard]] constexpr bool is_nvme() const { return value_ == kClassStorageExpress; }
  [[nodiscard]] constexpr bool is_hd_audio() const { return class16() == kClassMultimediaHdAudio; }
  [[nodiscard]] constexpr bool is_bridge() const { return base() == kBaseClassBridge; }
  [[nodiscard]] constexpr bool is_host_bridge() const { return class16() == kClassBridgeHost; }
  [[nodiscard]] constexpr bool is_isa_bridge() const { return class16() == kClassBridgeIsa; }
  [[nodiscard]] constexpr bool is_pci_bridge() const { return class16() == kClassBridgePci; }
  // PCI-to-PCI bridge with programming interface 01: subtractive decode
  // ("transparent", pci_setup_device).
  [[nodiscard]] constexpr bool is_subtractive_bridge() const { return is_pci_bridge() && prog_if() == 0x01; }
  [[nodiscard]] constexpr bool is_cardbus_bridge() const { return class16() == kClassBridgeCardbus; }
  // PCI_CLASS_BRIDGE_OTHER: non-transparent bridges (NTB) and similar.
  [[nodiscard]] constexpr bool is_other_bridge() const { return class16() == kClassBridgeOther; }

  // "VGA compatible controller", "USB controller (xHCI)", "Bridge [06:80]"...
  [[nodiscard]] std::string name() const;
  // "0x060400", the form of /sys/bus/pci/devices/*/class.
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const ClassCode&, const ClassCode&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  friend constexpr std::strong_ordering operator<=>(const ClassCode&, const ClassCode&) = default;

 private:
  std::uint32_t value_ = 0;
};

// The pci.ids name of a base class ("Display controller"), or "Unknown class".
std::string_view base_class_name(std::uint8_t base);

}  // namespace iovakit::pci
