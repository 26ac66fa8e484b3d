#include "iovakit/report/host_json.h"
#include "iovakit/report/iova_json.h"

#include <fmt/core.h>

#include "iovakit/acpi/table_header.h"
#include "iovakit/report/acpi_json.h"

namespace iovakit::report {

namespace {

std::string hex16(std::uint16_t v) { return fmt::format("{:#06x}", v); }

template <typename T, typename F>
Json optional_json(const std::optional<T>& value, F&& convert) {
  return value ? Json(convert(*value)) : Json(nullptr);
}

Json strings_json(const std::vector<std::string>& values) {
  Json out = Json::array();
  for (const auto& v : values) out.push_back(v);
  return out;
}

Json empty_or(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

}  // namespace

Json to_json(const Error& error) {
  return {{"code", std::string(errc_name(error.code()))},
          {"where", error.where().empty() ? Json(nullptr) : Json(error.where().to_string())},
          {"message", error.message()}};
}

Json to_json(const host::KernelInfo& kernel) {
  const host::IommuCmdline& o = kernel.cmdline.iommu;
  Json params = Json::array();
  for (const auto& p : kernel.cmdline.params) {
    params.push_back({{"name", p.name}, {"value", p.value ? Json(*p.value) : Json(nullptr)}});
  }
  const auto opt_bool = [](const std::optional<bool>& b) { return b ? Json(*b) : Json(nullptr); };
  Json options = {{"intel_iommu", strings_json(o.intel_iommu)},
                  {"intel_iommu_on", opt_bool(o.intel_iommu_on)},
                  {"intel_igfx_off", o.intel_igfx_off},
                  {"intel_strict", o.intel_strict},
                  {"intel_sm_on", o.intel_sm_on},
                  {"intel_sm_off", o.intel_sm_off},
                  {"intel_relax_rmrr", o.intel_relax_rmrr},
                  {"amd_iommu", strings_json(o.amd_iommu)},
                  {"amd_off", o.amd_off},
                  {"amd_force_isolation", o.amd_force_isolation},
                  {"amd_pgtbl", o.amd_pgtbl ? Json(*o.amd_pgtbl) : Json(nullptr)},
                  {"iommu", strings_json(o.iommu)},
                  {"iommu_pt", opt_bool(o.iommu_pt)},
                  {"iommu_off", o.iommu_off},
                  {"passthrough", opt_bool(o.passthrough)},
                  {"strict", opt_bool(o.strict)},
                  {"pcie_acs_override", o.pcie_acs_override ? Json(*o.pcie_acs_override) : Json(nullptr)},
                  {"vfio_pci_ids", strings_json(o.vfio_pci_ids)},
                  {"allow_unsafe_interrupts", opt_bool(o.allow_unsafe_interrupts)},
                  {"dma_entry_limit", o.dma_entry_limit ? Json(*o.dma_entry_limit) : Json(nullptr)}};
  return {{"version_text", empty_or(kernel.version_text)},
          {"release", empty_or(kernel.release)},
          {"version", kernel.version ? Json(kernel.version->to_string()) : Json(nullptr)},
          {"cmdline", kernel.cmdline_known ? Json(kernel.cmdline.raw) : Json(nullptr)},
          {"params", params},
          {"iommu_options", options}};
}

Json to_json(const host::IommuUnit& unit) {
  Json intel = nullptr;
  if (unit.intel) {
    const auto& c = *unit.intel;
    Json widths = Json::array();
    for (unsigned w : c.sagaw_widths()) widths.push_back(w);
    intel = {{"cap", hex_string(c.cap)},
             {"ecap", hex_string(c.ecap)},
             {"mgaw", c.mgaw()},
             {"sagaw", c.sagaw()},
             {"sagaw_widths", widths},
             {"caching_mode", c.caching_mode()},
             {"scalable_mode", c.scalable_mode()},
             {"first_level", c.first_level()},
             {"second_level", c.second_level()},
             {"fl1gp", c.fl1gp()},
             {"fl5lp", c.fl5lp()},
             {"super_pages", c.super_pages()},
             {"pass_through", c.pass_through()},
             {"interrupt_remapping", c.interrupt_remapping()},
             {"queued_invalidation", c.queued_invalidation()},
             {"nested", c.nested()},
             {"pasid", c.pasid()},
             {"coherent", c.coherent()},
             {"domain_id_bits", c.domain_id_bits()},
             {"version", unit.intel_version ? Json(*unit.intel_version) : Json(nullptr)},
             {"address", unit.intel_address ? Json(json_address(*unit.intel_address)) : Json(nullptr)}};
  }
  Json amd = nullptr;
  if (unit.amd) {
    const auto& a = *unit.amd;
    Json values = Json::array();
    for (auto v : a.values) values.push_back(hex_string(v));
    amd = {{"cap", fmt::format("{:#010x}", a.cap)},
           {"features", a.features_text},
           {"values", values},
           {"efr", optional_json(a.efr, hex_string)},
           {"efr2", optional_json(a.efr2, hex_string)},
           {"hats", optional_json(a.hats(), [](unsigned v) { return v; })},
           {"gats", optional_json(a.gats(), [](unsigned v) { return v; })},
           {"pasmax", optional_json(a.pasmax(), [](unsigned v) { return v; })},
           {"guest_translation", optional_json(a.guest_translation(), [](bool v) { return v; })}};
  }
  return {{"name", unit.name},
          {"kind", std::string(host::unit_kind_name(unit.kind))},
          {"sysfs_path", unit.sysfs_path},
          {"parent", empty_or(unit.parent)},
          {"devices", strings_json(unit.devices)},
          {"intel", intel},
          {"amd", amd}};
}

Json to_json(const host::PciDevice& d, const host::Host& host) {
  Json virtfns = Json::array();
  for (const auto& vf : d.virtfns) virtfns.push_back(vf.to_string());
  Json parent = nullptr;
  Json pcie = nullptr;
  if (host.topology) {
    if (auto index = host.find_device(d.bdf)) {
      if (auto p = host.topology->parent(*index)) parent = host.topology->bdf(*p).to_string();
      const auto& config = host.topology->config(*index);
      if (config.pcie()) {
        pcie = pci::pcie_type_name(config.pcie()->type());
      } else if (config.pcie_presence() == pci::Presence::kUnknown) {
        pcie = "unknown";
      } else {
        pcie = "none";
      }
    }
  }
  return {{"bdf", d.bdf.to_string()},
          {"vendor", hex16(d.vendor)},
          {"device", hex16(d.device)},
          {"vendor_name", empty_or(d.vendor_name)},
          {"device_name", empty_or(d.device_name)},
          {"subsystem_vendor", optional_json(d.subsystem_vendor, hex16)},
          {"subsystem_device", optional_json(d.subsystem_device, hex16)},
          {"subsystem_name", empty_or(d.subsystem_name)},
          {"class", d.class_code.to_string()},
          {"class_name", d.class_code.name()},
          {"revision", d.revision},
          {"pcie", pcie},
          {"driver", d.driver ? Json(*d.driver) : Json(nullptr)},
          {"iommu_group", d.iommu_group ? Json(*d.iommu_group) : Json(nullptr)},
          {"iommu", d.iommu ? Json(*d.iommu) : Json(nullptr)},
          {"numa_node", d.numa_node ? Json(*d.numa_node) : Json(nullptr)},
          {"parent", parent},
          {"bus_range", d.bus_range
                            ? Json({{"secondary", d.bus_range->secondary}, {"subordinate", d.bus_range->subordinate}})
                            : Json(nullptr)},
          {"physfn", d.physfn ? Json(d.physfn->to_string()) : Json(nullptr)},
          {"virtfns", virtfns},
          {"sriov_totalvfs", d.sriov_totalvfs ? Json(*d.sriov_totalvfs) : Json(nullptr)},
          {"sriov_numvfs", d.sriov_numvfs ? Json(*d.sriov_numvfs) : Json(nullptr)},
          {"config_size", d.config_size},
          {"sysfs_path", d.sysfs_path}};
}

Json to_json(const host::IommuGroup& group) {
  Json members = Json::array();
  for (const auto& m : group.members) {
    members.push_back({{"name", m.name},
                       {"bdf", m.bdf ? Json(m.bdf->to_string()) : Json(nullptr)},
                       {"acpi_path", m.acpi_path ? Json(*m.acpi_path) : Json(nullptr)},
                       {"sysfs_path", empty_or(m.sysfs_path)}});
  }
  Json regions = Json::array();
  for (const auto& r : group.regions) regions.push_back(to_json(r));
  return {{"number", group.number},
          {"type", group.type ? Json(*group.type) : Json(nullptr)},
          {"name", group.name ? Json(*group.name) : Json(nullptr)},
          {"devices", members},
          {"reserved_regions", group.has_reserved_regions ? Json(group.reserved_regions) : Json(nullptr)},
          {"regions_parsed", group.regions_parsed},
          {"regions", regions}};
}

Json to_json(const host::FirmwareTables& firmware) {
  Json tables = Json::array();
  for (const auto& t : firmware.tables) {
    Json j = {
        {"source", t.raw.source}, {"path", t.path}, {"signature", t.raw.signature}, {"bytes", t.raw.bytes.size()}};
    if (t.decoded) {
      std::visit(
          [&j](const auto& d) {
            j["header"] = to_json(d.header);
            j["findings"] = d.findings.size();
          },
          *t.decoded);
    } else {
      j["header"] = nullptr;
      j["findings"] = nullptr;
    }
    j["decoded"] = t.decoded.has_value();
    tables.push_back(std::move(j));
  }
  Json errors = Json::array();
  for (const auto& e : firmware.errors) errors.push_back(to_json(e));
  return {{"present", strings_json(firmware.present)},
          {"tables", tables},
          {"errors", errors},
          {"permission_denied", firmware.permission_denied}};
}

Json to_json(const host::FirmwareReservation& r, const host::Host& host) {
  const bool inclusive_end = r.kind == host::ReservationKind::kRmrr;
  return {
      {"kind", std::string(host::reservation_kind_name(r.kind))},
      {"table", r.table},
      {"index", r.index},
      {"offset", r.offset},
      {"device", r.member},
      {"pci", r.device.has_value()},
      {"group", r.group ? Json(*r.group) : Json(nullptr)},
      {"match", std::string(host::reservation_match_name(r.match))},
      {"via", r.via ? Json(host.devices[*r.via].bdf.to_string()) : Json(nullptr)},
      {"base", json_address(r.base)},
      {inclusive_end ? "end" : "length", inclusive_end ? json_address(r.end_or_length) : hex_string(r.end_or_length)},
      {"range", r.range ? to_json(*r.range) : Json(nullptr)},
      {"flags", r.flags},
      {"how", r.how},
      {"note", empty_or(r.note)}};
}

Json to_json(const host::IommuStatus& s) {
  return {{"vendor", std::string(host::iommu_vendor_name(s.vendor))},
          {"present", s.present},
          {"enabled", s.enabled},
          {"firmware_table", s.firmware_table},
          {"units", s.units},
          {"groups", s.groups},
          {"summary", s.summary},
          {"hints", strings_json(s.hints)},
          {"notes", strings_json(s.notes)}};
}

Json host_document(const host::Host& host, const host::IommuStatus& status, const host::ReservationMap& reservations) {
  Json units = Json::array();
  for (const auto& u : host.units) units.push_back(to_json(u));
  Json devices = Json::array();
  for (const auto& d : host.devices) devices.push_back(to_json(d, host));
  Json groups = Json::array();
  for (const auto& g : host.groups) groups.push_back(to_json(g));
  Json resv = Json::array();
  for (const auto& r : reservations.reservations) resv.push_back(to_json(r, host));
  Json issues = Json::array();
  for (const auto& e : host.issues) issues.push_back(to_json(e));
  Json dmesg = nullptr;
  if (host.dmesg) {
    dmesg = {{"source", host.dmesg_source}};
    dmesg.update(to_json(*host.dmesg));
  }
  return {{"schema", "iovakit.host/1"},
          {"root", host.root},
          {"live", host.live},
          {"status", to_json(status)},
          {"kernel", to_json(host.kernel)},
          {"units", units},
          {"devices", devices},
          {"groups", groups},
          {"firmware", to_json(host.firmware)},
          {"reservations", resv},
          {"reservation_notes", strings_json(reservations.notes)},
          {"scope_log", strings_json(reservations.kernel_log)},
          {"dmesg", dmesg},
          {"issues", issues}};
}

}  // namespace iovakit::report
