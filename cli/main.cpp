// iovakit: the command-line front end. It parses arguments, reads inputs,
// calls the library and prints; every decision lives in libiovakit.
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "command.h"
#include "exit_codes.h"
#include "iovakit/version.h"

namespace iovakit::cli {

report::Style Context::out_style() const { return report::Style::for_stream(stdout, color); }

namespace {

// Every subcommand's options, in the order of --help (main calls them in
// that order); the work is in cmd_<name>.cpp. --kernel, --set and --assign
// are what predict and ranges share (host_model.h).
void add_model_options(CLI::App& cmd, ModelOptions& opt) {
  cmd.add_option("--kernel", opt.kernel,
                 "Kernel profile: a preset (iovakit kernel --list) or X.Y; default: the host's kernel version");
  cmd.add_option("--set", opt.overrides, "Override one profile flag, flag=value (repeatable)");
  cmd.add_option("--assign", opt.assign, "A device bound to vfio-pci for the prediction (repeatable)");
}

// A subcommand whose options live in a shared Options (the callback, which
// CLI11 keeps, holds them) and whose callback runs `run` on them.
template <typename Options>
std::pair<CLI::App*, std::shared_ptr<Options>> add_command(CLI::App& app, Context& ctx,
                                                           int (*run)(const Options&, const Context&),
                                                           const std::string& name, const std::string& description) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->callback([opt, &ctx, run] { ctx.exit_code = run(*opt, ctx); });
  return {cmd, opt};
}

void add_resv_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] = add_command(
      app, ctx, run_resv, "resv",
      "Merge per-device reserved-region lists (sysfs reserved_regions format) into the group's list, as the kernel "
      "does, and print what /sys/kernel/iommu_groups/N/reserved_regions shows");
  cmd->add_option("files", opt->files, "Per-device region lists, in group order ('-' reads standard input)")
      ->required();
  auto* json = cmd->add_flag("--json", opt->json, "Print JSON (schema iovakit.resv/1, docs/json.md)");
  cmd->add_flag("--sysfs", opt->sysfs, "Print only the reserved_regions bytes")->excludes(json);
  cmd->add_flag("--legacy-merge", opt->legacy_merge,
                "Merge as Linux 4.11-5.2 did (overlapping same-type regions only, no adjacency merge)");
}

void add_kernel_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] =
      add_command(app, ctx, run_kernel, "kernel",
                  "Show the kernel profile the model applies: the behaviour flags of a kernel version or preset");
  cmd->add_option("--kernel", opt->kernel,
                  "Kernel version (6.1, 6.1.0-18-amd64) or preset name; default: the host's kernel "
                  "(/proc/version of --root)");
  cmd->add_option("--set", opt->overrides, "Override one flag, flag=value (repeatable), for backporting kernels");
  auto* list = cmd->add_flag("--list", opt->list, "List the presets");
  cmd->add_flag("--json", opt->json, "Print JSON (schemas iovakit.kernel/1, iovakit.kernel-presets/1)");
  list->excludes(cmd->get_option("--set"));
}

void add_acpi_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] = add_command(
      app, ctx, run_acpi, "acpi",
      "Decode firmware IOMMU tables (DMAR, IVRS, IORT) into reserved ranges, units and findings; with --dmesg, "
      "reconstruct them from kernel log lines");
  cmd->add_option("files", opt->files,
                  "Binary tables, acpidump text dumps, or a tables folder such as /sys/firmware/acpi/tables "
                  "(with --dmesg: kernel logs); '-' reads standard input")
      ->required();
  cmd->add_flag("--json", opt->json, "Print JSON (schema iovakit.acpi/1, docs/json.md)");
  cmd->add_flag("--dmesg", opt->dmesg, "The files are dmesg / journal text, not tables");
}

void add_host_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] = add_command(
      app, ctx, run_host, "host",
      "Show the host: IOMMU status (and how to enable it), units and address widths, IOMMU groups with their "
      "devices and reserved_regions, and each device's firmware reservations (RMRR/IVMD/RMR). Exit 3 when the host "
      "has no IOMMU groups, 1 when the prediction and the kernel differ");
  cmd->add_flag("--json", opt->json, "Print JSON (schema iovakit.host/1, docs/json.md)");
  cmd->add_option("--kernel", opt->model.kernel,
                  "Kernel profile for the prediction (default: the host's kernel version)");
  cmd->add_option("--set", opt->model.overrides, "Override one profile flag, flag=value (repeatable)");
  cmd->add_flag("--no-predict", opt->no_predict, "Do not run the kernel model (reported facts only)");
  cmd->add_flag("--probe-vfio", opt->probe_vfio,
                "For groups bound to vfio-pci, read the kernel's usable IOVA list with VFIO_IOMMU_GET_INFO (no "
                "mapping is made) and compare it with the prediction");
  cmd->add_option("--dmesg", opt->dmesg, "Also read this kernel log (dmesg / journal text; '-' for standard input)");
  cmd->add_option("--pci-ids", opt->pci_ids, "pci.ids file for device names (default: the system's)");
}

