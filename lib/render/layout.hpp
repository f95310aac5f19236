#pragma once
// What the renderers of a report and of a merged report share: column layout for the terminal
// (widths count code points, colors only when asked), the suggestion lists of a verdict, and
// the escaping of Markdown cells and CSV fields.

#include "render/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace brrr {

// Columns a UTF-8 string takes: one per code point (brrr prints no wide characters).
inline std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

inline std::string pad_right(std::string s, std::size_t width) {
  const std::size_t w = display_width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

inline std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w < width ? std::string(width - w, ' ') + s : s;
}

// Cuts to `width` columns, marking the cut with an ellipsis ("..." without Unicode).
inline std::string clip(const std::string& s, std::size_t width, bool unicode = true) {
  if (display_width(s) <= width) return s;
  const std::string ellipsis = unicode ? "…" : "...";
  const std::size_t keep = width > display_width(ellipsis) ? width - display_width(ellipsis) : 0;
  std::string out;
  std::size_t columns = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && ++columns > keep) break;
    out += s[i];
  }
  return out + ellipsis;
}

class Style {
public:
  explicit Style(bool color) : color_(color) {}
  [[nodiscard]] std::string bold(const std::string& s) const { return wrap_in("1", s); }
  [[nodiscard]] std::string dim(const std::string& s) const { return wrap_in("2", s); }
  [[nodiscard]] std::string severity(Severity sev, const std::string& s) const {
    return wrap_in(sev == Severity::high ? "1;31" : sev == Severity::medium ? "33" : "36", s);
  }

private:
  [[nodiscard]] std::string wrap_in(const char* code, const std::string& s) const {
    return color_ ? fmt::format("\033[{}m{}\033[0m", code, s) : s;
  }
  bool color_;
};

// The SUGGESTIONS and WHAT WILL NOT HELP sections of the text form, for a verdict.
void text_findings(std::string& out, const Verdict& v, const RenderOptions& o, const Style& s);

// The Suggestions and What will not help sections of the Markdown form.
[[nodiscard]] std::string markdown_findings(const Verdict& v);

// Pipes and newlines would break a Markdown table cell.
[[nodiscard]] std::string markdown_cell(const std::string& s);

// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a newline.
[[nodiscard]] std::string csv_field(const std::string& s);

} // namespace brrr
