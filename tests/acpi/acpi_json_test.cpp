#include "iovakit/report/acpi_json.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "iasl.h"

namespace iovakit::report {
namespace {

acpi::DecodedTable corpus_table(const char* dir, const char* name) {
  const auto path = std::filesystem::path(IOVAKIT_TEST_DATA_DIR) / "acpi" / dir / name;
  auto raw = acpi::split_tables(acpi::testing::read_bytes(path), path.string());
  auto decoded = acpi::decode_table(raw.value().front());
  return std::move(decoded).value();
}

TEST(AcpiJson, DmarRmrrCarriesOffsetRangeScopesAndSanity) {
  const auto j = to_json(corpus_table("dmar", "hewlett-packard_proliant-dl360-g7_60DCEE46526A.dat"));
  EXPECT_EQ(j["signature"], "DMAR");
  EXPECT_EQ(j["header"]["checksum_ok"], true);
  const auto& rmrr = j["dmar"]["rmrrs"][1];
  EXPECT_EQ(rmrr["offset"], 0x70);
  EXPECT_EQ(rmrr["index"], 1);
  EXPECT_EQ(rmrr["range"]["start"], "0x00000000df7df000");
  EXPECT_EQ(rmrr["range"]["end"], "0x00000000df7e4fff");
  EXPECT_EQ(rmrr["range"]["size"], "0x6000");
  EXPECT_EQ(rmrr["sanity"]["ok"], true);
  EXPECT_EQ(rmrr["scopes"][4]["path_string"], "00:1c.4/00.0");
  EXPECT_EQ(rmrr["scopes"][4]["path"][1]["function"], 0);
  EXPECT_EQ(j["dmar"]["host_address_width"], 39);
}

TEST(AcpiJson, IvmdKeepsRawValuesAndInclusiveRange) {
  const auto j = to_json(corpus_table("ivrs", "mechrevo_wujie14xa_9249A3556422.dat"));
  const auto& m = j["ivrs"]["ivmds"][0];
  EXPECT_EQ(m["type"], 0x22);
  EXPECT_EQ(m["exclusion"], true);
  EXPECT_EQ(m["start"], "0x000000009618e000");
  EXPECT_EQ(m["length"], "0x1");
  EXPECT_EQ(m["range"]["end"], "0x000000009618e000");
  EXPECT_EQ(m["devid_last"]["bdf"], "0f:1f.7");
  EXPECT_EQ(j["findings"][0]["code"], "ivmd-unaligned");
}

TEST(AcpiJson, IortRmrNode) {
  const auto j = to_json(corpus_table("iort", "radxa-orion-o6_cix-sky1.dat"));
  EXPECT_EQ(j["header"]["revision"], 5);
  const auto& nodes = j["iort"]["nodes"];
  const auto rmr = std::find_if(nodes.begin(), nodes.end(), [](const auto& n) { return n["kind"] == "rmr"; });
  ASSERT_NE(rmr, nodes.end());
  EXPECT_EQ((*rmr)["remapping_permitted"], true);
  EXPECT_EQ((*rmr)["access_attributes"], 4);
  EXPECT_EQ((*rmr)["descriptors"][0]["range"]["end"], "0x0000000084ffffff");
  EXPECT_EQ((*rmr)["mappings"].size(), 10U);
  EXPECT_EQ((*rmr)["mappings"][0]["output_reference"], 0xdc);
}

TEST(AcpiJson, KernelLogRecords) {
  auto log = acpi::parse_kernel_log(
      "AMD-Vi: IVMD_TYPEi devid_start: 00:14.0 devid_end: 00:14.0 range_start: 00000000ccd42000 range_end: "
      "00000000ccd68000 flags: 8\n");
  const auto j = to_json(log.value());
  EXPECT_EQ(j["lines"], 1);
  const auto& r = j["records"][0];
  EXPECT_EQ(r["kind"], "ivmd");
  EXPECT_EQ(r["device"], "00:14.0");
  EXPECT_EQ(r["range_end_exclusive"], "0x00000000ccd68000");
  EXPECT_EQ(r["range"]["end"], "0x00000000ccd67fff");
  EXPECT_EQ(r["flags"], 8);
}

}  // namespace
}  // namespace iovakit::report
