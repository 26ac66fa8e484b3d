// Tables written for this project in iasl source (tests/data/acpi/built/)
// for cases the real corpus lacks, compiled with the local iasl at test time.
// Each one must (1) compile, (2) decode without error, (3) match its own
// iasl disassembly field by field (oracle.h), and (4) show the behaviour the
// case exists for. iasl missing is a failure, never a skip.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "iasl.h"
#include "iovakit/acpi/dmar.h"
#include "iovakit/acpi/ivrs.h"
#include "oracle.h"

namespace iovakit::acpi {
namespace {

std::filesystem::path built(const char* name) {
  return std::filesystem::path(IOVAKIT_TEST_DATA_DIR) / "acpi" / "built" / name;
}

// Compiles, then checks every decoded structure against `iasl -d` of the
// compiled bytes. Returns the bytes (empty on failure, with test failures).
std::vector<std::uint8_t> compile_and_check(const char* name,
                                            std::vector<testing::Group> (*groups_of)(std::span<const std::uint8_t>)) {
  if (!testing::iasl_found()) {
    ADD_FAILURE() << "iasl (acpica-tools) not found at configure time; run scripts/setup";
    return {};
  }
  std::string log;
  auto aml = testing::iasl_compile(built(name), &log);
  if (!aml) {
    ADD_FAILURE() << "iasl could not compile " << name << ":\n" << log;
    return {};
  }
  testing::ScratchDir dir;
  const auto path = dir.path() / "built.dat";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(aml->data()), static_cast<std::streamsize>(aml->size()));
  }
  const auto dsl = testing::iasl_disassemble(path);
  if (!dsl) {
    ADD_FAILURE() << "iasl -d failed on the compiled " << name;
    return {};
  }
  const auto groups = groups_of(*aml);
  EXPECT_FALSE(groups.empty()) << name << " did not decode";
  for (const auto& g : groups) {
    EXPECT_TRUE(testing::decodes(*dsl, g)) << g.what << " is not in the disassembly";
    for (const auto& problem : testing::compare(*dsl, g)) ADD_FAILURE() << problem;
  }
  return *aml;
}

std::vector<testing::Group> dmar_groups_of(std::span<const std::uint8_t> bytes) {
  auto d = decode_dmar(bytes);
  if (!d) {
    ADD_FAILURE() << d.error().to_string();
    return {};
  }
  return testing::dmar_groups(*d);
}

std::vector<testing::Group> ivrs_groups_of(std::span<const std::uint8_t> bytes) {
  auto v = decode_ivrs(bytes);
  if (!v) {
    ADD_FAILURE() << v.error().to_string();
    return {};
  }
  return testing::ivrs_groups(*v);
}

bool has_finding(const std::vector<Finding>& findings, const std::string& code, std::size_t offset) {
  return std::ranges::any_of(findings, [&](const Finding& f) { return f.code == code && f.offset == offset; });
}

