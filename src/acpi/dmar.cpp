#include "iovakit/acpi/dmar.h"

#include <algorithm>
#include <utility>

#include <fmt/core.h>

#include "iovakit/acpi/byte_reader.h"

namespace iovakit::acpi {

namespace {

constexpr std::size_t kStructHeaderSize = 4;
constexpr std::size_t kScopeHeaderSize = 6;
constexpr std::uint64_t kPageMask = 0xfff;  // VT-d pages are 4 KiB (VTD_PAGE_SIZE)

// Fixed part of each known structure type, before its device scopes
// (ACPICA actbl1.h struct sizes; SATC/SIDP per VT-d 3.2/4.1).
std::size_t fixed_size(std::uint16_t type) {
  switch (type) {
    case dmar_type::kDrhd: return 16;
    case dmar_type::kRmrr: return 24;
    case dmar_type::kRhsa: return 20;
    case dmar_type::kAtsr:
    case dmar_type::kAndd:
    case dmar_type::kSatc:
    case dmar_type::kSidp: return 8;
    default: return kStructHeaderSize;
  }
}

Error error_at(Errc code, std::size_t offset, std::string message) {
  return Error(code, std::move(message), Location{{}, {}, offset});
}

// Device scopes in [begin, end). Problems become findings; a scope that
// cannot be framed ends the list (the enclosing structure's length still
// locates the next structure).
std::vector<DeviceScope> read_scopes(const ByteReader& r, std::size_t begin, std::size_t end, std::string_view owner,
                                     std::vector<Finding>& findings) {
  std::vector<DeviceScope> scopes;
  std::size_t at = begin;
  while (at < end) {
    if (end - at < kScopeHeaderSize) {
      findings.push_back({at, "scope-truncated",
                          fmt::format("{} byte(s) left in the {} are too few for a device scope (6-byte header); "
                                      "ignored",
                                      end - at, owner)});
      break;
    }
    DeviceScope s;
    s.offset = at;
    s.type = r.u8(at);
    s.length = r.u8(at + 1);
    s.flags = r.u8(at + 2);
    s.reserved = r.u8(at + 3);
    s.enumeration_id = r.u8(at + 4);
    s.start_bus = r.u8(at + 5);
    if (s.length < kScopeHeaderSize || s.length > end - at) {
      findings.push_back(
          {at, "scope-bad-length",
           fmt::format("device scope length {} {} (the {} ends at {:#x}); this and the following "
                       "scopes of the structure are ignored",
                       s.length, s.length < kScopeHeaderSize ? "is below the 6-byte header" : "runs past", owner,
                       end)});
      break;
    }
    if ((s.length - kScopeHeaderSize) % 2 != 0) {
      findings.push_back(
          {at, "scope-odd-path",
           fmt::format("device scope length {} leaves half a path entry; the last byte is ignored", s.length)});
    }
    if (s.length == kScopeHeaderSize) {
      findings.push_back({at, "scope-empty-path", "device scope has no path entry (the spec requires at least one)"});
    }
    for (std::size_t p = at + kScopeHeaderSize; p + 2 <= at + s.length; p += 2) {
      s.path.push_back({r.u8(p), r.u8(p + 1)});
    }
    if (s.type < scope_type::kEndpoint || s.type > scope_type::kNamespace) {
      // dmar_alloc_dev_scope / dmar_scope_count: "Unsupported device scope".
      findings.push_back(
          {at, "scope-unknown-type",
           fmt::format("device scope type {} is reserved (Linux: \"Unsupported device scope\")", s.type)});
    }
    scopes.push_back(std::move(s));
    at += scopes.back().length;
  }
  return scopes;
}

void check_rmrr(Rmrr& rmrr, std::vector<Finding>& findings) {
  // rmrr_sanity_check, drivers/iommu/intel/iommu.c (5.5-7.x): the RMRR is
  // reported as "bad" and still used.
  rmrr.sanity.base_unaligned = (rmrr.base & kPageMask) != 0;
  rmrr.sanity.end_unaligned = ((rmrr.end + 1) & kPageMask) != 0;
  rmrr.sanity.end_not_above_base = rmrr.end <= rmrr.base;
  const auto where = fmt::format("RMRR #{} [{:#x}-{:#x}]", rmrr.index, rmrr.base, rmrr.end);
  if (rmrr.sanity.base_unaligned) {
    findings.push_back({rmrr.offset + 8, "rmrr-base-unaligned",
                        where + ": base is not 4-KiB aligned (Linux rmrr_sanity_check: \"bad RMRR\", still used)"});
  }
  if (rmrr.sanity.end_unaligned) {
    findings.push_back({rmrr.offset + 16, "rmrr-end-unaligned",
                        where + ": end + 1 is not 4-KiB aligned (Linux rmrr_sanity_check: \"bad RMRR\", still used)"});
  }
  if (rmrr.sanity.end_not_above_base) {
    findings.push_back({rmrr.offset + 16, "rmrr-end-not-above-base",
                        where + ": end is not above base (Linux rmrr_sanity_check: \"bad RMRR\", still used)"});
  }
  if (rmrr.scopes.empty()) {
    findings.push_back({rmrr.offset, "rmrr-no-scope", where + ": no device scope, so no device gets the range"});
  }
}

// Structures out of the VT-d spec's order (DRHDs, then RMRRs, ATSRs, RHSAs,
// ANDDs, SATCs, SIDPs: acpi-iommu-tables.md s.2.2; and VT-d s.8.3: an
// INCLUDE_PCI_ALL DRHD comes after every other DRHD of its segment).
// Linux does not depend on the order (dmar_walk_remapping_entries takes them
// as they come, and dmar_register_drhd_unit queues an INCLUDE_PCI_ALL unit
// last itself), so these are notes, not errors.
void check_spec_order(const std::vector<std::pair<std::uint16_t, std::size_t>>& seen, const Dmar& dmar,
                      std::vector<Finding>& findings) {
  std::uint16_t highest = 0;
  for (const auto& [type, offset] : seen) {
    if (type > dmar_type::kSidp) continue;
    if (type < highest) {
      findings.push_back({offset, "structure-order",
                          fmt::format("{} after a {}: the VT-d spec lists remapping structures in type order (Linux "
                                      "does not depend on it)",
                                      dmar_type_name(type), dmar_type_name(highest))});
    }
    highest = std::max(highest, type);
  }
  for (std::size_t i = 0; i < dmar.drhds.size(); ++i) {
    if (!dmar.drhds[i].include_pci_all()) continue;
    for (std::size_t j = i + 1; j < dmar.drhds.size(); ++j) {
      if (dmar.drhds[j].segment == dmar.drhds[i].segment) {
        findings.push_back({dmar.drhds[i].offset, "drhd-include-all-not-last",
                            fmt::format("INCLUDE_PCI_ALL DRHD #{} is not the last DRHD of segment {} (the VT-d spec "
                                        "puts it last; Linux matches it last anyway)",
                                        i, dmar.drhds[i].segment)});
        break;
      }
    }
  }
}

void check_order(const Dmar& dmar, std::vector<Finding>& findings) {
  // Overlapping RMRRs are legal (several devices, several RMRRs) but worth
  // knowing: the kernel merges same-type regions per group.
  for (std::size_t i = 0; i < dmar.rmrrs.size(); ++i) {
    const auto a = dmar.rmrrs[i].range();
    if (!a) continue;
    for (std::size_t j = i + 1; j < dmar.rmrrs.size(); ++j) {
      const auto b = dmar.rmrrs[j].range();
      if (b && a->overlaps(*b) && dmar.rmrrs[i].segment == dmar.rmrrs[j].segment) {
        findings.push_back({dmar.rmrrs[j].offset, "rmrr-overlap",
                            fmt::format("RMRR #{} {} overlaps RMRR #{} {}", j, b->to_string(), i, a->to_string())});
      }
    }
  }
}

}  // namespace

std::string_view scope_type_name(std::uint8_t type) {
  switch (type) {
    case scope_type::kEndpoint: return "endpoint";
    case scope_type::kBridge: return "bridge";
    case scope_type::kIoapic: return "ioapic";
    case scope_type::kHpet: return "hpet";
    case scope_type::kNamespace: return "acpi-namespace";
    default: return "reserved";
  }
}

std::string_view dmar_type_name(std::uint16_t type) {
  switch (type) {
    case dmar_type::kDrhd: return "DRHD";
    case dmar_type::kRmrr: return "RMRR";
    case dmar_type::kAtsr: return "ATSR";
    case dmar_type::kRhsa: return "RHSA";
    case dmar_type::kAndd: return "ANDD";
    case dmar_type::kSatc: return "SATC";
    case dmar_type::kSidp: return "SIDP";
    default: return "unknown";
  }
}

std::string DeviceScope::path_string() const {
  std::string out = fmt::format("{:02x}:", start_bus);
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += '/';
    out += fmt::format("{:02x}.{:x}", path[i].device, path[i].function);
  }
  return out;
}

