// Snapshots: capture a fixture, write it as a folder and as a .tar.gz, read
// it back, get the same Host; and nothing outside the allow-list is ever
// captured, even when the root holds licence-key tables, DMI serials, BARs
// and ROMs (planted_secrets()).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "host/support/host_test_util.h"
#include "iovakit/host/archive.h"
#include "iovakit/host/snapshot.h"

namespace iovakit::host {
namespace {

using testing::build;

struct SnapshotCase {
  std::string name;
  testing::SysfsFixture (*make)();
};

class SnapshotRoundTrip : public ::testing::TestWithParam<SnapshotCase> {};

TEST_P(SnapshotRoundTrip, FolderAndArchiveReadBackAsTheSameHost) {
  const FileTree original = GetParam().make().build();
  TreeSource source(original, "original");
  auto capture = capture_snapshot(source);
  ASSERT_TRUE(capture.ok()) << capture.error().to_string();
  const Host expected = build(original);

  // In memory.
  EXPECT_TRUE(same_host(expected, build(capture->tree, "capture")));

  // A folder.
  testing::ScratchDir folder("folder");
  ASSERT_TRUE(write_snapshot(capture->tree, folder.path()).ok());
  auto from_folder = open_root(folder.path());
  ASSERT_TRUE(from_folder.ok()) << from_folder.error().to_string();
  auto folder_host = build_host(**from_folder);
  ASSERT_TRUE(folder_host.ok());
  EXPECT_TRUE(same_host(expected, *folder_host));

  // A .tar.gz.
  testing::ScratchDir dir("archive");
  std::filesystem::create_directories(dir.path());
  const std::string archive = dir.path() + "/host.tar.gz";
  ASSERT_TRUE(write_snapshot(capture->tree, archive).ok());
  auto from_archive = open_root(archive);
  ASSERT_TRUE(from_archive.ok()) << from_archive.error().to_string();
  auto archive_host = build_host(**from_archive);
  ASSERT_TRUE(archive_host.ok());
  EXPECT_TRUE(same_host(expected, *archive_host));

  // Capturing the capture changes nothing: the snapshot is a fixed point.
  auto again = capture_snapshot(**from_archive);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tree, capture->tree);
}

TEST_P(SnapshotRoundTrip, EveryCapturedPathIsAllowedAndFromTheSource) {
  const FileTree original = GetParam().make().build();
  TreeSource source(original, "original");
  auto capture = capture_snapshot(source);
  ASSERT_TRUE(capture.ok());
  for (const auto& [path, node] : capture->tree.nodes()) {
    const FileNode* from = original.find(path);
    ASSERT_NE(from, nullptr) << path;
    EXPECT_EQ(*from, node) << path;                   // byte for byte, links as written
    if (node.type == NodeType::kDirectory) continue;  // parents of captured files
    EXPECT_TRUE(snapshot_allows(path, node.type)) << path;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SnapshotRoundTrip,
                         ::testing::Values(SnapshotCase{"intel_laptop", testing::intel_laptop},
                                           SnapshotCase{"server_nic_rmrr", testing::server_nic_rmrr},
                                           SnapshotCase{"amd_ivmd", testing::amd_ivmd},
                                           SnapshotCase{"arm_iort_rmr", testing::arm_iort_rmr},
                                           SnapshotCase{"pcie_to_pci", testing::pcie_to_pci},
                                           SnapshotCase{"planted_secrets", testing::planted_secrets}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(Snapshot, LeavesSecretsAndUnreadFilesBehind) {
  const FileTree original = testing::planted_secrets().build();
  TreeSource source(original, "original");
  auto capture = capture_snapshot(source);
  ASSERT_TRUE(capture.ok()) << capture.error().to_string();
  const std::string igd = testing::planted_secrets().pci_dir("0000:00:02.0");
  for (const std::string& path : std::vector<std::string>{
           "sys/firmware/acpi/tables/MSDM", "sys/firmware/acpi/tables/SLIC", "sys/firmware/acpi/tables/DSDT",
           "sys/firmware/acpi/tables/DMAR2.bak", "sys/devices/virtual/dmi/id/product_serial",
           "sys/devices/virtual/dmi/id/product_uuid", "sys/class/dmi/id", "dev/mem", "proc/kcore",
           "home/user/.ssh/id_ed25519", igd + "/rom", igd + "/resource0", igd + "/resource", igd + "/vpd", igd + "/irq",
           igd + "/uevent", "sys/bus/pci/drivers/i915/bind"}) {
    EXPECT_EQ(capture->tree.find(path), nullptr) << path;
  }
  // No content of a planted file made it in under another name either.
  for (const auto& [path, node] : capture->tree.nodes()) {
    for (const char* secret : {"SECRET-", "XXXXX-", "ROM-BYTES", "BAR0-BYTES", "VPD-SERIAL", "PRIVATE-KEY"}) {
      EXPECT_EQ(node.data.find(secret), std::string::npos) << path;
    }
  }
  EXPECT_NE(capture->tree.find("sys/firmware/acpi/tables/DMAR"), nullptr);
  EXPECT_NE(capture->tree.find(igd + "/config"), nullptr);
}

TEST(Snapshot, AllowListPatterns) {
  struct Row {
    std::string_view pattern;
    std::string_view path;
    bool match;
  };
  for (const Row& r : std::initializer_list<Row>{
           {"sys/bus/pci/devices/{bdf}", "sys/bus/pci/devices/0000:00:02.0", true},
           {"sys/bus/pci/devices/{bdf}", "sys/bus/pci/devices/0000:00:02.0x", false},
           {"sys/bus/pci/devices/{bdf}", "sys/bus/pci/devices/10000:e0:1d.0", true},
           {"sys/kernel/iommu_groups/{n}/{type,reserved_regions}", "sys/kernel/iommu_groups/12/type", true},
           {"sys/kernel/iommu_groups/{n}/{type,reserved_regions}", "sys/kernel/iommu_groups/x/type", false},
           {"sys/kernel/iommu_groups/{n}/{type,reserved_regions}", "sys/kernel/iommu_groups/1/name", false},
           {"sys/devices/**/{bdf}/config", "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/config", true},
           {"sys/devices/**/{bdf}/config", "sys/devices/0000:00:02.0/config", true},
           {"sys/devices/**/{bdf}/config", "sys/devices/pci0000:00/0000:00:02.0/rom", false},
           {"sys/firmware/acpi/tables/{table}", "sys/firmware/acpi/tables/DMAR", true},
           {"sys/firmware/acpi/tables/{table}", "sys/firmware/acpi/tables/IVRS2", true},
           {"sys/firmware/acpi/tables/{table}", "sys/firmware/acpi/tables/MSDM", false},
           {"sys/firmware/acpi/tables/{table}", "sys/firmware/acpi/tables/SLIC", false},
           {"sys/class/iommu/*", "sys/class/iommu", false},
       }) {
    EXPECT_EQ(match_snapshot_pattern(r.pattern, r.path), r.match) << r.pattern << " ~ " << r.path;
  }
  EXPECT_FALSE(snapshot_allows("sys/firmware/acpi/tables/MSDM", NodeType::kFile));
  EXPECT_FALSE(snapshot_allows("sys/devices/virtual/dmi/id/product_serial", NodeType::kFile));
  EXPECT_FALSE(snapshot_allows("dev/mem", NodeType::kFile));
  EXPECT_FALSE(snapshot_allows("proc/self/environ", NodeType::kFile));
  EXPECT_TRUE(snapshot_allows("proc/cmdline", NodeType::kFile));
}

TEST(Snapshot, DmesgIsStoredAndReadBack) {
  const FileTree original = testing::intel_laptop().build();
  TreeSource source(original, "original");
  const std::string log = "[    0.000000] DMAR: RMRR base: 0x0000003e2e0000 end: 0x0000003e2fffff\n";
  auto capture = capture_snapshot(source, {.dmesg_text = log});
  ASSERT_TRUE(capture.ok());
  ASSERT_NE(capture->tree.find("dmesg"), nullptr);
  const Host h = build(capture->tree);
  ASSERT_TRUE(h.dmesg.has_value());
  EXPECT_EQ(h.dmesg_source, "fixture:dmesg");
}

TEST(Snapshot, RefusesANonEmptyFolderAndAnExistingArchive) {
  const FileTree tree = testing::intel_laptop().build();
  testing::ScratchDir dir("out");
  ASSERT_TRUE(write_snapshot(tree, dir.path()).ok());
  const Status again = write_snapshot(tree, dir.path());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().where().source, dir.path());
  const std::string archive = dir.path() + "/x.tgz";
  ASSERT_TRUE(write_snapshot(tree, archive).ok());
  const Status twice = write_snapshot(tree, archive);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().where().source, archive);
}

TEST(Snapshot, ArchiveBytesAreDeterministic) {
  const FileTree tree = testing::amd_ivmd().build();
  TreeSource source(tree, "x");
  auto a = capture_snapshot(source);
  auto b = capture_snapshot(source);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(write_tar(a->tree), write_tar(b->tree));
}

}  // namespace
}  // namespace iovakit::host
