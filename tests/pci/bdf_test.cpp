#include "iovakit/pci/bdf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace iovakit::pci {
namespace {

struct GoodBdf {
  const char* text;
  std::uint32_t segment;
  unsigned bus, device, function;
  const char* canonical;
};

TEST(Bdf, ParsesLongShortAndVmdForms) {
  const GoodBdf cases[] = {
      {"0000:00:02.0", 0, 0x00, 0x02, 0, "0000:00:02.0"},
      {"00:02.0", 0, 0x00, 0x02, 0, "0000:00:02.0"},
      {"0000:00:1f.3", 0, 0x00, 0x1f, 3, "0000:00:1f.3"},
      {"0000:00:1F.3", 0, 0x00, 0x1f, 3, "0000:00:1f.3"},
      {"0001:ff:1f.7", 1, 0xff, 0x1f, 7, "0001:ff:1f.7"},
      {"10000:e0:1d.0", 0x10000, 0xe0, 0x1d, 0, "10000:e0:1d.0"},
      {"ffffffff:00:00.0", 0xffffffffU, 0, 0, 0, "ffffffff:00:00.0"},
      {"02:00.0", 0, 0x02, 0x00, 0, "0000:02:00.0"},
  };
  for (const auto& c : cases) {
    auto bdf = Bdf::parse(c.text);
    ASSERT_TRUE(bdf.ok()) << c.text << ": " << bdf.error().to_string();
    EXPECT_EQ(bdf->segment(), c.segment) << c.text;
    EXPECT_EQ(bdf->bus(), c.bus) << c.text;
    EXPECT_EQ(bdf->device(), c.device) << c.text;
    EXPECT_EQ(bdf->function(), c.function) << c.text;
    EXPECT_EQ(bdf->to_string(), c.canonical) << c.text;
  }
}

struct BadBdf {
  const char* text;
  std::size_t offset;
  const char* reason;
};

TEST(Bdf, RejectsMalformedTextWithOffsetAndReason) {
  const BadBdf cases[] = {
      {"", 0, "one or two ':'"},
      {"0000:00:02", 8, "the device needs exactly 2"},
      {"0:0:0:0.0", 0, "one or two ':'"},
      {"000:00:02.0", 0, "4 to 8 hex digits"},
      {"000000000:00:02.0", 8, "expected ':' after the segment"},
      {"0000:0:02.0", 5, "the bus needs exactly 2"},
      {"0000:000:02.0", 5, "the bus needs exactly 2"},
      {"0000:00:2.0", 8, "the device needs exactly 2"},
      {"0000:00:20.0", 8, "device 20 is above 1f"},
      {"0000:00:02.8", 11, "one digit 0-7"},
      {"0000:00:02.", 11, "one digit 0-7"},
      {"0000:00:02.00", 11, "one digit 0-7"},
      {"0000:00:02.0 ", 11, "one digit 0-7"},
      {"0000:g0:02.0", 5, "the bus needs exactly 2"},
      {" 0000:00:02.0", 0, "4 to 8 hex digits"},
  };
  for (const auto& c : cases) {
    auto bdf = Bdf::parse(c.text);
    ASSERT_FALSE(bdf.ok()) << c.text;
    EXPECT_EQ(bdf.error().code(), Errc::kParse) << c.text;
    EXPECT_EQ(bdf.error().where().offset, c.offset) << c.text << ": " << bdf.error().to_string();
    EXPECT_NE(bdf.error().message().find(c.reason), std::string::npos) << bdf.error().to_string();
  }
}

TEST(Bdf, DevfnAndRequesterIdFollowTheKernelMacros) {
  const Bdf bdf(0, 0x02, 0x1c, 4);
  EXPECT_EQ(bdf.devfn(), 0xe4);  // PCI_DEVFN(0x1c, 4)
  EXPECT_EQ(bdf.rid(), 0x02e4);  // PCI_DEVID(2, 0xe4)
  EXPECT_EQ(make_devfn(0x1f, 7), 0xff);
  EXPECT_EQ(devfn_device(0xa0), 0x14U);
  EXPECT_EQ(devfn_function(0xa3), 3U);
  EXPECT_EQ(Bdf::from_rid(0, 0x00a0), Bdf(0, 0, 0x14, 0));
  EXPECT_EQ(Bdf::from_devfn(0, 3, 0x29), Bdf(0, 3, 5, 1));
  EXPECT_EQ(bdf.with_devfn(0), Bdf(0, 0x02, 0, 0));
  EXPECT_EQ(format_devfn(0xe4), "1c.4");
  EXPECT_EQ(format_rid(0x02e4), "02:1c.4");
  EXPECT_EQ(bdf.to_short_string(), "02:1c.4");
}

TEST(Bdf, AcpiSegmentStopsAt0xffff) {
  EXPECT_TRUE(Bdf(0xffff, 0, 0, 0).is_acpi_segment());
  EXPECT_FALSE(Bdf(0x10000, 0xe0, 0x1d, 0).is_acpi_segment());
}

TEST(Bdf, MakeValidatesAndTheConstructorThrows) {
  EXPECT_TRUE(Bdf::make(0, 0xff, 0x1f, 7).ok());
  EXPECT_EQ(Bdf::make(0, 0x100, 0, 0).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(Bdf::make(0, 0, 0x20, 0).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(Bdf::make(0, 0, 0, 8).error().code(), Errc::kInvalidArgument);
  EXPECT_THROW(Bdf(0, 0, 32, 0), std::invalid_argument);
  EXPECT_THROW(Bdf(0, 0, 0, 8), std::invalid_argument);
}

TEST(Bdf, OrdersLikeLspci) {
  std::vector<Bdf> bdfs = {Bdf(1, 0, 0, 0), Bdf(0, 2, 0, 0), Bdf(0, 0, 0x1f, 3), Bdf(0, 0, 0x1f, 0), Bdf(0, 0, 2, 0)};
  std::sort(bdfs.begin(), bdfs.end());
  std::vector<std::string> text;
  text.reserve(bdfs.size());
  for (const auto& b : bdfs) text.push_back(b.to_string());
  EXPECT_EQ(text,
            (std::vector<std::string>{"0000:00:02.0", "0000:00:1f.0", "0000:00:1f.3", "0000:02:00.0", "0001:00:00.0"}));
}

}  // namespace
}  // namespace iovakit::pci