std::optional<iova::Range> Rmrr::range() const {
  if (end < base) return std::nullopt;
  return iova::Range(base, end);
}

Result<Dmar> decode_dmar(std::span<const std::uint8_t> bytes) {
  Dmar dmar;
  auto header = read_table_header(bytes, "DMAR", dmar.findings);
  if (!header) return std::move(header).error();
  dmar.header = *header;
  const ByteReader r(bytes.first(dmar.header.length));
  if (!r.has(0, kDmarFixedSize)) {
    return error_at(Errc::kTruncated, r.size(),
                    fmt::format("DMAR Length {:#x} is smaller than the 48-byte fixed part", r.size()));
  }
  dmar.width = r.u8(0x24);
  dmar.flags = r.u8(0x25);
  // parse_dmar_table (dmar.c): "if (dmar->width < PAGE_SHIFT - 1) Invalid DMAR haw".
  if (dmar.width < 11) {
    dmar.findings.push_back({0x24, "dmar-invalid-haw",
                             fmt::format("host address width byte {} (width {}) is below 11; Linux rejects the table "
                                         "(\"Invalid DMAR haw\")",
                                         dmar.width, dmar.host_address_width())});
  }

  std::vector<std::pair<std::uint16_t, std::size_t>> seen;  // (type, offset) in table order
  std::size_t at = kDmarFixedSize;
  while (at < r.size()) {
    if (!r.has(at, kStructHeaderSize)) {
      return error_at(Errc::kTruncated, at,
                      fmt::format("{} byte(s) at the end of the table are too few for a remapping structure header",
                                  r.size() - at));
    }
    const std::uint16_t type = r.u16(at);
    const std::uint16_t length = r.u16(at + 2);
    if (length == 0) {
      return error_at(Errc::kParse, at,
                      fmt::format("{} structure of length 0 (Linux: \"Invalid 0-length structure\", stops the walk)",
                                  dmar_type_name(type)));
    }
    if (length < kStructHeaderSize) {
      return error_at(
          Errc::kParse, at,
          fmt::format("{} structure length {} is shorter than its 4-byte header", dmar_type_name(type), length));
    }
    if (!r.has(at, length)) {
      return error_at(Errc::kTruncated, at,
                      fmt::format("{} structure of length {:#x} passes the table end {:#x} (Linux: \"Record passes "
                                  "table end\", the table is rejected)",
                                  dmar_type_name(type), length, r.size()));
    }
    const std::size_t end = at + length;
    seen.emplace_back(type, at);
    if (length < fixed_size(type)) {
      dmar.findings.push_back({at, "structure-too-short",
                               fmt::format("{} structure length {} is below its fixed size {}; skipped",
                                           dmar_type_name(type), length, fixed_size(type))});
      at = end;
      continue;
    }
    const std::string owner = fmt::format("{} at {:#x}", dmar_type_name(type), at);
    switch (type) {
      case dmar_type::kDrhd: {
        Drhd d;
        d.offset = at;
        d.index = dmar.drhds.size();
        d.flags = r.u8(at + 4);
        d.size = r.u8(at + 5);
        d.segment = r.u16(at + 6);
        d.register_base = r.u64(at + 8);
        d.scopes = read_scopes(r, at + 16, end, owner, dmar.findings);
        dmar.drhds.push_back(std::move(d));
        break;
      }
      case dmar_type::kRmrr: {
        Rmrr m;
        m.offset = at;
        m.index = dmar.rmrrs.size();
        m.reserved = r.u16(at + 4);
        m.segment = r.u16(at + 6);
        m.base = r.u64(at + 8);
        m.end = r.u64(at + 16);
        m.scopes = read_scopes(r, at + 24, end, owner, dmar.findings);
        check_rmrr(m, dmar.findings);
        dmar.rmrrs.push_back(std::move(m));
        break;
      }
      case dmar_type::kAtsr: {
        Atsr a;
        a.offset = at;
        a.flags = r.u8(at + 4);
        a.segment = r.u16(at + 6);
        a.scopes = read_scopes(r, at + 8, end, owner, dmar.findings);
        dmar.atsrs.push_back(std::move(a));
        break;
      }
      case dmar_type::kRhsa: {
        dmar.rhsas.push_back({at, r.u64(at + 8), r.u32(at + 16)});
        break;
      }
      case dmar_type::kAndd: {
        Andd a;
        a.offset = at;
        a.device_number = r.u8(at + 7);
        const std::string raw = r.text(at + 8, length - 8);
        const auto nul = raw.find('\0');
        a.nul_terminated = nul != std::string::npos;
        a.name = raw.substr(0, nul);
        if (!a.nul_terminated) {
          // dmar_parse_one_andd (intel/dmar.c, 6.1 and 7.0): "ANDD object name is not NUL-terminated".
          dmar.findings.push_back({at + 8, "andd-name-unterminated",
                                   "ANDD object name has no NUL inside the structure (Linux rejects the ANDD)"});
        }
        dmar.andds.push_back(std::move(a));
        break;
      }
      case dmar_type::kSatc: {
        Satc s;
        s.offset = at;
        s.flags = r.u8(at + 4);
        s.segment = r.u16(at + 6);
        s.scopes = read_scopes(r, at + 8, end, owner, dmar.findings);
        dmar.satcs.push_back(std::move(s));
        break;
      }
      case dmar_type::kSidp: {
        Sidp s;
        s.offset = at;
        s.reserved = r.u16(at + 4);
        s.segment = r.u16(at + 6);
        s.scopes = read_scopes(r, at + 8, end, owner, dmar.findings);
        dmar.sidps.push_back(std::move(s));
        break;
      }
      default:
        dmar.unknown.push_back({at, type, length});
        dmar.findings.push_back({at, "unknown-structure",
                                 fmt::format("unknown remapping structure type {} (length {}) skipped (Linux: "
                                             "\"Unknown DMAR structure type\")",
                                             type, length)});
        break;
    }
    at = end;
  }
  check_spec_order(seen, dmar, dmar.findings);
  check_order(dmar, dmar.findings);
  return dmar;
}

}  // namespace iovakit::acpi
