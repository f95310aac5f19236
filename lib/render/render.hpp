#pragma once
// Rendering a report for people (text on a terminal, Markdown for pull requests and CI job
// summaries) and for programs (JSON, CSV). Renderers read an analysed report and print; they
// decide nothing.

#include "analyse/merge.hpp"
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

// A merged report (brrr merge): the job's verdict, the ranks side by side, the straggler's
// finding and each rank's own headline. CSV has one row per rank.
[[nodiscard]] std::string render_merged_text(const MergedReport& merged, const RenderOptions& options);
[[nodiscard]] std::string render_merged_markdown(const MergedReport& merged);
[[nodiscard]] std::string render_merged_csv(const MergedReport& merged);
[[nodiscard]] std::string render(const MergedReport& merged, Format format, const RenderOptions& options);

// Word-wraps `text` to `width` columns, every line but the first indented by `indent`.
[[nodiscard]] std::string wrap(std::string_view text, std::size_t width, std::size_t indent,
                               std::size_t first_indent = 0);

// A label for each attribution part, as the renderers show it.
[[nodiscard]] std::string_view part_label(Part p);

} // namespace brrr
