#include "iovakit/report/style.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace iovakit::report {

Style Style::for_stream(std::FILE* stream, ColorMode mode) {
  if (mode == ColorMode::kAlways) return Style(true);
  if (mode == ColorMode::kNever) return Style(false);
  if (const char* no_color = std::getenv("NO_COLOR"); no_color != nullptr && *no_color != '\0') return Style(false);
  if (const char* term = std::getenv("TERM"); term != nullptr && std::strcmp(term, "dumb") == 0) return Style(false);
  return Style(isatty(fileno(stream)) == 1);
}

std::string Style::paint(std::string_view text, Tone tone) const {
  if (!color_ || tone == Tone::kPlain || text.empty()) return std::string(text);
  const char* code = "";
  switch (tone) {
    case Tone::kPlain: break;
    case Tone::kHeading: code = "\x1b[1m"; break;
    case Tone::kGood: code = "\x1b[32m"; break;
    case Tone::kWarning: code = "\x1b[33m"; break;
    case Tone::kBad: code = "\x1b[31m"; break;
    case Tone::kDim: code = "\x1b[2m"; break;
  }
  return std::string(code) + std::string(text) + "\x1b[0m";
}

}  // namespace iovakit::report
