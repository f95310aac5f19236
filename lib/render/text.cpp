// The text report: verdict first, in plain words, then where the time went, the kernels
// that matter, the suggestions with their savings, and what will not help. Fits `width`
// columns; colors only when asked.

#include "render/layout.hpp"
#include "render/render.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace brrr {

std::string exit_text(const ExitStatus& e) {
  switch (e.kind) {
  case ExitStatus::Kind::exited:
    return fmt::format("exit status {}", e.code);
  case ExitStatus::Kind::signaled:
    return fmt::format("killed by signal {}", e.signal);
  case ExitStatus::Kind::not_started:
    return "did not start";
  case ExitStatus::Kind::unknown:
    break;
  }
  return "exit status unknown";
}

namespace {

using namespace layout;

std::string bar(double fraction, std::size_t width, bool unicode) {
  const double cells = std::clamp(fraction, 0.0, 1.0) * static_cast<double>(width);
  auto full = static_cast<std::size_t>(cells);
  std::string out;
  if (unicode) {
    static constexpr std::array<const char*, 8> partial{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    for (std::size_t i = 0; i < full; ++i) out += "█";
    const auto eighth = static_cast<std::size_t>((cells - static_cast<double>(full)) * 8);
    std::size_t used = full;
    if (full < width && eighth > 0) {
      out += partial[eighth];
      ++used;
    }
    for (; used < width; ++used) out += "·";
  } else {
    out.append(full, '#');
    out.append(width - full, '.');
  }
  return out;
}

void header(std::string& out, const Report& r, const RenderOptions& o, const Style& s) {
  const Run& run = r.run;
  std::string gpu = run.gpus.empty() ? "no GPU recorded" : run.gpus.front().name;
  if (run.gpus.size() > 1) gpu += fmt::format(" (+{} more)", run.gpus.size() - 1);
  out += s.bold("brrr") + "  " + clip(command_line(run.info.command), o.width - 6) + "\n";
  std::string line =
      fmt::format("{} · wall {} · GPU active {} · {}", gpu, format_duration(static_cast<double>(run.timeline.wall_ns)),
                  format_duration(static_cast<double>(run.timeline.gpu_end_ns - run.timeline.gpu_begin_ns)),
                  exit_text(run.info.exit));
  if (!run.info.complete) line += " · INCOMPLETE";
  out += s.dim(clip(line, o.width)) + "\n";
  if (r.profile) out += s.dim(clip("roofs: " + roofs_label(r), o.width)) + "\n";
  out += "\n";
}

void verdict(std::string& out, const Report& r, const RenderOptions& o, const Style& s) {
  const Verdict& v = r.analysis.verdict;
  out += s.bold("VERDICT") + "\n";
  out += wrap(v.headline, o.width, 2, 2) + "\n";
  for (const auto& note : v.notes) out += wrap(note, o.width, 2, 2) + "\n";
  out += "\n";
}

// The roofline drawn with characters, under the verdict, when asked for.
void roofline(std::string& out, const Report& r, const RenderOptions& o, const Style& s) {
  if (!o.roofline) return;
  out += s.bold("ROOFLINE") + s.dim("  (FLOP/s against FLOP per DRAM byte, log-log; the kernels with the most time)") +
         "\n";
  out += render_terminal_roofline(r, o) + "\n";
}

void attribution(std::string& out, const Report& r, const RenderOptions& o, const Style& s) {
  const Attribution& a = r.analysis.process;
  const Attribution& g = r.analysis.gpu_active;
  if (a.wall_ns == 0 || g.wall_ns == 0) return;
  out += s.bold("WHERE THE TIME WENT") + s.dim("  (whole run; the GPU-active span in the last column)") + "\n";
  const std::size_t bar_width = o.width >= 100 ? 30 : 20;
  auto row = [&](const std::string& label, uint64_t ns, uint64_t gpu_ns, bool show_gpu, std::size_t indent) {
    out += pad_right(std::string(indent, ' ') + label, 26) + bar(a.fraction(ns), bar_width, o.unicode) + " " +
           pad_left(format_percent(a.fraction(ns)), 5) + pad_left(format_duration(static_cast<double>(ns)), 10) +
           (show_gpu ? pad_left(format_percent(g.fraction(gpu_ns)), 9) : std::string()) + "\n";
  };
  for (auto regime : all_regimes) {
    const uint64_t ns = a.regime_ns(regime);
    if (ns == 0 && (regime == Regime::unknown || regime == Regime::communication)) continue;
    row(std::string(to_string(regime)), ns, g.regime_ns(regime), true, 2);
    // Compute and memory have one part each, and so has communication until ranks are compared.
    const bool split =
        regime == Regime::overhead || (regime == Regime::communication && a.get(Part::communication_wait) > 0);
    for (std::size_t i = 0; i < part_count; ++i) {
      const auto p = static_cast<Part>(i);
      if (regime_of(p) != regime || a.get(p) == 0) continue;
      if (!split) continue;
      const bool startup_or_teardown = p == Part::idle_startup || p == Part::idle_teardown;
      row(std::string(part_label(p)), a.get(p), g.get(p), !startup_or_teardown, 4);
    }
  }
  out += "\n";
}

std::string class_label(const KernelAnalysis& a) {
  if (a.bound == BoundClass::communication) return "comm";
  return a.bound == BoundClass::unknown ? "?" : std::string(to_string(a.bound));
}

void kernels(std::string& out, const Report& r, const RenderOptions& o, const Style& s) {
  const Run& run = r.run;
  if (run.kernels.empty()) return;
  const std::vector<std::size_t> order = kernels_by_time(run);
  const std::size_t shown = std::min(o.top, order.size());
  out += s.bold("TOP KERNELS") + s.dim(fmt::format("  ({} of {}, by time)", shown, order.size())) + "\n";
  const std::size_t name_width = o.width - 66;
  out += s.dim(pad_right("  kernel", name_width + 2) + pad_left("launches", 9) + pad_left("time", 10) +
               pad_left("share", 7) + pad_left("class", 9) + pad_left("roof", 6) + pad_left("FLOP/B", 8) +
               pad_left("rate", 15)) +
         "\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& k = run.kernels[order[i]];
    const auto& a = r.analysis.kernels[order[i]];
    std::string rate = "-";
    std::string intensity = "-";
    std::string roof = "-";
    if (a.has_counters) {
      rate = a.bound == BoundClass::compute ? format_flop_rate(a.achieved_flops_per_s)
                                            : format_bandwidth(a.achieved_dram_bytes_per_s);
      if (a.intensity)
        intensity = *a.intensity >= 100 ? fmt::format("{:.0f}", *a.intensity) : fmt::format("{:.2g}", *a.intensity);
      if (on_roofline(a.bound)) roof = format_percent(a.roof_fraction);
    }
    out += "  " + pad_right(clip(k.name, name_width - 1), name_width) +
           pad_left(format_count(static_cast<double>(k.launches)), 9) +
           pad_left(format_duration(static_cast<double>(k.total_ns)), 10) +
           pad_left(format_percent(r.analysis.process.fraction(k.attributed_ns)), 7) + pad_left(class_label(a), 9) +
           pad_left(roof, 6) + pad_left(intensity, 8) + pad_left(rate, 15) + "\n";
  }
  if (!run.transfers.empty()) {
    for (const auto& t : run.transfers) {
      const std::string label = fmt::format("[{} {}{}]", to_string(t.kind),
                                            t.kind == TransferKind::memset
                                                ? std::string(to_string(t.destination))
                                                : fmt::format("{}→{}", to_string(t.source), to_string(t.destination)),
                                            t.async ? "" : ", sync");
      const double rate = t.total_ns ? static_cast<double>(t.bytes) / (static_cast<double>(t.total_ns) * 1e-9) : 0;
      out += "  " + pad_right(clip(label, name_width - 1), name_width) +
             pad_left(format_count(static_cast<double>(t.count)), 9) +
             pad_left(format_duration(static_cast<double>(t.total_ns)), 10) +
             pad_left(format_percent(r.analysis.process.fraction(t.attributed_ns)), 7) +
             pad_left(std::string(to_string(regime_of(transfer_part(t.kind)))), 9) + pad_left("", 6) +
             pad_left(format_bytes(static_cast<double>(t.bytes)), 8) + pad_left(format_bandwidth(rate), 15) + "\n";
    }
  }
  out += "\n";
}

void ranges(std::string& out, const Report& r, const RenderOptions& o, const Style& s) {
  const Run& run = r.run;
  if (run.ranges.empty()) return;
  out += s.bold("PHASES") + s.dim("  (NVTX ranges: where each one's time went)") + "\n";
  // The cause column fits the longest part label ("latency-bound kernels"), so that rows
  // stay within the width.
  constexpr std::size_t cause_width = 21;
  const std::size_t name_width = o.width - 48 - cause_width;
  out += s.dim(pad_right("  range", name_width + 2) + pad_left("count", 7) + pad_left("time", 10) +
               pad_left("compute", 9) + pad_left("memory", 8) + pad_left("overhead", 10) + "  " +
               pad_left("main cause", cause_width)) +
         "\n";
  for (std::size_t i = 0; i < run.ranges.size(); ++i) {
    const auto& range = run.ranges[i];
    const auto& a = r.analysis.ranges[i];
    Part main = Part::compute;
    for (std::size_t p = 0; p < part_count; ++p)
      if (a.ns[p] > a.get(main)) main = static_cast<Part>(p);
    out += "  " + pad_right(clip(range.name, name_width - 1), name_width) +
           pad_left(format_count(static_cast<double>(range.instances)), 7) +
           pad_left(format_duration(static_cast<double>(range.total_ns)), 10) +
           pad_left(format_percent(a.fraction(a.regime_ns(Regime::compute))), 9) +
           pad_left(format_percent(a.fraction(a.regime_ns(Regime::memory))), 8) +
           pad_left(format_percent(a.fraction(a.regime_ns(Regime::overhead))), 10) + "  " +
           pad_left(std::string(part_label(main)), cause_width) + "\n";
  }
  out += "\n";
}

} // namespace

