// iovakit/report/style.h: colour for people, plain text for everything else.
//
// Design
// ------
// Human output may use colour to separate verdicts, but only when it goes to a
// terminal: a pipe, a file or a CI log gets plain bytes, so that scripts and
// diffs never see escape sequences. The decision is made once, at the edge
// (the CLI), and carried in a Style value; the report code never looks at the
// environment itself. NO_COLOR (https://no-color.org) and TERM=dumb turn
// colour off even on a terminal; --color=always forces it on.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace iovakit::report {

enum class Tone : unsigned char {
  kPlain,
  kHeading,  // bold
  kGood,     // green: works, usable
  kWarning,  // yellow: works with a caveat
  kBad,      // red: refused, conflicts
  kDim,      // grey: secondary detail
};

enum class ColorMode : unsigned char { kAuto, kAlways, kNever };

class Style {
 public:
  Style() = default;
  explicit Style(bool color) : color_(color) {}

  // kAuto: colour iff `stream` is a terminal and neither NO_COLOR nor
  // TERM=dumb is set.
  static Style for_stream(std::FILE* stream, ColorMode mode);

  [[nodiscard]] bool color() const { return color_; }
  // `text` wrapped in the tone's escape sequence when colour is on.
  [[nodiscard]] std::string paint(std::string_view text, Tone tone) const;

 private:
  bool color_ = false;
};

}  // namespace iovakit::report
