#include "iovakit/kernel/errno.h"

#include <utility>

#include <fmt/core.h>

namespace iovakit::kernel {

std::string_view errno_name(Errno err) {
  switch (err) {
    case Errno::kOk: return "0";
    case Errno::kEPERM: return "EPERM";
    case Errno::kENOENT: return "ENOENT";
    case Errno::kEIO: return "EIO";
    case Errno::kE2BIG: return "E2BIG";
    case Errno::kENOMEM: return "ENOMEM";
    case Errno::kEFAULT: return "EFAULT";
    case Errno::kEBUSY: return "EBUSY";
    case Errno::kEEXIST: return "EEXIST";
    case Errno::kENODEV: return "ENODEV";
    case Errno::kEINVAL: return "EINVAL";
    case Errno::kENOTTY: return "ENOTTY";
    case Errno::kENOSPC: return "ENOSPC";
    case Errno::kEOVERFLOW: return "EOVERFLOW";
    case Errno::kEMSGSIZE: return "EMSGSIZE";
    case Errno::kEOPNOTSUPP: return "EOPNOTSUPP";
    case Errno::kEADDRINUSE: return "EADDRINUSE";
  }
  return "E?";
}

std::string Outcome::to_string() const {
  if (ok()) return fmt::format("ok from {}: {}", function, message);
  return fmt::format("{} ({}) from {}: {}", name(), value(), function, message);
}

Outcome Outcome::success(std::string function, std::string message) {
  return Outcome{Errno::kOk, std::move(function), std::move(message)};
}

Outcome Outcome::failure(Errno err, std::string function, std::string message) {
  return Outcome{err, std::move(function), std::move(message)};
}

}  // namespace iovakit::kernel