void layout::text_findings(std::string& out, const Verdict& v, const RenderOptions& o, const Style& s) {
  if (!v.findings.empty()) {
    out += s.bold("SUGGESTIONS") + s.dim("  (ranked by estimated saving)") + "\n";
    for (std::size_t i = 0; i < v.findings.size(); ++i) {
      const auto& f = v.findings[i];
      out += fmt::format("  {}. {} {} — saves up to {} ({})\n", i + 1,
                         s.severity(f.severity, fmt::format("[{}]", to_string(f.severity))), s.bold(f.rule_id),
                         format_duration(static_cast<double>(f.saving_ns)), format_percent(f.saving_fraction));
      out += wrap(f.message, o.width, 5, 5) + "\n";
      out += wrap("→ " + f.suggestion, o.width, 7, 5) + "\n";
    }
    out += "\n";
  }
  if (!v.will_not_help.empty()) {
    out += s.bold("WHAT WILL NOT HELP") + "\n";
    for (const auto& w : v.will_not_help) out += wrap("- " + w, o.width, 4, 2) + "\n";
    out += "\n";
  }
}

std::string_view part_label(Part p) {
  switch (p) {
  case Part::compute:
    return "compute-bound";
  case Part::memory:
    return "memory-bound";
  case Part::latency:
    return "latency-bound kernels";
  case Part::transfer:
    return "host↔device copies";
  case Part::unclassified:
    return "kernels, no counters";
  case Part::communication:
    return "collectives";
  case Part::communication_wait:
    return "collectives: waiting";
  case Part::idle_startup:
    return "idle: startup";
  case Part::idle_launch:
    return "idle: launch gaps";
  case Part::idle_sync:
    return "idle: after syncs";
  case Part::idle_copy:
    return "idle: copy staging";
  case Part::idle_host:
    return "idle: host work";
  case Part::idle_teardown:
    break;
  }
  return "idle: teardown";
}

std::string wrap(std::string_view text, std::size_t width, std::size_t indent, std::size_t first_indent) {
  std::string out(first_indent, ' ');
  std::size_t column = first_indent;
  bool line_empty = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t space = text.find(' ', pos);
    const std::string_view word =
        text.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    pos = space == std::string_view::npos ? text.size() : space + 1;
    if (word.empty()) continue;
    const std::size_t w = display_width(word);
    if (!line_empty && column + 1 + w > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += w;
    line_empty = false;
  }
  return out;
}

std::string render_text(const Report& report, const RenderOptions& options) {
  const Style style(options.color);
  std::string out;
  header(out, report, options, style);
  verdict(out, report, options, style);
  roofline(out, report, options, style);
  attribution(out, report, options, style);
  kernels(out, report, options, style);
  text_findings(out, report.analysis.verdict, options, style);
  ranges(out, report, options, style);
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

} // namespace brrr
