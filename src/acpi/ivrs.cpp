#include "iovakit/acpi/ivrs.h"

#include <fmt/core.h>

#include "iovakit/acpi/byte_reader.h"

namespace iovakit::acpi {

namespace {

constexpr std::size_t kBlockHeaderSize = 4;
constexpr std::size_t kIvmdSize = 32;
constexpr std::size_t kAcpiHidFixed = 22;  // type..UID length; the UID follows
constexpr std::uint64_t kPageMask = 0xfff;

Error error_at(Errc code, std::size_t offset, std::string message) {
  return Error(code, std::move(message), Location{{}, {}, offset});
}

bool is_ivhd(std::uint8_t type) {
  return type == ivrs_type::kIvhd10 || type == ivrs_type::kIvhd11 || type == ivrs_type::kIvhd40;
}
bool is_ivmd(std::uint8_t type) {
  return type == ivrs_type::kIvmdAll || type == ivrs_type::kIvmdSelect || type == ivrs_type::kIvmdRange;
}

bool known_entry(std::uint8_t type) {
  switch (type) {
    case ivhd_entry::kPad4:
    case ivhd_entry::kAll:
    case ivhd_entry::kSelect:
    case ivhd_entry::kRangeStart:
    case ivhd_entry::kRangeEnd:
    case ivhd_entry::kPad8:
    case ivhd_entry::kAliasSelect:
    case ivhd_entry::kAliasRange:
    case ivhd_entry::kExtSelect:
    case ivhd_entry::kExtRange:
    case ivhd_entry::kSpecial:
    case ivhd_entry::kAcpiHid: return true;
    default: return false;
  }
}

// Device entries of one IVHD in [begin, end).
void read_entries(const ByteReader& r, Ivhd& ivhd, std::size_t begin, std::size_t end, std::vector<Finding>& findings) {
  std::size_t at = begin;
  while (at < end) {
    IvhdEntry e;
    e.offset = at;
    e.type = r.u8(at);
    // Size from the top two bits (AMD IOMMU spec, "Device Entry" type
    // encoding): 4 << (type >> 6) gives 4, 8, 16, 32; 0xF0 is variable.
    e.length = std::size_t{4} << (e.type >> 6);
    if (e.type == ivhd_entry::kAcpiHid) {
      if (end - at < kAcpiHidFixed) {
        findings.push_back({at, "ivhd-entry-truncated",
                            fmt::format("ACPI HID device entry needs {} bytes but the IVHD has {} left; the rest of "
                                        "the IVHD's entries are ignored",
                                        kAcpiHidFixed, end - at)});
        return;
      }
      e.uid_length = r.u8(at + 21);
      e.length = kAcpiHidFixed + e.uid_length;
    }
    if (e.length > end - at) {
      findings.push_back({at, "ivhd-entry-truncated",
                          fmt::format("device entry type {:#04x} of {} bytes runs past the IVHD end {:#x}; the rest of "
                                      "the IVHD's entries are ignored",
                                      e.type, e.length, end)});
      return;
    }
    e.devid = r.u16(at + 1);
    e.setting = r.u8(at + 3);
    switch (e.type) {
      case ivhd_entry::kAliasSelect:
      case ivhd_entry::kAliasRange: e.used_devid = r.u16(at + 5); break;
      case ivhd_entry::kExtSelect:
      case ivhd_entry::kExtRange: e.ext_setting = r.u32(at + 4); break;
      case ivhd_entry::kSpecial:
        e.handle = r.u8(at + 4);
        e.used_devid = r.u16(at + 5);
        e.variety = r.u8(at + 7);
        break;
      case ivhd_entry::kAcpiHid:
        e.hid = r.text(at + 4, 8);
        e.cid = r.text(at + 12, 8);
        e.uid_format = r.u8(at + 20);
        e.uid = r.text(at + kAcpiHidFixed, e.uid_length);
        if (ivhd.type == ivrs_type::kIvhd10) {
          findings.push_back({at, "ivhd-acpi-hid-in-type10",
                              "ACPI HID device entry inside an IVHD of type 0x10 (the spec allows it only in "
                              "0x11/0x40)"});
        }
        break;
      default: break;
    }
    if (!known_entry(e.type)) {
      // ivhd_entry_length (amd/init.c, since ACPI HID entries in v4.7; same in the newest tree read) returns 0 for
      // types >= 0x80 other than 0xF0; the spec sizes them by the top two bits.
      findings.push_back(
          {at, "ivhd-entry-unknown",
           fmt::format("unknown device entry type {:#04x} skipped ({} bytes by the type's top bits{})", e.type,
                       e.length, e.type >= 0x80 ? "; Linux's ivhd_entry_length gives it length 0" : "")});
    }
    at += e.length;
    ivhd.entries.push_back(std::move(e));
  }
}

void check_ivmd(const Ivmd& m, std::vector<Finding>& findings) {
  const auto where = fmt::format("IVMD type {:#04x} [start {:#x}, length {:#x}]", m.type, m.start, m.size);
  if (m.size == 0) {
    findings.push_back({m.offset + 24, "ivmd-zero-length", where + ": zero length, it covers nothing"});
  } else if (!m.range()) {
    findings.push_back({m.offset + 24, "ivmd-wraps", where + ": start + length passes 2^64"});
  }
  if ((m.start & kPageMask) != 0 || (m.size & kPageMask) != 0) {
    // init_unity_map_range rounds both up with PAGE_ALIGN, so a 1-byte IVMD
    // becomes a 4-KiB unity map.
    findings.push_back({m.offset + 16, "ivmd-unaligned",
                        where + ": start or length is not a multiple of 4 KiB (Linux rounds both up with PAGE_ALIGN)"});
  }
  if (m.type == ivrs_type::kIvmdRange && m.aux < m.devid) {
    findings.push_back({m.offset + 6, "ivmd-devid-range-reversed",
                        fmt::format("{}: device range {}..{} ends before it starts", where, devid_string(m.devid),
                                    devid_string(m.aux))});
  }
  if ((m.flags & 0xf0U) != 0) {
    findings.push_back(
        {m.offset + 1, "ivmd-reserved-flags", fmt::format("{}: reserved flag bits {:#x} set", where, m.flags & 0xf0U)});
  }
  if ((m.flags & (Ivmd::kUnity | Ivmd::kExclusion)) == 0) {
    // init_memory_definitions only uses IVMDs with UNITY_MAP or EXCL_RANGE.
    findings.push_back(
        {m.offset + 1, "ivmd-unused", where + ": neither Unity nor ExclusionRange is set, so Linux ignores this IVMD"});
  }
}

}  // namespace

std::string_view ivhd_entry_name(std::uint8_t type) {
  switch (type) {
    case ivhd_entry::kPad4: return "pad4";
    case ivhd_entry::kAll: return "all";
    case ivhd_entry::kSelect: return "select";
    case ivhd_entry::kRangeStart: return "range-start";
    case ivhd_entry::kRangeEnd: return "range-end";
    case ivhd_entry::kPad8: return "pad8";
    case ivhd_entry::kAliasSelect: return "alias-select";
    case ivhd_entry::kAliasRange: return "alias-range";
    case ivhd_entry::kExtSelect: return "ext-select";
    case ivhd_entry::kExtRange: return "ext-range";
    case ivhd_entry::kSpecial: return "special";
    case ivhd_entry::kAcpiHid: return "acpi-hid";
    default: return "unknown";
  }
}

std::string_view ivrs_block_name(std::uint8_t type) {
  if (is_ivhd(type)) return "IVHD";
  if (is_ivmd(type)) return "IVMD";
  return "unknown";
}

std::string devid_string(std::uint16_t devid) {
  return fmt::format("{:02x}:{:02x}.{:x}", devid >> 8, (devid >> 3) & 0x1fU, devid & 0x7U);
}

std::optional<iova::Range> Ivmd::range() const {
  if (size == 0 || size - 1 > iova::kU64Max - start) return std::nullopt;
  return iova::Range(start, start + (size - 1));
}

std::uint16_t Ivmd::first_devid() const { return type == ivrs_type::kIvmdAll ? 0 : devid; }

std::uint16_t Ivmd::last_devid() const {
  if (type == ivrs_type::kIvmdAll) return 0xffff;
  if (type == ivrs_type::kIvmdRange) return aux;
  return devid;
}

Result<Ivrs> decode_ivrs(std::span<const std::uint8_t> bytes) {
  Ivrs ivrs;
  auto header = read_table_header(bytes, "IVRS", ivrs.findings);
  if (!header) return std::move(header).error();
  ivrs.header = *header;
  const ByteReader r(bytes.first(ivrs.header.length));
  if (!r.has(0, kIvrsFixedSize)) {
    return error_at(Errc::kTruncated, r.size(),
                    fmt::format("IVRS Length {:#x} is smaller than the 48-byte fixed part", r.size()));
  }
  ivrs.ivinfo.raw = r.u32(0x24);
  ivrs.reserved = r.u64(0x28);

  std::size_t at = kIvrsFixedSize;
  while (at < r.size()) {
    if (!r.has(at, kBlockHeaderSize)) {
      return error_at(Errc::kTruncated, at,
                      fmt::format("{} byte(s) at the end of the table are too few for a block header", r.size() - at));
    }
    const std::uint8_t type = r.u8(at);
    const std::uint16_t length = r.u16(at + 2);
    if (length == 0) {
      return error_at(
          Errc::kParse, at,
          fmt::format("block type {:#04x} has length 0 (Linux's IVRS walks would loop forever on it)", type));
    }
    if (length < kBlockHeaderSize) {
      return error_at(Errc::kParse, at,
                      fmt::format("block type {:#04x} length {} is shorter than its 4-byte header", type, length));
    }
    if (!r.has(at, length)) {
      return error_at(
          Errc::kTruncated, at,
          fmt::format("block type {:#04x} of length {:#x} passes the table end {:#x}", type, length, r.size()));
    }
    const std::size_t end = at + length;
    if (is_ivhd(type)) {
      Ivhd h;
      h.offset = at;
      h.type = type;
      h.flags = r.u8(at + 1);
      h.length = length;
      if (length < h.header_size()) {
        ivrs.findings.push_back({at, "ivhd-too-short",
                                 fmt::format("IVHD type {:#04x} length {} is below its {}-byte header; skipped", type,
                                             length, h.header_size())});
        at = end;
        continue;
      }
      h.devid = r.u16(at + 4);
      h.capability_offset = r.u16(at + 6);
      h.base = r.u64(at + 8);
      h.segment = r.u16(at + 16);
      h.info = r.u16(at + 18);
      h.attributes = r.u32(at + 20);
      if (type != ivrs_type::kIvhd10) {
        h.efr = r.u64(at + 24);
        h.efr2 = r.u64(at + 32);
        if (ivrs.header.revision < 2) {
          ivrs.findings.push_back({at, "ivhd-type-needs-rev2",
                                   fmt::format("IVHD type {:#04x} in an IVRS of revision {} (the spec allows only "
                                               "type 0x10 before revision 2)",
                                               type, ivrs.header.revision)});
        }
      }
      read_entries(r, h, at + h.header_size(), end, ivrs.findings);
      ivrs.ivhds.push_back(std::move(h));
    } else if (is_ivmd(type)) {
      if (length < kIvmdSize) {
        ivrs.findings.push_back({at, "ivmd-too-short",
                                 fmt::format("IVMD type {:#04x} length {} is below 32 bytes; skipped", type, length)});
        at = end;
        continue;
      }
      Ivmd m;
      m.offset = at;
      m.type = type;
      m.flags = r.u8(at + 1);
      m.length = length;
      m.devid = r.u16(at + 4);
      m.aux = r.u16(at + 6);
      m.reserved = r.u64(at + 8);
      m.start = r.u64(at + 16);
      m.size = r.u64(at + 24);
      if (length != kIvmdSize) {
        ivrs.findings.push_back(
            {at, "ivmd-length", fmt::format("IVMD length {} is not 32; the bytes after 32 are ignored", length)});
      }
      check_ivmd(m, ivrs.findings);
      ivrs.ivmds.push_back(m);
    } else {
      ivrs.unknown.push_back({at, type, length});
      ivrs.findings.push_back(
          {at, "unknown-block", fmt::format("unknown block type {:#04x} (length {}) skipped", type, length)});
    }
    at = end;
  }
  return ivrs;
}

DeviceMap expand_device_entries(const Ivhd& ivhd) {
  DeviceMap map;
  // An open range: init_iommu_from_acpi keeps devid_start/flags/alias until
  // the IVHD_DEV_RANGE_END entry.
  std::optional<DevidRange> open;
  for (const auto& e : ivhd.entries) {
    switch (e.type) {
      case ivhd_entry::kAll: map.ranges.push_back({0, 0xffff, e.setting, std::nullopt, std::nullopt, e.offset}); break;
      case ivhd_entry::kSelect:
        map.ranges.push_back({e.devid, e.devid, e.setting, std::nullopt, std::nullopt, e.offset});
        break;
      case ivhd_entry::kAliasSelect:
        map.ranges.push_back({e.devid, e.devid, e.setting, e.used_devid, std::nullopt, e.offset});
        break;
      case ivhd_entry::kExtSelect:
        map.ranges.push_back({e.devid, e.devid, e.setting, std::nullopt, e.ext_setting, e.offset});
        break;
      case ivhd_entry::kRangeStart:
      case ivhd_entry::kAliasRange:
      case ivhd_entry::kExtRange: {
        if (open) {
          map.findings.push_back({e.offset, "ivhd-range-reopened",
                                  fmt::format("range start at {:#x} replaces the range opened at {:#x} before its end "
                                              "entry",
                                              e.offset, open->offset)});
        }
        DevidRange d{e.devid, e.devid, e.setting, std::nullopt, std::nullopt, e.offset};
        if (e.type == ivhd_entry::kAliasRange) d.alias = e.used_devid;
        if (e.type == ivhd_entry::kExtRange) d.ext_setting = e.ext_setting;
        open = d;
        break;
      }
      case ivhd_entry::kRangeEnd:
        if (!open) {
          map.findings.push_back({e.offset, "ivhd-range-end-alone", "range end entry without a range start"});
          break;
        }
        if (e.devid < open->first) {
          map.findings.push_back({e.offset, "ivhd-range-reversed",
                                  fmt::format("range {}..{} ends before it starts; ignored", devid_string(open->first),
                                              devid_string(e.devid))});
        } else {
          open->last = e.devid;
          map.ranges.push_back(*open);
        }
        open.reset();
        break;
      case ivhd_entry::kSpecial: map.specials.push_back({e.variety, e.handle, e.used_devid, e.offset}); break;
      case ivhd_entry::kAcpiHid: map.acpi_devices.push_back({e.hid, e.uid, e.devid, e.offset}); break;
      default: break;
    }
  }
  if (open) {
    map.findings.push_back({open->offset, "ivhd-range-unclosed", "range start entry never closed by a range end"});
  }
  return map;
}

const DevidRange* DeviceMap::find(std::uint16_t devid) const {
  for (std::size_t i = ranges.size(); i-- > 0;) {
    if (ranges[i].first <= devid && devid <= ranges[i].last) return &ranges[i];
  }
  return nullptr;
}

}  // namespace iovakit::acpi
