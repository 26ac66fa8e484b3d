// Test support: what an iasl disassembly must say about decoded records.
//
// Each decoded structure becomes a Group: the field iasl prints at the
// structure's offset to say it decoded it (the key), and the (offset, field
// name, value) triples the decoder's record implies. compare() looks them up
// in a parsed .dsl (dsl.h) by table offset. Field names differ between iasl
// versions, so each check lists the spellings seen in the corpus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "dsl.h"
#include "iovakit/acpi/dmar.h"
#include "iovakit/acpi/iort.h"
#include "iovakit/acpi/ivrs.h"

namespace iovakit::acpi::testing {

struct NumCheck {
  std::size_t offset;
  std::vector<std::string> names;
  std::uint64_t expected;
};

struct StrCheck {
  std::size_t offset;
  std::vector<std::string> names;
  std::string expected;
};

// One decoded structure and what an oracle must say about it.
struct Group {
  std::string what;
  std::size_t key_offset = 0;
  std::vector<std::string> key_names;
  bool reserved_memory = false;  // must be confirmed by an oracle
  std::vector<NumCheck> nums;
  std::vector<StrCheck> strs;
};

inline const std::vector<std::string> kSubtable = {"Subtable Type"};

inline void add_scopes(std::vector<Group>& groups, const std::vector<DeviceScope>& scopes, const std::string& owner,
                       bool reserved) {
  for (const auto& s : scopes) {
    Group g{fmt::format("{} scope at {:#x}", owner, s.offset), s.offset, {"Device Scope Type"}, reserved, {}, {}};
    g.nums = {{s.offset, {"Device Scope Type"}, s.type},
              {s.offset + 1, {"Entry Length"}, s.length},
              {s.offset + 4, {"Enumeration ID"}, s.enumeration_id},
              {s.offset + 5, {"PCI Bus Number"}, s.start_bus}};
    for (std::size_t i = 0; i < s.path.size(); ++i) {
      // "PCI Path : 1D,07": the device is the leading number; the function
      // is checked through a string compare of the whole pair.
      g.strs.push_back(
          {s.offset + 6 + 2 * i, {"PCI Path"}, fmt::format("{:02X},{:02X}", s.path[i].device, s.path[i].function)});
    }
    groups.push_back(std::move(g));
  }
}

inline std::vector<Group> dmar_groups(const Dmar& d) {
  std::vector<Group> out;
  out.push_back({"DMAR fixed part",
                 0x24,
                 {"Host Address Width"},
                 false,
                 {{0x24, {"Host Address Width"}, d.width},
                  {0x25, {"Flags"}, d.flags},
                  {4, {"Table Length"}, d.header.length},
                  {8, {"Revision"}, d.header.revision},
                  {9, {"Checksum"}, d.header.checksum}},
                 {}});
  for (const auto& u : d.drhds) {
    const auto what = fmt::format("DRHD #{} at {:#x}", u.index, u.offset);
    out.push_back({what,
                   u.offset,
                   kSubtable,
                   false,
                   {{u.offset, kSubtable, 0},
                    {u.offset + 4, {"Flags"}, u.flags},
                    {u.offset + 6, {"PCI Segment Number"}, u.segment},
                    {u.offset + 8, {"Register Base Address"}, u.register_base}},
                   {}});
    add_scopes(out, u.scopes, what, false);
  }
  for (const auto& m : d.rmrrs) {
    const auto what = fmt::format("RMRR #{} at {:#x}", m.index, m.offset);
    out.push_back({what,
                   m.offset,
                   kSubtable,
                   true,
                   {{m.offset, kSubtable, 1},
                    {m.offset + 6, {"PCI Segment Number"}, m.segment},
                    {m.offset + 8, {"Base Address"}, m.base},
                    {m.offset + 16, {"End Address (limit)"}, m.end}},
                   {}});
    add_scopes(out, m.scopes, what, true);
  }
  for (const auto& a : d.atsrs) {
    const auto what = fmt::format("ATSR at {:#x}", a.offset);
    out.push_back({what,
                   a.offset,
                   kSubtable,
                   false,
                   {{a.offset, kSubtable, 2},
                    {a.offset + 4, {"Flags"}, a.flags},
                    {a.offset + 6, {"PCI Segment Number"}, a.segment}},
                   {}});
    add_scopes(out, a.scopes, what, false);
  }
  for (const auto& r : d.rhsas) {
    out.push_back({fmt::format("RHSA at {:#x}", r.offset),
                   r.offset,
                   kSubtable,
                   false,
                   {{r.offset, kSubtable, 3},
                    {r.offset + 8, {"Base Address"}, r.register_base},
                    {r.offset + 16, {"Proximity Domain"}, r.proximity_domain}},
                   {}});
  }
  for (const auto& a : d.andds) {
    out.push_back({fmt::format("ANDD at {:#x}", a.offset),
                   a.offset,
                   kSubtable,
                   false,
                   {{a.offset, kSubtable, 4}, {a.offset + 7, {"Device Number"}, a.device_number}},
                   {{a.offset + 8, {"Device Name"}, a.name}}});
  }
  for (const auto& s : d.satcs) {
    const auto what = fmt::format("SATC at {:#x}", s.offset);
    out.push_back({what,
                   s.offset,
                   kSubtable,
                   false,
                   {{s.offset, kSubtable, 5},
                    {s.offset + 4, {"Flags"}, s.flags},
                    {s.offset + 6, {"PCI Segment Number"}, s.segment}},
                   {}});
    add_scopes(out, s.scopes, what, false);
  }
  for (const auto& s : d.sidps) {
    const auto what = fmt::format("SIDP at {:#x}", s.offset);
    out.push_back({what,
                   s.offset,
                   kSubtable,
                   false,
                   {{s.offset, kSubtable, 6}, {s.offset + 6, {"PCI Segment Number"}, s.segment}},
                   {}});
    add_scopes(out, s.scopes, what, false);
  }
  return out;
}

inline std::vector<Group> ivrs_groups(const Ivrs& v) {
  std::vector<Group> out;
  out.push_back({"IVRS fixed part",
                 0x24,
                 {"Virtualization Info"},
                 false,
                 {{0x24, {"Virtualization Info"}, v.ivinfo.raw}, {4, {"Table Length"}, v.header.length}},
                 {}});
  const std::vector<std::string> flags = {"Flags", "Flags (decoded below)"};
  for (const auto& h : v.ivhds) {
    Group g{fmt::format("IVHD {:#04x} at {:#x}", h.type, h.offset), h.offset, kSubtable, false, {}, {}};
    g.nums = {{h.offset, kSubtable, h.type},
              {h.offset + 1, flags, h.flags},
              {h.offset + 2, {"Length"}, h.length},
              {h.offset + 4, {"DeviceId"}, h.devid},
              {h.offset + 6, {"Capability Offset"}, h.capability_offset},
              {h.offset + 8, {"Base Address"}, h.base},
              {h.offset + 16, {"PCI Segment Group"}, h.segment},
              {h.offset + 18, {"Virtualization Info"}, h.info},
              {h.offset + 20, {"Feature Reporting", "Attributes", "Reserved"}, h.attributes}};
    if (h.efr) g.nums.push_back({h.offset + 24, {"EFR Image"}, *h.efr});
    if (h.efr2) g.nums.push_back({h.offset + 32, {"Reserved", "EFR Image 2"}, *h.efr2});
    out.push_back(std::move(g));
    for (const auto& e : h.entries) {
      Group eg{fmt::format("IVHD entry {:#04x} at {:#x}", e.type, e.offset),
               e.offset,
               {"Subtable Type", "Entry Type"},
               false,
               {},
               {}};
      eg.nums = {{e.offset, {"Subtable Type", "Entry Type"}, e.type},
                 {e.offset + 1, {"Device ID"}, e.devid},
                 {e.offset + 3, {"Data Setting", "Data Setting (decoded below)"}, e.setting}};
      if (e.type == ivhd_entry::kAliasSelect || e.type == ivhd_entry::kAliasRange) {
        eg.nums.push_back({e.offset + 5, {"Source Used Device ID"}, e.used_devid});
      }
      if (e.type == ivhd_entry::kSpecial) {
        eg.nums.push_back({e.offset + 4, {"Handle"}, e.handle});
        eg.nums.push_back({e.offset + 5, {"Source Used Device ID"}, e.used_devid});
        eg.nums.push_back({e.offset + 7, {"Variety"}, e.variety});
      }
      if (e.type == ivhd_entry::kAcpiHid) {
        eg.nums.push_back({e.offset + 20, {"UID Format"}, e.uid_format});
        eg.nums.push_back({e.offset + 21, {"UID Length"}, e.uid_length});
        eg.strs.push_back({e.offset + 4, {"ACPI HID"}, printable(e.hid)});
        if (e.uid_format == 2) eg.strs.push_back({e.offset + 22, {"UID"}, printable(e.uid)});
      }
      out.push_back(std::move(eg));
    }
  }
  for (const auto& m : v.ivmds) {
    out.push_back({fmt::format("IVMD {:#04x} at {:#x}", m.type, m.offset),
                   m.offset,
                   kSubtable,
                   true,
                   {{m.offset, kSubtable, m.type},
                    {m.offset + 1, flags, m.flags},
                    {m.offset + 2, {"Length"}, m.length},
                    {m.offset + 4, {"DeviceId"}, m.devid},
                    {m.offset + 6, {"Auxiliary Data"}, m.aux},
                    {m.offset + 8, {"Reserved"}, m.reserved},
                    {m.offset + 16, {"Start Address"}, m.start},
                    {m.offset + 24, {"Memory Length"}, m.size}},
                   {}});
  }
  return out;
}

inline std::vector<Group> iort_groups(const Iort& t) {
  std::vector<Group> out;
  out.push_back({"IORT fixed part",
                 0x24,
                 {"Node Count"},
                 false,
                 {{0x24, {"Node Count"}, t.node_count},
                  {0x28, {"Node Offset"}, t.node_offset},
                  {8, {"Revision"}, t.header.revision}},
                 {}});
  const std::vector<std::string> flags = {"Flags (decoded below)", "Flags"};
  for (const auto& n : t.nodes) {
    const bool rmr = n.rmr.has_value();
    Group g{fmt::format("{} node at {:#x}", iort_node_name(n.type), n.offset), n.offset, {"Type"}, rmr, {}, {}};
    g.nums = {{n.offset, {"Type"}, n.type},
              {n.offset + 1, {"Length"}, n.length},
              {n.offset + 3, {"Revision"}, n.revision},
              {n.offset + 4, {"Identifier", "Reserved"}, n.identifier},
              {n.offset + 8, {"Mapping Count"}, n.mapping_count},
              {n.offset + 12, {"Mapping Offset"}, n.mapping_offset}};
    if (n.smmu) {
      g.nums.push_back({n.offset + 0x10, {"Base Address"}, n.smmu->base});
      g.nums.push_back({n.offset + 0x20, {"Model"}, n.smmu->model});
    }
    if (n.smmu_v3) {
      g.nums.push_back({n.offset + 0x10, {"Base Address"}, n.smmu_v3->base});
      g.nums.push_back({n.offset + 0x28, {"Model"}, n.smmu_v3->model});
    }
    if (n.root_complex) g.nums.push_back({n.offset + 0x1c, {"PCI Segment Number"}, n.root_complex->segment});
    if (n.named_component) g.strs.push_back({n.offset + 0x1d, {"Device Name"}, n.named_component->name});
    if (n.rmr) {
      g.nums.push_back({n.offset + 0x10, flags, n.rmr->flags});
      g.nums.push_back({n.offset + 0x14, {"Number of RMR Descriptors"}, n.rmr->descriptor_count});
      g.nums.push_back({n.offset + 0x18, {"RMR Descriptor Offset"}, n.rmr->descriptor_offset});
    }
    out.push_back(std::move(g));
    for (const auto& m : n.mappings) {
      out.push_back({fmt::format("ID mapping at {:#x}", m.offset),
                     m.offset,
                     {"Input base"},
                     rmr,
                     {{m.offset, {"Input base"}, m.input_base},
                      {m.offset + 4, {"ID Count"}, m.id_count},
                      {m.offset + 8, {"Output Base"}, m.output_base},
                      {m.offset + 12, {"Output Reference"}, m.output_reference},
                      {m.offset + 16, flags, m.flags}},
                     {}});
    }
    if (n.rmr) {
      for (const auto& d : n.rmr->descriptors) {
        out.push_back({fmt::format("RMR descriptor at {:#x}", d.offset),
                       d.offset,
                       {"Base Address of RMR"},
                       true,
                       {{d.offset, {"Base Address of RMR"}, d.base}, {d.offset + 8, {"Length of RMR"}, d.length}},
                       {}});
      }
    }
  }
  return out;
}

inline bool decodes(const Dsl& dsl, const Group& g) {
  const auto key = dsl.field(g.key_offset, g.key_names);
  return key && key->value.find("Unknown") == std::string::npos;
}

// Compares a group with an oracle; returns the mismatches.
inline std::vector<std::string> compare(const Dsl& dsl, const Group& g) {
  std::vector<std::string> bad;
  for (const auto& c : g.nums) {
    const auto f = dsl.field(c.offset, c.names);
    if (!f) {
      bad.push_back(fmt::format("{}: no \"{}\" at {:#x} in the disassembly", g.what, c.names.front(), c.offset));
      continue;
    }
    const auto v = hex_value(f->value);
    if (!v || *v != c.expected) {
      bad.push_back(fmt::format("{}: {} at {:#x}: decoded {:#x}, iasl says \"{}\"", g.what, f->name, c.offset,
                                c.expected, f->value));
    }
  }
  for (const auto& c : g.strs) {
    const auto f = dsl.field(c.offset, c.names);
    if (!f) {
      bad.push_back(fmt::format("{}: no \"{}\" at {:#x} in the disassembly", g.what, c.names.front(), c.offset));
      continue;
    }
    const std::string want = f->value.find('"') != std::string::npos ? unquote(f->value) : f->value;
    if (want != c.expected) {
      bad.push_back(fmt::format(R"({}: {} at {:#x}: decoded "{}", iasl says "{}")", g.what, f->name, c.offset,
                                c.expected, f->value));
    }
  }
  return bad;
}

}  // namespace iovakit::acpi::testing
