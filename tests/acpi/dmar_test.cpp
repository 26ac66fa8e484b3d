#include "iovakit/acpi/dmar.h"

#include <gtest/gtest.h>

#include "builder.h"

namespace iovakit::acpi {
namespace {

using testing::Bytes;
using testing::make_table;
using testing::scope;

Bytes fixed(std::uint8_t width = 0x26, std::uint8_t flags = 1) {
  Bytes b;
  b.u8(width).u8(flags).zeros(10);
  return b;
}

Bytes rmrr(std::uint64_t base, std::uint64_t end, const std::vector<Bytes>& scopes, std::uint16_t segment = 0) {
  Bytes body;
  for (const auto& s : scopes) body.append(s);
  Bytes b;
  b.u16(1).u16(24 + body.size()).u16(0).u16(segment).u64(base).u64(end).append(body);
  return b;
}

Bytes drhd(std::uint8_t flags, std::uint64_t base, const std::vector<Bytes>& scopes) {
  Bytes body;
  for (const auto& s : scopes) body.append(s);
  Bytes b;
  b.u16(0).u16(16 + body.size()).u8(flags).u8(0).u16(0).u64(base).append(body);
  return b;
}

// Every record's offset lies inside the table (the fuzzer checks the same).
void expect_offsets_inside(const Dmar& d) {
  const std::size_t n = d.header.length;
  for (const auto& f : d.findings) EXPECT_LE(f.offset, n);
  for (const auto& m : d.rmrrs) {
    EXPECT_LT(m.offset, n);
    for (const auto& s : m.scopes) EXPECT_LT(s.offset + s.length - 1, n);
  }
}

TEST(Dmar, DecodesUnitsRmrrsAndScopes) {
  Bytes body = fixed(0x26, 0x05);
  body.append(drhd(1, 0xfed91000, {scope(scope_type::kIoapic, 0xf0, {{0x1f, 0}}, 2)}));
  body.append(rmrr(0x7b800000, 0x7b81ffff, {scope(1, 0, {{0x14, 0}}), scope(2, 0, {{0x1c, 4}, {0, 2}})}));
  const auto t = make_table("DMAR", 1, body);
  auto d = decode_dmar(t);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->host_address_width(), 39U);
  EXPECT_TRUE(d->intr_remap());
  EXPECT_TRUE(d->dma_ctrl_platform_opt_in());
  ASSERT_EQ(d->drhds.size(), 1U);
  EXPECT_TRUE(d->drhds[0].include_pci_all());
  EXPECT_EQ(d->drhds[0].register_base, 0xfed91000U);
  EXPECT_EQ(d->drhds[0].scopes[0].enumeration_id, 2U);
  EXPECT_EQ(d->drhds[0].scopes[0].path_string(), "f0:1f.0");
  ASSERT_EQ(d->rmrrs.size(), 1U);
  const auto& m = d->rmrrs[0];
  EXPECT_EQ(m.offset, 0x48U);
  EXPECT_EQ(m.index, 0U);
  EXPECT_EQ(m.range(), iova::Range(0x7b800000, 0x7b81ffff));
  EXPECT_TRUE(m.sanity.ok());
  ASSERT_EQ(m.scopes.size(), 2U);
  EXPECT_EQ(m.scopes[0].offset, 0x48U + 24);
  EXPECT_EQ(m.scopes[1].path, (std::vector<PathElement>{{0x1c, 4}, {0, 2}}));
  EXPECT_TRUE(d->findings.empty());
  expect_offsets_inside(*d);
}

TEST(Dmar, DecodesEveryOtherStructureType) {
  Bytes body = fixed();
  Bytes atsr;
  atsr.u16(2).u16(8 + 8).u8(1).u8(0).u16(0).append(scope(2, 0, {{1, 0}}));
  Bytes rhsa;
  rhsa.u16(3).u16(20).u32(0).u64(0xfed90000).u32(3);
  Bytes andd;
  andd.u16(4).u16(8 + 16).zeros(3).u8(1).text("\\_SB.PCI0.I2C0").zeros(2);
  Bytes satc;
  satc.u16(5).u16(8 + 8).u8(1).u8(0).u16(0).append(scope(1, 0, {{2, 0}}));
  Bytes sidp;
  sidp.u16(6).u16(8 + 8).u16(0).u16(0).append(scope(1, 0, {{0x0b, 0}}));
  body.append(atsr).append(rhsa).append(andd).append(satc).append(sidp);
  auto d = decode_dmar(make_table("DMAR", 2, body));
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  ASSERT_EQ(d->atsrs.size(), 1U);
  EXPECT_TRUE(d->atsrs[0].all_ports());
  ASSERT_EQ(d->rhsas.size(), 1U);
  EXPECT_EQ(d->rhsas[0].proximity_domain, 3U);
  ASSERT_EQ(d->andds.size(), 1U);
  EXPECT_EQ(d->andds[0].name, "\\_SB.PCI0.I2C0");
  EXPECT_TRUE(d->andds[0].nul_terminated);
  ASSERT_EQ(d->satcs.size(), 1U);
  EXPECT_TRUE(d->satcs[0].atc_required());
  ASSERT_EQ(d->sidps.size(), 1U);
  EXPECT_EQ(d->sidps[0].scopes[0].path_string(), "00:0b.0");
  EXPECT_TRUE(d->findings.empty());
}

struct Fatal {
  const char* name;
  std::vector<std::uint8_t> bytes;
  Errc code;
  std::size_t offset;
  const char* fragment;
};

TEST(Dmar, RejectsHostileFramingWithOffset) {
  const auto good = make_table("DMAR", 1, fixed());
  auto long_length = good;
  long_length[4] = 0xff;  // Length 0xff > 48 bytes present
  auto short_length = good;
  short_length[4] = 20;
  auto with = [](const Bytes& tail) {
    Bytes b = fixed();
    b.append(tail);
    return make_table("DMAR", 1, b);
  };
  Bytes zero;
  zero.u16(1).u16(0).zeros(28);
  Bytes tiny;
  tiny.u16(1).u16(2).zeros(2);
  Bytes past;
  past.u16(1).u16(0x100).zeros(20);
  Bytes stub;
  stub.u8(1).u8(0);
  const Fatal cases[] = {
      {"empty", {}, Errc::kTruncated, 0, "too few"},
      {"35 bytes", std::vector<std::uint8_t>(good.begin(), good.begin() + 35), Errc::kTruncated, 35, "too few"},
      {"wrong signature", make_table("DMAX", 1, fixed()), Errc::kParse, 0, "is not \"DMAR\""},
      {"Length below header", short_length, Errc::kParse, 4, "smaller than the 36-byte header"},
      {"Length past the bytes", long_length, Errc::kTruncated, 48, "truncated"},
      {"no fixed part", make_table("DMAR", 1, Bytes().u8(0x26)), Errc::kTruncated, 37, "48-byte fixed part"},
      {"zero-length structure", with(zero), Errc::kParse, 48, "length 0"},
      {"structure shorter than its header", with(tiny), Errc::kParse, 48, "shorter than its 4-byte header"},
      {"structure past the end", with(past), Errc::kTruncated, 48, "passes the table end"},
      {"2 trailing bytes", with(stub), Errc::kTruncated, 48, "too few for a remapping structure header"},
  };
  for (const auto& c : cases) {
    auto d = decode_dmar(c.bytes);
    ASSERT_FALSE(d.ok()) << c.name;
    EXPECT_EQ(d.error().code(), c.code) << c.name;
    EXPECT_EQ(d.error().where().offset, c.offset) << c.name << ": " << d.error().to_string();
    EXPECT_NE(d.error().message().find(c.fragment), std::string::npos) << c.name << ": " << d.error().to_string();
  }
}

struct Soft {
  const char* name;
  Bytes tail;
  const char* code;
  std::size_t offset;
};

TEST(Dmar, ReportsMalformedContentAsFindingsAndGoesOn) {
  Bytes scope_zero;
  scope_zero.u8(1).u8(0).u16(0).u8(0).u8(0);
  Bytes scope_long;
  scope_long.u8(1).u8(0xff).u16(0).u8(0).u8(0).u8(0x14).u8(0);
  Bytes scope_odd;
  scope_odd.u8(1).u8(9).u16(0).u8(0).u8(0).u8(0x14).u8(0).u8(7);
  Bytes andd;
  andd.u16(4).u16(12).zeros(3).u8(1).text("ABCD");
  Bytes unknown;
  unknown.u16(9).u16(8).zeros(4);
  Bytes short_rmrr;
  short_rmrr.u16(1).u16(8).zeros(4);
  const Soft cases[] = {
      {"zero-length scope", rmrr(0x1000, 0x1fff, {scope_zero}), "scope-bad-length", 48 + 24},
      {"scope past its structure", rmrr(0x1000, 0x1fff, {scope_long}), "scope-bad-length", 48 + 24},
      {"odd path length", rmrr(0x1000, 0x1fff, {scope_odd}), "scope-odd-path", 48 + 24},
      {"empty path", rmrr(0x1000, 0x1fff, {scope(1, 0, {})}), "scope-empty-path", 48 + 24},
      {"reserved scope type 0", rmrr(0x1000, 0x1fff, {scope(0, 0, {{1, 0}})}), "scope-unknown-type", 48 + 24},
      {"reserved scope type 7", rmrr(0x1000, 0x1fff, {scope(7, 0, {{1, 0}})}), "scope-unknown-type", 48 + 24},
      {"RMRR without scope", rmrr(0x1000, 0x1fff, {}), "rmrr-no-scope", 48},
      {"unaligned base", rmrr(0x1800, 0x1fff, {scope(1, 0, {{2, 0}})}), "rmrr-base-unaligned", 48 + 8},
      {"unaligned end", rmrr(0x1000, 0x1ffe, {scope(1, 0, {{2, 0}})}), "rmrr-end-unaligned", 48 + 16},
      {"end below base", rmrr(0x2000, 0x0fff, {scope(1, 0, {{2, 0}})}), "rmrr-end-not-above-base", 48 + 16},
      {"ANDD name without NUL", andd, "andd-name-unterminated", 48 + 8},
      {"unknown structure type", unknown, "unknown-structure", 48},
      {"RMRR shorter than 24", short_rmrr, "structure-too-short", 48},
  };
  for (const auto& c : cases) {
    Bytes body = fixed();
    body.append(c.tail);
    // A good RMRR after the bad structure must still be decoded.
    body.append(rmrr(0x5000, 0x5fff, {scope(1, 0, {{3, 0}})}));
    const auto t = make_table("DMAR", 1, body);
    auto d = decode_dmar(t);
    ASSERT_TRUE(d.ok()) << c.name << ": " << d.error().to_string();
    bool found = false;
    for (const auto& f : d->findings) found |= f.code == c.code && f.offset == c.offset;
    EXPECT_TRUE(found) << c.name << ": no " << c.code << " at " << c.offset;
    ASSERT_FALSE(d->rmrrs.empty()) << c.name;
    EXPECT_EQ(d->rmrrs.back().base, 0x5000U) << c.name;
    expect_offsets_inside(*d);
  }
}

TEST(Dmar, BadChecksumIsAFindingWithBothValues) {
  auto t = make_table("DMAR", 1, fixed());
  t[9] = static_cast<std::uint8_t>(t[9] + 1);
  auto d = decode_dmar(t);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->header.checksum_ok());
  ASSERT_EQ(d->findings.size(), 1U);
  EXPECT_EQ(d->findings[0].code, "checksum");
  EXPECT_EQ(d->findings[0].offset, 9U);
  EXPECT_EQ(d->header.computed_checksum, static_cast<std::uint8_t>(t[9] - 1));
}

