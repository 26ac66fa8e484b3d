#include "iovakit/pci/bdf.h"

#include <fmt/core.h>

#include <stdexcept>

namespace iovakit::pci {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error bad(std::string_view text, std::size_t offset, std::string_view what) {
  return {Errc::kParse,
          fmt::format("\"{}\" is not a PCI address (expected SSSS:BB:DD.F or BB:DD.F): {}", text.substr(0, 64), what),
          Location{{}, std::nullopt, offset}};
}

// Reads between min_digits and max_digits hex digits at text[pos].
bool read_hex(std::string_view text, std::size_t& pos, std::size_t min_digits, std::size_t max_digits,
              std::uint32_t& value) {
  const std::size_t start = pos;
  value = 0;
  while (pos < text.size() && pos - start < max_digits) {
    const int digit = hex_digit(text[pos]);
    if (digit < 0) break;
    value = (value << 4U) | static_cast<std::uint32_t>(digit);
    ++pos;
  }
  return pos - start >= min_digits;
}

}  // namespace

std::string format_devfn(std::uint8_t devfn) {
  return fmt::format("{:02x}.{:x}", devfn_device(devfn), devfn_function(devfn));
}

std::string format_rid(std::uint16_t rid) {
  return fmt::format("{:02x}:{}", rid >> 8U, format_devfn(static_cast<std::uint8_t>(rid & 0xffU)));
}

Bdf::Bdf(std::uint32_t segment, std::uint8_t bus, unsigned device, unsigned function) : segment_(segment), bus_(bus) {
  if (device > kMaxDevice || function > kMaxFunction) {
    throw std::invalid_argument(
        fmt::format("iovakit::pci::Bdf: device {} / function {} out of range", device, function));
  }
  devfn_ = make_devfn(device, function);
}

Result<Bdf> Bdf::make(std::uint32_t segment, unsigned bus, unsigned device, unsigned function) {
  if (bus > 0xff) return Error(Errc::kInvalidArgument, fmt::format("bus {:#x} is above 0xff", bus));
  if (device > kMaxDevice) return Error(Errc::kInvalidArgument, fmt::format("device {:#x} is above 0x1f", device));
  if (function > kMaxFunction) return Error(Errc::kInvalidArgument, fmt::format("function {} is above 7", function));
  return Bdf(segment, static_cast<std::uint8_t>(bus), device, function);
}

Result<Bdf> Bdf::parse(std::string_view text) {
  // Decide between the long and the short form by counting colons.
  std::size_t colons = 0;
  for (const char c : text) colons += c == ':' ? 1 : 0;
  if (colons != 1 && colons != 2) return bad(text, 0, "expected one or two ':'");

  std::size_t pos = 0;
  std::uint32_t segment = 0;
  if (colons == 2) {
    if (!read_hex(text, pos, 4, 8, segment)) return bad(text, 0, "the segment needs 4 to 8 hex digits");
    if (pos >= text.size() || text[pos] != ':') return bad(text, pos, "expected ':' after the segment");
    ++pos;
  }
  std::uint32_t bus = 0;
  const std::size_t bus_at = pos;
  if (!read_hex(text, pos, 2, 2, bus) || pos >= text.size() || text[pos] != ':') {
    return bad(text, bus_at, "the bus needs exactly 2 hex digits followed by ':'");
  }
  ++pos;
  std::uint32_t device = 0;
  const std::size_t device_at = pos;
  if (!read_hex(text, pos, 2, 2, device) || pos >= text.size() || text[pos] != '.') {
    return bad(text, device_at, "the device needs exactly 2 hex digits followed by '.'");
  }
  if (device > kMaxDevice) return bad(text, device_at, fmt::format("device {:02x} is above 1f", device));
  ++pos;
  if (pos + 1 != text.size() || text[pos] < '0' || text[pos] > '7') {
    return bad(text, pos, "the function must be one digit 0-7 ending the text");
  }
  const auto function = static_cast<unsigned>(text[pos] - '0');
  return Bdf(segment, static_cast<std::uint8_t>(bus), device, function);
}

std::string Bdf::to_string() const { return fmt::format("{:04x}:{:02x}:{}", segment_, bus_, format_devfn(devfn_)); }

std::string Bdf::to_short_string() const { return fmt::format("{:02x}:{}", bus_, format_devfn(devfn_)); }

}  // namespace iovakit::pci
