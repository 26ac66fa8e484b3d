#include "iovakit/result.h"

#include <fmt/core.h>

namespace iovakit {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid-argument";
    case Errc::kParse: return "parse";
    case Errc::kTruncated: return "truncated";
    case Errc::kIo: return "io";
    case Errc::kNotFound: return "not-found";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kPermission: return "permission";
    case Errc::kExhausted: return "exhausted";
    case Errc::kBroken: return "broken";
  }
  return "unknown";
}

std::string Location::to_string() const {
  std::string out = source;
  if (line) {
    out += fmt::format("{}{}", out.empty() ? "line " : ":", *line);
  }
  if (offset) {
    out += fmt::format("{}offset {:#x}", out.empty() ? "" : ": ", *offset);
  }
  return out;
}

Error& Error::in_source(std::string source) & {
  if (where_.source.empty()) where_.source = std::move(source);
  return *this;
}

Error&& Error::in_source(std::string source) && {
  if (where_.source.empty()) where_.source = std::move(source);
  return std::move(*this);
}

std::string Error::to_string() const {
  if (where_.empty()) return message_;
  return where_.to_string() + ": " + message_;
}

}  // namespace iovakit
