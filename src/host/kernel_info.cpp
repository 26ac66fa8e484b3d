#include "iovakit/host/kernel_info.h"

#include <charconv>
#include <string>

namespace iovakit::host {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// kernel/params.c parameq: '-' and '_' are the same character in names.
bool name_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '-' ? '_' : a[i];
    const char y = b[i] == '-' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t next = text.find(',', pos);
    if (next == std::string_view::npos) next = text.size();
    if (next > pos) out.emplace_back(text.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// intel_iommu_setup (6.1): each word is compared with strncmp against the
// options in this order; the first prefix that matches wins.
void decode_intel(std::string_view value, IommuCmdline& out) {
  for (const auto& word : split_commas(value)) {
    out.intel_iommu.push_back(word);
    if (starts_with(word, "on")) {
      out.intel_iommu_on = true;
    } else if (starts_with(word, "off")) {
      out.intel_iommu_on = false;
    } else if (starts_with(word, "igfx_off")) {
      out.intel_igfx_off = true;
    } else if (starts_with(word, "strict")) {
      out.intel_strict = true;
    } else if (starts_with(word, "sp_off")) {
      out.intel_sp_off = true;
    } else if (starts_with(word, "sm_on")) {
      out.intel_sm_on = true;
    } else if (starts_with(word, "sm_off")) {
      out.intel_sm_off = true;
    } else if (word == "relax_rmrr") {
      out.intel_relax_rmrr = true;
    } else if (!starts_with(word, "forcedac") && !starts_with(word, "tboot_noforce")) {
      // forcedac (iommu.forcedac=1 later) and tboot_noforce are valid but
      // change nothing iovakit models; anything else is unknown.
      out.intel_unknown.push_back(word);
    }
  }
}

// parse_amd_iommu_options (drivers/iommu/amd/init.c, 6.1-6.3), strncmp prefixes.
void decode_amd(std::string_view value, IommuCmdline& out) {
  for (const auto& word : split_commas(value)) {
    out.amd_iommu.push_back(word);
    if (starts_with(word, "fullflush")) {
      out.amd_fullflush = true;
    } else if (starts_with(word, "force_enable")) {
      out.amd_force_enable = true;
    } else if (starts_with(word, "off")) {
      out.amd_off = true;
    } else if (starts_with(word, "force_isolation")) {
      out.amd_force_isolation = true;
    } else if (starts_with(word, "pgtbl_v1")) {
      out.amd_pgtbl = 1;
    } else if (starts_with(word, "pgtbl_v2")) {
      out.amd_pgtbl = 2;
    } else {
      out.amd_unknown.push_back(word);
    }
  }
}

// arch/x86/kernel/pci-dma.c iommu_setup.
void decode_iommu(std::string_view value, IommuCmdline& out) {
  for (const auto& word : split_commas(value)) {
    out.iommu.push_back(word);
    if (starts_with(word, "off")) out.iommu_off = true;
    if (starts_with(word, "pt")) out.iommu_pt = true;
    if (starts_with(word, "nopt")) out.iommu_pt = false;
  }
}

std::optional<unsigned> parse_unsigned(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<bool> parse_kernel_bool(std::string_view text) {
  if (text.empty()) return std::nullopt;
  switch (text[0]) {
    case 'y':
    case 'Y':
    case '1': return true;
    case 'n':
    case 'N':
    case '0': return false;
    case 'o':
    case 'O':
      if (text.size() >= 2 && (text[1] == 'n' || text[1] == 'N')) return true;
      if (text.size() >= 2 && (text[1] == 'f' || text[1] == 'F')) return false;
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::optional<std::optional<std::string>> KernelCommandLine::find(std::string_view name) const {
  // The last one wins; reverse iterators, as clang 14 cannot use ranges::reverse_view with libstdc++ 12.
  // NOLINTNEXTLINE(modernize-loop-convert)
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (name_equal(it->name, name)) return it->value;
  }
  return std::nullopt;
}

KernelCommandLine parse_kernel_command_line(std::string_view text) {
  KernelCommandLine out;
  out.raw = std::string(text);
  while (!out.raw.empty() && (out.raw.back() == '\n' || out.raw.back() == '\0')) out.raw.pop_back();
  const std::string_view line = out.raw;
  std::size_t i = 0;
  bool after_dashes = false;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    // lib/cmdline.c next_arg: a word runs to the next space outside quotes;
    // quotes are removed from the value.
    std::string word;
    bool quoted = false;
    std::size_t equals = std::string::npos;
    while (i < line.size() && (quoted || !is_space(line[i]))) {
      const char c = line[i++];
      if (c == '"') {
        quoted = !quoted;
        continue;
      }
      if (c == '=' && equals == std::string::npos) equals = word.size();
      word += c;
    }
    if (after_dashes) {
      out.init_args.push_back(word);
      continue;
    }
    if (word == "--") {
      after_dashes = true;
      continue;
    }
    KernelParam param;
    if (equals == std::string::npos) {
      param.name = word;
    } else {
      param.name = word.substr(0, equals);
      param.value = word.substr(equals + 1);
    }
    out.params.push_back(std::move(param));
  }

  IommuCmdline& opt = out.iommu;
  for (const auto& p : out.params) {
    const std::string_view value = p.value ? std::string_view(*p.value) : std::string_view();
    if (name_equal(p.name, "intel_iommu")) decode_intel(value, opt);
    if (name_equal(p.name, "amd_iommu")) decode_amd(value, opt);
    if (name_equal(p.name, "iommu")) decode_iommu(value, opt);
    if (name_equal(p.name, "iommu.passthrough")) opt.passthrough = parse_kernel_bool(value);
    if (name_equal(p.name, "iommu.strict")) opt.strict = parse_kernel_bool(value);
    if (name_equal(p.name, "pcie_acs_override")) opt.pcie_acs_override = std::string(value);
    if (name_equal(p.name, "vfio_pci.ids")) {
      for (auto& id : split_commas(value)) opt.vfio_pci_ids.push_back(std::move(id));
    }
    if (name_equal(p.name, "vfio_iommu_type1.allow_unsafe_interrupts")) {
      // A bare bool module parameter means true (kernel/params.c param_set_bool with NULL).
      opt.allow_unsafe_interrupts = p.value ? parse_kernel_bool(value) : std::optional<bool>(true);
    }
    if (name_equal(p.name, "vfio_iommu_type1.dma_entry_limit")) opt.dma_entry_limit = parse_unsigned(value);
  }
  return out;
}

std::string release_from_version_text(std::string_view text) {
  constexpr std::string_view kPrefix = "Linux version ";
  const std::size_t at = text.find(kPrefix);
  if (at == std::string_view::npos) return {};
  std::size_t begin = at + kPrefix.size();
  std::size_t end = begin;
  while (end < text.size() && !is_space(text[end])) ++end;
  return std::string(text.substr(begin, end - begin));
}

}  // namespace iovakit::host
