// iovakit host: what the host has and what its kernel reports. IOMMU status
// (and how to enable it), units with their address widths, groups with their
// devices and reserved_regions, each device's firmware reservations, findings.
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "command.h"
#include "exit_codes.h"
#include "host_model.h"
#include "host_prediction.h"
#include "io.h"
#include "iovakit/host/firmware_reservations.h"
#include "iovakit/host/host.h"
#include "iovakit/host/iommu_status.h"
#include "iovakit/kernel/host_platform.h"
#include "iovakit/report/host_json.h"
#include "iovakit/report/table.h"

namespace iovakit::cli {

namespace {

std::string heading(const report::Style& style, const std::string& text) {
  return style.paint(text, report::Tone::kHeading) + "\n";
}

std::string ids(const host::PciDevice& d) { return fmt::format("{:04x}:{:04x}", d.vendor, d.device); }

// "Intel Corporation CometLake-U GT2 [UHD Graphics] [8086:9b41]", or the IDs alone.
std::string device_name(const host::PciDevice& d) {
  if (d.vendor_name.empty()) return "[" + ids(d) + "]";
  return fmt::format("{} {} [{}]", d.vendor_name, d.device_name.empty() ? "Device" : d.device_name, ids(d));
}

std::string unit_width(const host::IommuUnit& u) {
  if (u.intel) {
    std::string widths;
    for (unsigned w : u.intel->sagaw_widths()) widths += (widths.empty() ? "" : "/") + std::to_string(w);
    return fmt::format("mgaw {}, sagaw {}", u.intel->mgaw(), widths.empty() ? "none" : widths);
  }
  if (u.amd) {
    if (const auto hats = u.amd->hats()) {
      static constexpr unsigned kBits[] = {48, 57, 64, 0};
      return kBits[*hats] != 0 ? fmt::format("HATS {} ({}-level, {}-bit)", *hats, *hats + 4, kBits[*hats])
                               : fmt::format("HATS {} (reserved)", *hats);
    }
    return u.amd->values.empty() ? "-" : "EFR not identified";
  }
  // Arm SMMUs and virtio-iommu publish no registers in sysfs (the SMMUv3
  // output size is SMMU_IDR5.OAS, read only by the driver).
  return "not in sysfs";
}

std::string unit_details(const host::IommuUnit& u) {
  std::string out;
  if (u.intel) {
    const auto& c = *u.intel;
    out = fmt::format("cap {:#x} ecap {:#x}; {}", c.cap, c.ecap,
                      c.scalable_mode() ? fmt::format("scalable mode, {}{}", c.first_level() ? "FL " : "",
                                                      c.second_level() ? "SL" : "")
                                        : std::string("legacy mode"));
    if (c.caching_mode()) out += ", caching mode (virtual)";
    if (c.interrupt_remapping()) out += ", IR";
    if (c.pass_through()) out += ", PT";
  } else if (u.amd) {
    out = fmt::format("cap {:#x} features {}", u.amd->cap, u.amd->features_text);
    if (u.amd->guest_translation() == true) out += ", GT";
  }
  // Intel units have no parent device (sys/devices/virtual/iommu/dmarN):
  // "on sys/devices/virtual" would name no device.
  if (!u.parent.empty() && u.parent != "sys/devices/virtual") {
    out += (out.empty() ? "" : "; ") + std::string("on ") + u.parent;
  }
  return out.empty() ? "-" : out;
}

std::string print_status(const host::IommuStatus& s, const report::Style& style) {
  std::string out = heading(style, "IOMMU");
  out += "  " + style.paint(s.summary, s.enabled ? report::Tone::kGood : report::Tone::kBad) + "\n";
  for (const auto& h : s.hints) out += "  - " + h + "\n";
  for (const auto& n : s.notes) out += "  note: " + n + "\n";
  return out;
}

std::string print_units(const host::Host& h, const report::Style& style) {
  std::string out = heading(style, fmt::format("Units ({})", h.units.size()));
  if (h.units.empty()) return out + "  none\n";
  report::Table t({{"NAME"}, {"KIND"}, {"ADDRESS WIDTH"}, {"DEVICES", report::Align::kRight}, {"DETAILS"}});
  for (const auto& u : h.units) {
    t.add_row({u.name, std::string(host::unit_kind_name(u.kind)), unit_width(u), std::to_string(u.devices.size()),
               unit_details(u)});
  }
  return out + t.render(style, 2);
}

report::Table device_table() { return report::Table({{"DEVICE"}, {"CLASS"}, {"VENDOR / DEVICE"}, {"DRIVER"}}); }

void add_device_row(report::Table& t, const host::PciDevice& d) {
  std::string name = device_name(d);
  if (d.physfn) name += " (VF of " + d.physfn->to_string() + ")";
  t.add_row({d.bdf.to_string(), d.class_code.name(), name, d.driver.value_or("-")});
}

std::string print_groups(const host::Host& h, const report::Style& style) {
  std::string out = heading(style, fmt::format("IOMMU groups ({})", h.groups.size()));
  if (h.groups.empty()) return out + "  none: the kernel created no IOMMU group\n";
  for (const auto& g : h.groups) {
    out += fmt::format("  Group {}{}{}: {} device(s)\n", g.number, g.type ? " (" + *g.type + ")" : "",
                       g.name ? " \"" + *g.name + "\"" : "", g.members.size());
    report::Table t = device_table();
    for (const auto& m : g.members) {
      const auto index = m.bdf ? h.find_device(*m.bdf) : std::nullopt;
      if (index) {
        add_device_row(t, h.devices[*index]);
      } else {
        t.add_row({m.name, m.acpi_path ? "ACPI " + *m.acpi_path : "-", "-", "-"});
      }
    }
    out += t.render(style, 4);
    if (!g.has_reserved_regions) {
      out += "    reserved_regions: not reported by this kernel\n";
    } else if (g.reserved_regions.empty()) {
      out += "    reserved_regions: empty\n";
    } else {
      out += "    reserved_regions:\n";
      std::string_view text = g.reserved_regions;
      while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        report::Tone tone = report::Tone::kPlain;
        if (line.size() > 7 && line.substr(line.size() - 7) == " direct") tone = report::Tone::kBad;
        if (line.find("direct-relaxable") != std::string_view::npos) tone = report::Tone::kWarning;
        out += "      " + style.paint(line, tone) + "\n";
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
      }
    }
  }
  std::vector<const host::PciDevice*> loose;
  for (const auto& d : h.devices) {
    if (!d.iommu_group) loose.push_back(&d);
  }
  if (!loose.empty()) {
    out += fmt::format("  Not in any group: {} device(s)\n", loose.size());
    report::Table t = device_table();
    for (const auto* d : loose) add_device_row(t, *d);
    out += t.render(style, 4);
  }
  return out;
}

std::string print_tables(const host::Host& h, const report::Style& style) {
  std::string out = heading(style, "Firmware tables");
  if (h.firmware.present.empty() && h.firmware.errors.empty()) return out + "  no DMAR, IVRS or IORT table\n";
  for (const auto& t : h.firmware.tables) {
    std::string detail = "does not decode";
    if (t.decoded) {
      detail = std::visit(
          [](const auto& d) {
            using T = std::decay_t<decltype(d)>;
            std::string s = fmt::format("revision {}, {} bytes, OEM \"{}\"", d.header.revision, d.header.length,
                                        acpi::printable(d.header.oem_id));
            if constexpr (std::is_same_v<T, acpi::Dmar>) {
              s += fmt::format("; host address width {}, {} DRHD, {} RMRR", d.host_address_width(), d.drhds.size(),
                               d.rmrrs.size());
            }
            if constexpr (std::is_same_v<T, acpi::Ivrs>) {
              s += fmt::format("; {} IVHD, {} IVMD", d.ivhds.size(), d.ivmds.size());
            }
            if constexpr (std::is_same_v<T, acpi::Iort>) {
              std::size_t rmr = 0;
              for (const auto& n : d.nodes) rmr += n.rmr ? 1 : 0;
              s += fmt::format("; {} nodes, {} RMR", d.nodes.size(), rmr);
            }
            if (!d.findings.empty()) s += fmt::format("; {} finding(s) (iovakit acpi)", d.findings.size());
            return s;
          },
          *t.decoded);
    }
    out += fmt::format("  {}: {}\n", t.raw.source, detail);
  }
  for (const auto& e : h.firmware.errors) out += "  " + style.paint(e.to_string(), report::Tone::kWarning) + "\n";
  return out;
}

std::string print_reservations(const host::Host& h, const host::ReservationMap& map, const report::Style& style) {
  std::string out = heading(style, fmt::format("Firmware reservations per device ({})", map.reservations.size()));
  if (map.reservations.empty()) {
    out += h.firmware.tables.empty() ? "  none known: no firmware table was read\n"
                                     : "  none: no RMRR, IVMD or RMR names a device of this host\n";
  } else {
    report::Table t(
        {{"DEVICE"}, {"RESERVATION"}, {"START"}, {"END"}, {"SIZE", report::Align::kRight}, {"MATCHED THROUGH"}});
    for (const auto& r : map.reservations) {
      std::string what = fmt::format("{} #{} at {:#x}", host::reservation_kind_name(r.kind), r.index, r.offset);
      std::string how = r.how;
      if (!r.note.empty()) how += "; " + r.note;
      t.add_row({r.member + (r.group ? fmt::format(" (group {})", *r.group) : ""), what,
                 r.range ? report::json_address(r.range->first()) : report::json_address(r.base),
                 r.range ? report::json_address(r.range->last()) : "-",
                 r.range ? iova::format_size(r.range->size()) : "empty", how});
    }
    out += t.render(style, 2);
  }
  for (const auto& n : map.notes) out += "  note: " + n + "\n";
  return out;
}

std::string print_findings(const host::Host& h, const host::ReservationMap& map, const report::Style& style) {
  std::vector<std::string> lines;
  for (const auto& line : map.kernel_log) lines.push_back("the kernel logs: " + line);
  for (const auto& e : h.issues) lines.push_back(e.to_string());
  if (h.topology) {
    for (const auto& i : h.topology->issues()) lines.push_back(i.device.to_string() + ": " + i.message);
  }
  bool short_config = false;
  for (const auto& d : h.devices) short_config = short_config || d.config_size < 256;
  if (short_config) {
    lines.emplace_back(
        "Some config spaces are 64 bytes (read without root): PCIe capabilities and ACS are unknown "
        "for those devices.");
  }
  std::string out = heading(style, fmt::format("Findings ({})", lines.size()));
  if (lines.empty()) return out + "  none\n";
  for (const auto& l : lines) out += "  - " + l + "\n";
  return out;
}

}  // namespace

