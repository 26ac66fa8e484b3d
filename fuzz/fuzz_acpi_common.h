// Shared checks of the acpi fuzzers: every decoder result is inspected and
// the fuzzer aborts on a broken invariant, not only on a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "iovakit/acpi/table_header.h"
#include "iovakit/report/acpi_json.h"
#include "iovakit/result.h"

namespace iovakit::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

// An Error from a decoder says what and where, inside the input.
inline void check_error(const Error& e, std::size_t size) {
  check(!e.message().empty());
  check(e.where().offset.has_value());
  check(*e.where().offset <= size);
}

inline void check_findings(const std::vector<acpi::Finding>& findings, std::size_t length) {
  for (const auto& f : findings) {
    check(f.offset <= length);
    check(!f.code.empty() && !f.message.empty());
  }
}

// The JSON form must exist and serialise (strict UTF-8) for every decoded table.
template <typename T>
void check_json(const T& value) {
  const auto text = report::to_json(value).dump();
  check(!text.empty());
}

// The input as is, and a copy whose Length and checksum are fixed to the
// input's size, so the fuzzer reaches the structures without having to
// guess both header fields.
inline std::vector<std::uint8_t> sealed(std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> t(data.begin(), data.end());
  if (t.size() < acpi::kTableHeaderSize || t.size() > 0xffffffffU) return t;
  const auto n = static_cast<std::uint32_t>(t.size());
  for (int i = 0; i < 4; ++i) t[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  t[9] = 0;
  t[9] = static_cast<std::uint8_t>(0x100 - acpi::byte_sum(t));
  return t;
}

}  // namespace iovakit::fuzz
