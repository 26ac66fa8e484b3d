// The iovakit command's subcommands. Each lives in its own cmd_<name>.cpp
// as an options struct and a run_<name> function that returns the exit code;
// main.cpp declares their options to CLI11 and dispatches. Only main.cpp
// includes CLI11: its header alone costs about 18 s of compile time under
// ASan and 12 s of clang-tidy in every file that includes it (measured on
// the 2-vCPU CI machine class).
#pragma once

#include <string>
#include <vector>

#include "iovakit/report/style.h"

namespace iovakit::cli {

// State shared by every subcommand: global options and the exit code the
// selected subcommand's callback sets.
struct Context {
  report::ColorMode color = report::ColorMode::kAuto;
  // --root: the host to read, "/" (the running system) unless a captured
  // folder or .tar.gz is given. Every command that reads the host uses it.
  std::string root = "/";
  int exit_code = 0;

  [[nodiscard]] report::Style out_style() const;
};

// What the commands that run the kernel model share (host_model.h).
struct ModelOptions {
  std::string kernel;                  // preset or X.Y; empty: the host's kernel
  std::vector<std::string> overrides;  // flag=value
  std::vector<std::string> assign;     // BDFs bound to vfio-pci
};

struct ResvOptions {
  std::vector<std::string> files;
  bool json = false;
  bool sysfs = false;
  bool legacy_merge = false;
};
int run_resv(const ResvOptions& opt, const Context& ctx);

struct KernelOptions {
  std::string kernel;
  std::vector<std::string> overrides;
  bool list = false;
  bool json = false;
};
int run_kernel(const KernelOptions& opt, const Context& ctx);

struct AcpiOptions {
  std::vector<std::string> files;
  bool json = false;
  bool dmesg = false;
};
int run_acpi(const AcpiOptions& opt, const Context& ctx);

struct HostCommandOptions {
  ModelOptions model;
  bool probe_vfio = false;
  bool no_predict = false;
  bool json = false;
  std::string dmesg;
  std::string pci_ids;
};
int run_host(const HostCommandOptions& opt, const Context& ctx);

struct SnapshotCommandOptions {
  std::string output;
  std::string dmesg;
};
int run_snapshot(const SnapshotCommandOptions& opt, const Context& ctx);

struct PredictOptions {
  ModelOptions model;
  std::vector<std::string> steps;
  bool allow_unsafe_interrupts = false;
  bool json = false;
};
int run_predict(const PredictOptions& opt, const Context& ctx);

struct RangesOptions {
  ModelOptions model;
  std::vector<std::string> devices;
  bool allow_unsafe_interrupts = false;
  bool json = false;
};
int run_ranges(const RangesOptions& opt, const Context& ctx);

}  // namespace iovakit::cli
