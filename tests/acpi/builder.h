// Test support: builds small ACPI tables byte by byte, little-endian, with a
// correct Length and checksum unless told otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace iovakit::acpi::testing {

class Bytes {
 public:
  Bytes& u8(std::uint64_t v) { return put(v, 1); }
  Bytes& u16(std::uint64_t v) { return put(v, 2); }
  Bytes& u32(std::uint64_t v) { return put(v, 4); }
  Bytes& u64(std::uint64_t v) { return put(v, 8); }
  Bytes& text(std::string_view s) {
    for (const char c : s) data_.push_back(static_cast<std::uint8_t>(c));
    return *this;
  }
  Bytes& zeros(std::size_t n) {
    data_.insert(data_.end(), n, 0);
    return *this;
  }
  Bytes& append(const Bytes& other) {
    data_.insert(data_.end(), other.data_.begin(), other.data_.end());
    return *this;
  }
  [[nodiscard]] std::size_t size() const { return data_.size(); }
  [[nodiscard]] const std::vector<std::uint8_t>& data() const { return data_; }
  std::vector<std::uint8_t>& data() { return data_; }

 private:
  Bytes& put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) data_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<std::uint8_t> data_;
};

// A 36-byte header for `signature` followed by `body`, Length and checksum
// filled in.
inline std::vector<std::uint8_t> make_table(std::string_view signature, std::uint8_t revision, const Bytes& body) {
  Bytes t;
  t.text(signature).u32(36 + body.size()).u8(revision).u8(0).text("IOVAKT").text("TESTTBL ").u32(1).text("TEST").u32(1);
  t.append(body);
  unsigned sum = 0;
  for (const auto b : t.data()) sum += b;
  t.data()[9] = static_cast<std::uint8_t>(0x100 - (sum & 0xff));
  return t.data();
}

// Fixes Length and checksum after a test edited the bytes.
inline void reseal(std::vector<std::uint8_t>& t) {
  t[9] = 0;
  unsigned sum = 0;
  for (const auto b : t) sum += b;
  t[9] = static_cast<std::uint8_t>(0x100 - (sum & 0xff));
}

// DMAR device scope: type, start bus, path pairs.
inline Bytes scope(std::uint8_t type, std::uint8_t bus, std::initializer_list<std::pair<int, int>> path,
                   std::uint8_t enumeration_id = 0) {
  Bytes b;
  b.u8(type).u8(6 + 2 * path.size()).u16(0).u8(enumeration_id).u8(bus);
  for (const auto& [d, f] : path) b.u8(d).u8(f);
  return b;
}

}  // namespace iovakit::acpi::testing
