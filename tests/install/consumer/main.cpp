// Builds against an installed libiovakit (find_package or pkg-config).
#include <iovakit/iova/range_set.h>
#include <iovakit/version.h>

#include <iostream>

int main() {
  const iovakit::iova::RangeSet usable =
      iovakit::iova::RangeSet{iovakit::iova::Range(0xfee00000, 0xfeefffff)}.complement();
  std::cout << "iovakit " << iovakit::kVersion << ": " << usable.to_string() << "\n";
  return usable.size() == 2 ? 0 : 1;
}
