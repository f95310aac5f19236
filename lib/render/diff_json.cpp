// The diff as JSON, for scripts: keys in a fixed order, schema_version first, every kernel,
// rule and range change. docs/ci.md documents each key.

#include "render/diff_render.hpp"

#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace brrr {

namespace {

using nlohmann::ordered_json;

ordered_json side(const Report& r, const std::string& label) {
  ordered_json j;
  j["report"] = label;
  j["command"] = r.run.info.command;
  j["start_time"] = r.run.info.start_time;
  j["gpu"] = r.run.gpus.empty() ? ordered_json(nullptr) : ordered_json(r.run.gpus.front().name);
  j["hardware_profile"] = r.profile ? ordered_json(r.profile->id) : ordered_json(nullptr);
  j["complete"] = r.run.info.complete;
  j["wall_ns"] = r.run.timeline.wall_ns;
  j["gpu_active_ns"] = r.run.timeline.gpu_end_ns - r.run.timeline.gpu_begin_ns;
  j["regime"] = to_string(r.analysis.verdict.regime);
  j["regime_fraction"] = r.analysis.verdict.regime_fraction;
  return j;
}

ordered_json time_change(const TimeChange& t) {
  ordered_json j;
  j["before_ns"] = t.before_ns;
  j["after_ns"] = t.after_ns;
  j["delta_ns"] = t.delta_ns();
  j["before_fraction"] = t.before_fraction;
  j["after_fraction"] = t.after_fraction;
  j["delta_fraction"] = t.after_fraction - t.before_fraction;
  return j;
}

ordered_json attribution_change(const AttributionChange& a) {
  ordered_json j;
  j["wall"] = time_change(a.wall);
  ordered_json parts = ordered_json::object();
  for (std::size_t i = 0; i < part_count; ++i)
    parts[std::string(to_string(static_cast<Part>(i)))] = time_change(a.parts[i]);
  j["parts"] = std::move(parts);
  ordered_json regimes = ordered_json::object();
  for (auto r : diff_regimes) regimes[std::string(to_string(r))] = time_change(a.regime(r));
  j["regimes"] = std::move(regimes);
  return j;
}

ordered_json kernel_side(const std::optional<KernelSide>& s) {
  if (!s) return nullptr;
  ordered_json j;
  j["launches"] = s->launches;
  j["total_ns"] = s->total_ns;
  j["attributed_ns"] = s->attributed_ns;
  ordered_json configs = ordered_json::array();
  for (const auto& [grid, block] : s->configs)
    configs.push_back({{"grid", {grid.x, grid.y, grid.z}}, {"block", {block.x, block.y, block.z}}});
  j["configs"] = std::move(configs);
  j["bound"] = to_string(s->bound);
  return j;
}

// One object per element, in order.
template <typename T> ordered_json array_of(const std::vector<T>& list, ordered_json (*to_json)(const T&)) {
  ordered_json out = ordered_json::array();
  for (const auto& item : list) out.push_back(to_json(item));
  return out;
}

ordered_json kernel_change(const KernelChange& k) {
  ordered_json j;
  j["name"] = k.name;
  j["match"] = to_string(k.match);
  j["before"] = kernel_side(k.before);
  j["after"] = kernel_side(k.after);
  j["delta_ns"] = k.delta_ns();
  return j;
}

ordered_json rule_change(const RuleChange& r) {
  ordered_json j;
  j["rule"] = r.rule_id;
  j["saving_ns"] = r.saving_ns;
  j["saving_fraction"] = r.saving_fraction;
  j["message"] = r.message;
  return j;
}

ordered_json range_change(const RangeChange& r) {
  ordered_json j;
  j["name"] = r.name;
  j["before_instances"] = r.before_instances;
  j["after_instances"] = r.after_instances;
  j["attribution"] = attribution_change(r.attribution);
  return j;
}

} // namespace

ordered_json diff_to_json(const ReportDiff& d) {
  ordered_json j;
  j["schema_version"] = diff_schema_version;
  j["before"] = side(*d.before, d.before_label);
  j["after"] = side(*d.after, d.after_label);
  j["warnings"] = d.warnings;
  j["verdict"] = d.verdict;
  const auto change = d.process.wall.change();
  j["wall_change_fraction"] = change ? ordered_json(*change) : ordered_json(nullptr);
  j["attribution"] = {{"process", attribution_change(d.process)}, {"gpu_active", attribution_change(d.gpu_active)}};
  j["kernels"] = {{"matched", array_of(d.matched, kernel_change)},
                  {"appeared", array_of(d.appeared, kernel_change)},
                  {"disappeared", array_of(d.disappeared, kernel_change)}};
  j["rules"] = {{"appeared", array_of(d.rules_appeared, rule_change)},
                {"disappeared", array_of(d.rules_disappeared, rule_change)}};
  j["ranges"] = {{"matched", array_of(d.ranges, range_change)},
                 {"only_before", d.ranges_only_before},
                 {"only_after", d.ranges_only_after}};
  return j;
}

std::string render_diff(const ReportDiff& diff, Format format, const RenderOptions& options) {
  switch (format) {
  case Format::text:
    return render_diff_text(diff, options);
  case Format::md:
    return render_diff_markdown(diff, options);
  case Format::json:
    return diff_to_json(diff).dump(2) + "\n";
  case Format::csv:
    throw std::invalid_argument("a diff has no CSV form");
  case Format::html:
    throw std::invalid_argument("a diff has no HTML form");
  }
  throw std::invalid_argument("unknown output format");
}

} // namespace brrr
