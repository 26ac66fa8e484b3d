// Fuzzes decode_iort. Invariants: errors carry an offset inside the input;
// nodes lie back to back inside Length; ID mappings and RMR descriptors lie
// inside their node after its header; node_at finds every node; JSON
// serialises.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_acpi_common.h"
#include "iovakit/acpi/iort.h"

namespace {

using iovakit::fuzz::check;

void run(std::span<const std::uint8_t> bytes) {
  auto t = iovakit::acpi::decode_iort(bytes);
  if (!t.ok()) {
    iovakit::fuzz::check_error(t.error(), bytes.size());
    return;
  }
  const std::size_t n = t->header.length;
  check(n >= iovakit::acpi::kIortFixedSize && n <= bytes.size());
  iovakit::fuzz::check_findings(t->findings, n);
  check(t->nodes.size() == t->node_count);
  std::size_t at = t->node_offset;
  for (const auto& node : t->nodes) {
    check(node.offset == at && node.length >= 16 && node.offset + node.length <= n);
    check(t->node_at(node.offset) == &node);
    const std::size_t end = node.offset + node.length;
    for (const auto& m : node.mappings) check(m.offset >= node.offset + 16 && m.offset + 20 <= end);
    if (node.rmr) {
      for (const auto& d : node.rmr->descriptors) check(d.offset >= node.offset + 16 && d.offset + 20 <= end);
    }
    if (node.named_component) check(node.named_component->name.size() < node.length);
    at = end;
  }
  iovakit::fuzz::check_json(iovakit::acpi::DecodedTable(*t));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  run(input);
  run(iovakit::fuzz::sealed(input));
  return 0;
}
