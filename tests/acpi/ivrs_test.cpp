#include "iovakit/acpi/ivrs.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "builder.h"

namespace iovakit::acpi {
namespace {

using testing::Bytes;
using testing::make_table;

Bytes fixed(std::uint32_t ivinfo = 0x00203043) {
  Bytes b;
  b.u32(ivinfo).u64(0);
  return b;
}

Bytes ivhd(std::uint8_t type, const Bytes& entries) {
  const std::size_t header = type == 0x10 ? 24 : 40;
  Bytes b;
  b.u8(type).u8(0xb0).u16(header + entries.size()).u16(0x0002).u16(0x40).u64(0xfd200000).u16(0).u16(0).u32(0x80048f6e);
  if (type != 0x10) b.u64(0x206d73ef22254adeULL).u64(0);
  return b.append(entries);
}

Bytes ivmd(std::uint8_t type, std::uint8_t flags, std::uint16_t devid, std::uint16_t aux, std::uint64_t start,
           std::uint64_t length, std::uint64_t reserved = 0) {
  Bytes b;
  b.u8(type).u8(flags).u16(32).u16(devid).u16(aux).u64(reserved).u64(start).u64(length);
  return b;
}

Bytes entry4(std::uint8_t type, std::uint16_t devid, std::uint8_t setting = 0) {
  Bytes b;
  b.u8(type).u16(devid).u8(setting);
  return b;
}

Bytes entry8(std::uint8_t type, std::uint16_t devid, std::uint8_t b4, std::uint16_t b5, std::uint8_t b7) {
  Bytes b;
  b.u8(type).u16(devid).u8(0).u8(b4).u16(b5).u8(b7);
  return b;
}

Bytes acpi_hid(std::string_view hid, std::string_view uid) {
  Bytes b;
  b.u8(0xf0).u16(0x00a5).u8(0x40).text(hid).zeros(8 - hid.size()).u64(0).u8(2).u8(uid.size()).text(uid);
  return b;
}

bool has(const std::vector<Finding>& findings, std::string_view code, std::size_t offset) {
  return std::ranges::any_of(findings, [&](const Finding& f) { return f.code == code && f.offset == offset; });
}

TEST(Ivrs, IvinfoFields) {
  IvInfo i{0x00203043};
  EXPECT_TRUE(i.efr_sup());
  EXPECT_TRUE(i.dma_remap());
  EXPECT_EQ(i.gva_size(), 2U);
  EXPECT_EQ(i.pa_size(), 48U);
  EXPECT_EQ(i.va_size(), 64U);
  EXPECT_FALSE(i.ht_ats_reserved());
  EXPECT_TRUE(IvInfo{1U << 22}.ht_ats_reserved());
}

TEST(Ivrs, DecodesIvhdEntriesAndIvmds) {
  Bytes entries;
  entries.append(entry4(3, 0x0008)).append(entry4(4, 0x00fe)).append(entry8(0x43, 0xff00, 0, 0x00a5, 0));
  entries.append(entry4(4, 0xffff)).append(entry8(0x48, 0, 0x21, 0x00a0, 1)).append(acpi_hid("AMDI0020", "\\_SB.FUR0"));
  Bytes body = fixed();
  body.append(ivhd(0x11, entries));
  body.append(ivmd(0x21, 0x08, 0x0300, 0, 0xccd42000, 0x26000, 0x0001));
  const auto t = make_table("IVRS", 2, body);
  auto v = decode_ivrs(t);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  ASSERT_EQ(v->ivhds.size(), 1U);
  const auto& h = v->ivhds[0];
  EXPECT_EQ(h.efr, 0x206d73ef22254adeULL);
  ASSERT_EQ(h.entries.size(), 6U);
  EXPECT_EQ(h.entries[2].used_devid, 0x00a5U);
  EXPECT_EQ(h.entries[4].handle, 0x21U);
  EXPECT_EQ(h.entries[4].variety, 1U);
  EXPECT_EQ(h.entries[5].length, 22U + 9);
  EXPECT_EQ(h.entries[5].hid, "AMDI0020");
  EXPECT_EQ(h.entries[5].uid, "\\_SB.FUR0");
  ASSERT_EQ(v->ivmds.size(), 1U);
  const auto& m = v->ivmds[0];
  EXPECT_TRUE(m.exclusion());
  EXPECT_EQ(m.segment(), 1U);
  EXPECT_EQ(m.range(), iova::Range(0xccd42000, 0xccd67fff));
  EXPECT_TRUE(v->findings.empty()) << v->findings[0].message;

  const auto map = expand_device_entries(h);
  EXPECT_TRUE(map.findings.empty());
  ASSERT_EQ(map.ranges.size(), 2U);
  EXPECT_EQ(map.ranges[1].first, 0xff00U);
  EXPECT_EQ(map.ranges[1].alias, 0x00a5U);
  EXPECT_EQ(map.find(0xff42)->alias, 0x00a5U);
  EXPECT_EQ(map.find(0x0007), nullptr);
  ASSERT_EQ(map.acpi_devices.size(), 1U);
  EXPECT_EQ(map.acpi_devices[0].uid, "\\_SB.FUR0");
}

TEST(Ivrs, RejectsHostileBlockFraming) {
  struct Case {
    const char* name;
    Bytes tail;
    Errc code;
    const char* fragment;
  };
  Bytes zero;
  zero.u8(0x10).u8(0).u16(0).zeros(20);
  Bytes three;
  three.u8(0x10).u8(0).u16(3).zeros(4);
  Bytes past;
  past.u8(0x21).u8(0).u16(64).zeros(28);
  Bytes stub;
  stub.u8(0x21).u8(0);
  const Case cases[] = {
      {"zero length", zero, Errc::kParse, "length 0"},
      {"length 3", three, Errc::kParse, "shorter than its 4-byte header"},
      {"past the end", past, Errc::kTruncated, "passes the table end"},
      {"2-byte stub", stub, Errc::kTruncated, "too few for a block header"},
  };
  for (const auto& c : cases) {
    Bytes body = fixed();
    body.append(c.tail);
    auto v = decode_ivrs(make_table("IVRS", 2, body));
    ASSERT_FALSE(v.ok()) << c.name;
    EXPECT_EQ(v.error().code(), c.code) << c.name;
    EXPECT_EQ(v.error().where().offset, 48U) << c.name;
    EXPECT_NE(v.error().message().find(c.fragment), std::string::npos) << v.error().to_string();
  }
}

TEST(Ivrs, ReportsMalformedContentAndGoesOn) {
  struct Case {
    const char* name;
    Bytes tail;
    std::uint8_t revision;
    const char* code;
    std::size_t offset;
  };
  Bytes unknown51 = ivmd(0x21, 0x08, 0x0300, 0, 0xccd42000, 0x26000);
  unknown51.data()[0] = 0x51;
  Bytes short_ivhd;
  short_ivhd.u8(0x11).u8(0).u16(24).zeros(20);
  Bytes short_ivmd;
  short_ivmd.u8(0x21).u8(8).u16(16).zeros(12);
  Bytes long_ivmd = ivmd(0x21, 0x08, 0, 0, 0x1000, 0x1000);
  long_ivmd.data()[2] = 40;
  long_ivmd.zeros(8);
  Bytes hid_over;
  hid_over.append(acpi_hid("AMDI0020", "X"));
  hid_over.data()[21] = 200;  // UID length past the IVHD
  Bytes hid_cut;
  hid_cut.u8(0xf0).u16(0).u8(0).zeros(6);  // 10 bytes: the fixed part is 22
  Bytes e16;
  e16.u8(0x85).u16(1).u8(0).zeros(12);
  Bytes e32;
  e32.u8(0xc5).u16(1).u8(0).zeros(28);
  Bytes cut8;
  cut8.u8(0x42).u16(1).u8(0);  // 8-byte entry type with 4 bytes left
  const Case cases[] = {
      {"unknown block 0x51", unknown51, 2, "unknown-block", 48},
      {"IVHD 0x11 shorter than 40", short_ivhd, 2, "ivhd-too-short", 48},
      {"IVHD 0x11 in revision 1", ivhd(0x11, {}), 1, "ivhd-type-needs-rev2", 48},
      {"IVMD shorter than 32", short_ivmd, 2, "ivmd-too-short", 48},
      {"IVMD longer than 32", long_ivmd, 2, "ivmd-length", 48},
      {"1-byte IVMD", ivmd(0x22, 0x08, 0, 0xfff, 0x9618e000, 1), 2, "ivmd-unaligned", 48 + 16},
      {"zero-length IVMD", ivmd(0x21, 0x01, 0, 0, 0x1000, 0), 2, "ivmd-zero-length", 48 + 24},
      {"IVMD past 2^64", ivmd(0x21, 0x01, 0, 0, ~0ULL - 0xfff, 0x2000), 2, "ivmd-wraps", 48 + 24},
      {"reversed device range", ivmd(0x22, 0x01, 0x200, 0x100, 0x1000, 0x1000), 2, "ivmd-devid-range-reversed", 54},
      {"IVMD without unity or exclusion", ivmd(0x21, 0x06, 0, 0, 0x1000, 0x1000), 2, "ivmd-unused", 49},
      {"reserved IVMD flags", ivmd(0x21, 0x11, 0, 0, 0x1000, 0x1000), 2, "ivmd-reserved-flags", 49},
      {"UID past the IVHD", ivhd(0x11, hid_over), 2, "ivhd-entry-truncated", 48 + 40},
      {"ACPI HID entry cut short", ivhd(0x11, hid_cut), 2, "ivhd-entry-truncated", 48 + 40},
      {"16-byte unknown entry", ivhd(0x10, e16), 2, "ivhd-entry-unknown", 48 + 24},
      {"32-byte unknown entry", ivhd(0x10, e32), 2, "ivhd-entry-unknown", 48 + 24},
      {"8-byte entry cut short", ivhd(0x10, cut8), 2, "ivhd-entry-truncated", 48 + 24},
  };
  for (const auto& c : cases) {
    Bytes body = fixed();
    body.append(c.tail);
    body.append(ivmd(0x20, 0x07, 0, 0, 0xa0000, 0x20000));  // decoded after the bad block
    auto v = decode_ivrs(make_table("IVRS", c.revision, body));
    ASSERT_TRUE(v.ok()) << c.name << ": " << v.error().to_string();
    EXPECT_TRUE(has(v->findings, c.code, c.offset)) << c.name << ": no " << c.code << " at " << c.offset
                                                    << (v->findings.empty() ? "" : "; first: " + v->findings[0].code);
    ASSERT_FALSE(v->ivmds.empty()) << c.name;
    EXPECT_EQ(v->ivmds.back().start, 0xa0000U) << c.name;
  }
}

TEST(Ivrs, UnknownEntriesAreSizedByTheirTopBits) {
  Bytes entries;
  entries.u8(0x85).u16(1).u8(0).zeros(12).u8(0xc5).u16(1).u8(0).zeros(28).append(entry4(2, 0x10));
  Bytes body = fixed();
  body.append(ivhd(0x10, entries));
  auto v = decode_ivrs(make_table("IVRS", 1, body));
  ASSERT_TRUE(v.ok());
  const auto& e = v->ivhds[0].entries;
  ASSERT_EQ(e.size(), 3U);
  EXPECT_EQ(e[0].length, 16U);
  EXPECT_EQ(e[1].length, 32U);
  EXPECT_EQ(e[2].devid, 0x10U);
}

TEST(Ivrs, DeviceMapReportsBrokenRanges) {
  Bytes entries;
  entries.append(entry4(4, 0x10));                          // end without start
  entries.append(entry4(3, 0x20)).append(entry4(3, 0x30));  // reopened
  entries.append(entry4(4, 0x28));                          // reversed (0x30..0x28)
  entries.append(entry4(1, 0, 0xd7));                       // ALL
  entries.append(entry8(0x47, 0x40, 1, 0, 0));              // extended range, never closed
  Bytes body = fixed();
  body.append(ivhd(0x10, entries));
  auto v = decode_ivrs(make_table("IVRS", 1, body));
  ASSERT_TRUE(v.ok());
  const auto map = expand_device_entries(v->ivhds[0]);
  std::vector<std::string> codes;
  for (const auto& f : map.findings) codes.push_back(f.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"ivhd-range-end-alone", "ivhd-range-reopened", "ivhd-range-reversed",
                                             "ivhd-range-unclosed"}));
  ASSERT_NE(map.find(0x1234), nullptr);
  EXPECT_EQ(map.find(0x1234)->setting, 0xd7U);
}

TEST(Ivrs, NamesAndDevids) {
  EXPECT_EQ(devid_string(0x00a5), "00:14.5");
  EXPECT_EQ(devid_string(0xffff), "ff:1f.7");
  EXPECT_EQ(ivhd_entry_name(0x43), "alias-range");
  EXPECT_EQ(ivrs_block_name(0x40), "IVHD");
  EXPECT_EQ(ivrs_block_name(0x22), "IVMD");
  EXPECT_EQ(ivrs_block_name(0x51), "unknown");
}

}  // namespace
}  // namespace iovakit::acpi
