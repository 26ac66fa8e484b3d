// Fuzzes the reserved_regions parser. Property: whatever parses re-prints to
// exactly the input bytes (the format is canonical), except that "sw-msi", an
// iovakit-only spelling, re-prints as the kernel's "msi". Merging the parsed
// regions must never crash either.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "iovakit/iova/resv_region.h"
#include "iovakit/iova/resv_sysfs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto regions = iovakit::iova::parse_reserved_regions(text, "fuzz");
  if (!regions.ok()) {
    if (regions.error().message().empty() || !regions.error().where().line) std::abort();
    return 0;
  }
  std::string again;
  for (const auto& r : *regions) again += r.sysfs_line();
  std::string expected(text);
  for (std::size_t pos = 0; (pos = expected.find(" sw-msi\n", pos)) != std::string::npos;) {
    expected.replace(pos, 8, " msi\n");
  }
  if (again != expected) std::abort();

  iovakit::iova::ResvList stack;
  iovakit::iova::ResvList legacy(iovakit::iova::ResvMergeAlgorithm::kRecursiveOverlap);
  if (regions->size() <= 512) {  // both algorithms are quadratic by design
    stack.insert_all(*regions);
    legacy.insert_all(*regions);
  }
  return 0;
}