TEST(BuiltTables, DmarDeepBridgesSeveralScopesOverlapsAndBadRmrr) {
  const auto bytes = compile_and_check("dmar-scopes.asl", dmar_groups_of);
  ASSERT_FALSE(bytes.empty());
  auto d = decode_dmar(bytes);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_TRUE(d->header.checksum_ok());
  ASSERT_EQ(d->rmrrs.size(), 4U);

  // RMRR #0: one RMRR, three endpoint scopes.
  ASSERT_EQ(d->rmrrs[0].scopes.size(), 3U);
  EXPECT_EQ(d->rmrrs[0].scopes[2].path_string(), "00:1d.0");

  // RMRR #1: a bridge three levels deep and an endpoint four levels deep.
  const auto& deep = d->rmrrs[1].scopes;
  ASSERT_EQ(deep.size(), 2U);
  EXPECT_EQ(deep[0].type, scope_type::kBridge);
  EXPECT_EQ(deep[0].path.size(), 3U);
  EXPECT_EQ(deep[0].path_string(), "00:1c.0/00.0/03.0");
  EXPECT_EQ(deep[1].type, scope_type::kEndpoint);
  EXPECT_EQ(deep[1].path_string(), "00:1c.0/00.0/03.0/00.1");

  // RMRR #2 overlaps RMRR #0; RMRR #3 fails rmrr_sanity_check twice.
  EXPECT_TRUE(has_finding(d->findings, "rmrr-overlap", d->rmrrs[2].offset));
  EXPECT_FALSE(d->rmrrs[3].sanity.ok());
  EXPECT_TRUE(d->rmrrs[3].sanity.base_unaligned);
  EXPECT_TRUE(d->rmrrs[3].sanity.end_unaligned);
  EXPECT_FALSE(d->rmrrs[3].sanity.end_not_above_base);
  EXPECT_TRUE(d->rmrrs[0].sanity.ok());

  ASSERT_EQ(d->atsrs.size(), 1U);
  EXPECT_EQ(d->atsrs[0].scopes[0].path_string(), "00:01.0/00.0");
  ASSERT_EQ(d->rhsas.size(), 1U);
  EXPECT_EQ(d->rhsas[0].proximity_domain, 1U);
}

TEST(BuiltTables, IvrsIvmdOfEachTypeAndDeviceEntries) {
  const auto bytes = compile_and_check("ivrs-ivmds.asl", ivrs_groups_of);
  ASSERT_FALSE(bytes.empty());
  auto v = decode_ivrs(bytes);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  ASSERT_EQ(v->ivmds.size(), 4U);
  EXPECT_EQ(v->ivmds[0].type, ivrs_type::kIvmdAll);
  EXPECT_EQ(v->ivmds[1].type, ivrs_type::kIvmdSelect);
  EXPECT_EQ(v->ivmds[2].type, ivrs_type::kIvmdRange);
  EXPECT_TRUE(v->ivmds[0].unity() && v->ivmds[0].read() && v->ivmds[0].write());
  EXPECT_TRUE(v->ivmds[1].exclusion());
  EXPECT_EQ(v->ivmds[0].first_devid(), 0U);
  EXPECT_EQ(v->ivmds[0].last_devid(), 0xffffU);
  EXPECT_EQ(v->ivmds[2].first_devid(), 0x100U);
  EXPECT_EQ(v->ivmds[2].last_devid(), 0x1ffU);
  // End-exclusive in the table, inclusive here.
  EXPECT_EQ(v->ivmds[1].range(), iova::Range(0xccd42000, 0xccd67fff));
  // The MECHREVO shape: one byte, reported, still decoded.
  EXPECT_EQ(v->ivmds[3].range(), iova::Range(0x9618e000, 0x9618e000));
  EXPECT_TRUE(has_finding(v->findings, "ivmd-unaligned", v->ivmds[3].offset + 16));

  ASSERT_EQ(v->ivhds.size(), 1U);
  const auto map = expand_device_entries(v->ivhds[0]);
  EXPECT_TRUE(map.findings.empty());
  ASSERT_NE(map.find(0x0010), nullptr);
  EXPECT_FALSE(map.find(0x0010)->alias.has_value());
  ASSERT_NE(map.find(0x0100), nullptr);
  EXPECT_EQ(map.find(0x0100)->alias, 0x00a4);
  ASSERT_NE(map.find(0x0280), nullptr);  // inside the alias range 02:00.0-02:1f.7
  EXPECT_EQ(map.find(0x0280)->alias, 0x00a5);
  EXPECT_EQ(map.find(0x0300)->ext_setting, 1U);
  EXPECT_EQ(map.find(0x0400), nullptr);
  ASSERT_EQ(map.specials.size(), 2U);
  EXPECT_EQ(map.specials[0].variety, 1U);
  EXPECT_EQ(map.specials[0].handle, 0x21U);
  EXPECT_EQ(map.specials[1].variety, 2U);
}

}  // namespace
}  // namespace iovakit::acpi
