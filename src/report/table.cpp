#include "iovakit/report/table.h"

#include <algorithm>
#include <stdexcept>

namespace iovakit::report {

namespace {

// Display width: UTF-8 continuation bytes take no column.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

}  // namespace

void Table::add_row(std::vector<Cell> cells) {
  if (cells.size() > columns_.size()) throw std::invalid_argument("report::Table: row has more cells than columns");
  while (cells.size() < columns_.size()) cells.emplace_back("");
  rows_.push_back(std::move(cells));
}

std::string Table::render(const Style& style, std::size_t indent) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    width[c] = display_width(columns_[c].title);
    for (const auto& row : rows_) width[c] = std::max(width[c], display_width(row[c].text));
  }

  std::string out;
  auto emit_line = [&](const std::vector<Cell>& cells) {
    std::string line(indent, ' ');
    std::size_t pending_spaces = 0;  // padding is written only before a non-empty cell
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::size_t pad = width[c] - display_width(cells[c].text);
      if (c != 0) pending_spaces += 2;
      if (columns_[c].align == Align::kRight) pending_spaces += pad;
      if (!cells[c].text.empty()) {
        line.append(pending_spaces, ' ');
        line += style.paint(cells[c].text, cells[c].tone);
        pending_spaces = 0;
      }
      if (columns_[c].align == Align::kLeft) pending_spaces += pad;
    }
    out += line;
    out += '\n';
  };

  std::vector<Cell> header;
  header.reserve(columns_.size());
  for (const auto& col : columns_) header.emplace_back(col.title, Tone::kHeading);
  emit_line(header);
  for (const auto& row : rows_) emit_line(row);
  return out;
}

}  // namespace iovakit::report
