#pragma once
// Rendering a diff of two reports (analyse/diff.hpp): text for a terminal, Markdown for a
// pull-request comment or a CI job summary, and JSON with stable keys for scripts
// (docs/ci.md documents them). Like the report's renderers, these decide nothing.

#include "analyse/diff.hpp"
#include "render/render.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace brrr {

[[nodiscard]] std::string render_diff_text(const ReportDiff& diff, const RenderOptions& options);
[[nodiscard]] std::string render_diff_markdown(const ReportDiff& diff, const RenderOptions& options);
// Every kernel, rule and range change, whatever options.top; schema_version first.
[[nodiscard]] nlohmann::ordered_json diff_to_json(const ReportDiff& diff);
// Format::csv has no diff form: the caller refuses it.
[[nodiscard]] std::string render_diff(const ReportDiff& diff, Format format, const RenderOptions& options);

} // namespace brrr
