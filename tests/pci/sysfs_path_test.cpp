#include "iovakit/pci/sysfs_path.h"

#include <gtest/gtest.h>

namespace iovakit::pci {
namespace {

struct GoodPath {
  const char* path;
  std::uint32_t segment;
  std::uint8_t root_bus;
  std::vector<const char*> chain;
  const char* host;  // nullptr: none
};

TEST(SysfsPath, ParsesDevicePaths) {
  const GoodPath cases[] = {
      {"/sys/devices/pci0000:00/0000:00:02.0", 0, 0x00, {"0000:00:02.0"}, nullptr},
      {"/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0/", 0, 0x00, {"0000:00:1c.0", "0000:02:00.0"}, nullptr},
      {"../../../devices/pci0000:00/0000:00:1c.4/0000:01:00.2", 0, 0x00, {"0000:00:1c.4", "0000:01:00.2"}, nullptr},
      {"/sys/devices/pci0000:80/0000:80:03.0/0000:81:00.0", 0, 0x80, {"0000:80:03.0", "0000:81:00.0"}, nullptr},
      {"/sys/devices/pci0001:00/0001:00:00.0", 1, 0x00, {"0001:00:00.0"}, nullptr},
      // Intel VMD: the endpoint 00:0e.0 owns root bus 10000:e0.
      {"/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0/10000:e1:00.0",
       0x10000,
       0xe0,
       {"10000:e0:1d.0", "10000:e1:00.0"},
       "0000:00:0e.0"},
      // Arm: the host bridge is a platform device.
      {"/sys/devices/platform/soc/1f00000000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0",
       0,
       0x00,
       {"0000:00:00.0", "0000:01:00.0"},
       nullptr},
  };
  for (const auto& c : cases) {
    auto parsed = parse_sysfs_device_path(c.path);
    ASSERT_TRUE(parsed.ok()) << c.path << ": " << parsed.error().to_string();
    EXPECT_EQ(parsed->segment, c.segment) << c.path;
    EXPECT_EQ(parsed->root_bus, c.root_bus) << c.path;
    std::vector<std::string> chain;
    for (const auto& b : parsed->chain) chain.push_back(b.to_string());
    EXPECT_EQ(chain, std::vector<std::string>(c.chain.begin(), c.chain.end())) << c.path;
    if (c.host) {
      ASSERT_TRUE(parsed->host_device) << c.path;
      EXPECT_EQ(parsed->host_device->to_string(), c.host);
    } else {
      EXPECT_FALSE(parsed->host_device) << c.path;
    }
    EXPECT_EQ(parsed->device().to_string(), c.chain.back());
  }
  EXPECT_EQ(parse_sysfs_device_path("/sys/devices/pci0000:00/0000:00:02.0")->parent(), std::nullopt);
  EXPECT_EQ(parse_sysfs_device_path("/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0")->parent(), Bdf(0, 0, 0x1c, 0));
}

struct BadPath {
  const char* path;
  std::size_t offset;
  const char* reason;
};

TEST(SysfsPath, RejectsPathsThatAreNotAPciHierarchy) {
  const BadPath cases[] = {
      {"/sys/devices/platform/foo", 0, "no root bus component"},
      {"/sys/devices/pci0000:00", 23, "ends at the root bus"},
      {"/sys/devices/pci0000:00/0000:00:02.0/config", 37, "\"config\" after the root bus"},
      {"/sys/devices/pci0000:00/0001:00:02.0", 24, "not in segment 0000"},
      {"/sys/devices/pci0000:00/0000:01:00.0", 24, "sits directly below root bus 00 but is on bus 01"},
      {"/sys/devices/pci00:00/0000:00:02.0", 0, "no root bus component"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_sysfs_device_path(c.path);
    ASSERT_FALSE(parsed.ok()) << c.path;
    EXPECT_EQ(parsed.error().code(), Errc::kParse);
    EXPECT_EQ(parsed.error().where().offset, c.offset) << parsed.error().to_string();
    EXPECT_NE(parsed.error().message().find(c.reason), std::string::npos) << parsed.error().to_string();
  }
}

}  // namespace
}  // namespace iovakit::pci
