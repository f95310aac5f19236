#include "render/render.hpp"

#include <nlohmann/json.hpp>

namespace brrr {

std::optional<Format> parse_format(std::string_view s) {
  if (s == "text") return Format::text;
  if (s == "json") return Format::json;
  if (s == "md" || s == "markdown") return Format::md;
  if (s == "csv") return Format::csv;
  return std::nullopt;
}

std::string render(const Report& report, Format format, const RenderOptions& options) {
  switch (format) {
  case Format::text:
    return render_text(report, options);
  case Format::json:
    return report_to_text(report);
  case Format::md:
    return render_markdown(report, options);
  case Format::csv:
    return render_csv(report);
  }
  return {};
}

} // namespace brrr
