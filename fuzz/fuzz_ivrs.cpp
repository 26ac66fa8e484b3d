// Fuzzes decode_ivrs and expand_device_entries. Invariants: errors carry an
// offset inside the input; blocks lie inside Length; device entries lie back
// to back inside their IVHD after its header, each at least 4 bytes; IVMD
// ranges agree with start/length; devid ranges are ordered; JSON serialises.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_acpi_common.h"
#include "iovakit/acpi/ivrs.h"

namespace {

using iovakit::fuzz::check;

void run(std::span<const std::uint8_t> bytes) {
  auto v = iovakit::acpi::decode_ivrs(bytes);
  if (!v.ok()) {
    iovakit::fuzz::check_error(v.error(), bytes.size());
    return;
  }
  const std::size_t n = v->header.length;
  check(n >= iovakit::acpi::kIvrsFixedSize && n <= bytes.size());
  iovakit::fuzz::check_findings(v->findings, n);
  for (const auto& h : v->ivhds) {
    check(h.offset + h.length <= n && h.length >= h.header_size());
    std::size_t at = h.offset + h.header_size();
    for (const auto& e : h.entries) {
      check(e.offset == at && e.length >= 4 && e.offset + e.length <= h.offset + h.length);
      at += e.length;
    }
    const auto map = iovakit::acpi::expand_device_entries(h);
    for (const auto& r : map.ranges) check(r.first <= r.last);
    iovakit::fuzz::check_findings(map.findings, n);
  }
  for (const auto& m : v->ivmds) {
    check(m.offset + 32 <= n);
    const auto r = m.range();
    if (r) check(r->first() == m.start && r->size() == m.size);
    if (m.size != 0 && m.start + (m.size - 1) >= m.start) check(r.has_value());
  }
  for (const auto& u : v->unknown) check(u.offset + u.length <= n && u.length >= 4);
  iovakit::fuzz::check_json(iovakit::acpi::DecodedTable(*v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  run(input);
  run(iovakit::fuzz::sealed(input));
  return 0;
}
