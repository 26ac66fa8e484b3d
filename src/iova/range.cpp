#include "iovakit/iova/range.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/core.h>

namespace iovakit::iova {

void Range::throw_inverted(std::uint64_t first, std::uint64_t last) {
  throw std::invalid_argument(fmt::format("iova::Range: first {:#x} is above last {:#x}", first, last));
}

Result<Range> Range::make(std::uint64_t first, std::uint64_t last) {
  if (first > last) {
    return Error(Errc::kInvalidArgument, fmt::format("range first {:#x} is above its last {:#x}", first, last));
  }
  return Range(Unchecked{}, first, last);
}

Result<Range> Range::from_base_size(std::uint64_t base, uint128 size) {
  if (size == 0) {
    return Error(Errc::kInvalidArgument, fmt::format("range at {:#x} has size 0", base));
  }
  const uint128 last = uint128{base} + size - 1;
  if (last > kU64Max) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("range base {:#x} + size {} - 1 overflows 2^64 - 1", base, to_decimal(size)));
  }
  return Range(Unchecked{}, base, static_cast<std::uint64_t>(last));
}

std::optional<Range> Range::intersect(const Range& other) const {
  if (!overlaps(other)) return std::nullopt;
  return Range(Unchecked{}, std::max(first_, other.first_), std::min(last_, other.last_));
}

Range Range::hull(const Range& other) const {
  return Range(Unchecked{}, std::min(first_, other.first_), std::max(last_, other.last_));
}

std::string Range::to_string() const { return fmt::format("{:#018x}-{:#018x}", first_, last_); }

std::string to_decimal(uint128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value != 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string format_size(uint128 bytes) {
  static constexpr std::array<const char*, 7> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  while (unit + 1 < kUnits.size() && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return to_decimal(bytes) + " " + kUnits[unit];
}

}  // namespace iovakit::iova
