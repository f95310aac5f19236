#pragma once
// Rendering a report for people (text on a terminal, Markdown for pull requests and CI job
// summaries, a self-contained HTML page with the roofline) and for programs (JSON, CSV).
// Renderers read an analysed report and print; they decide nothing.

#include "analyse/merge.hpp"
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

// The kernel groups of a run, most attributed time first (ties keep the report's order).
[[nodiscard]] std::vector<std::size_t> kernels_by_time(const Run& run);

// How the program ended, in words.
[[nodiscard]] std::string exit_text(const ExitStatus& e);

// A merged report (brrr merge): the job's verdict, the ranks side by side, the straggler's
// finding and each rank's own headline. CSV has one row per rank.
[[nodiscard]] std::string render_merged_text(const MergedReport& merged, const RenderOptions& options);
[[nodiscard]] std::string render_merged_markdown(const MergedReport& merged);
[[nodiscard]] std::string render_merged_csv(const MergedReport& merged);
[[nodiscard]] std::string render(const MergedReport& merged, Format format, const RenderOptions& options);

// Word-wraps `text` to `width` columns, every line but the first indented by `indent`.
[[nodiscard]] std::string wrap(std::string_view text, std::size_t width, std::size_t indent,
                               std::size_t first_indent = 0);

// Where the roofs come from, as the text and Markdown reports show it: "NVIDIA H100 SXM5
// 80GB (measured ceilings, calibrated 2026-11-27)". Empty without a profile.
[[nodiscard]] std::string roofs_label(const Report& report);

// What `brrr calibrate` prints: the GPU, the clocks seen, and one row per ceiling with its
// measured value, the datasheet's, their ratio and the spread of its runs.
[[nodiscard]] std::string render_calibration(const Calibration& calibration, const HardwareProfile* datasheet);

// A label for each attribution part, as the renderers show it.
[[nodiscard]] std::string_view part_label(Part p);

} // namespace brrr
