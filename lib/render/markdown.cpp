// The Markdown report, for pull-request comments and CI job summaries: the verdict, the
// attribution as a table, the top kernels and the suggestions.

#include "render/layout.hpp"
#include "render/render.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brrr {

using namespace layout;

std::string layout::markdown_findings(const Verdict& v) {
  std::string out;
  if (!v.findings.empty()) {
    out += "### Suggestions\n\n";
    for (const auto& f : v.findings)
      out += fmt::format("- **{}** ({}, saves up to {} = {}): {}  \n  → {}\n", f.rule_id, to_string(f.severity),
                         format_duration(static_cast<double>(f.saving_ns)), format_percent(f.saving_fraction),
                         f.message, f.suggestion);
    out += "\n";
  }
  if (!v.will_not_help.empty()) {
    out += "### What will not help\n\n";
    for (const auto& w : v.will_not_help) out += "- " + w + "\n";
  }
  return out;
}

std::string render_markdown(const Report& r, const RenderOptions& o) {
  const Run& run = r.run;
  const Analysis& a = r.analysis;
  std::string out;
  std::string command;
  for (const auto& arg : run.info.command) command += (command.empty() ? "" : " ") + arg;
  out += fmt::format("## brrr: `{}`\n\n", markdown_cell(command));
  out += fmt::format("{} · wall {} · GPU active {}{}\n\n",
                     run.gpus.empty() ? "no GPU recorded" : markdown_cell(run.gpus.front().name),
                     format_duration(static_cast<double>(run.timeline.wall_ns)),
                     format_duration(static_cast<double>(run.timeline.gpu_end_ns - run.timeline.gpu_begin_ns)),
                     run.info.complete ? "" : " · **incomplete**");
  if (r.profile) out += fmt::format("Roofs: {}\n\n", markdown_cell(roofs_label(r)));
  out += fmt::format("**{}**\n\n", a.verdict.headline);
  for (const auto& note : a.verdict.notes) out += fmt::format("> {}\n>\n", note);
  if (!a.verdict.notes.empty()) out += "\n";

  out += "| part | whole run | time | GPU-active |\n|---|---:|---:|---:|\n";
  for (std::size_t i = 0; i < part_count; ++i) {
    const auto p = static_cast<Part>(i);
    if (a.process.get(p) == 0) continue;
    out += fmt::format("| {} ({}) | {} | {} | {} |\n", part_label(p), to_string(regime_of(p)),
                       format_percent(a.process.fraction(a.process.get(p))),
                       format_duration(static_cast<double>(a.process.get(p))),
                       p == Part::idle_startup || p == Part::idle_teardown
                           ? "–"
                           : format_percent(a.gpu_active.fraction(a.gpu_active.get(p))));
  }
  out += "\n";

  if (!run.kernels.empty()) {
    const std::vector<std::size_t> order = kernels_by_time(run);
    out += "| kernel | launches | time | share | class | % of roof |\n|---|---:|---:|---:|---|---:|\n";
    for (std::size_t i = 0; i < std::min(o.top, order.size()); ++i) {
      const auto& k = run.kernels[order[i]];
      const auto& ka = a.kernels[order[i]];
      out +=
          fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", markdown_cell(k.name.substr(0, 80)),
                      format_count(static_cast<double>(k.launches)), format_duration(static_cast<double>(k.total_ns)),
                      format_percent(a.process.fraction(k.attributed_ns)), to_string(ka.bound),
                      on_roofline(ka.bound) ? format_percent(ka.roof_fraction) : "–");
    }
    out += "\n";
  }
  out += markdown_findings(a.verdict);
  return out;
}

} // namespace brrr
