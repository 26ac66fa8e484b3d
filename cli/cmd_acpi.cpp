// iovakit acpi: decode DMAR / IVRS / IORT tables (binary, acpidump text, or a
// sysfs tables folder), or kernel log lines with --dmesg, and print the
// reserved ranges with their devices, the units, and every finding.
#include <iostream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "command.h"
#include "exit_codes.h"
#include "io.h"
#include "iovakit/acpi/kernel_log.h"
#include "iovakit/acpi/table_input.h"
#include "iovakit/report/acpi_json.h"
#include "iovakit/report/iova_json.h"
#include "iovakit/report/table.h"

namespace iovakit::cli {

namespace {

std::string size_of(const std::optional<iova::Range>& r) { return r ? iova::format_size(r->size()) : "empty"; }

// "endpoint 00:14.0", "bridge 00:1c.4/00.2", "ioapic#8 f0:1f.0".
std::string scope_text(const acpi::DeviceScope& s) {
  switch (s.type) {
    case acpi::scope_type::kEndpoint: return s.path_string();
    case acpi::scope_type::kBridge: return "bridge " + s.path_string();
    case acpi::scope_type::kIoapic: return fmt::format("ioapic#{} {}", s.enumeration_id, s.path_string());
    case acpi::scope_type::kHpet: return fmt::format("hpet#{} {}", s.enumeration_id, s.path_string());
    case acpi::scope_type::kNamespace: return fmt::format("acpi#{} {}", s.enumeration_id, s.path_string());
    default: return fmt::format("type{} {}", s.type, s.path_string());
  }
}

std::string scopes_text(const std::vector<acpi::DeviceScope>& scopes) {
  std::string out;
  for (const auto& s : scopes) out += (out.empty() ? "" : ", ") + scope_text(s);
  return out.empty() ? "-" : out;
}

std::string print_findings(const std::vector<acpi::Finding>& findings, const report::Style& style) {
  if (findings.empty()) return "  No findings.\n";
  report::Table t({{"OFFSET", report::Align::kRight}, {"FINDING"}, {"MESSAGE"}});
  for (const auto& f : findings) t.add_row({report::hex_string(f.offset), {f.code, report::Tone::kWarning}, f.message});
  return style.paint(fmt::format("  Findings ({})", findings.size()), report::Tone::kHeading) + "\n" +
         t.render(style, 4);
}

std::string print_dmar(const acpi::Dmar& d, const report::Style& style) {
  std::string out =
      fmt::format("  host address width {} (byte {:#x}), flags {:#x}{}{}{}\n\n", d.host_address_width(), d.width,
                  d.flags, d.intr_remap() ? " intr-remap" : "", d.x2apic_opt_out() ? " x2apic-opt-out" : "",
                  d.dma_ctrl_platform_opt_in() ? " dma-ctrl-platform-opt-in" : "");
  report::Table units({{"#", report::Align::kRight},
                       {"OFFSET", report::Align::kRight},
                       {"SEG", report::Align::kRight},
                       {"REGISTER BASE"},
                       {"FLAGS"},
                       {"SCOPES"}});
  for (const auto& u : d.drhds) {
    units.add_row({std::to_string(u.index), report::hex_string(u.offset), fmt::format("{:04x}", u.segment),
                   report::json_address(u.register_base),
                   u.include_pci_all() ? "include-pci-all" : report::hex_string(u.flags), scopes_text(u.scopes)});
  }
  out += style.paint(fmt::format("  Remapping units (DRHD: {})", d.drhds.size()), report::Tone::kHeading) + "\n";
  out += units.render(style, 4) + "\n";
  out += style.paint(fmt::format("  Reserved memory (RMRR: {})", d.rmrrs.size()), report::Tone::kHeading) + "\n";
  if (d.rmrrs.empty()) {
    out += "    none\n";
  } else {
    report::Table t({{"#", report::Align::kRight},
                     {"OFFSET", report::Align::kRight},
                     {"SEG", report::Align::kRight},
                     {"START"},
                     {"END"},
                     {"SIZE", report::Align::kRight},
                     {"SCOPES"}});
    for (const auto& m : d.rmrrs) {
      t.add_row({std::to_string(m.index),
                 report::hex_string(m.offset),
                 fmt::format("{:04x}", m.segment),
                 report::json_address(m.base),
                 report::json_address(m.end),
                 {size_of(m.range()), m.sanity.ok() ? report::Tone::kPlain : report::Tone::kBad},
                 scopes_text(m.scopes)});
    }
    out += t.render(style, 4);
  }
  std::string other;
  const auto add = [&other](std::size_t n, std::string_view name) {
    if (n > 0) other += fmt::format("{}{} {}", other.empty() ? "" : ", ", n, name);
  };
  add(d.atsrs.size(), "ATSR");
  add(d.rhsas.size(), "RHSA");
  add(d.andds.size(), "ANDD");
  add(d.satcs.size(), "SATC");
  add(d.sidps.size(), "SIDP");
  add(d.unknown.size(), "unknown");
  if (!other.empty()) out += "\n  Other structures: " + other + "\n";
  for (const auto& a : d.andds) {
    out += fmt::format("    ANDD at {:#x}: device {} {}\n", a.offset, a.device_number, acpi::printable(a.name));
  }
  for (const auto& s : d.satcs) {
    out += fmt::format("    SATC at {:#x}: {}{}\n", s.offset, scopes_text(s.scopes),
                       s.atc_required() ? " (ATC required)" : "");
  }
  return out;
}

std::string print_ivrs(const acpi::Ivrs& v, const report::Style& style) {
  const auto& i = v.ivinfo;
  std::string out = fmt::format("  IVinfo {:#010x}: PA {} bits, VA {} bits, GVA code {}{}{}{}\n\n", i.raw, i.pa_size(),
                                i.va_size(), i.gva_size(), i.efr_sup() ? ", EFRSup" : "",
                                i.dma_remap() ? ", DMA remap" : "", i.ht_ats_reserved() ? ", HT ATS reserved" : "");
  report::Table units({{"OFFSET", report::Align::kRight},
                       {"TYPE"},
                       {"IOMMU"},
                       {"SEG", report::Align::kRight},
                       {"BASE"},
                       {"ENTRIES", report::Align::kRight},
                       {"DEVICES"}});
  for (const auto& h : v.ivhds) {
    const auto map = acpi::expand_device_entries(h);
    std::string devices;
    for (const auto& r : map.ranges) {
      devices += (devices.empty() ? "" : ", ") + acpi::devid_string(r.first);
      if (r.last != r.first) devices += "-" + acpi::devid_string(r.last);
      if (r.alias) devices += " as " + acpi::devid_string(*r.alias);
    }
    units.add_row({report::hex_string(h.offset), fmt::format("{:#04x}", h.type), acpi::devid_string(h.devid),
                   fmt::format("{:04x}", h.segment), report::json_address(h.base), std::to_string(h.entries.size()),
                   devices.empty() ? "-" : devices});
  }
  out += style.paint(fmt::format("  IOMMU definitions (IVHD: {})", v.ivhds.size()), report::Tone::kHeading) + "\n";
  out += units.render(style, 4) + "\n";
  out += style.paint(fmt::format("  Reserved memory (IVMD: {})", v.ivmds.size()), report::Tone::kHeading) + "\n";
  if (v.ivmds.empty()) {
    out += "    none\n";
  } else {
    report::Table t({{"OFFSET", report::Align::kRight},
                     {"TYPE"},
                     {"DEVICES"},
                     {"START"},
                     {"END"},
                     {"SIZE", report::Align::kRight},
                     {"FLAGS"}});
    for (const auto& m : v.ivmds) {
      std::string flags = report::hex_string(m.flags);
      if (m.unity()) flags += " unity";
      if (m.read()) flags += " read";
      if (m.write()) flags += " write";
      if (m.exclusion()) flags += " exclusion";
      const auto range = m.range();
      std::string devices =
          m.type == acpi::ivrs_type::kIvmdAll ? std::string("all") : acpi::devid_string(m.first_devid());
      if (m.type == acpi::ivrs_type::kIvmdRange) devices += "-" + acpi::devid_string(m.last_devid());
      t.add_row({report::hex_string(m.offset), fmt::format("{:#04x}", m.type), devices, report::json_address(m.start),
                 range ? report::json_address(range->last()) : "-", size_of(range), flags});
    }
    out += t.render(style, 4);
  }
  for (const auto& u : v.unknown) {
    out += fmt::format("\n  Unknown block type {:#04x} at {:#x} ({} bytes) skipped\n", u.type, u.offset, u.length);
  }
  return out;
}

std::string print_iort(const acpi::Iort& t, const report::Style& style) {
  std::string out = fmt::format("  {} node(s) at {:#x}{}\n\n", t.node_count, t.node_offset,
                                t.header.revision >= 5 ? "" : " (revision below 5: Linux ignores RMR nodes)");
  report::Table nodes({{"OFFSET", report::Align::kRight},
                       {"TYPE"},
                       {"REV", report::Align::kRight},
                       {"ID", report::Align::kRight},
                       {"MAPS", report::Align::kRight},
                       {"DETAIL"}});
  for (const auto& n : t.nodes) {
    std::string detail;
    if (n.named_component) detail = acpi::printable(n.named_component->name);
    if (n.root_complex) detail = fmt::format("segment {}", n.root_complex->segment);
    if (n.smmu) detail = fmt::format("base {} model {}", report::json_address(n.smmu->base), n.smmu->model);
    if (n.smmu_v3) detail = fmt::format("base {} model {}", report::json_address(n.smmu_v3->base), n.smmu_v3->model);
    if (n.its_group) detail = fmt::format("{} ITS", n.its_group->its_ids.size());
    if (n.pmcg) detail = fmt::format("page0 {}", report::json_address(n.pmcg->page0_base));
    if (n.rmr) detail = fmt::format("{} range(s), flags {:#x}", n.rmr->descriptors.size(), n.rmr->flags);
    nodes.add_row({report::hex_string(n.offset), std::string(acpi::iort_node_name(n.type)), std::to_string(n.revision),
                   std::to_string(n.identifier), std::to_string(n.mappings.size()), detail});
  }
  out += style.paint(fmt::format("  Nodes ({})", t.nodes.size()), report::Tone::kHeading) + "\n";
  out += nodes.render(style, 4) + "\n";
  report::Table rmr({{"NODE", report::Align::kRight},
                     {"START"},
                     {"END"},
                     {"SIZE", report::Align::kRight},
                     {"FLAGS"},
                     {"STREAM IDS"}});
  std::size_t count = 0;
  for (const auto& n : t.nodes) {
    if (!n.rmr) continue;
    std::string flags = fmt::format("{:#x} attr {:#x}", n.rmr->flags, n.rmr->access_attributes());
    if (n.rmr->remapping_permitted()) flags += " remap-permitted";
    if (n.rmr->privileged()) flags += " privileged";
    std::string ids;
    for (const auto& m : n.mappings) {
      ids += (ids.empty() ? "" : ", ") + report::hex_string(m.output_base);
      if (!m.single() && m.id_count > 0) ids += "-" + report::hex_string(std::uint64_t{m.output_base} + m.id_count);
      ids += fmt::format("@{:#x}", m.output_reference);
    }
    for (const auto& d : n.rmr->descriptors) {
      const auto range = d.range();
      rmr.add_row({report::hex_string(n.offset), report::json_address(d.base),
                   range ? report::json_address(range->last()) : "-", size_of(range), flags, ids.empty() ? "-" : ids});
      ++count;
    }
  }
  out += style.paint(fmt::format("  Reserved memory (RMR ranges: {})", count), report::Tone::kHeading) + "\n";
  out += count == 0 ? "    none\n" : rmr.render(style, 4);
  return out;
}

std::string print_table(const acpi::RawTable& raw, const acpi::DecodedTable& table, const report::Style& style) {
  return std::visit(
      [&](const auto& t) {
        using T = std::decay_t<decltype(t)>;
        const auto& h = t.header;
        std::string out =
            style.paint(fmt::format(R"({}: {} revision {}, {} bytes, OEM "{}" "{}", checksum {})", raw.source,
                                    acpi::printable(h.signature), h.revision, h.length, acpi::printable(h.oem_id),
                                    acpi::printable(h.oem_table_id), h.checksum_ok() ? "ok" : "BAD"),
                        report::Tone::kHeading) +
            "\n";
        if constexpr (std::is_same_v<T, acpi::Dmar>) out += print_dmar(t, style);
        if constexpr (std::is_same_v<T, acpi::Ivrs>) out += print_ivrs(t, style);
        if constexpr (std::is_same_v<T, acpi::Iort>) out += print_iort(t, style);
        return out + "\n" + print_findings(t.findings, style);
      },
      table);
}

std::string print_log(const std::string& source, const acpi::KernelLog& log, const report::Style& style) {
  std::string out = style.paint(fmt::format("{}: {} line(s), {} record(s)", source, log.lines, log.records.size()),
                                report::Tone::kHeading) +
                    "\n";
  if (log.records.empty()) return out + "  No firmware reservation, RMRR or IOMMU fault line found.\n";
  report::Table t({{"LINE", report::Align::kRight},
                   {"KIND"},
                   {"DEVICE"},
                   {"START"},
                   {"END"},
                   {"SIZE", report::Align::kRight},
                   {"DETAIL"}});
  for (const auto& r : log.records) {
    std::string detail;
    switch (r.kind) {
      case acpi::LogKind::kIvmd:
        detail = fmt::format("{} to {}, flags {:#x}", r.ivmd_type, r.devid_end, r.value.value_or(0));
        break;
      case acpi::LogKind::kDmarFault:
        detail = fmt::format("[{}] fault addr {:#x}{}", r.fault_type, r.fault_address.value_or(0),
                             r.fault_reason ? fmt::format(" reason {:#x}", *r.fault_reason) : "");
        break;
      case acpi::LogKind::kRmrUnaligned: detail = fmt::format("firmware [{:#x}-{:#x}]", r.raw_start, r.raw_end); break;
      case acpi::LogKind::kHostAddressWidth: detail = fmt::format("{} bits", r.value.value_or(0)); break;
      case acpi::LogKind::kDrhd:
        detail = fmt::format("base {:#x} flags {:#x}", r.value.value_or(0), r.flags.value_or(0));
        break;
      default: break;
    }
    const bool bad = r.kind == acpi::LogKind::kBadRmrr || r.kind == acpi::LogKind::kIneligibleDevice ||
                     r.kind == acpi::LogKind::kDirectMappingRequired || r.kind == acpi::LogKind::kDmarFault;
    t.add_row({std::to_string(r.line),
               {std::string(acpi::log_kind_name(r.kind)), bad ? report::Tone::kBad : report::Tone::kPlain},
               r.device.empty() ? "-" : r.device,
               r.range ? report::json_address(r.range->first()) : "-",
               r.range ? report::json_address(r.range->last()) : "-",
               r.range ? iova::format_size(r.range->size()) : "-",
               detail});
  }
  return out + t.render(style, 2);
}

}  // namespace

int run_acpi(const AcpiOptions& opt, const Context& ctx) {
  const report::Style style = ctx.out_style();
  report::Json tables = report::Json::array();
  report::Json logs = report::Json::array();
  std::string text;
  for (const auto& path : opt.files) {
    const std::string source = path == "-" ? "<stdin>" : path;
    if (opt.dmesg) {
      auto content = read_input(path);
      if (!content) {
        std::cerr << "iovakit acpi: " << content.error().to_string() << "\n";
        return kExitBadInput;
      }
      auto log = acpi::parse_kernel_log(*content, source);
      if (!log) {
        std::cerr << "iovakit acpi: " << log.error().to_string() << "\n";
        return kExitBadInput;
      }
      report::Json j = {{"source", source}};
      j.update(report::to_json(*log));
      logs.push_back(std::move(j));
      text += print_log(source, *log, style);
      continue;
    }
    Result<std::vector<acpi::RawTable>> raw = Error(Errc::kIo, "unread");
    if (path == "-") {
      auto content = read_input(path);
      if (!content) {
        std::cerr << "iovakit acpi: " << content.error().to_string() << "\n";
        return kExitBadInput;
      }
      const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(content->data()),
                                                content->size());
      raw = acpi::split_tables(bytes, source);
    } else {
      raw = acpi::load_tables(path);
    }
    if (!raw) {
      std::cerr << "iovakit acpi: " << raw.error().to_string() << "\n";
      return kExitBadInput;
    }
    for (const auto& r : *raw) {
      auto decoded = acpi::decode_table(r);
      if (!decoded) {
        std::cerr << "iovakit acpi: " << decoded.error().to_string() << "\n";
        return kExitBadInput;
      }
      report::Json j = {{"source", r.source}};
      j.update(report::to_json(*decoded));
      tables.push_back(std::move(j));
      text += (text.empty() ? "" : "\n") + print_table(r, *decoded, style);
    }
  }
  if (opt.json) {
    const report::Json out = {{"schema", "iovakit.acpi/1"}, {"tables", tables}, {"logs", logs}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << text;
  }
  return kExitOk;
}

}  // namespace iovakit::cli