TEST(Dmar, InvalidHawAndEndEqualBaseAreFindings) {
  Bytes body = fixed(5);
  body.append(rmrr(0x1000, 0x1000, {scope(1, 0, {{2, 0}})}));
  auto d = decode_dmar(make_table("DMAR", 1, body));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host_address_width(), 6U);
  ASSERT_FALSE(d->findings.empty());
  EXPECT_EQ(d->findings[0].code, "dmar-invalid-haw");
  EXPECT_TRUE(d->rmrrs[0].sanity.end_not_above_base);
  EXPECT_TRUE(d->rmrrs[0].sanity.end_unaligned);
  EXPECT_EQ(d->rmrrs[0].range(), iova::Range(0x1000, 0x1000));
}

TEST(Dmar, OutOfSpecOrderIsANote) {
  Bytes body = fixed();
  body.append(rmrr(0x1000, 0x1fff, {scope(1, 0, {{2, 0}})}));
  body.append(drhd(1, 0xfed91000, {}));
  body.append(drhd(0, 0xfed90000, {scope(1, 0, {{2, 0}})}));
  auto d = decode_dmar(make_table("DMAR", 1, body));
  ASSERT_TRUE(d.ok());
  std::vector<std::string> codes;
  for (const auto& f : d->findings) codes.push_back(f.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"structure-order", "structure-order", "drhd-include-all-not-last"}));
  EXPECT_EQ(d->findings[0].offset, 48U + 32);
}

