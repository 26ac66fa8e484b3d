#include "iovakit/kernel/acs_cmdline.h"

#include <fmt/core.h>

#include <cctype>
#include <charconv>

#include "iovakit/pci/bdf.h"
#include "iovakit/pci/config_space.h"

namespace iovakit::kernel {

namespace {

constexpr std::uint16_t kAcsAllBits =
    pci::kAcsSourceValidation | pci::kAcsTranslationBlocking | pci::kAcsRequestRedirect | pci::kAcsCompletionRedirect |
    pci::kAcsUpstreamForwarding | pci::kAcsEgressControl | pci::kAcsDirectTranslatedP2p;

// The command line split the way lib/cmdline.c next_arg() splits it:
// whitespace separates, double quotes protect spaces, "--" ends the kernel's
// part.
std::vector<std::string> split_args(std::string_view cmdline) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  bool any = false;
  for (const char c : cmdline) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && std::isspace(static_cast<unsigned char>(c)) != 0) {
      if (any) out.push_back(current);
      if (any && current == "--") break;
      current.clear();
      any = false;
      continue;
    }
    current.push_back(c);
    any = true;
  }
  if (any && current != "--") out.push_back(current);
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(separator, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// sscanf("%x")-like: hex digits with an optional 0x, at the start of text.
// Returns the value and how many characters it used.
std::optional<std::pair<std::uint32_t, std::size_t>> scan_hex(std::string_view text) {
  std::size_t pos = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') &&
      std::isxdigit(static_cast<unsigned char>(text[2])) != 0) {
    pos = 2;
  }
  std::uint64_t value = 0;
  const std::size_t start = pos;
  while (pos < text.size() && std::isxdigit(static_cast<unsigned char>(text[pos])) != 0) {
    const char c = text[pos];
    const unsigned digit = std::isdigit(static_cast<unsigned char>(c)) != 0
                               ? static_cast<unsigned>(c - '0')
                               : static_cast<unsigned>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    value = ((value << 4U) | digit) & 0xffffffffULL;
    ++pos;
  }
  if (pos == start) return std::nullopt;
  return std::make_pair(static_cast<std::uint32_t>(value), pos);
}

// "/dd.f" or "bb:dd.f" pieces: hex numbers separated by exactly `separators`.
std::optional<std::vector<std::uint32_t>> scan_fields(std::string_view text, std::string_view separators) {
  std::vector<std::uint32_t> out;
  std::size_t pos = 0;
  for (std::size_t i = 0; i <= separators.size(); ++i) {
    const auto number = scan_hex(text.substr(pos));
    if (!number) return std::nullopt;
    out.push_back(number->first);
    pos += number->second;
    if (i == separators.size()) break;
    if (pos >= text.size() || text[pos] != separators[i]) return std::nullopt;
    ++pos;
  }
  if (pos != text.size()) return std::nullopt;  // the kernel's trailing %c must not match
  return out;
}

// pci_dev_str_match_path's grammar for one ';'-separated entry.
std::optional<PciDeviceSelector> parse_path(std::string_view text) {
  PciDeviceSelector sel;
  sel.form = PciDeviceSelector::Form::kPath;
  sel.text = std::string(text);
  std::vector<std::uint8_t> reversed;
  std::string_view rest = text;
  for (auto slash = rest.rfind('/'); slash != std::string_view::npos; slash = rest.rfind('/')) {
    const auto hop = scan_fields(rest.substr(slash + 1), ".");
    if (!hop) return std::nullopt;
    reversed.push_back(pci::make_devfn((*hop)[0], (*hop)[1]));  // PCI_DEVFN masks slot and function
    rest = rest.substr(0, slash);
  }
  if (const auto top = scan_fields(rest, "::.")) {
    sel.segment = (*top)[0];
    if ((*top)[1] > 0xff) return std::nullopt;  // can never equal an 8-bit bus number; treat as unparsable
    sel.bus = static_cast<std::uint8_t>((*top)[1]);
    sel.devfns.push_back(pci::make_devfn((*top)[2], (*top)[3]));
  } else if (const auto short_top = scan_fields(rest, ":.")) {
    if ((*short_top)[0] > 0xff) return std::nullopt;
    sel.bus = static_cast<std::uint8_t>((*short_top)[0]);
    sel.devfns.push_back(pci::make_devfn((*short_top)[1], (*short_top)[2]));
  } else {
    return std::nullopt;
  }
  sel.devfns.insert(sel.devfns.end(), reversed.rbegin(), reversed.rend());
  return sel;
}