void add_snapshot_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] = add_command(
      app, ctx, run_snapshot, "snapshot",
      "Capture the files the host model reads (PCI sysfs, IOMMU groups and units, DMAR/IVRS/IORT, kernel version "
      "and command line) into a folder or a .tar.gz; nothing else (no other ACPI table, no DMI, no /dev/mem)");
  cmd->add_option("-o,--output", opt->output, "Output folder (created, must be empty) or FILE.tar.gz / FILE.tgz")
      ->required();
  cmd->add_option("--dmesg", opt->dmesg, "Also store this kernel log in the capture (as \"dmesg\")");
}

void add_predict_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] = add_command(
      app, ctx, run_predict, "predict",
      "Predict the IOMMU groups, their reserved_regions and VFIO's answers from firmware tables and PCI topology "
      "alone (never from the kernel's own reports)");
  add_model_options(*cmd, opt->model);
  cmd->add_option("--step", opt->steps,
                  "A VFIO operation to predict, in order (repeatable): bind=BDF, group=BDF, unset=BDF, iommu=TYPE, "
                  "info, map=IOVA,SIZE, unmap=IOVA,SIZE");
  cmd->add_flag("--allow-unsafe-interrupts", opt->allow_unsafe_interrupts,
                "As vfio_iommu_type1.allow_unsafe_interrupts=1");
  cmd->add_flag("--json", opt->json, "JSON output (schema iovakit.predict/1, docs/json.md)");
}

void add_ranges_command(CLI::App& app, Context& ctx) {
  auto [cmd, opt] =
      add_command(app, ctx, run_ranges, "ranges",
                  "The usable IOVA list of a VFIO container holding these devices' groups, and why each hole exists");
  cmd->add_option("--device", opt->devices, "A PCI device to assign (repeatable)")->required();
  add_model_options(*cmd, opt->model);
  cmd->add_flag("--allow-unsafe-interrupts", opt->allow_unsafe_interrupts,
                "As vfio_iommu_type1.allow_unsafe_interrupts=1");
  cmd->add_flag("--json", opt->json, "JSON output (schema iovakit.ranges/1, docs/json.md)");
}

int run(int argc, char** argv) {
  CLI::App app{
      "iovakit: which I/O virtual addresses may a device use, why not the others, and what will break.\n"
      "Follows the Linux IOMMU reserved-region chain: firmware tables (DMAR, IVRS, IORT) -> IOMMU groups\n"
      "and reserved_regions -> VFIO/iommufd usable IOVA ranges -> the guest's DMA mappings.",
      "iovakit"};
  app.set_version_flag("--version", std::string("iovakit ") + kVersion);
  app.require_subcommand(0, 1);
  app.footer("Exit codes: 0 ok, 1 findings, 2 invalid input, 3 no IOMMU, 64 usage. See docs/cli.md.");

  Context ctx;
  std::string color = "auto";
  app.add_option("--color", color, "Colour in human output: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_str("auto");
  app.add_option("--root", ctx.root,
                 "Read this host instead of the running system: a captured folder or .tar.gz "
                 "(iovakit snapshot), or a sysfs root")
      ->default_str("/");
  app.parse_complete_callback([&ctx, &color] {
    ctx.color = color == "always"  ? report::ColorMode::kAlways
                : color == "never" ? report::ColorMode::kNever
                                   : report::ColorMode::kAuto;
  });

  add_resv_command(app, ctx);
  add_kernel_command(app, ctx);
  add_acpi_command(app, ctx);
  add_host_command(app, ctx);
  add_snapshot_command(app, ctx);
  add_predict_command(app, ctx);
  add_ranges_command(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return kExitOk;
  }
  return ctx.exit_code;
}

}  // namespace
}  // namespace iovakit::cli

int main(int argc, char** argv) {
  try {
    return iovakit::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "iovakit: internal error: " << e.what() << "\n"
              << "This is a bug in iovakit; please report it with the command line that caused it.\n";
    return iovakit::cli::kExitInternal;
  }
}
