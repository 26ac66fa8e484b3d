// iovakit snapshot -o PATH: capture exactly the files the host model reads
// (host/snapshot.h) into a folder or a .tar.gz, for `iovakit --root PATH`
// elsewhere and for bug reports.
#include <iostream>
#include <string>

#include <fmt/core.h>

#include "command.h"
#include "exit_codes.h"
#include "io.h"
#include "iovakit/host/file_source.h"
#include "iovakit/host/snapshot.h"

namespace iovakit::cli {

int run_snapshot(const SnapshotCommandOptions& opt, const Context& ctx) {
  auto source = host::open_root(ctx.root);
  if (!source) {
    std::cerr << "iovakit snapshot: cannot read the host root: " << source.error().to_string() << "\n";
    return kExitBadInput;
  }
  host::SnapshotOptions options;
  if (!opt.dmesg.empty()) {
    auto text = read_input(opt.dmesg);
    if (!text) {
      std::cerr << "iovakit snapshot: " << text.error().to_string() << "\n";
      return kExitBadInput;
    }
    options.dmesg_text = std::move(*text);
  }
  auto snapshot = host::capture_snapshot(**source, options);
  if (!snapshot) {
    std::cerr << "iovakit snapshot: " << snapshot.error().to_string() << "\n";
    return kExitBadInput;
  }
  if (auto status = host::write_snapshot(snapshot->tree, opt.output); !status) {
    std::cerr << "iovakit snapshot: " << status.error().to_string() << "\n";
    return kExitBadInput;
  }
  std::cout << fmt::format("Captured {} file(s), {} link(s) and {} folder(s) ({} bytes of content) from {} into {}\n",
                           snapshot->files, snapshot->links, snapshot->directories, snapshot->tree.content_bytes(),
                           (*source)->root_name(), opt.output);
  std::size_t denied = 0;
  for (const auto& e : snapshot->host_issues) {
    if (e.code() == Errc::kPermission) {
      ++denied;
      std::cout << "  not captured: " << e.to_string() << "\n";
    }
  }
  if (denied > 0) std::cout << "  Run as root to capture the files above.\n";
  std::cout << fmt::format("Read it with: iovakit --root {} host\n", opt.output);
  return kExitOk;
}

}  // namespace iovakit::cli
