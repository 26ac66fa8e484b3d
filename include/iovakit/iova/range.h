// iovakit/iova/range.h: an inclusive range [first, last] of 64-bit addresses.
//
// Design
// ------
// The kernel's interfaces speak in inclusive ends: sysfs reserved_regions
// prints start and start+length-1, vfio_iova_range.end and
// iommu_iova_range.last are inclusive. A Range stores exactly that pair, so it
// can describe every non-empty part of the 64-bit space, including the last
// byte 2^64-1 and the whole space [0, 2^64-1], without the wrap-around that a
// (start, length) pair suffers at the top.
//
// A range is never empty. "No range" is std::optional<Range> or an empty
// RangeSet. The size of a range can be 2^64, which does not fit in 64 bits, so
// size() returns a 128-bit integer (GCC and Clang's unsigned __int128).
//
// Constructors:
//   Range(first, last)            precondition first <= last, else throws
//                                 std::invalid_argument (a programming error)
//   Range::make(first, last)      the same check, reported as a Result
//   Range::from_base_size(b, s)   s >= 1 and b + s - 1 <= 2^64 - 1, else an
//                                 Error that names both numbers
//
// Thread safety: a Range is a plain value.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "iovakit/result.h"

namespace iovakit::iova {

__extension__ typedef unsigned __int128 uint128;  // NOLINT(modernize-use-using)

inline constexpr std::uint64_t kU64Max = ~std::uint64_t{0};
// 2^64: the size of the whole address space.
inline constexpr uint128 kSpaceSize = uint128{1} << 64;

class Range {
 public:
  // Throws std::invalid_argument when first > last. Inline (the check is
  // one compare on hot paths such as the allocator's fast path); the throw
  // is out of line.
  Range(std::uint64_t first, std::uint64_t last) : first_(first), last_(last) {
    if (first > last) [[unlikely]]
      throw_inverted(first, last);
  }

  static Result<Range> make(std::uint64_t first, std::uint64_t last);
  // [base, base + size - 1]; size may be up to 2^64 when base is 0.
  static Result<Range> from_base_size(std::uint64_t base, uint128 size);
  static constexpr Range full() { return Range(Unchecked{}, 0, kU64Max); }

  [[nodiscard]] constexpr std::uint64_t first() const { return first_; }
  [[nodiscard]] constexpr std::uint64_t last() const { return last_; }
  // last - first + 1, in [1, 2^64].
  [[nodiscard]] constexpr uint128 size() const { return uint128{last_} - first_ + 1; }
  [[nodiscard]] constexpr bool is_full() const { return first_ == 0 && last_ == kU64Max; }

  [[nodiscard]] constexpr bool contains(std::uint64_t address) const { return first_ <= address && address <= last_; }
  [[nodiscard]] constexpr bool contains(const Range& other) const {
    return first_ <= other.first_ && other.last_ <= last_;
  }
  [[nodiscard]] constexpr bool overlaps(const Range& other) const {
    return first_ <= other.last_ && other.first_ <= last_;
  }
  // Overlapping or adjacent (one starts right after the other ends): the two
  // could be replaced by their union without covering anything new.
  [[nodiscard]] constexpr bool touches(const Range& other) const {
    if (overlaps(other)) return true;
    return (last_ != kU64Max && last_ + 1 == other.first_) || (other.last_ != kU64Max && other.last_ + 1 == first_);
  }

  [[nodiscard]] std::optional<Range> intersect(const Range& other) const;
  // The smallest range covering both.
  [[nodiscard]] Range hull(const Range& other) const;

  // "0x00000000fee00000-0x00000000feefffff": fixed width, the form used in
  // every human-facing table of iovakit.
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const Range&, const Range&) = default;
  // Ordered by first, then last.
  friend constexpr std::strong_ordering operator<=>(const Range&, const Range&) = default;

 private:
  struct Unchecked {};
  [[noreturn]] static void throw_inverted(std::uint64_t first, std::uint64_t last);
  constexpr Range(Unchecked /*tag*/, std::uint64_t first, std::uint64_t last) : first_(first), last_(last) {}

  std::uint64_t first_;
  std::uint64_t last_;
};

// Decimal text of a 128-bit size ("18446744073709551616" for 2^64).
std::string to_decimal(uint128 value);
// Human size: "4 KiB", "1 MiB", "16 EiB", or the exact byte count when it is
// not a whole number of the unit ("12288 B" stays "12 KiB", "4097 B" stays).
std::string format_size(uint128 bytes);

}  // namespace iovakit::iova