TEST(Dmar, TrailingBytesAfterLengthAreIgnoredWithAFinding) {
  auto t = make_table("DMAR", 1, fixed());
  t.push_back(0xaa);
  auto d = decode_dmar(t);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->findings.size(), 1U);
  EXPECT_EQ(d->findings[0].code, "trailing-bytes");
  EXPECT_EQ(d->findings[0].offset, 48U);
}

TEST(Dmar, ManyZeroPathScopesStayLinear) {
  // A 64 KiB structure full of 6-byte scopes: decoded in one pass.
  Bytes scopes;
  for (int i = 0; i < 10000; ++i) scopes.append(scope(1, 0, {}));
  Bytes body = fixed();
  body.u16(1).u16(24 + scopes.size()).u16(0).u16(0).u64(0x1000).u64(0x1fff).append(scopes);
  auto d = decode_dmar(make_table("DMAR", 1, body));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rmrrs[0].scopes.size(), 10000U);
}

TEST(Dmar, NamesTypes) {
  EXPECT_EQ(scope_type_name(scope_type::kNamespace), "acpi-namespace");
  EXPECT_EQ(scope_type_name(0), "reserved");
  EXPECT_EQ(dmar_type_name(dmar_type::kSidp), "SIDP");
  EXPECT_EQ(dmar_type_name(7), "unknown");
}

}  // namespace
}  // namespace iovakit::acpi
