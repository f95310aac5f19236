#include "render/render.hpp"

#include <stdexcept>

#include "report/merged.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>

namespace brrr {

std::optional<Format> parse_format(std::string_view s) {
  if (s == "text") return Format::text;
  if (s == "json") return Format::json;
  if (s == "md" || s == "markdown") return Format::md;
  if (s == "csv") return Format::csv;
  if (s == "html") return Format::html;
  return std::nullopt;
}

std::vector<std::size_t> kernels_by_time(const Run& run) {
  std::vector<std::size_t> order(run.kernels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return run.kernels[x].attributed_ns > run.kernels[y].attributed_ns;
  });
  return order;
}

std::string roofs_label(const Report& report) {
  if (!report.profile) return {};
  if (report.analysis.ceilings == Ceilings::datasheet) return report.profile->name + " (datasheet ceilings)";
  if (!report.profile->calibration) return report.profile->name + " (measured ceilings)";
  return report.profile->name + " (measured ceilings, calibrated " + report.profile->calibration->date.substr(0, 10) +
         ")";
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
  case Format::html:
    return render_html(report);
  }
  return {};
}

std::string render(const MergedReport& merged, Format format, const RenderOptions& options) {
  switch (format) {
  case Format::text:
    return render_merged_text(merged, options);
  case Format::json:
    return merged_to_json(merged).dump(2) + "\n";
  case Format::md:
    return render_merged_markdown(merged);
  case Format::csv:
    return render_merged_csv(merged);
  case Format::html:
    throw std::invalid_argument("a merged report has no HTML form; explain one rank's report with --format html");
  }
  return {};
}

} // namespace brrr
