// iovakit: the command-line front end. It parses arguments, reads inputs,
// calls the library and prints; every decision lives in libiovakit.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "command.h"
#include "exit_codes.h"
#include "iovakit/version.h"

namespace iovakit::cli {

report::Style Context::out_style() const { return report::Style::for_stream(stdout, color); }

namespace {

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
