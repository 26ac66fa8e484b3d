#include "iovakit/acpi/kernel_log.h"

#include <utility>

#include <fmt/core.h>

namespace iovakit::acpi {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A cursor over one line. Every method either consumes and succeeds or
// leaves the position where it was.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool literal(std::string_view lit) {
    if (text_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  // Moves just past the next occurrence of `lit`.
  bool seek(std::string_view lit) {
    const auto at = text_.find(lit, pos_);
    if (at == std::string_view::npos) return false;
    pos_ = at + lit.size();
    return true;
  }
  // Optional "0x", then 1 to 16 hex digits.
  std::optional<std::uint64_t> hex() {
    const std::size_t start = pos_;
    if (text_.substr(pos_, 2) == "0x" || text_.substr(pos_, 2) == "0X") pos_ += 2;
    std::uint64_t value = 0;
    std::size_t digits = 0;
    while (pos_ < text_.size() && hex_digit(text_[pos_]) >= 0) {
      if (++digits > 16) break;
      value = (value << 4) | static_cast<unsigned>(hex_digit(text_[pos_]));
      ++pos_;
    }
    if (digits == 0 || digits > 16) {
      pos_ = start;
      return std::nullopt;
    }
    return value;
  }
  std::optional<std::uint64_t> dec() {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9' && pos_ - start < 19) {
      value = value * 10 + static_cast<unsigned>(text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return value;
  }
  // Characters up to (not including) the first of `stops` or the end.
  std::string_view until_any(std::string_view stops) {
    const auto at = text_.find_first_of(stops, pos_);
    const std::size_t end = at == std::string_view::npos ? text_.size() : at;
    const auto out = text_.substr(pos_, end - pos_);
    pos_ = end;
    return out;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// "00:14.0" or "0000:00:14.0".
bool is_bdf(std::string_view s) {
  const auto hex_run = [](std::string_view t) {
    for (const char c : t) {
      if (hex_digit(c) < 0) return false;
    }
    return !t.empty();
  };
  if (s.size() == 12) {
    if (s[4] != ':') return false;
    if (!hex_run(s.substr(0, 4))) return false;
    s.remove_prefix(5);
  }
  return s.size() == 7 && hex_run(s.substr(0, 2)) && s[2] == ':' && hex_run(s.substr(3, 2)) && s[5] == '.' &&
         s[6] >= '0' && s[6] <= '7';
}

// The last BDF-looking word of `prefix` ("vfio-pci 0000:01:00.1:" -> "0000:01:00.1").
std::string bdf_in(std::string_view prefix) {
  std::string found;
  std::size_t at = 0;
  while (at < prefix.size()) {
    const auto sp = prefix.find_first_of(" \t", at);
    std::string_view word = prefix.substr(at, sp == std::string_view::npos ? std::string_view::npos : sp - at);
    while (!word.empty() && (word.back() == ':' || word.back() == ',')) word.remove_suffix(1);
    if (is_bdf(word)) found = std::string(word);
    if (sp == std::string_view::npos) break;
    at = sp + 1;
  }
  return found;
}

std::optional<iova::Range> inclusive(std::uint64_t first, std::uint64_t last) {
  if (last < first) return std::nullopt;
  return iova::Range(first, last);
}

// "[a - b]" or "[a-b]" (spaces optional), inclusive.
bool bracket_range(Scanner& s, std::uint64_t& a, std::uint64_t& b) {
  s.skip_spaces();
  if (!s.literal("[")) return false;
  const auto x = s.hex();
  if (!x) return false;
  s.skip_spaces();
  if (!s.literal("-")) return false;
  s.skip_spaces();
  const auto y = s.hex();
  if (!y) return false;
  s.skip_spaces();
  if (!s.literal("]")) return false;
  a = *x;
  b = *y;
  return true;
}

struct Matcher {
  std::string_view fragment;
  LogKind kind;
};

// Order matters only where one fragment contains another; none do.
constexpr Matcher kMatchers[] = {
    {"RMRR base:", LogKind::kRmrr},
    {"bad RMRR [", LogKind::kBadRmrr},
    {"No firmware reserved region can cover this RMRR [", LogKind::kRmrrNotReserved},
    {"Setting identity map", LogKind::kIdentityMap},
    {"Ignoring identity map for HW passthrough device", LogKind::kIdentityMapIgnored},
    {"Prepare 0-16MiB unity mapping for LPC", LogKind::kLpcUnityMap},
    {"Device is ineligible for IOMMU domain attach", LogKind::kIneligibleDevice},
    {"Firmware has requested this device have a 1:1 IOMMU mapping", LogKind::kDirectMappingRequired},
    {"Request device [", LogKind::kDmarFault},
    {"Host address width ", LogKind::kHostAddressWidth},
    {"DRHD base:", LogKind::kDrhd},
    {"IVMD_TYPE", LogKind::kIvmd},
    {"RMR descriptor[", LogKind::kRmrUnaligned},
};

// Fills `r` from the line; false when the line only looks like the kind.
bool parse_record(std::string_view line, std::size_t at, LogRecord& r) {
  const std::string_view prefix = line.substr(0, at);
  const std::string_view msg = line.substr(at);
  Scanner s(msg);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  switch (r.kind) {
    case LogKind::kRmrr: {
      s.seek("RMRR base:");
      s.skip_spaces();
      const auto base = s.hex();
      if (!base || !s.seek("end:")) return false;
      s.skip_spaces();
      const auto end = s.hex();
      if (!end) return false;
      r.raw_start = *base;
      r.raw_end = *end;
      r.range = inclusive(*base, *end);
      return true;
    }
    case LogKind::kBadRmrr:
    case LogKind::kRmrrNotReserved: {
      s.seek("RMRR ");
      if (!bracket_range(s, a, b)) return false;
      r.raw_start = a;
      r.raw_end = b;
      r.range = inclusive(a, b);
      return true;
    }
    case LogKind::kIdentityMap:
    case LogKind::kIdentityMapIgnored: {
      s.seek(r.kind == LogKind::kIdentityMap ? "Setting identity map" : "passthrough device");
      s.skip_spaces();
      if (s.literal("for device")) {
        s.skip_spaces();
        r.device = std::string(s.until_any(" \t["));
      } else if (r.kind == LogKind::kIdentityMapIgnored) {
        r.device = std::string(s.until_any(" \t["));
      } else {
        r.device = bdf_in(prefix);  // "<dev>: DMAR: Setting identity map [..]"
      }
      if (!bracket_range(s, a, b)) return false;
      r.raw_start = a;
      r.raw_end = b;
      r.range = inclusive(a, b);
      return true;
    }
    case LogKind::kLpcUnityMap:
      r.raw_start = 0;
      r.raw_end = (std::uint64_t{16} << 20) - 1;
      r.range = iova::Range(0, r.raw_end);
      return true;
    case LogKind::kIneligibleDevice:
    case LogKind::kDirectMappingRequired: r.device = bdf_in(prefix); return true;
    case LogKind::kDmarFault: {
      // The bracket before "Request device" holds the request type.
      const auto open = prefix.rfind('[');
      if (open != std::string_view::npos) {
        std::string_view type = prefix.substr(open + 1);
        while (!type.empty() && (type.back() == ' ' || type.back() == ']')) type.remove_suffix(1);
        r.fault_type = std::string(type);
      }
      s.seek("Request device [");
      r.device = std::string(s.until_any("]"));
      if (!is_bdf(r.device) || !s.seek("fault addr")) return false;
      s.skip_spaces();
      r.fault_address = s.hex();
      if (!r.fault_address) return false;
      if (s.seek("[fault reason")) {
        s.skip_spaces();
        if (const auto reason = s.hex()) r.fault_reason = static_cast<unsigned>(*reason & 0xffffU);
      }
      return true;
    }
    case LogKind::kHostAddressWidth: {
      s.seek("Host address width ");
      r.value = s.dec();
      return r.value.has_value();
    }
    case LogKind::kDrhd: {
      s.seek("DRHD base:");
      s.skip_spaces();
      r.value = s.hex();
      if (!r.value || !s.seek("flags:")) return false;
      s.skip_spaces();
      r.flags = s.hex();
      return r.flags.has_value();
    }
    case LogKind::kIvmd: {
      r.ivmd_type = std::string(s.until_any(" \t"));
      if (!s.seek("devid_start:")) return false;
      s.skip_spaces();
      r.device = std::string(s.until_any(" \t"));
      if (!s.seek("devid_end:")) return false;
      s.skip_spaces();
      r.devid_end = std::string(s.until_any(" \t"));
      if (!is_bdf(r.device) || !is_bdf(r.devid_end) || !s.seek("range_start:")) return false;
      s.skip_spaces();
      const auto start = s.hex();
      if (!start || !s.seek("range_end:")) return false;
      s.skip_spaces();
      const auto end = s.hex();
      if (!end) return false;
      r.raw_start = *start;
      r.raw_end = *end;  // exclusive
      if (*end > *start) r.range = iova::Range(*start, *end - 1);
      if (s.seek("flags:")) {
        s.skip_spaces();
        r.value = s.hex();
      }
      return true;
    }
    case LogKind::kRmrUnaligned: {
      // The firmware's range first, then the page-aligned one Linux goes on
      // with: raw_start/raw_end keep the former, `range` is the latter
      // (what Linux reserves).
      s.seek("RMR descriptor");
      if (!bracket_range(s, a, b)) return false;
      if (!s.seek("continue with")) return false;
      std::uint64_t c = 0;
      std::uint64_t d = 0;
      if (!bracket_range(s, c, d)) return false;
      r.raw_start = a;
      r.raw_end = b;
      r.range = inclusive(c, d);
      return true;
    }
  }
  return false;
}

struct LogicalLine {
  std::size_t number = 0;
  std::string text;
};

// Physical lines joined across quoted-printable soft breaks.
std::vector<LogicalLine> logical_lines(std::string_view text, std::size_t& physical) {
  std::vector<LogicalLine> out;
  bool soft_breaks = false;
  LogicalLine current;
  bool open = false;
  physical = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++physical;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!open) {
      current = {physical, {}};
      open = true;
    }
    if (!line.empty() && line.back() == '=' && !text.empty()) {
      soft_breaks = true;
      line.remove_suffix(1);
      current.text.append(line);
      continue;
    }
    current.text.append(line);
    out.push_back(std::exchange(current, LogicalLine{}));
    open = false;
  }
  if (open) out.push_back(std::exchange(current, LogicalLine{}));
  if (soft_breaks) {
    for (auto& l : out) {
      std::string decoded;
      decoded.reserve(l.text.size());
      for (std::size_t i = 0; i < l.text.size(); ++i) {
        if (l.text.compare(i, 3, "=3D") == 0) {
          decoded += '=';
          i += 2;
        } else if (l.text.compare(i, 3, "=20") == 0) {
          decoded += ' ';
          i += 2;
        } else {
          decoded += l.text[i];
        }
      }
      l.text = std::move(decoded);
    }
  }
  return out;
}

}  // namespace

std::string_view log_kind_name(LogKind kind) {
  switch (kind) {
    case LogKind::kRmrr: return "rmrr";
    case LogKind::kBadRmrr: return "bad-rmrr";
    case LogKind::kRmrrNotReserved: return "rmrr-not-reserved";
    case LogKind::kIdentityMap: return "identity-map";
    case LogKind::kIdentityMapIgnored: return "identity-map-ignored";
    case LogKind::kLpcUnityMap: return "lpc-unity-map";
    case LogKind::kIneligibleDevice: return "ineligible-device";
    case LogKind::kDirectMappingRequired: return "direct-mapping-required";
    case LogKind::kDmarFault: return "dmar-fault";
    case LogKind::kHostAddressWidth: return "host-address-width";
    case LogKind::kDrhd: return "drhd";
    case LogKind::kIvmd: return "ivmd";
    case LogKind::kRmrUnaligned: return "rmr-unaligned";
  }
  return "unknown";
}

Result<KernelLog> parse_kernel_log(std::string_view text, std::string_view source) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return Error(Errc::kParse, "not a text log: NUL byte", Location{std::string(source), {}, nul});
  }
  KernelLog log;
  for (const auto& line : logical_lines(text, log.lines)) {
    for (const auto& m : kMatchers) {
      const auto at = line.text.find(m.fragment);
      if (at == std::string::npos) continue;
      LogRecord r;
      r.line = line.number;
      r.kind = m.kind;
      // The message is the line from the fragment on, widened to the '['
      // that opens a fault's request type or a "[Firmware Bug]" tag.
      std::size_t from = at;
      if (m.kind == LogKind::kDmarFault) {
        const auto open = line.text.rfind('[', at == 0 ? 0 : at - 1);
        if (open != std::string::npos) from = open;
      } else if (m.kind == LogKind::kBadRmrr || m.kind == LogKind::kRmrUnaligned) {
        const auto bug = line.text.rfind("[Firmware Bug]", at);
        if (bug != std::string::npos) from = bug;
      }
      r.message = line.text.substr(from);
      if (parse_record(line.text, at, r)) log.records.push_back(std::move(r));
      break;  // one record per line
    }
  }
  return log;
}

}  // namespace iovakit::acpi
