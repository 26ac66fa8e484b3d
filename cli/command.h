// The iovakit command's subcommands. Each lives in its own cmd_<name>.cpp and
// registers itself on the CLI11 app through one add_<name>_command function;
// main.cpp calls them in the order they appear in --help.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

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

void add_resv_command(CLI::App& app, Context& ctx);
void add_kernel_command(CLI::App& app, Context& ctx);
void add_acpi_command(CLI::App& app, Context& ctx);
void add_host_command(CLI::App& app, Context& ctx);
void add_snapshot_command(CLI::App& app, Context& ctx);
void add_predict_command(CLI::App& app, Context& ctx);
void add_ranges_command(CLI::App& app, Context& ctx);

}  // namespace iovakit::cli
