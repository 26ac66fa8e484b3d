#include "iovakit/acpi/acpidump_text.h"

#include <gtest/gtest.h>

namespace iovakit::acpi {
namespace {

constexpr const char* kDump =
    "Some prose a user pasted before the dump\n"
    "\n"
    "FACP @ 0x00000000bfefd000\n"
    "    0000: 46 41 43 50 F4 00 00 00 04 42 44 45 4C 4C 20 20  FACP.....BDELL  \n"
    "\n"
    "DMAR @ 0x00000000bfefc000\r\n"
    "    0000: 44 4D 41 52 30 00 00 00 01 00 49 4E 54 45 4C 20  DMAR0.....INTEL \r\n"
    "    0010: 53 4E 42 20                                      SNB \r\n"
    "\n";

TEST(AcpidumpText, ReadsEveryTableWithItsLine) {
  auto tables = parse_acpidump_text(kDump, "dump.txt");
  ASSERT_TRUE(tables.ok()) << tables.error().to_string();
  ASSERT_EQ(tables->size(), 2U);
  EXPECT_EQ((*tables)[0].signature, "FACP");
  EXPECT_EQ((*tables)[0].line, 3U);
  EXPECT_EQ((*tables)[0].bytes.size(), 16U);
  EXPECT_EQ((*tables)[1].signature, "DMAR");
  EXPECT_EQ((*tables)[1].address, 0xbfefc000U);
  EXPECT_EQ((*tables)[1].bytes.size(), 20U);
  EXPECT_EQ((*tables)[1].bytes[19], 0x20U);
  EXPECT_TRUE(looks_like_acpidump_text(kDump));
  EXPECT_FALSE(looks_like_acpidump_text("DMAR\x30\x00\x00\x00"));
}

TEST(AcpidumpText, RejectsBrokenDumpsWithTheLine) {
  struct Case {
    const char* text;
    Errc code;
    std::size_t line;
    const char* fragment;
  };
  const Case cases[] = {
      {"DMAR @ 0x0\n    0000: 44 4G\n", Errc::kParse, 2, "malformed hex byte"},
      {"DMAR @ 0x0\n    0000: 44 4D\n    0010: 41\n", Errc::kParse, 3, "does not continue"},
      {"DMAR @ 0x0\n    0000: 444D\n", Errc::kParse, 2, "malformed hex byte"},
      {"DMAR @ 0x0\n    0000:  44\n", Errc::kParse, 2, "holds no byte"},
      {"no tables here\n", Errc::kNotFound, 0, "no acpidump table heading"},
  };
  for (const auto& c : cases) {
    auto t = parse_acpidump_text(c.text, "d");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.error().code(), c.code) << c.text;
    if (c.line != 0) {
      EXPECT_EQ(t.error().where().line, c.line) << t.error().to_string();
    }
    EXPECT_NE(t.error().message().find(c.fragment), std::string::npos) << t.error().to_string();
  }
}

TEST(AcpidumpText, FindsADumpAfterALongPreamble) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "some words from the bug report\n";
  text += "DMAR @ 0x0\n    0000: 44 4D 41 52\n";
  EXPECT_TRUE(looks_like_acpidump_text(text));
  auto t = parse_acpidump_text(text);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)[0].line, 51U);
}

TEST(AcpidumpText, AsciiColumnIsNeverParsed) {
  // The ASCII column of a short last line is padded; hex-looking text in it
  // must not become bytes.
  auto t = parse_acpidump_text("DMAR @ 0x0\n    0000: 41 42                                            AB 43 44\n");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ((*t)[0].bytes.size(), 2U);
}

}  // namespace
}  // namespace iovakit::acpi
