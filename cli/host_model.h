// What `predict` and `ranges` share: read the host (--root), choose the
// kernel profile (--kernel, --set), and run the kernel model on it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "command.h"
#include "iovakit/host/host.h"
#include "iovakit/kernel/host_platform.h"
#include "iovakit/kernel/platform_prediction.h"
#include "iovakit/result.h"

namespace iovakit::cli {

struct HostModel {
  std::unique_ptr<host::Host> host;  // stable address: the prediction points into it
  kernel::HostPlatform platform;
  kernel::PlatformPrediction prediction;
  std::vector<std::size_t> assigned;  // topology indexes of --assign / --device
};

// Errors are already worded for the user; `exit_code` says which.
struct ModelError {
  int exit_code = 0;
  std::string message;
};

// --kernel (else the host's kernel version; nullopt when that is unknown)
// with the --set overrides applied.
std::variant<std::optional<kernel::KernelProfile>, ModelError> resolve_host_profile(const ModelOptions& opt,
                                                                                    const host::Host& host);

// `devices`: BDFs the caller treats as assigned (added to --assign).
std::variant<HostModel, ModelError> load_host_model(const Context& ctx, const ModelOptions& opt,
                                                    const std::vector<std::string>& devices = {});

}  // namespace iovakit::cli