// "pci:vvvv:dddd[:ssss:ssss]" (after the "pci:" prefix): sscanf with
// "%hx:%hx:%hx:%hx%n", else "%hx:%hx%n". `trailing` is set when characters
// follow the IDs, which ends the kernel's list.
std::optional<PciDeviceSelector> parse_ids(std::string_view text, bool& trailing) {
  const auto scan = [text](int count) -> std::optional<std::pair<std::vector<std::uint16_t>, std::size_t>> {
    std::vector<std::uint16_t> ids;
    std::size_t pos = 0;
    for (int i = 0; i < count; ++i) {
      if (i > 0) {
        if (pos >= text.size() || text[pos] != ':') return std::nullopt;
        ++pos;
      }
      const auto number = scan_hex(text.substr(pos));
      if (!number) return std::nullopt;
      ids.push_back(static_cast<std::uint16_t>(number->first));  // %hx keeps the low 16 bits
      pos += number->second;
    }
    return std::make_pair(std::move(ids), pos);
  };
  auto ids = scan(4);
  if (!ids) ids = scan(2);
  if (!ids) return std::nullopt;
  PciDeviceSelector sel;
  sel.form = PciDeviceSelector::Form::kIds;
  sel.text = "pci:" + std::string(text.substr(0, ids->second));
  sel.vendor = ids->first[0];
  sel.device = ids->first[1];
  if (ids->first.size() == 4) {
    sel.subsystem_vendor = ids->first[2];
    sel.subsystem_device = ids->first[3];
  }
  trailing = ids->second != text.size();
  return sel;
}

// A ';'-separated device list as pci_disable_acs_redir / __pci_config_acs
// walk it. Stops at the first entry that does not parse.
std::vector<PciDeviceSelector> parse_device_list(std::string_view value, std::string_view param,
                                                 std::vector<std::string>& warnings) {
  std::vector<PciDeviceSelector> out;
  for (const std::string_view entry : split(value, ';')) {
    if (entry.substr(0, 4) == "pci:") {
      bool trailing = false;
      auto sel = parse_ids(entry.substr(4), trailing);
      if (!sel) {
        warnings.push_back(
            fmt::format("PCI: Can't parse {} parameter: \"{}\" (entries from here are ignored)", param, entry));
        break;
      }
      out.push_back(std::move(*sel));
      if (trailing) {
        warnings.push_back(fmt::format("{}: text after \"{}\" ends the device list", param, out.back().text));
        break;
      }
      continue;
    }
    auto sel = parse_path(entry);
    if (!sel) {
      warnings.push_back(
          fmt::format("PCI: Can't parse {} parameter: \"{}\" (entries from here are ignored)", param, entry));
      break;
    }
    out.push_back(std::move(*sel));
  }
  return out;
}

// config_acs's "<mask>@<device>" entries.
std::vector<ConfigAcsEntry> parse_config_acs(std::string_view value, std::vector<std::string>& warnings) {
  std::vector<ConfigAcsEntry> out;
  for (const std::string_view entry : split(value, ';')) {
    const auto at = entry.find('@');
    if (at == std::string_view::npos) {
      warnings.push_back(fmt::format("config_acs: \"{}\": ACS Flags missing (entries from here are ignored)", entry));
      break;
    }
    ConfigAcsEntry acs;
    unsigned shift = 0;
    bool bad = false;
    for (std::size_t i = at; i-- > 0; ++shift) {
      const char c = entry[i];
      const auto bit = static_cast<std::uint32_t>(1U << (shift & 31U));
      if (c == '0') {
        acs.mask = static_cast<std::uint16_t>(acs.mask | bit);
        bad = bad || shift >= 16;
      } else if (c == '1') {
        acs.mask = static_cast<std::uint16_t>(acs.mask | bit);
        acs.flags = static_cast<std::uint16_t>(acs.flags | bit);
        bad = bad || shift >= 16;
      } else if (c != 'x' && c != 'X') {
        bad = true;
      }
    }
    if (bad || (acs.mask & ~kAcsAllBits) != 0) {
      warnings.push_back(
          fmt::format("config_acs: \"{}\": Invalid ACS flags specified (entries from here are ignored)", entry));
      break;
    }
    auto devices = parse_device_list(entry.substr(at + 1), "config_acs", warnings);
    if (devices.size() != 1) break;
    acs.device = std::move(devices.front());
    out.push_back(std::move(acs));
  }
  return out;
}

