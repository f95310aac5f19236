// The Markdown diff, for a pull-request comment or a CI job summary: the verdict, warnings as
// a quote, the attribution as a table, the kernel changes, the rules and the ranges.

#include "render/diff_render.hpp"

#include "model/format.hpp"
#include "render/layout.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brrr {

namespace {

using layout::markdown_cell;

std::string duration(uint64_t ns) { return format_duration(static_cast<double>(ns)); }

std::string side_time(const std::optional<KernelSide>& side) { return side ? duration(side->total_ns) : "–"; }

std::string side_launches(const std::optional<KernelSide>& side) {
  return side ? format_count(static_cast<double>(side->launches)) : "–";
}

std::string side_class(const std::optional<KernelSide>& side) {
  return side ? std::string(to_string(side->bound)) : "–";
}

void kernels(std::string& out, const std::string& title, const std::vector<KernelChange>& list, bool changed_only,
             std::size_t top) {
  std::vector<const KernelChange*> shown;
  for (const auto& k : list)
    if (!changed_only || k.delta_ns() != 0) shown.push_back(&k);
  if (shown.empty()) return;
  const std::size_t total = shown.size();
  shown.resize(std::min(total, top));
  out += fmt::format("### {} ({} of {})\n\n", title, shown.size(), total);
  out += "| kernel | launches before | after | time before | after | change | class before | after |\n"
         "|---|---:|---:|---:|---:|---:|---|---|\n";
  for (const KernelChange* k : shown)
    out += fmt::format("| `{}`{} | {} | {} | {} | {} | {} | {} | {} |\n", markdown_cell(k->name.substr(0, 80)),
                       k->match == KernelChange::Match::name ? " (grid or block changed)" : "",
                       side_launches(k->before), side_launches(k->after), side_time(k->before), side_time(k->after),
                       format_signed_duration(k->delta_ns()), side_class(k->before), side_class(k->after));
  out += "\n";
}

} // namespace

std::string render_diff_markdown(const ReportDiff& d, const RenderOptions& o) {
  std::string out =
      fmt::format("## brrr diff: `{}` → `{}`\n\n", markdown_cell(d.before_label), markdown_cell(d.after_label));
  for (const auto& w : d.warnings) out += fmt::format("> **Warning:** {}\n>\n", w);
  if (!d.warnings.empty()) out += "\n";
  out += fmt::format("**{}**\n\n", d.verdict);

  const auto change = d.process.wall.change();
  out += "| | before | % | after | % | change | GPU-active |\n|---|---:|---:|---:|---:|---:|---:|\n";
  out += fmt::format("| wall | {} | | {} | | {}{} | |\n", duration(d.process.wall.before_ns),
                     duration(d.process.wall.after_ns), format_signed_duration(d.process.wall.delta_ns()),
                     change ? fmt::format(" ({}{})", *change > 0 ? "+" : "", format_percent(*change)) : "");
  const auto row = [&](const std::string& label, const TimeChange& t, const TimeChange* span) {
    out += fmt::format(
        "| {} | {} | {} | {} | {} | {} | {} |\n", label, duration(t.before_ns), format_percent(t.before_fraction),
        duration(t.after_ns), format_percent(t.after_fraction), format_signed_duration(t.delta_ns()),
        span ? format_percent(span->before_fraction) + " → " + format_percent(span->after_fraction) : "–");
  };
  for (auto regime : diff_regimes) {
    const TimeChange& t = d.process.regime(regime);
    if ((regime != Regime::unknown && regime != Regime::communication) || t.before_ns > 0 || t.after_ns > 0)
      row(fmt::format("**{}**", to_string(regime)), t, &d.gpu_active.regime(regime));
  }
  for (std::size_t i = 0; i < part_count; ++i) {
    const auto p = static_cast<Part>(i);
    const TimeChange& t = d.process.part(p);
    if (regime_of(p) != Regime::overhead || (t.before_ns == 0 && t.after_ns == 0)) continue;
    row(std::string(part_label(p)), t,
        p == Part::idle_startup || p == Part::idle_teardown ? nullptr : &d.gpu_active.part(p));
  }
  out += "\n";

  kernels(out, "Kernels: largest changes", d.matched, true, o.top);
  kernels(out, "New kernels", d.appeared, false, o.top);
  kernels(out, "Gone kernels", d.disappeared, false, o.top);

  if (!d.rules_appeared.empty() || !d.rules_disappeared.empty()) {
    out += "### Findings\n\n";
    const auto list = [&](const char* label, const std::vector<RuleChange>& changes) {
      for (const auto& r : changes)
        out += fmt::format("- {} **{}** (saves up to {}, {} of its run): {}\n", label, r.rule_id, duration(r.saving_ns),
                           format_percent(r.saving_fraction), r.message);
    };
    list("new:", d.rules_appeared);
    list("gone:", d.rules_disappeared);
    out += "\n";
  }
  if (!d.ranges.empty()) {
    out += "### Phases (NVTX ranges in both runs)\n\n| range | before | after | change | overhead |\n"
           "|---|---:|---:|---:|---:|\n";
    for (const auto& r : d.ranges) {
      const TimeChange& overhead = r.attribution.regime(Regime::overhead);
      out += fmt::format("| {} | {} | {} | {} | {} → {} |\n", markdown_cell(r.name),
                         duration(r.attribution.wall.before_ns), duration(r.attribution.wall.after_ns),
                         format_signed_duration(r.attribution.wall.delta_ns()),
                         format_percent(overhead.before_fraction), format_percent(overhead.after_fraction));
    }
    out += "\n";
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

} // namespace brrr
