#include "iovakit/acpi/table_header.h"

#include <gtest/gtest.h>

#include "builder.h"

namespace iovakit::acpi {
namespace {

TEST(TableHeader, ReadsEveryField) {
  testing::Bytes body;
  body.zeros(12);
  const auto t = testing::make_table("IVRS", 2, body);
  std::vector<Finding> findings;
  auto h = read_table_header(t, "IVRS", findings);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->signature, "IVRS");
  EXPECT_EQ(h->length, 48U);
  EXPECT_EQ(h->revision, 2U);
  EXPECT_EQ(h->oem_id, "IOVAKT");
  EXPECT_EQ(h->oem_table_id, "TESTTBL ");
  EXPECT_EQ(h->creator_id, "TEST");
  EXPECT_TRUE(h->checksum_ok());
  EXPECT_EQ(byte_sum(t), 0U);
  EXPECT_TRUE(findings.empty());
  // Any signature when none is expected.
  EXPECT_TRUE(read_table_header(t, "", findings).ok());
}

TEST(TableHeader, PrintableDropsPaddingAndEscapes) {
  EXPECT_EQ(printable(std::string("SKL\0\0\0\0\0", 8)), "SKL");
  EXPECT_EQ(printable("HP    "), "HP");
  EXPECT_EQ(printable(std::string("A\x01"
                                  "B",
                                  3)),
            "A\\x01B");
  EXPECT_EQ(printable("\\_SB.PCI0"), "\\_SB.PCI0");
  EXPECT_EQ(printable(""), "");
}

}  // namespace
}  // namespace iovakit::acpi
