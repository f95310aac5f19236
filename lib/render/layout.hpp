#pragma once
// Column layout and styling shared by the renderers: padding and clipping by display width
// (UTF-8 aware), ANSI styles that vanish without color, Markdown table cells, and the
// command line as one string.

#include "analyse/analysis.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace brrr::layout {

// Columns a UTF-8 string takes: one per code point (brrr prints no wide characters).
[[nodiscard]] std::size_t display_width(std::string_view s);
[[nodiscard]] std::string pad_right(std::string s, std::size_t width);
[[nodiscard]] std::string pad_left(const std::string& s, std::size_t width);
// Cuts to `width` columns, marking the cut with an ellipsis.
[[nodiscard]] std::string clip(const std::string& s, std::size_t width);

// A Markdown table cell: pipes escaped and newlines flattened, which would break the table.
[[nodiscard]] std::string markdown_cell(const std::string& s);

// The command as a person would type it, arguments with spaces in single quotes.
[[nodiscard]] std::string command_line(const std::vector<std::string>& command);

// ANSI styles, or the plain text when color is off.
class Style {
public:
  explicit Style(bool color) : color_(color) {}
  [[nodiscard]] std::string bold(const std::string& s) const { return wrap_in("1", s); }
  [[nodiscard]] std::string dim(const std::string& s) const { return wrap_in("2", s); }
  [[nodiscard]] std::string warning(const std::string& s) const { return wrap_in("1;33", s); }
  [[nodiscard]] std::string severity(Severity sev, const std::string& s) const {
    return wrap_in(sev == Severity::high ? "1;31" : sev == Severity::medium ? "33" : "36", s);
  }

private:
  [[nodiscard]] std::string wrap_in(const char* code, const std::string& s) const;
  bool color_;
};

} // namespace brrr::layout
