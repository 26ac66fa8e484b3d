// Fuzzes the kernel log parser. Invariants: a NUL byte is the only error and
// it is located; records come in line order, within the lines read; a
// record's range agrees with the numbers it printed; JSON serialises (strict
// UTF-8, whatever bytes the log held).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_acpi_common.h"
#include "iovakit/acpi/kernel_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using iovakit::acpi::LogKind;
  using iovakit::fuzz::check;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto log = iovakit::acpi::parse_kernel_log(text, "fuzz");
  if (!log.ok()) {
    check(text.find('\0') != std::string_view::npos);
    check(log.error().where().offset == text.find('\0'));
    return 0;
  }
  std::size_t last = 0;
  for (const auto& r : log->records) {
    check(r.line >= 1 && r.line <= log->lines && r.line >= last);
    last = r.line;
    if (r.range && (r.kind == LogKind::kRmrr || r.kind == LogKind::kBadRmrr || r.kind == LogKind::kIdentityMap)) {
      check(r.range->first() == r.raw_start && r.range->last() == r.raw_end);
    }
    if (r.kind == LogKind::kIvmd && r.range) check(r.range->last() + 1 == r.raw_end);
  }
  iovakit::fuzz::check_json(*log);
  return 0;
}