// pcie_acs_override_setup() of the out-of-tree patch.
void parse_acs_override(std::string_view value, AcsOverride& state, std::vector<std::string>& warnings) {
  const auto kstrtol4 = [](std::string_view text) -> std::optional<std::uint16_t> {
    const std::string_view opt = text.substr(0, 4);  // snprintf(opt, 5, "%s", p)
    std::uint32_t v = 0;
    const auto [ptr, ec] = std::from_chars(opt.data(), opt.data() + opt.size(), v, 16);
    if (ec != std::errc() || ptr != opt.data() + opt.size() || opt.empty()) return std::nullopt;
    return static_cast<std::uint16_t>(v);
  };
  // The patch walks the string itself: each item is tested by prefix, an id
  // is read from wherever p stands, then p skips to the next ','.
  std::size_t p = 0;
  while (p < value.size()) {
    const std::string_view rest = value.substr(p);
    if (rest.substr(0, 10) == "downstream") state.downstream = true;
    if (rest.substr(0, 13) == "multifunction") state.multifunction = true;
    if (rest.substr(0, 3) == "id:") {
      const std::string_view item = rest.substr(0, rest.find(','));
      if (state.ids.size() >= kAcsOverrideMaxIds) {
        warnings.push_back(fmt::format("Out of PCIe ACS override slots (16): \"{}\" ignored", item));
      } else {
        const std::string_view id = rest.substr(3);
        const auto vendor = kstrtol4(id);
        const auto colon = id.find(':');
        const auto device = colon == std::string_view::npos ? std::nullopt : kstrtol4(id.substr(colon + 1));
        if (vendor && device) {
          state.ids.push_back({*vendor, *device});
        } else {
          warnings.push_back(fmt::format("PCIe ACS ID parse error: \"{}\" ignored", item));
        }
      }
    }
    const auto comma = value.find(',', p);
    if (comma == std::string_view::npos) break;
    p = comma + 1;
  }
  if (state.downstream || state.multifunction || !state.ids.empty()) {
    warnings.emplace_back(
        "Warning: PCIe ACS overrides enabled; This may allow non-IOMMU protected peer-to-peer DMA "
        "(pcie_acs_override, honoured only by kernels that carry the patch)");
  }
}

}  // namespace

AcsCommandLine parse_acs_command_line(std::string_view cmdline) {
  AcsCommandLine out;
  std::optional<std::string> disable_redir;
  std::optional<std::string> config_acs;
  for (const std::string& arg : split_args(cmdline)) {
    const std::string_view a = arg;
    constexpr std::string_view kOverride = "pcie_acs_override=";
    constexpr std::string_view kPci = "pci=";
    if (a.substr(0, kOverride.size()) == kOverride) {
      if (!out.acs_override) out.acs_override = AcsOverride{};
      parse_acs_override(a.substr(kOverride.size()), *out.acs_override, out.warnings);
    } else if (a.substr(0, kPci.size()) == kPci) {
      // pci_setup() splits on ',': a later option of the same name wins.
      for (const std::string_view opt : split(a.substr(kPci.size()), ',')) {
        constexpr std::string_view kRedir = "disable_acs_redir=";
        constexpr std::string_view kConfig = "config_acs=";
        if (opt.substr(0, kRedir.size()) == kRedir) disable_redir = std::string(opt.substr(kRedir.size()));
        if (opt.substr(0, kConfig.size()) == kConfig) config_acs = std::string(opt.substr(kConfig.size()));
      }
    }
  }
  if (disable_redir) out.disable_acs_redir = parse_device_list(*disable_redir, "disable_acs_redir", out.warnings);
  if (config_acs) out.config_acs = parse_config_acs(*config_acs, out.warnings);
  return out;
}

std::optional<bool> selector_matches(const PciDeviceSelector& selector, const pci::Topology& topology,
                                     std::size_t device) {
  const auto& config = topology.config(device);
  if (selector.form == PciDeviceSelector::Form::kIds) {
    const auto any_or = [](std::uint16_t want, std::optional<std::uint16_t> have) {
      return want == 0 || (have && *have == want);
    };
    return any_or(selector.vendor, config.vendor_id()) && any_or(selector.device, config.device_id()) &&
           any_or(selector.subsystem_vendor, config.subsystem_vendor_id()) &&
           any_or(selector.subsystem_device, config.subsystem_id());
  }
  // pci_dev_str_match_path: the last hop is the device, each earlier hop
  // its upstream bridge (pci_upstream_bridge), the first also names the bus.
  std::size_t cur = device;
  for (std::size_t hop = selector.devfns.size(); hop-- > 1;) {
    if (topology.bdf(cur).devfn() != selector.devfns[hop]) return false;
    const auto up = topology.parent(cur);
    if (!up) {
      if (topology.on_root_bus(cur)) return false;
      return std::nullopt;
    }
    cur = *up;
  }
  const pci::Bdf& top = topology.bdf(cur);
  return top.segment() == selector.segment && top.bus() == selector.bus && top.devfn() == selector.devfns.front();
}

}  // namespace iovakit::kernel
