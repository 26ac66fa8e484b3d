#include "iovakit/iova/resv_sysfs.h"

#include <gtest/gtest.h>

namespace iovakit::iova {
namespace {

TEST(ResvSysfs, ParsesAndReprintsByteForByte) {
  const std::string text =
      "0x0000000000000000 0x0000000000ffffff direct-relaxable\n"
      "0x00000000fed1c000 0x00000000fed1ffff direct\n"
      "0x00000000fee00000 0x00000000feefffff msi\n"
      "0x000000fd00000000 0x000000ffffffffff reserved\n";
  auto regions = parse_reserved_regions(text, "g");
  ASSERT_TRUE(regions.ok()) << regions.error().to_string();
  ASSERT_EQ(regions->size(), 4U);
  EXPECT_EQ((*regions)[2], (ResvRegion{0xfee00000, 0x100000, ResvType::kMsi, 0}));
  std::string again;
  for (const auto& r : *regions) again += r.sysfs_line();
  EXPECT_EQ(again, text);
}

TEST(ResvSysfs, EmptyFileIsAnEmptyList) {
  auto regions = parse_reserved_regions("");
  ASSERT_TRUE(regions.ok());
  EXPECT_TRUE(regions->empty());
}

TEST(ResvSysfs, ZeroLengthAndFullSpaceLinesRoundTrip) {
  const std::string text =
      "0x0000000000001000 0x0000000000000fff reserved\n"
      "0x0000000000000000 0xffffffffffffffff reserved\n";
  auto regions = parse_reserved_regions(text);
  ASSERT_TRUE(regions.ok());
  EXPECT_EQ((*regions)[0].length, 0U);
  EXPECT_EQ((*regions)[1].length, 0U);  // 2^64 bytes, the kernel's encoding
  EXPECT_EQ((*regions)[0].sysfs_line() + (*regions)[1].sysfs_line(), text);
}

struct BadLine {
  const char* text;
  std::size_t line;
  const char* reason;  // a fragment of the message
};

TEST(ResvSysfs, RejectsMalformedLinesWithLineNumberAndReason) {
  const std::string good = "0x00000000fee00000 0x00000000feefffff msi\n";
  const BadLine cases[] = {
      {"0x00000000fee00000 0x00000000feefffff msi", 1, "no newline"},
      {"0x00000000fee00000 0x00000000feefffff msi\n0x00000000fee0", 2, "no newline"},
      {"\n", 1, "empty line"},
      {"00000000fee00000 0x00000000feefffff msi\n", 1, "must start with \"0x\""},
      {"0x00000000FEE00000 0x00000000feefffff msi\n", 1, "16 lower-case hex digits"},
      {"0xfee00000 0xfeefffff msi\n", 1, "16 lower-case hex digits"},
      {"0x00000000fee00000  0x00000000feefffff msi\n", 1, "must start with \"0x\""},
      {"0x00000000fee00000\t0x00000000feefffff msi\n", 1, "one space after the start"},
      {"0x00000000fee00000 0x00000000feefffff\n", 1, "one space after the end"},
      {"0x00000000fee00000 0x00000000feefffff \n", 1, "missing region type"},
      {"0x00000000fee00000 0x00000000feefffff MSI\n", 1, "unknown region type \"MSI\""},
      {"0x00000000fee00000 0x00000000feefffff msi\r\n", 1, "carriage return"},
      {"0x00000000fee00000 0x00000000feefffff msi extra\n", 1, "unknown region type"},
      {"0x00000000fee00000 0x00000000feefffff0 msi\n", 1, "one space after the end"},
  };
  for (const auto& c : cases) {
    auto r = parse_reserved_regions(c.text, "rr");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().where().line, c.line) << c.text;
    EXPECT_EQ(r.error().where().source, "rr");
    EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().to_string();
  }
  // A bad line after good ones is reported with its own number.
  auto r = parse_reserved_regions(good + good + "garbage\n", "rr");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().to_string(), "rr:3: column 1: the start address must start with \"0x\"");
}

TEST(ResvSysfs, TenThousandLines) {
  std::string text;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    text += ResvRegion{i << 12, 0x1000, ResvType::kReserved, 0}.sysfs_line();
  }
  auto regions = parse_reserved_regions(text);
  ASSERT_TRUE(regions.ok());
  EXPECT_EQ(regions->size(), 10000U);
}

}  // namespace
}  // namespace iovakit::iova