int run_host(const HostCommandOptions& opt, const Context& ctx) {
  auto source = host::open_root(ctx.root);
  if (!source) {
    std::cerr << "iovakit host: cannot read the host root: " << source.error().to_string() << "\n";
    return kExitBadInput;
  }
  std::unique_ptr<host::PciNames> names;
  names = opt.pci_ids.empty() ? std::make_unique<host::PciNames>() : std::make_unique<host::PciNames>(opt.pci_ids);
  host::HostOptions options;
  options.names = names.get();
  if (!opt.dmesg.empty()) {
    auto text = read_input(opt.dmesg);
    if (!text) {
      std::cerr << "iovakit host: " << text.error().to_string() << "\n";
      return kExitBadInput;
    }
    options.dmesg_text = std::move(*text);
    options.dmesg_source = opt.dmesg == "-" ? "<stdin>" : opt.dmesg;
  }
  auto h = host::build_host(**source, options);
  if (!h) {
    std::cerr << "iovakit host: " << h.error().to_string() << "\n";
    return kExitBadInput;
  }
  const host::IommuStatus status = host::assess_iommu(*h);
  const host::ReservationMap map = host::map_firmware_reservations(*h);
  int code = h->groups.empty() ? kExitNoIommu : kExitOk;

  // The kernel model's prediction next to what the kernel reported.
  std::optional<HostComparison> comparison;
  if (!opt.no_predict && h->topology) {
    auto resolved = resolve_host_profile(opt.model, *h);
    if (auto* e = std::get_if<ModelError>(&resolved)) {
      std::cerr << "iovakit host: " << e->message << "\n";
      return e->exit_code;
    }
    const auto& profile = std::get<std::optional<kernel::KernelProfile>>(resolved);
    auto platform = kernel::platform_from_host(*h, profile ? &*profile : nullptr);
    if (platform) {
      auto prediction = kernel::predict_platform(platform->input, platform->profile);
      if (prediction) {
        comparison = check::compare_prediction(*h, *prediction);
        comparison->notes = platform->notes;
        if (opt.probe_vfio) check::probe_vfio(*h, *prediction, *comparison);
        if (code == kExitOk && comparison->differences() != 0) code = kExitFindings;
      }
    }
  }
  if (opt.json) {
    // Strings come from the host's files (driver names, group types, a
    // capture's paths) and need not be UTF-8: replace bad bytes rather than
    // let nlohmann::json throw.
    report::Json doc = report::host_document(*h, status, map);
    doc["prediction"] = comparison ? comparison_json(*comparison) : report::Json();
    std::cout << doc.dump(2, ' ', false, report::Json::error_handler_t::replace) << "\n";
    return code;
  }
  const report::Style style = ctx.out_style();
  std::string out = style.paint(fmt::format("Host {} ({})", h->root, h->live ? "the running system" : "captured"),
                                report::Tone::kHeading) +
                    "\n";
  out += fmt::format("  kernel: {}\n", h->kernel.release.empty() ? "unknown" : h->kernel.release);
  out += fmt::format("  command line: {}\n", h->kernel.cmdline_known ? h->kernel.cmdline.raw : "unknown");
  out += fmt::format("  PCI functions: {}\n", h->devices.size());
  if (!names->available() && !h->devices.empty()) {
    out += fmt::format("  device names: unavailable ({})\n", names->load_error());
  }
  out += "\n" + print_status(status, style);
  out += "\n" + print_units(*h, style);
  out += "\n" + print_groups(*h, style);
  out += "\n" + print_tables(*h, style);
  out += "\n" + print_reservations(*h, map, style);
  out += "\n" + print_findings(*h, map, style);
  if (comparison && !h->groups.empty()) out += "\n" + print_comparison(*comparison, style);
  std::cout << out;
  return code;
}

}  // namespace iovakit::cli
