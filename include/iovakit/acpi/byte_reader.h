// iovakit/acpi/byte_reader.h: bounded little-endian reads over table bytes.
//
// Design
// ------
// Firmware tables are hostile input: every length and offset in them may be
// zero, truncated, oversized or point back into the structure that holds it.
// All decoders of this layer read through a ByteReader, which is the only
// place that touches the bytes. Every read is checked against the span it
// was built over and returns 0 (or an empty span) past the end instead of
// reading out of bounds, so a decoder bug can produce a wrong value but never
// a wild read. Decoders still check `has(offset, size)` before they decode a
// structure, and report a missing part as an Error or a Finding; the zero
// fallback is a second line of defence, not the way lengths are validated.
//
// Offsets are absolute (from the start of the table), so that every record
// and message can name the byte offset a person finds in an iasl listing.
// ACPI is little-endian on every architecture (ACPI spec 5.2.1), so values
// are assembled byte by byte, independent of the host's byte order and of
// alignment.
//
// Thread safety: a ByteReader is a view; it never writes. Concurrent reads
// are safe while the viewed bytes live and do not change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace iovakit::acpi {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }

  // True iff [offset, offset + count) lies inside the bytes; never overflows.
  [[nodiscard]] bool has(std::size_t offset, std::size_t count) const {
    return offset <= bytes_.size() && count <= bytes_.size() - offset;
  }

  [[nodiscard]] std::uint8_t u8(std::size_t offset) const { return has(offset, 1) ? bytes_[offset] : 0; }
  [[nodiscard]] std::uint16_t u16(std::size_t offset) const { return static_cast<std::uint16_t>(le(offset, 2)); }
  [[nodiscard]] std::uint32_t u32(std::size_t offset) const { return static_cast<std::uint32_t>(le(offset, 4)); }
  [[nodiscard]] std::uint64_t u64(std::size_t offset) const { return le(offset, 8); }

  // [offset, offset + count), or an empty span when that is not all inside.
  [[nodiscard]] std::span<const std::uint8_t> slice(std::size_t offset, std::size_t count) const {
    return has(offset, count) ? bytes_.subspan(offset, count) : std::span<const std::uint8_t>{};
  }
  // The raw bytes as a string (may hold NULs and non-printable bytes).
  [[nodiscard]] std::string text(std::size_t offset, std::size_t count) const {
    const auto s = slice(offset, count);
    return {s.begin(), s.end()};
  }

 private:
  [[nodiscard]] std::uint64_t le(std::size_t offset, std::size_t count) const {
    if (!has(offset, count)) return 0;
    std::uint64_t value = 0;
    for (std::size_t i = count; i-- > 0;) value = (value << 8) | bytes_[offset + i];
    return value;
  }

  std::span<const std::uint8_t> bytes_;
};

}  // namespace iovakit::acpi
