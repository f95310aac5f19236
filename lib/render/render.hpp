#pragma once
// Rendering a report for people (text on a terminal, Markdown for pull requests and CI job
// summaries, a self-contained HTML page with the roofline) and for programs (JSON, CSV).
// Renderers read an analysed report and print; they decide nothing.

#include "report/report.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace brrr {

enum class Format : uint8_t { text, json, md, csv, html };
[[nodiscard]] std::optional<Format> parse_format(std::string_view s);

struct RenderOptions {
  std::size_t top = 10; // kernels in the table
  bool color = false;   // ANSI colors (only on a terminal, never with NO_COLOR)
  bool unicode = true;  // block characters for bars and the roofline; plain ASCII otherwise
  std::size_t width = 100;
  // The roofline drawn with characters under the verdict (by default only on a terminal).
  bool roofline = false;
};

[[nodiscard]] std::string render_text(const Report& report, const RenderOptions& options);
[[nodiscard]] std::string render_markdown(const Report& report, const RenderOptions& options);
// The kernel table, one row per kernel group, every column a number or a plain word.
[[nodiscard]] std::string render_csv(const Report& report);
// One HTML page that opens offline: inline CSS, SVG and script, nothing fetched.
[[nodiscard]] std::string render_html(const Report& report);
// The roofline as characters, for the text report: log-log axes, the DRAM slope, the compute
// roofs the marked kernels run against, the ridge points and the kernels with the most time
// as numbered marks, with their legend. Box-drawing and Braille characters, or plain ASCII.
[[nodiscard]] std::string render_terminal_roofline(const Report& report, const RenderOptions& options);
[[nodiscard]] std::string render(const Report& report, Format format, const RenderOptions& options);

// Columns a UTF-8 string takes: one per code point (brrr prints no wide characters).
[[nodiscard]] std::size_t display_width(std::string_view s);
// Pads with spaces to `width` columns.
[[nodiscard]] std::string pad_right(std::string s, std::size_t width);
// Cuts to `width` columns, marking the cut with an ellipsis ("..." without Unicode).
[[nodiscard]] std::string clip(const std::string& s, std::size_t width, bool unicode = true);

// The kernel groups of a run, most attributed time first (ties keep the report's order).
[[nodiscard]] std::vector<std::size_t> kernels_by_time(const Run& run);

// The program's command line, arguments with spaces quoted; how the program ended, in words.
[[nodiscard]] std::string command_line(const std::vector<std::string>& command);
[[nodiscard]] std::string exit_text(const ExitStatus& e);

// Word-wraps `text` to `width` columns, every line but the first indented by `indent`.
[[nodiscard]] std::string wrap(std::string_view text, std::size_t width, std::size_t indent,
                               std::size_t first_indent = 0);

// A label for each attribution part, as the renderers show it.
[[nodiscard]] std::string_view part_label(Part p);

} // namespace brrr
