// iovakit/report/table.h: aligned text tables.
//
// Design
// ------
// Every human-facing listing of iovakit (regions, groups, devices, findings)
// is a table: a header row and rows of cells, each column padded to its widest
// cell, numbers right-aligned. Cells carry an optional Tone; colour escapes are
// added after the width is computed, so alignment never depends on colour.
// Trailing spaces are never printed, so output diffs cleanly.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "iovakit/report/style.h"

namespace iovakit::report {

enum class Align : unsigned char { kLeft, kRight };

struct Cell {
  std::string text;
  Tone tone = Tone::kPlain;

  Cell(std::string t, Tone tn = Tone::kPlain) : text(std::move(t)), tone(tn) {}  // NOLINT(google-explicit-constructor)
  Cell(const char* t, Tone tn = Tone::kPlain) : text(t), tone(tn) {}             // NOLINT(google-explicit-constructor)
};

class Table {
 public:
  struct Column {
    std::string title;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // A row with fewer cells than columns is padded with empty cells; more is a
  // programming error and throws std::invalid_argument.
  void add_row(std::vector<Cell> cells);
  [[nodiscard]] std::size_t rows() const { return rows_.size(); }

  // `indent` spaces before every line; columns separated by two spaces.
  [[nodiscard]] std::string render(const Style& style, std::size_t indent = 0) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace iovakit::report
