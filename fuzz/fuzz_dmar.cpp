// Fuzzes decode_dmar. Invariants: errors carry an offset inside the input;
// every record, scope and finding lies inside the table's Length; scopes lie
// inside their structure; RMRR indexes count up from 0; JSON serialises.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_acpi_common.h"
#include "iovakit/acpi/dmar.h"

namespace {

using iovakit::fuzz::check;

void check_scopes(const std::vector<iovakit::acpi::DeviceScope>& scopes, std::size_t begin, std::size_t end) {
  std::size_t at = begin;
  for (const auto& s : scopes) {
    check(s.offset == at);  // back to back, in order
    check(s.length >= 6 && s.offset + s.length <= end);
    check(s.path.size() == (s.length - 6U) / 2);
    at += s.length;
  }
}

void run(std::span<const std::uint8_t> bytes) {
  auto d = iovakit::acpi::decode_dmar(bytes);
  if (!d.ok()) {
    iovakit::fuzz::check_error(d.error(), bytes.size());
    return;
  }
  const std::size_t n = d->header.length;
  check(n >= iovakit::acpi::kDmarFixedSize && n <= bytes.size());
  iovakit::fuzz::check_findings(d->findings, n);
  for (std::size_t i = 0; i < d->rmrrs.size(); ++i) {
    const auto& m = d->rmrrs[i];
    check(m.index == i && m.offset + 24 <= n);
    check(m.range().has_value() == (m.end >= m.base));
    check(m.sanity.end_not_above_base == (m.end <= m.base));
    check_scopes(m.scopes, m.offset + 24, n);
  }
  for (const auto& u : d->drhds) {
    check(u.offset + 16 <= n);
    check_scopes(u.scopes, u.offset + 16, n);
  }
  for (const auto& a : d->atsrs) check_scopes(a.scopes, a.offset + 8, n);
  for (const auto& s : d->satcs) check_scopes(s.scopes, s.offset + 8, n);
  for (const auto& s : d->sidps) check_scopes(s.scopes, s.offset + 8, n);
  for (const auto& a : d->andds) check(a.offset + 8 <= n && a.name.size() <= n);
  for (const auto& u : d->unknown) check(u.offset + u.length <= n && u.length >= 4);
  iovakit::fuzz::check_json(iovakit::acpi::DecodedTable(*d));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  run(input);
  run(iovakit::fuzz::sealed(input));
  return 0;
}
