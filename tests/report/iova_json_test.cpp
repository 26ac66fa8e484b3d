#include "iovakit/report/iova_json.h"

#include <gtest/gtest.h>

namespace iovakit::report {
namespace {

TEST(IovaJson, AddressesAndSizesAreHexStrings) {
  EXPECT_EQ(json_address(0xfee00000), "0x00000000fee00000");
  EXPECT_EQ(json_size(0x100000), "0x100000");
  EXPECT_EQ(json_size(iova::kSpaceSize), "0x10000000000000000");
  EXPECT_EQ(to_json(iova::Range::full()).dump(),
            R"({"start":"0x0000000000000000","end":"0xffffffffffffffff","size":"0x10000000000000000"})");
}

TEST(IovaJson, RegionCarriesBothTypeNames) {
  const auto j = to_json(iova::ResvRegion{0x8000000, 0x100000, iova::ResvType::kSwMsi, iova::prot::kWrite});
  EXPECT_EQ(j["type"], "sw-msi");
  EXPECT_EQ(j["sysfs_type"], "msi");
  EXPECT_EQ(j["end"], "0x00000000080fffff");
  EXPECT_EQ(j["prot"], 2);
}

}  // namespace
}  // namespace iovakit::report
