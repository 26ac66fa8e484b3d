// tar and gzip in memory (archive.h): round trips, the long-name extensions,
// and archives that are damaged or hostile.
#include <gtest/gtest.h>

#include <string>

#include <fmt/core.h>

#include "iovakit/host/archive.h"

namespace iovakit::host {
namespace {

// A ustar checksum field: six octal digits, NUL, space (what GNU tar writes).
std::string fmt_checksum(unsigned sum) { return fmt::format("{:06o}", sum) + std::string("\0 ", 2); }

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

FileTree sample() {
  FileTree t;
  EXPECT_TRUE(t.add_file("proc/version", "Linux version 6.1.0\n").ok());
  EXPECT_TRUE(t.add_file("sys/x/config", std::string("\0\x01\x02\xff", 4)).ok());
  EXPECT_TRUE(t.add_directory("sys/empty").ok());
  EXPECT_TRUE(t.add_symlink("sys/bus/pci/devices/0000:00:02.0", "../../../devices/pci0000:00/0000:00:02.0").ok());
  // Longer than ustar's 100-byte name and link fields: pax records.
  const std::string deep =
      "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/0000:02:00.0/0000:03:00.0/"
      "0000:04:00.0/0000:05:00.0/0000:06:00.0/config";
  EXPECT_TRUE(t.add_file(deep, std::string(1000, 'c')).ok());
  EXPECT_TRUE(
      t.add_symlink("sys/kernel/iommu_groups/1/devices/0000:06:00.0", "../../../../" + deep.substr(0, 120)).ok());
  return t;
}

TEST(Archive, TarRoundTrip) {
  const FileTree t = sample();
  const std::string tar = write_tar(t);
  EXPECT_EQ(tar.size() % kTarBlock, 0U);
  auto back = read_tar(bytes_of(tar), "t.tar");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, t);
}

TEST(Archive, GzipRoundTripAndDeterminism) {
  const std::string tar = write_tar(sample());
  auto gz = gzip_compress(tar);
  ASSERT_TRUE(gz.ok());
  EXPECT_TRUE(is_gzip(bytes_of(*gz)));
  EXPECT_EQ(*gz, gzip_compress(tar).value());
  auto back = gzip_decompress(bytes_of(*gz));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, tar);
}

TEST(Archive, DamagedInputsGiveErrorsWithOffsets) {
  const std::string tar = write_tar(sample());
  std::string bad_sum = tar;
  bad_sum[0] = 'X';
  auto a = read_tar(bytes_of(bad_sum), "t.tar");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("checksum"), std::string::npos);
  EXPECT_EQ(a.error().where().offset, 0U);

  auto b = read_tar(bytes_of(tar.substr(0, 700)), "t.tar");  // a header whose data passes the end
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().where().source, "t.tar");

  const std::string gz = gzip_compress(tar).value();
  auto c = gzip_decompress(bytes_of(gz.substr(0, gz.size() / 2)), "t.tar.gz");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Errc::kTruncated);

  auto d = gzip_decompress(bytes_of(gz), "t.tar.gz", 100);  // a bomb, for a 100-byte limit
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), Errc::kExhausted);
}

TEST(Archive, EntriesCannotEscapeTheRoot) {
  FileTree t;
  ASSERT_TRUE(t.add_file("a", "x").ok());
  std::string tar = write_tar(t);
  // Rename entry "a" to "../a" and fix the checksum by re-writing through a
  // tree is impossible (the tree refuses ".."), so patch the bytes.
  tar.replace(0, 4, std::string("../a", 4));
  unsigned sum = 0;
  for (std::size_t i = 0; i < kTarBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(tar[i]);
  }
  const std::string field = fmt_checksum(sum);
  tar.replace(148, 8, field);
  auto r = read_tar(bytes_of(tar), "evil.tar");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(".."), std::string::npos) << r.error().to_string();
}

TEST(FileTree, NormalizesAndRejects) {
  EXPECT_EQ(normalize_tree_path("./sys//bus/").value(), "sys/bus");
  EXPECT_EQ(normalize_tree_path("/").value(), "");
  EXPECT_FALSE(normalize_tree_path("sys/../etc").ok());
  FileTree t;
  ASSERT_TRUE(t.add_file("a/b", "x").ok());
  EXPECT_FALSE(t.add_file("a/b/c", "y").ok());  // parent is a file
  EXPECT_FALSE(t.add_directory("a/b").ok());    // a directory over a file
  ASSERT_TRUE(t.add_file("a/b", "zz").ok());    // the later entry wins
  EXPECT_EQ(t.find("a/b")->data, "zz");
  EXPECT_EQ(t.content_bytes(), 2U);
  EXPECT_EQ(t.children("a"), std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace iovakit::host
