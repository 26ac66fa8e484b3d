#include "iovakit/report/table.h"

#include <gtest/gtest.h>

namespace iovakit::report {
namespace {

TEST(Table, AlignsColumnsAndRightAlignsNumbers) {
  Table t({{"START"}, {"SIZE", Align::kRight}, {"TYPE"}});
  t.add_row({"0x0", "16 MiB", "direct-relaxable"});
  t.add_row({"0xfee00000", "1 MiB", "msi"});
  EXPECT_EQ(t.render(Style(false)),
            "START         SIZE  TYPE\n"
            "0x0         16 MiB  direct-relaxable\n"
            "0xfee00000   1 MiB  msi\n");
}

TEST(Table, NoTrailingSpacesAndIndent) {
  Table t({{"A"}, {"B"}});
  t.add_row({"long", ""});
  EXPECT_EQ(t.render(Style(false), 2), "  A     B\n  long\n");
}

TEST(Table, ColourDoesNotChangeAlignment) {
  Table t({{"A"}, {"B"}});
  t.add_row({Cell("x", Tone::kBad), "y"});
  const std::string plain = t.render(Style(false));
  const std::string coloured = t.render(Style(true));
  EXPECT_NE(plain, coloured);
  std::string stripped;
  for (std::size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\x1b') {
      while (coloured[i] != 'm') ++i;
      continue;
    }
    stripped += coloured[i];
  }
  EXPECT_EQ(stripped, plain);
}

TEST(Table, TooManyCellsIsAProgrammingError) {
  Table t({{"A"}});
  EXPECT_THROW(t.add_row({"1", "2"}), std::invalid_argument);
}

TEST(Style, NeverAndAlwaysOverrideTheTerminal) {
  EXPECT_FALSE(Style::for_stream(stdout, ColorMode::kNever).color());
  EXPECT_TRUE(Style::for_stream(stdout, ColorMode::kAlways).color());
  EXPECT_EQ(Style(false).paint("x", Tone::kBad), "x");
  EXPECT_EQ(Style(true).paint("x", Tone::kBad), "\x1b[31mx\x1b[0m");
}

}  // namespace
}  // namespace iovakit::report
