#include "iovakit/iova/range.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace iovakit::iova {
namespace {

TEST(Range, HoldsInclusiveEnds) {
  const Range r(0xfee00000, 0xfeefffff);
  EXPECT_EQ(r.first(), 0xfee00000U);
  EXPECT_EQ(r.last(), 0xfeefffffU);
  EXPECT_EQ(r.size(), uint128{0x100000});
  EXPECT_TRUE(r.contains(0xfee00000));
  EXPECT_TRUE(r.contains(0xfeefffff));
  EXPECT_FALSE(r.contains(0xfef00000));
  EXPECT_FALSE(r.contains(0xfedfffff));
}

TEST(Range, SingleAddressHasSizeOne) {
  EXPECT_EQ(Range(0, 0).size(), uint128{1});
  EXPECT_EQ(Range(kU64Max, kU64Max).size(), uint128{1});
}

TEST(Range, FullSpaceHasSizeTwoToThe64) {
  EXPECT_EQ(Range::full().size(), kSpaceSize);
  EXPECT_TRUE(Range::full().is_full());
  EXPECT_EQ(Range(0, kU64Max), Range::full());
  EXPECT_EQ(to_decimal(Range::full().size()), "18446744073709551616");
}

TEST(Range, ConstructorRejectsFirstAboveLast) {
  EXPECT_THROW(Range(2, 1), std::invalid_argument);
  auto r = Range::make(2, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(r.error().message().find("0x2"), std::string::npos);
}

struct BaseSizeCase {
  std::uint64_t base;
  uint128 size;
  bool ok;
  std::uint64_t last;
};

TEST(Range, FromBaseSizeTable) {
  const BaseSizeCase cases[] = {
      {0, 1, true, 0},
      {0xfee00000, 0x100000, true, 0xfeefffff},
      {0, kSpaceSize, true, kU64Max},      // the whole space
      {1, kSpaceSize - 1, true, kU64Max},  // ends exactly at the top
      {kU64Max, 1, true, kU64Max},         // the last byte
      {kU64Max, 2, false, 0},              // one past the top
      {1, kSpaceSize, false, 0},           // 2^64 bytes from 1
      {0x1000, 0, false, 0},               // empty
      {0x8000000000000000ULL, uint128{1} << 63, true, kU64Max},
      {0x8000000000000001ULL, uint128{1} << 63, false, 0},
  };
  for (const auto& c : cases) {
    auto r = Range::from_base_size(c.base, c.size);
    EXPECT_EQ(r.ok(), c.ok) << "base " << c.base;
    if (r.ok() && c.ok) {
      EXPECT_EQ(r->first(), c.base);
      EXPECT_EQ(r->last(), c.last);
      EXPECT_EQ(r->size(), c.size);
    }
  }
}

TEST(Range, OverflowErrorNamesBothNumbers) {
  auto r = Range::from_base_size(kU64Max, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("0xffffffffffffffff"), std::string::npos);
  EXPECT_NE(r.error().message().find("overflows"), std::string::npos);
}

TEST(Range, TouchesAtTheEdgesWithoutWrapping) {
  // [x, 2^64-1] and [0, y] are not adjacent: last + 1 must not wrap to 0.
  EXPECT_FALSE(Range(kU64Max - 1, kU64Max).touches(Range(0, 5)));
  EXPECT_FALSE(Range(0, 5).touches(Range(kU64Max - 1, kU64Max)));
  EXPECT_TRUE(Range(0, 5).touches(Range(6, 9)));
  EXPECT_TRUE(Range(6, 9).touches(Range(0, 5)));
  EXPECT_FALSE(Range(0, 5).touches(Range(7, 9)));
  EXPECT_TRUE(Range(0, 5).touches(Range(5, 9)));
}

TEST(Range, IntersectAndHull) {
  EXPECT_EQ(Range(0, 10).intersect(Range(5, 20)), Range(5, 10));
  EXPECT_EQ(Range(0, 10).intersect(Range(11, 20)), std::nullopt);
  EXPECT_EQ(Range(0, 10).hull(Range(20, 30)), Range(0, 30));
  EXPECT_EQ(Range::full().intersect(Range(kU64Max, kU64Max)), Range(kU64Max, kU64Max));
}

TEST(Range, OrdersByFirstThenLast) {
  EXPECT_LT(Range(1, 5), Range(2, 3));
  EXPECT_LT(Range(1, 3), Range(1, 5));
}

TEST(Range, ToStringIsFixedWidthHex) {
  EXPECT_EQ(Range(0xfee00000, 0xfeefffff).to_string(), "0x00000000fee00000-0x00000000feefffff");
}

TEST(Range, FormatSizeUsesTheLargestExactUnit) {
  EXPECT_EQ(format_size(0x100000), "1 MiB");
  EXPECT_EQ(format_size(0x26000), "152 KiB");
  EXPECT_EQ(format_size(4097), "4097 B");
  EXPECT_EQ(format_size(kSpaceSize), "16 EiB");
  EXPECT_EQ(format_size(0), "0 B");
}

}  // namespace
}  // namespace iovakit::iova
