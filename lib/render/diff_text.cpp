// The text diff: the two runs, warnings, the verdict, the attribution before and after, the
// kernels that changed most, appeared or disappeared, the rules that began or stopped firing,
// and the NVTX ranges both runs have. Fits `width` columns; colors only when asked.

#include "render/diff_render.hpp"

#include "model/format.hpp"
#include "render/layout.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brrr {

namespace {

using namespace layout;

std::string duration(uint64_t ns) { return format_duration(static_cast<double>(ns)); }

std::string class_change(const KernelChange& k) {
  const auto label = [](const std::optional<KernelSide>& side) {
    return !side                                ? std::string()
           : side->bound == BoundClass::unknown ? std::string("?")
                                                : std::string(to_string(side->bound));
  };
  const std::string before = label(k.before);
  const std::string after = label(k.after);
  if (before.empty()) return after;
  if (after.empty() || after == before) return before;
  return before + " → " + after;
}

std::string launches_change(const KernelChange& k) {
  const auto count = [](uint64_t n) { return format_count(static_cast<double>(n)); };
  if (!k.before) return count(k.after->launches);
  if (!k.after) return count(k.before->launches);
  if (k.before->launches == k.after->launches) return count(k.after->launches);
  return count(k.before->launches) + " → " + count(k.after->launches);
}

void header(std::string& out, const ReportDiff& d, const RenderOptions& o, const Style& s) {
  out += s.bold("brrr diff") + "\n";
  const auto side = [&](const char* label, const std::string& path, const Report& r) {
    out += s.dim(clip(fmt::format("  {}  {} · {}", label, path, command_line(r.run.info.command)), o.width)) + "\n";
  };
  side("before", d.before_label, *d.before);
  side("after ", d.after_label, *d.after);
  const auto gpu = [](const Report& r) { return r.run.gpus.empty() ? std::string("no GPU") : r.run.gpus.front().name; };
  const std::string gpus =
      gpu(*d.before) == gpu(*d.after) ? gpu(*d.after) : fmt::format("{} → {}", gpu(*d.before), gpu(*d.after));
  out += s.dim(clip(fmt::format("  {} · wall {} → {} · GPU active {} → {}", gpus, duration(d.process.wall.before_ns),
                                duration(d.process.wall.after_ns), duration(d.gpu_active.wall.before_ns),
                                duration(d.gpu_active.wall.after_ns)),
                    o.width)) +
         "\n\n";
  for (const auto& w : d.warnings) out += s.warning("WARNING") + wrap(w, o.width, 9, 1) + "\n";
  if (!d.warnings.empty()) out += "\n";
  out += s.bold("VERDICT") + "\n" + wrap(d.verdict, o.width, 2, 2) + "\n\n";
}

void attribution(std::string& out, const ReportDiff& d, const Style& s) {
  out += s.bold("WHERE THE TIME WENT") +
         s.dim("  (whole run, and share of it; the GPU-active span in the last column)") + "\n";
  out += s.dim(pad_right("", 24) + pad_left("before", 10) + pad_left("%", 7) + pad_left("after", 10) +
               pad_left("%", 7) + pad_left("change", 11) + pad_left("GPU-active", 18)) +
         "\n";
  const auto row = [&](const std::string& label, const TimeChange& t, const TimeChange* span) {
    out += pad_right(label, 24) + pad_left(duration(t.before_ns), 10) + pad_left(format_percent(t.before_fraction), 7) +
           pad_left(duration(t.after_ns), 10) + pad_left(format_percent(t.after_fraction), 7) +
           pad_left(format_signed_duration(t.delta_ns()), 11) +
           (span ? pad_left(format_percent(span->before_fraction) + " → " + format_percent(span->after_fraction), 18)
                 : std::string()) +
           "\n";
  };
  const TimeChange& wall = d.process.wall;
  const auto change = wall.change();
  out += pad_right("  wall", 24) + pad_left(duration(wall.before_ns), 10) + pad_left("", 7) +
         pad_left(duration(wall.after_ns), 10) + pad_left("", 7) +
         pad_left(format_signed_duration(wall.delta_ns()), 11) +
         pad_left(change ? (*change > 0 ? "+" : "") + format_percent(*change) : std::string("–"), 8) + "\n";
  for (std::size_t r = 0; r < diff_regimes.size(); ++r) {
    const TimeChange& t = d.process.regimes[r];
    // Unknown and communication are shown only where a run has some.
    if ((diff_regimes[r] == Regime::unknown || diff_regimes[r] == Regime::communication) && t.before_ns == 0 &&
        t.after_ns == 0)
      continue;
    row("  " + std::string(to_string(diff_regimes[r])), t, &d.gpu_active.regimes[r]);
    if (diff_regimes[r] != Regime::overhead) continue; // compute, memory and unknown have one part each
    for (std::size_t i = 0; i < part_count; ++i) {
      const auto p = static_cast<Part>(i);
      const TimeChange& part = d.process.parts[i];
      if (regime_of(p) != Regime::overhead || (part.before_ns == 0 && part.after_ns == 0)) continue;
      const bool outside_span = p == Part::idle_startup || p == Part::idle_teardown;
      row("    " + std::string(part_label(p)), part, outside_span ? nullptr : &d.gpu_active.parts[i]);
    }
  }
  out += "\n";
}

void kernel_table(std::string& out, const std::string& title, const std::string& note,
                  const std::vector<KernelChange>& kernels, bool changed_only, const RenderOptions& o, const Style& s) {
  std::vector<const KernelChange*> shown;
  for (const auto& k : kernels)
    if (!changed_only || k.delta_ns() != 0) shown.push_back(&k);
  if (shown.empty()) return;
  const std::size_t total = shown.size();
  shown.resize(std::min(total, o.top));
  out += s.bold(title) + s.dim(fmt::format("  ({}; {} of {})", note, shown.size(), total)) + "\n";
  const std::size_t name_width = o.width - 66;
  out += s.dim(pad_right("  kernel", name_width + 2) + pad_left("launches", 15) + pad_left("before", 10) +
               pad_left("after", 10) + pad_left("change", 11) + "  class") +
         "\n";
  bool by_name = false;
  for (const KernelChange* k : shown) {
    by_name = by_name || k->match == KernelChange::Match::name;
    const std::string marker = k->match == KernelChange::Match::name ? "~ " : "";
    out += "  " + pad_right(clip(marker + k->name, name_width - 1), name_width) + pad_left(launches_change(*k), 15) +
           pad_left(k->before ? duration(k->before->total_ns) : "–", 10) +
           pad_left(k->after ? duration(k->after->total_ns) : "–", 10) +
           pad_left(format_signed_duration(k->delta_ns()), 11) + "  " + class_change(*k) + "\n";
  }
  if (by_name) out += s.dim("  ~ matched by name: its grid or block changed") + "\n";
  out += "\n";
}

void rules(std::string& out, const ReportDiff& d, const RenderOptions& o, const Style& s) {
  if (d.rules_appeared.empty() && d.rules_disappeared.empty()) return;
  out += s.bold("FINDINGS") + s.dim("  (rules that fire in only one of the runs)") + "\n";
  const auto list = [&](const char* label, const std::vector<RuleChange>& changes) {
    for (const auto& r : changes)
      out += wrap(fmt::format("{} {} — saves up to {} ({} of its run): {}", label, r.rule_id, duration(r.saving_ns),
                              format_percent(r.saving_fraction), r.message),
                  o.width, 8, 2) +
             "\n";
  };
  list("new: ", d.rules_appeared);
  list("gone:", d.rules_disappeared);
  out += "\n";
}

void ranges(std::string& out, const ReportDiff& d, const RenderOptions& o, const Style& s) {
  if (d.ranges.empty() && d.ranges_only_before.empty() && d.ranges_only_after.empty()) return;
  out += s.bold("PHASES") + s.dim("  (NVTX ranges in both runs)") + "\n";
  if (!d.ranges.empty()) {
    const std::size_t name_width = o.width - 72;
    out += s.dim(pad_right("  range", name_width + 2) + pad_left("count", 15) + pad_left("before", 10) +
                 pad_left("after", 10) + pad_left("change", 11) + pad_left("overhead", 24)) +
           "\n";
    for (const auto& r : d.ranges) {
      const TimeChange& overhead = r.attribution.regime(Regime::overhead);
      const std::string count = r.before_instances == r.after_instances
                                    ? format_count(static_cast<double>(r.after_instances))
                                    : fmt::format("{} → {}", format_count(static_cast<double>(r.before_instances)),
                                                  format_count(static_cast<double>(r.after_instances)));
      out += "  " + pad_right(clip(r.name, name_width - 1), name_width) + pad_left(count, 15) +
             pad_left(duration(r.attribution.wall.before_ns), 10) +
             pad_left(duration(r.attribution.wall.after_ns), 10) +
             pad_left(format_signed_duration(r.attribution.wall.delta_ns()), 11) +
             pad_left(format_percent(overhead.before_fraction) + " → " + format_percent(overhead.after_fraction), 24) +
             "\n";
    }
  }
  const auto only = [&](const char* which, const std::vector<std::string>& names) {
    if (names.empty()) return;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    out += wrap(fmt::format("Only in the {} run: {}", which, list), o.width, 4, 2) + "\n";
  };
  only("first", d.ranges_only_before);
  only("second", d.ranges_only_after);
  out += "\n";
}

} // namespace

std::string render_diff_text(const ReportDiff& d, const RenderOptions& o) {
  const Style style(o.color);
  std::string out;
  header(out, d, o, style);
  attribution(out, d, style);
  kernel_table(out, "LARGEST CHANGES", "kernels in both runs, by the change of their time", d.matched, true, o, style);
  kernel_table(out, "NEW KERNELS", "only in the second run", d.appeared, false, o, style);
  kernel_table(out, "GONE KERNELS", "only in the first run", d.disappeared, false, o, style);
  rules(out, d, o, style);
  ranges(out, d, o, style);
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

} // namespace brrr
