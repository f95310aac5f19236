#pragma once
// What the renderers share: column layout for the terminal (widths count code points; UTF-8
// aware padding and clipping), ANSI styles that vanish without color, Markdown table cells, CSV
// fields, the command line as one string, and the suggestion lists of a verdict (a report's and
// a merged report's).

#include "render/render.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace brrr::layout {

// Columns a UTF-8 string takes: one per code point (brrr prints no wide characters).
[[nodiscard]] std::size_t display_width(std::string_view s);
[[nodiscard]] std::string pad_right(std::string s, std::size_t width);
[[nodiscard]] std::string pad_left(const std::string& s, std::size_t width);
// Cuts to `width` columns, marking the cut with an ellipsis ("..." without Unicode).
[[nodiscard]] std::string clip(const std::string& s, std::size_t width, bool unicode = true);

// A Markdown table cell: pipes escaped and newlines flattened, which would break the table.
[[nodiscard]] std::string markdown_cell(const std::string& s);

// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a newline.
[[nodiscard]] std::string csv_field(const std::string& s);

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

// The SUGGESTIONS and WHAT WILL NOT HELP sections of the text form, for a verdict.
void text_findings(std::string& out, const Verdict& v, const RenderOptions& o, const Style& s);

// The Suggestions and What will not help sections of the Markdown form.
[[nodiscard]] std::string markdown_findings(const Verdict& v);

} // namespace brrr::layout
