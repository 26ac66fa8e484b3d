#include "iovakit/acpi/iort.h"

#include <algorithm>

#include <fmt/core.h>

#include "iovakit/acpi/byte_reader.h"

namespace iovakit::acpi {

namespace {

constexpr std::size_t kIdMappingSize = 20;
constexpr std::size_t kRmrDescriptorSize = 20;
constexpr std::uint64_t k64KiBMask = 0xffff;

Error error_at(Errc code, std::size_t offset, std::string message) {
  return Error(code, std::move(message), Location{{}, {}, offset});
}

// Bytes of type-specific fields every node of the type has, header included
// (the oldest layout: DEN 0049 issue D / ACPICA actbl2.h).
std::size_t fixed_size(std::uint8_t type) {
  switch (type) {
    case iort_node::kItsGroup: return 0x14;
    case iort_node::kNamedComponent: return 0x1d;
    case iort_node::kRootComplex: return 0x24;
    case iort_node::kSmmu:
    case iort_node::kSmmuV3: return 0x3c;
    case iort_node::kPmcg: return 0x20;
    case iort_node::kRmr: return 0x1c;
    default: return kIortNodeHeaderSize;
  }
}

MemoryAccess read_memory_access(const ByteReader& r, std::size_t at) {
  return {r.u32(at), r.u8(at + 4), r.u16(at + 5), r.u8(at + 7)};
}

// True when an array of `count` elements of `size` bytes at node-relative
// `offset` lies inside the node after its 16-byte header. 64-bit
// arithmetic: a count of 2^32 - 1 cannot overflow. (An array that overlaps
// the type's own fields is still read, as Linux and iasl read it; the caller
// reports the overlap.)
bool array_fits(const IortNode& node, std::uint32_t offset, std::uint32_t count, std::size_t size) {
  const std::uint64_t begin = offset;
  const std::uint64_t bytes = std::uint64_t{count} * size;
  return begin >= kIortNodeHeaderSize && begin <= node.length && bytes <= node.length - begin;
}

void read_mappings(const ByteReader& r, IortNode& node, std::vector<Finding>& findings) {
  if (node.mapping_count == 0) return;
  if (!array_fits(node, node.mapping_offset, node.mapping_count, kIdMappingSize)) {
    findings.push_back({node.offset + 12, "iort-mappings-outside-node",
                        fmt::format("{} node: {} ID mapping(s) at node offset {:#x} do not fit between the node "
                                    "header and its length {:#x}; the mappings are ignored",
                                    iort_node_name(node.type), node.mapping_count, node.mapping_offset, node.length)});
    return;
  }
  if (node.mapping_offset < fixed_size(node.type)) {
    findings.push_back({node.offset + 12, "iort-mappings-overlap-fields",
                        fmt::format("{} node: the ID mapping array at node offset {:#x} overlaps the node's own "
                                    "fields (which end at {:#x}); both are decoded as the table says",
                                    iort_node_name(node.type), node.mapping_offset, fixed_size(node.type))});
  }
  for (std::uint32_t i = 0; i < node.mapping_count; ++i) {
    const std::size_t at = node.offset + node.mapping_offset + std::size_t{i} * kIdMappingSize;
    node.mappings.push_back({at, r.u32(at), r.u32(at + 4), r.u32(at + 8), r.u32(at + 12), r.u32(at + 16)});
  }
}

void read_specific(const ByteReader& r, IortNode& node, std::vector<Finding>& findings) {
  const std::size_t at = node.offset;
  switch (node.type) {
    case iort_node::kItsGroup: {
      ItsGroup g;
      const std::uint32_t count = r.u32(at + 0x10);
      if (array_fits(node, 0x14, count, 4)) {
        for (std::uint32_t i = 0; i < count; ++i) g.its_ids.push_back(r.u32(at + 0x14 + std::size_t{i} * 4));
      } else {
        findings.push_back({at + 0x10, "iort-its-count",
                            fmt::format("ITS group announces {} ITS identifier(s), more than its length {:#x} holds; "
                                        "ignored",
                                        count, node.length)});
      }
      node.its_group = std::move(g);
      break;
    }
    case iort_node::kNamedComponent: {
      NamedComponent c;
      c.node_flags = r.u32(at + 0x10);
      c.memory = read_memory_access(r, at + 0x14);
      c.address_size_limit = r.u8(at + 0x1c);
      // The name runs to its NUL, at most to the mapping array or node end.
      std::size_t name_end = node.length;
      if (!node.mappings.empty()) name_end = std::min<std::size_t>(name_end, node.mapping_offset);
      const std::string raw = name_end > 0x1d ? r.text(at + 0x1d, name_end - 0x1d) : std::string();
      const auto nul = raw.find('\0');
      c.name = raw.substr(0, nul);
      if (nul == std::string::npos) {
        findings.push_back({at + 0x1d, "iort-name-unterminated", "named component's device name has no NUL"});
      }
      node.named_component = std::move(c);
      break;
    }
    case iort_node::kRootComplex: {
      RootComplex c;
      c.memory = read_memory_access(r, at + 0x10);
      c.ats_attribute = r.u32(at + 0x18);
      c.segment = r.u32(at + 0x1c);
      c.address_size_limit = r.u8(at + 0x20);
      if (node.length >= 0x23) c.pasid_capabilities = r.u16(at + 0x21);
      if (node.length >= 0x28) c.flags = r.u32(at + 0x24);
      node.root_complex = c;
      break;
    }
    case iort_node::kSmmu: {
      node.smmu = Smmu{r.u64(at + 0x10), r.u64(at + 0x18), r.u32(at + 0x20), r.u32(at + 0x24), r.u32(at + 0x28),
                       r.u32(at + 0x2c), r.u32(at + 0x30), r.u32(at + 0x34), r.u32(at + 0x38)};
      break;
    }
    case iort_node::kSmmuV3: {
      SmmuV3 s;
      s.base = r.u64(at + 0x10);
      s.flags = r.u32(at + 0x18);
      s.vatos = r.u64(at + 0x20);
      s.model = r.u32(at + 0x28);
      s.event_gsiv = r.u32(at + 0x2c);
      s.pri_gsiv = r.u32(at + 0x30);
      s.gerr_gsiv = r.u32(at + 0x34);
      s.sync_gsiv = r.u32(at + 0x38);
      if (node.length >= 0x40) s.proximity_domain = r.u32(at + 0x3c);
      if (node.length >= 0x44) s.device_id_mapping_index = r.u32(at + 0x40);
      node.smmu_v3 = s;
      break;
    }
    case iort_node::kPmcg: {
      Pmcg p;
      p.page0_base = r.u64(at + 0x10);
      p.overflow_gsiv = r.u32(at + 0x18);
      p.node_reference = r.u32(at + 0x1c);
      if (node.length >= 0x28) p.page1_base = r.u64(at + 0x20);
      node.pmcg = p;
      break;
    }
    case iort_node::kRmr: {
      Rmr m;
      m.flags = r.u32(at + 0x10);
      m.descriptor_count = r.u32(at + 0x14);
      m.descriptor_offset = r.u32(at + 0x18);
      if (m.descriptor_count == 0) {
        // iort_node_get_rmr_info (6.0+): "Invalid RMR descriptor array, skipping RMR node".
        findings.push_back(
            {at + 0x14, "rmr-no-descriptor", "RMR node has no memory range descriptor (Linux skips the node)"});
      } else if (!array_fits(node, m.descriptor_offset, m.descriptor_count, kRmrDescriptorSize)) {
        findings.push_back({at + 0x18, "rmr-descriptors-outside-node",
                            fmt::format("{} RMR descriptor(s) at node offset {:#x} do not fit in the node (length "
                                        "{:#x}); ignored",
                                        m.descriptor_count, m.descriptor_offset, node.length)});
      } else {
        for (std::uint32_t i = 0; i < m.descriptor_count; ++i) {
          const std::size_t d = at + m.descriptor_offset + std::size_t{i} * kRmrDescriptorSize;
          m.descriptors.push_back({d, r.u64(d), r.u64(d + 8), r.u32(d + 16)});
        }
      }
      if (node.mappings.empty()) {
        // iort_node_get_rmr_info: "Invalid ID mapping, skipping RMR node".
        findings.push_back({at + 8, "rmr-no-mapping", "RMR node has no ID mapping (Linux skips the node)"});
      }
      node.rmr = std::move(m);
      break;
    }
    default: break;
  }
}

void check_rmr(const IortNode& node, std::vector<Finding>& findings) {
  const auto& descs = node.rmr->descriptors;
  for (std::size_t i = 0; i < descs.size(); ++i) {
    const auto& d = descs[i];
    const auto where = fmt::format("RMR descriptor [{:#x} + {:#x}]", d.base, d.length);
    if (d.length == 0) {
      // iort_rmr_desc_check_overlap (6.0+): "... with zero length, continue anyway".
      findings.push_back({d.offset + 8, "rmr-zero-length", where + ": zero length (Linux continues anyway)"});
      continue;
    }
    if (!d.range()) {
      findings.push_back({d.offset + 8, "rmr-wraps", where + ": base + length passes 2^64"});
      continue;
    }
    if ((d.base & k64KiBMask) != 0 || (d.length & k64KiBMask) != 0) {
      // iort_rmr_alloc (6.0+): "not aligned to 64K, continue with [...]" (page-aligned).
      findings.push_back(
          {d.offset, "rmr-unaligned",
           where + ": base or length is not 64-KiB aligned (Linux rounds to the page size and goes on)"});
    }
    for (std::size_t j = i + 1; j < descs.size(); ++j) {
      const auto other = descs[j].range();
      if (other && d.range()->overlaps(*other)) {
        findings.push_back({descs[j].offset, "rmr-overlap",
                            fmt::format("RMR descriptor {} overlaps {} (Linux: \"overlaps, continue anyway\")",
                                        other->to_string(), d.range()->to_string())});
      }
    }
  }
}

void check_references(const Iort& iort, std::vector<Finding>& findings) {
  for (const auto& node : iort.nodes) {
    for (const auto& m : node.mappings) {
      if (m.output_reference == node.offset) {
        findings.push_back({m.offset + 12, "iort-self-reference",
                            fmt::format("ID mapping's output reference {:#x} names its own node", m.output_reference)});
      } else if (iort.node_at(m.output_reference) == nullptr) {
        findings.push_back(
            {m.offset + 12, "iort-bad-reference",
             fmt::format("ID mapping's output reference {:#x} is not the offset of a node", m.output_reference)});
      }
    }
    if (node.pmcg && iort.node_at(node.pmcg->node_reference) == nullptr) {
      findings.push_back(
          {node.offset + 0x1c, "iort-bad-reference",
           fmt::format("PMCG node reference {:#x} is not the offset of a node", node.pmcg->node_reference)});
    }
  }
}

}  // namespace

std::string_view iort_node_name(std::uint8_t type) {
  switch (type) {
    case iort_node::kItsGroup: return "its-group";
    case iort_node::kNamedComponent: return "named-component";
    case iort_node::kRootComplex: return "root-complex";
    case iort_node::kSmmu: return "smmu";
    case iort_node::kSmmuV3: return "smmu-v3";
    case iort_node::kPmcg: return "pmcg";
    case iort_node::kRmr: return "rmr";
    case iort_node::kIwb: return "iwb";
    default: return "unknown";
  }
}

std::optional<iova::Range> RmrDescriptor::range() const {
  if (length == 0 || length - 1 > iova::kU64Max - base) return std::nullopt;
  return iova::Range(base, base + (length - 1));
}

const IortNode* Iort::node_at(std::size_t offset) const {
  const auto it = std::lower_bound(nodes.begin(), nodes.end(), offset,
                                   [](const IortNode& n, std::size_t off) { return n.offset < off; });
  return it != nodes.end() && it->offset == offset ? &*it : nullptr;
}

Result<Iort> decode_iort(std::span<const std::uint8_t> bytes) {
  Iort iort;
  auto header = read_table_header(bytes, "IORT", iort.findings);
  if (!header) return std::move(header).error();
  iort.header = *header;
  const ByteReader r(bytes.first(iort.header.length));
  if (!r.has(0, kIortFixedSize)) {
    return error_at(Errc::kTruncated, r.size(),
                    fmt::format("IORT Length {:#x} is smaller than the 48-byte fixed part", r.size()));
  }
  iort.node_count = r.u32(0x24);
  iort.node_offset = r.u32(0x28);
  iort.reserved = r.u32(0x2c);
  if (iort.node_count == 0) return iort;
  if (iort.node_offset < kIortFixedSize || iort.node_offset >= r.size()) {
    return error_at(Errc::kParse, 0x28,
                    fmt::format("node array offset {:#x} is outside the table's node area [0x30, {:#x})",
                                iort.node_offset, r.size()));
  }
  std::size_t at = iort.node_offset;
  for (std::uint32_t i = 0; i < iort.node_count; ++i) {
    if (!r.has(at, kIortNodeHeaderSize)) {
      return error_at(
          Errc::kTruncated, at,
          fmt::format("node #{} of {} does not fit: the table ends at {:#x}", i, iort.node_count, r.size()));
    }
    IortNode node;
    node.offset = at;
    node.type = r.u8(at);
    node.length = r.u16(at + 1);
    node.revision = r.u8(at + 3);
    node.identifier = r.u32(at + 4);
    node.mapping_count = r.u32(at + 8);
    node.mapping_offset = r.u32(at + 12);
    if (node.length == 0) {
      return error_at(Errc::kParse, at, fmt::format("{} node #{} has length 0", iort_node_name(node.type), i));
    }
    if (node.length < kIortNodeHeaderSize) {
      return error_at(Errc::kParse, at,
                      fmt::format("{} node #{} length {} is shorter than the 16-byte node header",
                                  iort_node_name(node.type), i, node.length));
    }
    if (!r.has(at, node.length)) {
      return error_at(Errc::kTruncated, at,
                      fmt::format("{} node #{} of length {:#x} passes the table end {:#x}", iort_node_name(node.type),
                                  i, node.length, r.size()));
    }
    if (node.length < fixed_size(node.type)) {
      iort.findings.push_back({at, "iort-node-too-short",
                               fmt::format("{} node length {:#x} is below its fixed size {:#x}; only the header is "
                                           "decoded",
                                           iort_node_name(node.type), node.length, fixed_size(node.type))});
    } else {
      read_mappings(r, node, iort.findings);
      read_specific(r, node, iort.findings);
      if (node.rmr) check_rmr(node, iort.findings);
    }
    if (node.type > iort_node::kRmr) {
      iort.findings.push_back(
          {at, "iort-unknown-node",
           fmt::format("node type {} ({}) is not decoded beyond its header", node.type, iort_node_name(node.type))});
    }
    at += node.length;
    iort.nodes.push_back(std::move(node));
  }
  if (at < r.size()) {
    iort.findings.push_back({at, "iort-trailing-bytes",
                             fmt::format("{} byte(s) after the last node are not part of any node", r.size() - at)});
  }
  check_references(iort, iort.findings);
  return iort;
}

}  // namespace iovakit::acpi
