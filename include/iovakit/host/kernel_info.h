// iovakit/host/kernel_info.h: the running kernel's version and the command-line
// options that decide how its IOMMU behaves.
//
// Design
// ------
// Sources: /proc/version ("Linux version 6.1.0-18-amd64 (...) #1 SMP ...",
// fs/proc/version.c, linux_proc_banner) and, when that is missing or does not
// parse, /proc/sys/kernel/osrelease (utsname()->release); /proc/cmdline
// (fs/proc/cmdline.c: saved_command_line plus a newline).
//
// parse_kernel_command_line() splits the line the way the kernel's
// next_arg() does (lib/cmdline.c; kernel/params.c parse_args): words
// separated by spaces, double quotes group ("a=\"x y\""), the first '='
// separates name and value, and "--" ends the kernel's part (the rest goes
// to init). Parameter names compare with '-' and '_' as the same character
// (kernel/params.c parameq), so "vfio-pci.ids" and "vfio_pci.ids" are one
// option. A repeated parameter takes its last value for the scalar options
// below, as later __setup handlers overwrite earlier ones.
//
// The options that matter to the IOMMU are decoded; everything is kept raw
// as well (`params`), so the kernel model can read what this header does not
// name:
//   intel_iommu=  comma list (drivers/iommu/intel/iommu.c intel_iommu_setup,
//                 6.1): on, off, igfx_off, forcedac, strict, sp_off, sm_on,
//                 sm_off, tboot_noforce; the kernel matches each by prefix
//                 (strncmp), so does this. "relax_rmrr" is not a mainline
//                 option: it comes from the out-of-tree relaxable-RMRR patch
//                 (kiler129/relax-intel-rmrr; Proxmox kernels ship a variant)
//                 and is reported as such. Unknown words are kept.
//   amd_iommu=    comma list (drivers/iommu/amd/init.c
//                 parse_amd_iommu_options, 6.1-6.3): fullflush,
//                 force_enable, off, force_isolation, pgtbl_v1, pgtbl_v2.
//   iommu=        comma list (arch/x86/kernel/pci-dma.c iommu_setup): off,
//                 force, noforce, pt, nopt, soft, ...; pt/nopt set the default
//                 domain to identity / translated (last one wins).
//   iommu.passthrough=, iommu.strict=  kstrtobool values
//                 (drivers/iommu/iommu.c; lib/kstrtox.c kstrtobool: y/Y/1,
//                 n/N/0, on, off).
//   pcie_acs_override=  the out-of-tree ACS override patch (downstream,
//                 multifunction, id:vvvv:dddd): groups on such a kernel are
//                 not what the hardware isolates.
//   vfio-pci.ids= vfio_pci's "ids" parameter (drivers/vfio/pci/vfio_pci.c):
//                 vendor:device[:subvendor:subdevice[:class:class_mask]],
//                 comma separated.
//   vfio_iommu_type1.allow_unsafe_interrupts= (bool),
//   vfio_iommu_type1.dma_entry_limit= (unsigned).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iovakit/kernel/kernel_profile.h"

namespace iovakit::host {

struct KernelParam {
  std::string name;
  std::optional<std::string> value;  // nullopt for a bare word ("quiet")
  friend bool operator==(const KernelParam&, const KernelParam&) = default;
};

// What the command line says about the IOMMU; nullopt / empty when absent.
struct IommuCmdline {
  std::vector<std::string> intel_iommu;  // the comma-separated words, as given
  std::optional<bool> intel_iommu_on;    // last of on/off
  bool intel_igfx_off = false;
  bool intel_strict = false;
  bool intel_sm_on = false;
  bool intel_sm_off = false;
  bool intel_sp_off = false;
  bool intel_relax_rmrr = false;  // out-of-tree patch
  std::vector<std::string> intel_unknown;

  std::vector<std::string> amd_iommu;
  bool amd_off = false;
  bool amd_force_enable = false;
  bool amd_force_isolation = false;
  bool amd_fullflush = false;
  std::optional<unsigned> amd_pgtbl;  // 1 or 2
  std::vector<std::string> amd_unknown;

  std::vector<std::string> iommu;   // iommu= words
  std::optional<bool> iommu_pt;     // true for pt, false for nopt (last wins)
  bool iommu_off = false;           // iommu=off
  std::optional<bool> passthrough;  // iommu.passthrough=
  std::optional<bool> strict;       // iommu.strict=
  std::optional<std::string> pcie_acs_override;
  std::vector<std::string> vfio_pci_ids;
  std::optional<bool> allow_unsafe_interrupts;
  std::optional<unsigned> dma_entry_limit;

  friend bool operator==(const IommuCmdline&, const IommuCmdline&) = default;
};

struct KernelCommandLine {
  std::string raw;                     // as read, trailing newline removed
  std::vector<KernelParam> params;     // the kernel's part, in order
  std::vector<std::string> init_args;  // after "--"
  IommuCmdline iommu;

  // The last value of `name` ('-' and '_' equal); nullopt when absent,
  // an empty optional string for a bare word.
  [[nodiscard]] std::optional<std::optional<std::string>> find(std::string_view name) const;
  friend bool operator==(const KernelCommandLine&, const KernelCommandLine&) = default;
};

KernelCommandLine parse_kernel_command_line(std::string_view text);

// lib/kstrtox.c kstrtobool.
std::optional<bool> parse_kernel_bool(std::string_view text);

struct KernelInfo {
  std::string version_text;  // /proc/version, trailing newline removed
  std::string release;       // "6.1.0-18-amd64" (from version_text, else osrelease)
  std::optional<kernel::KernelVersion> version;
  KernelCommandLine cmdline;
  bool cmdline_known = false;  // /proc/cmdline was read

  friend bool operator==(const KernelInfo& a, const KernelInfo& b) {
    return a.version_text == b.version_text && a.release == b.release && a.version == b.version &&
           a.cmdline == b.cmdline && a.cmdline_known == b.cmdline_known;
  }
};

// "6.1.0-18-amd64" from a /proc/version line; empty when it has no release.
std::string release_from_version_text(std::string_view text);

}  // namespace iovakit::host
