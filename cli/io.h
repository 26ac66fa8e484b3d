// File input for the command line: whole files, or "-" for standard input.
#pragma once

#include <string>

#include "iovakit/result.h"

namespace iovakit::cli {

// The whole content of `path` ("-" reads standard input). Errors name the path
// and the OS reason.
Result<std::string> read_input(const std::string& path);

}  // namespace iovakit::cli
