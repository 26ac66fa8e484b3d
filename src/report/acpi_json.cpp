#include "iovakit/report/acpi_json.h"

#include <fmt/core.h>

namespace iovakit::report {

namespace {

Json optional_range(const std::optional<iova::Range>& range) { return range ? to_json(*range) : Json(nullptr); }

Json findings_json(const std::vector<acpi::Finding>& findings) {
  Json out = Json::array();
  for (const auto& f : findings) out.push_back(to_json(f));
  return out;
}

Json scopes_json(const std::vector<acpi::DeviceScope>& scopes) {
  Json out = Json::array();
  for (const auto& s : scopes) out.push_back(to_json(s));
  return out;
}

std::string hex64(std::uint64_t v) { return fmt::format("{:#x}", v); }

Json devid_json(std::uint16_t devid) { return {{"devid", devid}, {"bdf", acpi::devid_string(devid)}}; }

Json entry_json(const acpi::IvhdEntry& e) {
  Json j = {{"offset", e.offset},  {"type", e.type},   {"kind", std::string(acpi::ivhd_entry_name(e.type))},
            {"length", e.length},  {"devid", e.devid}, {"bdf", acpi::devid_string(e.devid)},
            {"setting", e.setting}};
  switch (e.type) {
    case acpi::ivhd_entry::kAliasSelect:
    case acpi::ivhd_entry::kAliasRange: j["alias"] = devid_json(e.used_devid); break;
    case acpi::ivhd_entry::kExtSelect:
    case acpi::ivhd_entry::kExtRange: j["ext_setting"] = e.ext_setting; break;
    case acpi::ivhd_entry::kSpecial:
      j["handle"] = e.handle;
      j["variety"] = e.variety == 1 ? "ioapic" : e.variety == 2 ? "hpet" : "unknown";
      j["source"] = devid_json(e.used_devid);
      break;
    case acpi::ivhd_entry::kAcpiHid:
      j["hid"] = acpi::printable(e.hid);
      j["cid"] = acpi::printable(e.cid);
      j["uid_format"] = e.uid_format;
      j["uid"] = acpi::printable(e.uid);
      break;
    default: break;
  }
  return j;
}

Json memory_access_json(const acpi::MemoryAccess& m) {
  return {{"cache_coherency", m.cache_coherency}, {"hints", m.hints}, {"flags", m.flags}};
}

}  // namespace

Json to_json(const acpi::Finding& finding) {
  return {{"offset", finding.offset}, {"code", finding.code}, {"message", finding.message}};
}

Json to_json(const acpi::TableHeader& h) {
  return {{"signature", acpi::printable(h.signature)},
          {"length", h.length},
          {"revision", h.revision},
          {"checksum", h.checksum},
          {"checksum_ok", h.checksum_ok()},
          {"computed_checksum", h.computed_checksum},
          {"oem_id", acpi::printable(h.oem_id)},
          {"oem_table_id", acpi::printable(h.oem_table_id)},
          {"oem_revision", h.oem_revision},
          {"creator_id", acpi::printable(h.creator_id)},
          {"creator_revision", h.creator_revision}};
}

Json to_json(const acpi::DeviceScope& s) {
  Json path = Json::array();
  for (const auto& p : s.path) path.push_back({{"device", p.device}, {"function", p.function}});
  return {{"offset", s.offset},       {"type", s.type},   {"kind", std::string(acpi::scope_type_name(s.type))},
          {"length", s.length},       {"flags", s.flags}, {"enumeration_id", s.enumeration_id},
          {"start_bus", s.start_bus}, {"path", path},     {"path_string", s.path_string()}};
}

Json to_json(const acpi::Dmar& d) {
  Json j = {{"host_address_width", d.host_address_width()},
            {"width_byte", d.width},
            {"flags", d.flags},
            {"intr_remap", d.intr_remap()},
            {"x2apic_opt_out", d.x2apic_opt_out()},
            {"dma_ctrl_platform_opt_in", d.dma_ctrl_platform_opt_in()}};
  Json drhds = Json::array();
  for (const auto& u : d.drhds) {
    drhds.push_back({{"offset", u.offset},
                     {"index", u.index},
                     {"flags", u.flags},
                     {"include_pci_all", u.include_pci_all()},
                     {"size", u.size},
                     {"segment", u.segment},
                     {"register_base", json_address(u.register_base)},
                     {"scopes", scopes_json(u.scopes)}});
  }
  Json rmrrs = Json::array();
  for (const auto& m : d.rmrrs) {
    rmrrs.push_back({{"offset", m.offset},
                     {"index", m.index},
                     {"reserved", m.reserved},
                     {"segment", m.segment},
                     {"base", json_address(m.base)},
                     {"end", json_address(m.end)},
                     {"range", optional_range(m.range())},
                     {"sanity",
                      {{"ok", m.sanity.ok()},
                       {"base_unaligned", m.sanity.base_unaligned},
                       {"end_unaligned", m.sanity.end_unaligned},
                       {"end_not_above_base", m.sanity.end_not_above_base}}},
                     {"scopes", scopes_json(m.scopes)}});
  }
  Json atsrs = Json::array();
  for (const auto& a : d.atsrs) {
    atsrs.push_back({{"offset", a.offset},
                     {"flags", a.flags},
                     {"all_ports", a.all_ports()},
                     {"segment", a.segment},
                     {"scopes", scopes_json(a.scopes)}});
  }
  Json rhsas = Json::array();
  for (const auto& r : d.rhsas) {
    rhsas.push_back({{"offset", r.offset},
                     {"register_base", json_address(r.register_base)},
                     {"proximity_domain", r.proximity_domain}});
  }
  Json andds = Json::array();
  for (const auto& a : d.andds) {
    andds.push_back({{"offset", a.offset},
                     {"device_number", a.device_number},
                     {"name", acpi::printable(a.name)},
                     {"nul_terminated", a.nul_terminated}});
  }
  Json satcs = Json::array();
  for (const auto& s : d.satcs) {
    satcs.push_back({{"offset", s.offset},
                     {"flags", s.flags},
                     {"atc_required", s.atc_required()},
                     {"segment", s.segment},
                     {"scopes", scopes_json(s.scopes)}});
  }
  Json sidps = Json::array();
  for (const auto& s : d.sidps) {
    sidps.push_back({{"offset", s.offset}, {"segment", s.segment}, {"scopes", scopes_json(s.scopes)}});
  }
  Json unknown = Json::array();
  for (const auto& u : d.unknown) unknown.push_back({{"offset", u.offset}, {"type", u.type}, {"length", u.length}});
  j["drhds"] = drhds;
  j["rmrrs"] = rmrrs;
  j["atsrs"] = atsrs;
  j["rhsas"] = rhsas;
  j["andds"] = andds;
  j["satcs"] = satcs;
  j["sidps"] = sidps;
  j["unknown"] = unknown;
  return j;
}

Json to_json(const acpi::Ivrs& v) {
  const auto& i = v.ivinfo;
  Json j = {{"ivinfo",
             {{"raw", i.raw},
              {"efr_sup", i.efr_sup()},
              {"dma_remap", i.dma_remap()},
              {"gva_size", i.gva_size()},
              {"pa_size", i.pa_size()},
              {"va_size", i.va_size()},
              {"ht_ats_reserved", i.ht_ats_reserved()}}}};
  Json ivhds = Json::array();
  for (const auto& h : v.ivhds) {
    Json entries = Json::array();
    for (const auto& e : h.entries) entries.push_back(entry_json(e));
    Json ivhd = {{"offset", h.offset},
                 {"type", h.type},
                 {"flags", h.flags},
                 {"length", h.length},
                 {"iommu", devid_json(h.devid)},
                 {"capability_offset", h.capability_offset},
                 {"base", json_address(h.base)},
                 {"segment", h.segment},
                 {"info", h.info},
                 {"attributes", h.attributes},
                 {"efr", h.efr ? Json(hex64(*h.efr)) : Json(nullptr)},
                 {"efr2", h.efr2 ? Json(hex64(*h.efr2)) : Json(nullptr)},
                 {"entries", entries}};
    ivhds.push_back(std::move(ivhd));
  }
  Json ivmds = Json::array();
  for (const auto& m : v.ivmds) {
    ivmds.push_back({{"offset", m.offset},
                     {"type", m.type},
                     {"flags", m.flags},
                     {"unity", m.unity()},
                     {"read", m.read()},
                     {"write", m.write()},
                     {"exclusion", m.exclusion()},
                     {"devid_first", devid_json(m.first_devid())},
                     {"devid_last", devid_json(m.last_devid())},
                     {"aux", m.aux},
                     {"reserved", hex64(m.reserved)},
                     {"segment", m.segment()},
                     {"start", json_address(m.start)},
                     {"length", hex64(m.size)},
                     {"range", optional_range(m.range())}});
  }
  Json unknown = Json::array();
  for (const auto& u : v.unknown) unknown.push_back({{"offset", u.offset}, {"type", u.type}, {"length", u.length}});
  j["ivhds"] = ivhds;
  j["ivmds"] = ivmds;
  j["unknown"] = unknown;
  return j;
}

Json to_json(const acpi::Iort& t) {
  Json nodes = Json::array();
  for (const auto& n : t.nodes) {
    Json maps = Json::array();
    for (const auto& m : n.mappings) {
      maps.push_back({{"offset", m.offset},
                      {"input_base", m.input_base},
                      {"id_count", m.id_count},
                      {"output_base", m.output_base},
                      {"output_reference", m.output_reference},
                      {"flags", m.flags},
                      {"single", m.single()}});
    }
    Json node = {{"offset", n.offset}, {"type", n.type},         {"kind", std::string(acpi::iort_node_name(n.type))},
                 {"length", n.length}, {"revision", n.revision}, {"identifier", n.identifier},
                 {"mappings", maps}};
    if (n.its_group) node["its_ids"] = n.its_group->its_ids;
    if (n.named_component) {
      const auto& c = *n.named_component;
      node["node_flags"] = c.node_flags;
      node["memory_access"] = memory_access_json(c.memory);
      node["address_size_limit"] = c.address_size_limit;
      node["name"] = acpi::printable(c.name);
    }
    if (n.root_complex) {
      const auto& c = *n.root_complex;
      node["memory_access"] = memory_access_json(c.memory);
      node["ats_attribute"] = c.ats_attribute;
      node["segment"] = c.segment;
      node["address_size_limit"] = c.address_size_limit;
      node["pasid_capabilities"] = c.pasid_capabilities ? Json(*c.pasid_capabilities) : Json(nullptr);
      node["flags"] = c.flags ? Json(*c.flags) : Json(nullptr);
    }
    if (n.smmu) {
      node["base"] = json_address(n.smmu->base);
      node["span"] = hex64(n.smmu->span);
      node["model"] = n.smmu->model;
      node["flags"] = n.smmu->flags;
    }
    if (n.smmu_v3) {
      const auto& s = *n.smmu_v3;
      node["base"] = json_address(s.base);
      node["flags"] = s.flags;
      node["model"] = s.model;
      node["proximity_domain"] = s.proximity_domain ? Json(*s.proximity_domain) : Json(nullptr);
      node["device_id_mapping_index"] = s.device_id_mapping_index ? Json(*s.device_id_mapping_index) : Json(nullptr);
    }
    if (n.pmcg) {
      node["page0_base"] = json_address(n.pmcg->page0_base);
      node["node_reference"] = n.pmcg->node_reference;
    }
    if (n.rmr) {
      const auto& r = *n.rmr;
      Json descs = Json::array();
      for (const auto& d : r.descriptors) {
        descs.push_back({{"offset", d.offset},
                         {"base", json_address(d.base)},
                         {"length", hex64(d.length)},
                         {"range", optional_range(d.range())}});
      }
      node["rmr_flags"] = r.flags;
      node["remapping_permitted"] = r.remapping_permitted();
      node["privileged"] = r.privileged();
      node["access_attributes"] = r.access_attributes();
      node["descriptors"] = descs;
    }
    nodes.push_back(std::move(node));
  }
  return {{"node_count", t.node_count}, {"node_offset", t.node_offset}, {"nodes", nodes}};
}

Json to_json(const acpi::DecodedTable& table) {
  return std::visit(
      [](const auto& t) -> Json {
        using T = std::decay_t<decltype(t)>;
        Json j = {{"signature", acpi::printable(t.header.signature)}, {"header", to_json(t.header)}};
        j["findings"] = findings_json(t.findings);
        if constexpr (std::is_same_v<T, acpi::Dmar>) j["dmar"] = to_json(t);
        if constexpr (std::is_same_v<T, acpi::Ivrs>) j["ivrs"] = to_json(t);
        if constexpr (std::is_same_v<T, acpi::Iort>) j["iort"] = to_json(t);
        return j;
      },
      table);
}

Json to_json(const acpi::LogRecord& r) {
  // Log text is arbitrary bytes; printable() keeps the JSON valid UTF-8.
  Json j = {
      {"line", r.line}, {"kind", std::string(acpi::log_kind_name(r.kind))}, {"message", acpi::printable(r.message)}};
  if (!r.device.empty()) j["device"] = acpi::printable(r.device);
  if (r.range) j["range"] = to_json(*r.range);
  switch (r.kind) {
    case acpi::LogKind::kIvmd:
      j["ivmd_type"] = acpi::printable(r.ivmd_type);
      j["devid_end"] = acpi::printable(r.devid_end);
      j["range_start"] = json_address(r.raw_start);
      j["range_end_exclusive"] = json_address(r.raw_end);
      if (r.value) j["flags"] = *r.value;
      break;
    case acpi::LogKind::kRmrUnaligned:
      j["firmware_start"] = json_address(r.raw_start);
      j["firmware_end"] = json_address(r.raw_end);
      break;
    case acpi::LogKind::kDmarFault:
      j["fault_type"] = acpi::printable(r.fault_type);
      if (r.fault_address) j["fault_address"] = json_address(*r.fault_address);
      if (r.fault_reason) j["fault_reason"] = *r.fault_reason;
      break;
    case acpi::LogKind::kHostAddressWidth:
      if (r.value) j["width"] = *r.value;
      break;
    case acpi::LogKind::kDrhd:
      if (r.value) j["base"] = json_address(*r.value);
      if (r.flags) j["flags"] = *r.flags;
      break;
    default: break;
  }
  return j;
}

Json to_json(const acpi::KernelLog& log) {
  Json records = Json::array();
  for (const auto& r : log.records) records.push_back(to_json(r));
  return {{"lines", log.lines}, {"records", records}};
}

}  // namespace iovakit::report
