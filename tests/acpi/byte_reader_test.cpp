#include "iovakit/acpi/byte_reader.h"

#include <array>

#include <gtest/gtest.h>

namespace iovakit::acpi {
namespace {

TEST(ByteReader, ReadsLittleEndianAndNeverPastTheEnd) {
  const std::array<std::uint8_t, 9> bytes = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  const ByteReader r(bytes);
  EXPECT_EQ(r.u8(0), 0x01U);
  EXPECT_EQ(r.u16(0), 0x0201U);
  EXPECT_EQ(r.u32(1), 0x05040302U);
  EXPECT_EQ(r.u64(1), 0x0908070605040302ULL);
  // Out of bounds: zero, never a read.
  EXPECT_EQ(r.u64(2), 0U);
  EXPECT_EQ(r.u8(9), 0U);
  EXPECT_EQ(r.u32(~std::size_t{0}), 0U);
  EXPECT_TRUE(r.has(0, 9));
  EXPECT_TRUE(r.has(9, 0));
  EXPECT_FALSE(r.has(9, 1));
  EXPECT_FALSE(r.has(1, ~std::size_t{0}));  // no overflow in offset + count
  EXPECT_EQ(r.slice(8, 2).size(), 0U);
  EXPECT_EQ(r.text(0, 2), std::string("\x01\x02"));
  EXPECT_EQ(r.text(8, 5), "");
}

}  // namespace
}  // namespace iovakit::acpi
