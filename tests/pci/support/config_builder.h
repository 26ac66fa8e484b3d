// Builds PCI config-space byte arrays by hand for tests: header fields,
// capability lists (standard and extended), and the usual device shapes.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "iovakit/pci/config_space.h"

namespace iovakit::pci::testing {

class ConfigBuilder {
 public:
  explicit ConfigBuilder(std::size_t size = kConfigExtendedSize) : bytes_(size, 0) {}

  ConfigBuilder& u8(std::size_t offset, std::uint8_t value) {
    if (offset < bytes_.size()) bytes_[offset] = value;
    return *this;
  }
  ConfigBuilder& u16(std::size_t offset, std::uint16_t value) {
    return u8(offset, static_cast<std::uint8_t>(value & 0xffU)).u8(offset + 1, static_cast<std::uint8_t>(value >> 8U));
  }
  ConfigBuilder& u32(std::size_t offset, std::uint32_t value) {
    return u16(offset, static_cast<std::uint16_t>(value & 0xffffU))
        .u16(offset + 2, static_cast<std::uint16_t>(value >> 16U));
  }
  ConfigBuilder& ids(std::uint16_t vendor, std::uint16_t device) { return u16(0x00, vendor).u16(0x02, device); }
  ConfigBuilder& class_code(std::uint32_t value) {
    return u8(0x09, static_cast<std::uint8_t>(value & 0xffU))
        .u8(0x0a, static_cast<std::uint8_t>((value >> 8U) & 0xffU))
        .u8(0x0b, static_cast<std::uint8_t>((value >> 16U) & 0xffU));
  }
  ConfigBuilder& header(std::uint8_t type, bool multifunction = false) {
    return u8(0x0e, static_cast<std::uint8_t>(type | (multifunction ? 0x80U : 0U)));
  }
  ConfigBuilder& buses(std::uint8_t primary, std::uint8_t secondary, std::uint8_t subordinate) {
    return u8(0x18, primary).u8(0x19, secondary).u8(0x1a, subordinate);
  }
  ConfigBuilder& subsystem(std::uint16_t vendor, std::uint16_t device) { return u16(0x2c, vendor).u16(0x2e, device); }
  // Sets Status.CapList and the list head (0x34, or 0x14 for CardBus).
  ConfigBuilder& cap_list(std::uint8_t first, std::size_t head = 0x34) {
    return u8(0x06, static_cast<std::uint8_t>(bytes_.at(0x06) | 0x10U)).u8(head, first);
  }
  ConfigBuilder& cap(std::size_t offset, std::uint8_t id, std::uint8_t next) {
    return u8(offset, id).u8(offset + 1, next);
  }
  ConfigBuilder& pcie_cap(std::size_t offset, PcieType type, std::uint8_t next = 0) {
    cap(offset, kCapIdPcie, next);
    return u16(offset + 2, static_cast<std::uint16_t>(0x0002U | (static_cast<unsigned>(type) << 4U)));
  }
  ConfigBuilder& ext_cap(std::size_t offset, std::uint16_t id, std::uint8_t version, std::uint16_t next) {
    return u32(offset, static_cast<std::uint32_t>(id) | (static_cast<std::uint32_t>(version & 0xfU) << 16U) |
                           (static_cast<std::uint32_t>(next) << 20U));
  }
  ConfigBuilder& acs(std::size_t offset, std::uint16_t capabilities, std::uint16_t control, std::uint16_t next = 0) {
    ext_cap(offset, kExtCapIdAcs, 1, next);
    return u16(offset + 4, capabilities).u16(offset + 6, control);
  }
  ConfigBuilder& truncate(std::size_t size) {
    bytes_.resize(size);
    return *this;
  }

  [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  [[nodiscard]] ConfigSpace parse(ConfigParseOptions options = {}) const {
    auto config = ConfigSpace::parse(bytes_, options);
    EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().to_string());
    return std::move(config).value();
  }

 private:
  std::vector<std::uint8_t> bytes_;
};

// A PCIe endpoint: PM at 0x40, MSI at 0x50, PCIe at 0x70; AER at 0x100.
inline ConfigBuilder pcie_endpoint(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
                                   PcieType type = PcieType::kEndpoint, bool multifunction = false) {
  ConfigBuilder b;
  b.ids(vendor, device).class_code(class_code).header(0, multifunction).cap_list(0x40);
  b.cap(0x40, 0x01, 0x50).cap(0x50, 0x05, 0x70).pcie_cap(0x70, type);
  b.ext_cap(0x100, 0x0001, 2, 0);
  return b;
}

// A conventional PCI function: PM and MSI only, 256 bytes.
inline ConfigBuilder conventional(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code,
                                  bool multifunction = false) {
  ConfigBuilder b(kConfigStandardSize);
  b.ids(vendor, device).class_code(class_code).header(0, multifunction).cap_list(0x50);
  b.cap(0x50, 0x01, 0x60).cap(0x60, 0x05, 0);
  return b;
}

// A PCIe port or PCIe-to-PCI bridge (type 1 header): SSVID at 0x40, PCIe at
// 0x60, ACS at 0x140 (SV RR CR UF capable and enabled) for ports.
inline ConfigBuilder pcie_bridge(std::uint16_t vendor, std::uint16_t device, PcieType type, std::uint8_t primary,
                                 std::uint8_t secondary, std::uint8_t subordinate) {
  ConfigBuilder b;
  b.ids(vendor, device).class_code(0x060400).header(1).buses(primary, secondary, subordinate).cap_list(0x40);
  b.cap(0x40, kCapIdSsvid, 0x60).u16(0x44, vendor).u16(0x46, 0x1234).pcie_cap(0x60, type);
  b.ext_cap(0x100, 0x0001, 2, 0x140).acs(0x140, 0x001f, 0x001d);
  return b;
}

// A conventional PCI-to-PCI bridge (no PCIe capability), 256 bytes.
inline ConfigBuilder pci_bridge(std::uint16_t vendor, std::uint16_t device, std::uint8_t primary,
                                std::uint8_t secondary, std::uint8_t subordinate, std::uint32_t class_code = 0x060400) {
  ConfigBuilder b(kConfigStandardSize);
  b.ids(vendor, device).class_code(class_code).header(1).buses(primary, secondary, subordinate).cap_list(0x50);
  b.cap(0x50, 0x01, 0);
  return b;
}

}  // namespace iovakit::pci::testing
