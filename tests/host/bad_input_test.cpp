// The sysfs readers on broken input (the cases fuzz_host_sysfs explores at
// random): garbage in `class`, a truncated `config`, dangling links, a
// reserved_regions of 10,000 lines. Each gives an issue that names the file
// and says what is wrong; the rest of the host is still read.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "host/support/host_test_util.h"

namespace iovakit::host {
namespace {

using testing::build;

const Error* find_issue(const Host& h, std::string_view path_suffix) {
  for (const auto& e : h.issues) {
    const std::string& where = e.where().source;
    if (where.size() >= path_suffix.size() && where.substr(where.size() - path_suffix.size()) == path_suffix) {
      return &e;
    }
  }
  return nullptr;
}

std::string all_issues(const Host& h) {
  std::string out;
  for (const auto& e : h.issues) out += e.to_string() + "\n";
  return out;
}

struct BadInput {
  std::string name;
  void (*damage)(testing::SysfsFixture&);
  std::string path;     // the file the issue must name (suffix of its location)
  std::string message;  // a part of the message
  Errc code;
  std::size_t devices;  // what is still read
};

std::vector<BadInput> bad_inputs() {
  const testing::SysfsFixture base = testing::intel_laptop();
  const std::string xhci = base.pci_dir("0000:00:14.0");
  return {
      {"garbage_class",
       [](testing::SysfsFixture& f) { f.file(f.pci_dir("0000:00:14.0") + "/class", "\x01\xfe garbage\n"); },
       xhci + "/class", "not a hex value", Errc::kParse, 11},
      {"truncated_config",
       [](testing::SysfsFixture& f) { f.file(f.pci_dir("0000:00:14.0") + "/config", std::string("\x86\x80\x2f", 3)); },
       xhci + "/config", "config space", Errc::kTruncated, 10},
      {"dangling_device_link",
       [](testing::SysfsFixture& f) {
         f.link("sys/bus/pci/devices/0000:00:1d.0", "../../../devices/pci0000:00/0000:00:1d.0");
       },
       "sys/bus/pci/devices/0000:00:1d.0", "", Errc::kNotFound, 11},
      {"dangling_driver_link",
       [](testing::SysfsFixture& f) {
         f.link(f.pci_dir("0000:00:1f.0") + "/driver", "../../../bus/pci/drivers/lpc_ich");
       },
       "/0000:00:1f.0/driver", "dangling link", Errc::kNotFound, 11},
      {"reserved_regions_10000_lines",
       [](testing::SysfsFixture& f) {
         std::string text;
         for (int i = 0; i < 10000; ++i) text += "0x00000000fee00000 0x00000000feefffff msi\n";
         f.group(3, "DMA-FQ", text);
       },
       "sys/kernel/iommu_groups/3/reserved_regions", "at most one page", Errc::kExhausted, 11},
      {"reserved_regions_garbage",
       [](testing::SysfsFixture& f) { f.group(3, "DMA-FQ", "0x00000000fee00000 0x00000000feefffff msi\nhello\n"); },
       "sys/kernel/iommu_groups/3/reserved_regions", "", Errc::kParse, 11},
  };
}

class BadSysfs : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadSysfs, ClearIssueNamingThePath) {
  const BadInput& c = GetParam();
  testing::SysfsFixture f = testing::intel_laptop();
  c.damage(f);
  const Host h = build(f.build());
  const Error* e = find_issue(h, c.path);
  ASSERT_NE(e, nullptr) << "no issue names " << c.path << "; issues:\n" << all_issues(h);
  EXPECT_EQ(e->code(), c.code) << e->to_string();
  EXPECT_NE(e->message().find(c.message), std::string::npos) << e->to_string();
  EXPECT_EQ(e->where().source.rfind("fixture:", 0), 0U) << "locations name the root too: " << e->to_string();
  EXPECT_EQ(h.devices.size(), c.devices) << all_issues(h);
  EXPECT_EQ(h.groups.size(), 6U);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadSysfs, ::testing::ValuesIn(bad_inputs()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(BadSysfs, GarbageClassFallsBackToConfigSpace) {
  testing::SysfsFixture f = testing::intel_laptop();
  f.file(f.pci_dir("0000:00:14.0") + "/class", "zzz\n");
  const Host h = build(f.build());
  const auto xhci = h.find_device(pci::Bdf::parse("0000:00:14.0").value());
  ASSERT_TRUE(xhci.has_value());
  EXPECT_EQ(h.devices[*xhci].class_code.value(), 0x0c0330U);
}

TEST(BadSysfs, ReservedRegionsParseErrorNamesTheLine) {
  testing::SysfsFixture f = testing::intel_laptop();
  f.group(3, "DMA-FQ", "0x00000000fee00000 0x00000000feefffff msi\nhello\n");
  const Host h = build(f.build());
  const Error* e = find_issue(h, "sys/kernel/iommu_groups/3/reserved_regions");
  ASSERT_NE(e, nullptr) << all_issues(h);
  EXPECT_EQ(e->where().line, 2U);
  EXPECT_FALSE(h.find_group(3)->regions_parsed);
}

TEST(BadSysfs, SymlinkLoopIsAnErrorNotAHang) {
  testing::SysfsFixture f = testing::intel_laptop();
  f.link("sys/bus/pci/devices/0000:00:1d.0", "0000:00:1d.1");
  f.link("sys/bus/pci/devices/0000:00:1d.1", "0000:00:1d.0");
  const Host h = build(f.build());
  const Error* e = find_issue(h, "sys/bus/pci/devices/0000:00:1d.0");
  ASSERT_NE(e, nullptr) << all_issues(h);
  EXPECT_NE(e->message().find("too many levels of symbolic links"), std::string::npos);
}

TEST(BadSysfs, LinksCannotLeaveTheRoot) {
  // An absolute or ../-heavy target is taken inside the root, like a chroot:
  // a capture on disk cannot make iovakit read the machine's own /etc.
  testing::SysfsFixture f = testing::intel_laptop();
  f.link("sys/bus/pci/devices/0000:00:1d.0", "../../../../../../../../etc/passwd");
  f.link("sys/bus/pci/devices/0000:00:1d.1", "/etc/passwd");
  testing::ScratchDir dir("root");
  ASSERT_TRUE(write_tree_to_directory(f.build(), dir.path()).ok());
  auto source = open_root(dir.path());
  ASSERT_TRUE(source.ok());
  for (const char* link : {"sys/bus/pci/devices/0000:00:1d.0", "sys/bus/pci/devices/0000:00:1d.1"}) {
    auto text = (*source)->read_file(link);
    ASSERT_FALSE(text.ok()) << link;
    EXPECT_EQ(text.error().code(), Errc::kNotFound);
    EXPECT_EQ(text.error().where().source, dir.path() + "/" + link);
  }
}

}  // namespace
}  // namespace iovakit::host
