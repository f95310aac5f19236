#pragma once
// Rendering a report for people (text on a terminal, Markdown for pull requests and CI job
// summaries) and for programs (JSON, CSV). Renderers read an analysed report and print; they
// decide nothing.

#include "report/report.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace brrr {

enum class Format : uint8_t { text, json, md, csv };
[[nodiscard]] std::optional<Format> parse_format(std::string_view s);

struct RenderOptions {
  std::size_t top = 10; // kernels in the table
  bool color = false;   // ANSI colors (only on a terminal, never with NO_COLOR)
  bool unicode = true;  // block characters for bars; plain ASCII otherwise
  std::size_t width = 100;
};

[[nodiscard]] std::string render_text(const Report& report, const RenderOptions& options);
[[nodiscard]] std::string render_markdown(const Report& report, const RenderOptions& options);
// The kernel table, one row per kernel group, every column a number or a plain word.
[[nodiscard]] std::string render_csv(const Report& report);
[[nodiscard]] std::string render(const Report& report, Format format, const RenderOptions& options);

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
