#include "iovakit/acpi/iort.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "builder.h"

namespace iovakit::acpi {
namespace {

using testing::Bytes;
using testing::make_table;

// Node header; `body` follows it, then the ID mappings (mapping offset set to
// right after the body unless `mapping_offset` is given).
Bytes node(std::uint8_t type, std::uint8_t revision, const Bytes& body, const std::vector<Bytes>& mappings,
           std::optional<std::uint32_t> mapping_offset = std::nullopt) {
  Bytes maps;
  for (const auto& m : mappings) maps.append(m);
  Bytes b;
  b.u8(type).u16(16 + body.size() + maps.size()).u8(revision).u32(7).u32(mappings.size());
  b.u32(mapping_offset.value_or(mappings.empty() ? 0 : 16 + body.size()));
  return b.append(body).append(maps);
}

Bytes mapping(std::uint32_t in, std::uint32_t count, std::uint32_t out, std::uint32_t ref, std::uint32_t flags) {
  Bytes b;
  b.u32(in).u32(count).u32(out).u32(ref).u32(flags);
  return b;
}

Bytes smmu_v3_body() {
  Bytes b;
  b.u64(0x2b400000).u32(0).u32(0).u64(0).u32(0).u32(1).u32(2).u32(3).u32(4).u32(0).u32(0);
  return b;  // 0x44 - 16 bytes: proximity domain and DeviceID mapping index present
}

// An IORT with nodes at 0x30 onwards; `count` overrides the node count.
std::vector<std::uint8_t> iort(std::uint8_t revision, const std::vector<Bytes>& nodes,
                               std::optional<std::uint32_t> count = std::nullopt, std::uint32_t offset = 0x30) {
  Bytes body;
  body.u32(count.value_or(nodes.size())).u32(offset).u32(0);
  for (const auto& n : nodes) body.append(n);
  return make_table("IORT", revision, body);
}

bool has(const std::vector<Finding>& findings, std::string_view code) {
  return std::ranges::any_of(findings, [&](const Finding& f) { return f.code == code; });
}

TEST(Iort, DecodesSmmuV3AndRmrWithMappings) {
  const std::size_t smmu_at = 0x30;
  const Bytes smmu = node(4, 2, smmu_v3_body(), {});
  Bytes rmr_body;
  rmr_body.u32(0x11).u32(2).u32(16 + 12 + 20);  // descriptors after the one mapping
  Bytes descs;
  descs.u64(0x84800000).u64(0x800000).u32(0).u64(0x90000000).u64(0x10000).u32(0);
  Bytes rmr = node(6, 3, rmr_body, {mapping(0, 0, 0x06, smmu_at, 1)});
  rmr.append(descs);
  rmr.data()[1] = static_cast<std::uint8_t>(rmr.size());
  auto t = decode_iort(iort(5, {smmu, rmr}));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  ASSERT_EQ(t->nodes.size(), 2U);
  const auto& s = t->nodes[0];
  ASSERT_TRUE(s.smmu_v3.has_value());
  EXPECT_EQ(s.smmu_v3->base, 0x2b400000U);
  EXPECT_EQ(s.smmu_v3->proximity_domain, 0U);
  EXPECT_TRUE(s.smmu_v3->device_id_mapping_index.has_value());
  const auto& r = t->nodes[1];
  ASSERT_TRUE(r.rmr.has_value());
  EXPECT_TRUE(r.rmr->remapping_permitted());
  EXPECT_FALSE(r.rmr->privileged());
  EXPECT_EQ(r.rmr->access_attributes(), 4U);
  ASSERT_EQ(r.rmr->descriptors.size(), 2U);
  EXPECT_EQ(r.rmr->descriptors[0].range(), iova::Range(0x84800000, 0x84ffffff));
  ASSERT_EQ(r.mappings.size(), 1U);
  EXPECT_TRUE(r.mappings[0].single());
  EXPECT_EQ(r.mappings[0].output_reference, smmu_at);
  EXPECT_EQ(t->node_at(smmu_at), t->nodes.data());
  EXPECT_EQ(t->node_at(smmu_at + 1), nullptr);
  EXPECT_TRUE(t->findings.empty()) << t->findings[0].message;
}

TEST(Iort, DecodesTheOtherNodeTypes) {
  Bytes its;
  its.u32(2).u32(0).u32(1);
  Bytes nc;
  nc.u32(0).u32(1).u8(0).u16(0).u8(0).u8(48).text("\\_SB_.DPU0").u8(0).zeros(2);
  Bytes rc;
  rc.u32(1).u8(0).u16(0).u8(0).u32(1).u32(3).u8(48).u16(0x14).u8(0).u32(1);
  Bytes smmu;
  smmu.u64(0x15000000).u64(0x80000).u32(3).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0);
  Bytes pmcg;
  pmcg.u64(0x1000000).u32(99).u32(0x30).u64(0x2000000);
  auto t = decode_iort(iort(
      0, {node(0, 0, its, {}), node(1, 0, nc, {}), node(2, 0, rc, {}), node(3, 0, smmu, {}), node(5, 0, pmcg, {})}));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  ASSERT_EQ(t->nodes.size(), 5U);
  EXPECT_EQ(t->nodes[0].its_group->its_ids, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(t->nodes[1].named_component->name, "\\_SB_.DPU0");
  EXPECT_EQ(t->nodes[1].named_component->address_size_limit, 48U);
  EXPECT_EQ(t->nodes[2].root_complex->segment, 3U);
  EXPECT_EQ(t->nodes[2].root_complex->pasid_capabilities, 0x14U);
  EXPECT_EQ(t->nodes[2].root_complex->flags, 1U);
  EXPECT_EQ(t->nodes[3].smmu->model, 3U);
  EXPECT_EQ(t->nodes[4].pmcg->page1_base, 0x2000000U);
  EXPECT_TRUE(t->findings.empty()) << t->findings[0].message;
}

TEST(Iort, RejectsHostileNodeFraming) {
  struct Case {
    const char* name;
    std::vector<std::uint8_t> bytes;
    Errc code;
    std::size_t offset;
  };
  Bytes zero;
  zero.u8(1).u16(0).u8(0).zeros(12);
  Bytes twelve;
  twelve.u8(1).u16(12).u8(0).zeros(12);
  Bytes past;
  past.u8(1).u16(0x400).u8(0).zeros(12);
  const Case cases[] = {
      {"node offset past the end", iort(0, {node(4, 2, smmu_v3_body(), {})}, std::nullopt, 0x1000), Errc::kParse, 0x28},
      {"node offset inside the fixed part", iort(0, {node(4, 2, smmu_v3_body(), {})}, std::nullopt, 0x10), Errc::kParse,
       0x28},
      {"zero-length node", iort(0, {zero}), Errc::kParse, 0x30},
      {"node shorter than its header", iort(0, {twelve}), Errc::kParse, 0x30},
      {"node past the end", iort(0, {past}), Errc::kTruncated, 0x30},
      {"more nodes announced than fit", iort(0, {node(4, 2, smmu_v3_body(), {})}, 0xffffffffU), Errc::kTruncated,
       0x30 + 16 + 0x34},
  };
  for (const auto& c : cases) {
    auto t = decode_iort(c.bytes);
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.error().code(), c.code) << c.name << ": " << t.error().to_string();
    EXPECT_EQ(t.error().where().offset, c.offset) << c.name << ": " << t.error().to_string();
  }
}

TEST(Iort, ReportsBadArraysAndReferencesAsFindings) {
  struct Case {
    const char* name;
    Bytes node;
    const char* code;
  };
  Bytes rmr_body;
  rmr_body.u32(0).u32(1).u32(0xfff0);
  Bytes rmr_zero;
  rmr_zero.u32(0).u32(0).u32(0);
  Bytes its;
  its.u32(0xffffffffU);
  Bytes rmr_descs_body;
  rmr_descs_body.u32(0).u32(3).u32(0x1c);
  Bytes rmr_descs = node(6, 3, rmr_descs_body, {});
  rmr_descs.u64(0x1000).u64(0x1000).u32(0);  // not 64-KiB aligned
  rmr_descs.u64(0x10000).u64(0).u32(0);      // zero length
  rmr_descs.u64(0x1800).u64(0x1000).u32(0);  // overlaps the first
  rmr_descs.data()[1] = static_cast<std::uint8_t>(rmr_descs.size());
  Bytes unknown;
  unknown.zeros(4);
  const Case cases[] = {
      {"huge mapping count", node(4, 2, smmu_v3_body(), {}, 0x44), "iort-mappings-outside-node"},
      {"self reference", node(4, 2, smmu_v3_body(), {mapping(0, 0xffff, 0, 0x30, 0)}), "iort-self-reference"},
      {"dangling reference", node(4, 2, smmu_v3_body(), {mapping(0, 0xffff, 0, 0x31, 0)}), "iort-bad-reference"},
      {"mappings over the node fields", node(4, 2, smmu_v3_body(), {mapping(0, 0, 0, 0x30, 1)}, 0x20),
       "iort-mappings-overlap-fields"},
      {"RMR descriptors outside", node(6, 3, rmr_body, {}), "rmr-descriptors-outside-node"},
      {"RMR without descriptor", node(6, 3, rmr_zero, {}), "rmr-no-descriptor"},
      {"RMR without mapping", node(6, 3, rmr_zero, {}), "rmr-no-mapping"},
      {"RMR unaligned", rmr_descs, "rmr-unaligned"},
      {"RMR zero length", rmr_descs, "rmr-zero-length"},
      {"RMR overlap", rmr_descs, "rmr-overlap"},
      {"ITS count too big", node(0, 0, its, {}), "iort-its-count"},
      {"unknown node type", node(9, 0, unknown, {}), "iort-unknown-node"},
  };
  for (const auto& c : cases) {
    Bytes n = c.node;
    if (std::string_view(c.name) == "huge mapping count") {
      n.data()[8] = 0xff;
      n.data()[9] = 0xff;
      n.data()[10] = 0xff;
      n.data()[11] = 0xff;
    }
    auto t = decode_iort(iort(5, {n, node(4, 2, smmu_v3_body(), {})}));
    ASSERT_TRUE(t.ok()) << c.name << ": " << t.error().to_string();
    EXPECT_TRUE(has(t->findings, c.code)) << c.name << ": no " << c.code;
    EXPECT_EQ(t->nodes.size(), 2U) << c.name;
  }
}

TEST(Iort, NoNodesIsFine) {
  auto t = decode_iort(iort(0, {}, 0, 0));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_TRUE(t->nodes.empty());
}

TEST(Iort, NodeNames) {
  EXPECT_EQ(iort_node_name(iort_node::kRmr), "rmr");
  EXPECT_EQ(iort_node_name(iort_node::kIwb), "iwb");
  EXPECT_EQ(iort_node_name(42), "unknown");
}

}  // namespace
}  // namespace iovakit::acpi
