// The HTML report: one self-contained page (inline CSS, SVG and script, nothing fetched) with
// the verdict and the rules' findings, the roofline, the attribution as stacked bars, the
// phases, the idle gaps over time and a sortable kernel table. Everything is drawn here, from
// the analysed report; the page's script only sorts, filters and highlights, so the page
// reads the same without it.

#include "render/layout.hpp"
#include "render/render.hpp"
#include "render/roofline_chart.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace brrr {

using namespace layout;

namespace {

// Text and attribute values as HTML: kernel names are full of <, > and &.
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

// One color per part of the wall time, in the order of Part; the kernel classes take the
// colors of the parts they go to. The palette is Okabe and Ito's, which color-blind readers
// can tell apart, with greys for what is not work.
constexpr std::array<const char*, part_count> part_colors{
    "#D55E00", // compute
    "#0072B2", // memory
    "#E69F00", // latency
    "#CC79A7", // transfer
    "#999999", // unclassified
    "#7A4FA0", // communication
    "#B79BD0", // communication: waiting
    "#D9D9D9", // idle: startup
    "#F0E442", // idle: launch gaps
    "#56B4E9", // idle: after syncs
    "#009E73", // idle: copy staging
    "#8C6D31", // idle: host work
    "#BDBDBD", // idle: teardown
};

// A part added to Part without a color here would leave a null at the end.
static_assert(part_colors.back() != nullptr, "every part needs a color");

const char* part_color(Part p) { return part_colors[static_cast<std::size_t>(p)]; }
const char* class_color(BoundClass c) { return part_color(kernel_part(c)); }

// An SVG coordinate: a tenth of a unit is finer than a screen shows, and keeps the page the
// same from one build to the next.
std::string num(double v) { return fmt::format("{:.1f}", v); }

// A sortable cell: the figure shown, and the value the table sorts by (empty: not measured).
std::string cell(const std::string& shown, std::optional<double> value) {
  return fmt::format("<td class=\"n\" data-v=\"{}\">{}</td>", value ? fmt::format("{:.9g}", *value) : "", esc(shown));
}

const char* page_style = R"(
:root { --ink: #1b1f24; --muted: #5b6570; --line: #d8dde3; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 20px 28px 40px; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 20px; margin: 0 0 4px; } h1 code { font-size: 17px; }
h2 { font-size: 16px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 14px 0 6px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
.meta, .note, .caption { color: var(--muted); }
.meta { margin: 0; }
.headline { font-size: 17px; font-weight: 600; margin: 6px 0; padding: 8px 12px; border-left: 5px solid #999;
  background: var(--panel); }
.headline.compute { border-color: #D55E00; } .headline.memory { border-color: #0072B2; }
.headline.overhead { border-color: #E69F00; }
.errors { color: #a00; border: 1px solid #a00; padding: 8px 24px; }
.findings li { margin-bottom: 8px; } .findings .todo { margin: 2px 0 0; }
.sev { display: inline-block; min-width: 56px; text-align: center; border-radius: 3px; font-size: 12px;
  padding: 0 4px; color: #fff; } .sev.high { background: #b3261e; } .sev.medium { background: #b26a00; }
.sev.low { background: #4a6b8a; }
details { color: var(--muted); font-size: 12.5px; } summary { cursor: pointer; }
svg.chart { display: block; max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
td.class { white-space: nowrap; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--ink); }
svg .axis-title { font-size: 12px; fill: var(--muted); }
svg .grid { stroke: #eceff2; } svg .frame { fill: none; stroke: #aab3bd; }
svg .roof { stroke: #333; stroke-width: 1.6; fill: none; }
svg .roof.unused { stroke: #9aa3ad; stroke-width: 1; stroke-dasharray: 4 3; }
svg .roof.l2 { stroke-dasharray: 7 4; stroke: #666; }
svg .roof-label.unused { fill: #8a939c; }
svg .dot { fill-opacity: 0.78; stroke: #1b1f24; stroke-width: 1; cursor: pointer; }
svg .dot.dim { fill-opacity: 0.08; stroke-opacity: 0.15; } svg .dot.hl { stroke-width: 3; }
svg .dot-label.dim { opacity: 0.15; }
svg .ridge { fill: #fff; stroke: #333; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0; color: var(--muted); font-size: 12.5px; }
.swatch { display: inline-block; width: 11px; height: 11px; border: 1px solid #0003; margin-right: 4px;
  vertical-align: -1px; }
.bar { display: flex; height: 22px; border: 1px solid var(--line); margin: 4px 0 2px; background: #fff; }
.bar span { display: block; height: 100%; }
.bar.small { height: 12px; min-width: 180px; margin: 0; }
.bar-label { font-size: 12.5px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); white-space: nowrap; }
td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \25BC"; }
td.name { max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
tr.hl td { background: #fff4c2; } tr.dim td { opacity: 0.35; }
ul.key { columns: 2; column-gap: 28px; font-size: 12.5px; margin: 6px 0; padding: 0; list-style: none; }
ul.key li { break-inside: avoid; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
ul.key li.hl { background: #fff4c2; }
details > summary { margin: 4px 0; }
.controls { margin: 4px 0 6px; font-size: 13px; }
)";

// Errors of the page's own script are written into the page (#brrr-errors), so that a reader
// (and the browser test) sees them; this runs first, before anything can fail.
const char* error_script = R"(
window.brrrErrors = [];
window.brrrReport = function (message) {
  var list = document.getElementById('brrr-errors');
  if (!list) { window.brrrErrors.push(message); return; }
  var item = document.createElement('li');
  item.textContent = message;
  list.appendChild(item);
  list.hidden = false;
};
window.addEventListener('error', function (e) {
  window.brrrReport('script error: ' + e.message + ' (line ' + e.lineno + ')');
});
window.addEventListener('unhandledrejection', function (e) {
  window.brrrReport('script error: ' + e.reason);
});
)";

// Sorting the tables, the phase filter of the roofline, and highlighting a kernel's dot and
// row together. When it has run, it marks the body data-ready="true".
const char* page_script = R"(
(function () {
  'use strict';
  window.brrrErrors.forEach(window.brrrReport);
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  each(document.querySelectorAll('table.sortable'), function (table) {
    var headers = table.tHead.rows[0].cells;
    each(headers, function (th, column) {
      th.addEventListener('click', function () {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        each(headers, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var numeric = th.dataset.type === 'number';
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].dataset.v, y = b.cells[column].dataset.v;
          // Figures that were not measured go last, whichever the direction.
          if (x === '' || y === '') return (x === '') - (y === '');
          var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return ascending ? c : -c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  var highlight = function (kernel, on) {
    each(document.querySelectorAll('[data-k="' + kernel + '"]'), function (e) { e.classList.toggle('hl', on); });
  };
  each(document.querySelectorAll('[data-k]'), function (e) {
    e.addEventListener('mouseenter', function () { highlight(e.dataset.k, true); });
    e.addEventListener('mouseleave', function () { highlight(e.dataset.k, false); });
  });

  var filter = document.getElementById('phase-filter');
  if (filter) {
    filter.addEventListener('change', function () {
      each(document.querySelectorAll('[data-phases]'), function (e) {
        var phases = e.dataset.phases.split(' ');
        e.classList.toggle('dim', filter.value !== '' && phases.indexOf(filter.value) < 0);
      });
    });
  }
  document.body.setAttribute('data-ready', 'true');
})();
)";

// The phases (NVTX ranges) each kernel group ran in, as "0 3 4".
std::vector<std::string> kernel_phases(const Run& run) {
  std::vector<std::string> phases(run.kernels.size());
  for (std::size_t i = 0; i < run.ranges.size(); ++i)
    for (const auto& [kernel, ns] : run.ranges[i].kernel_ns)
      if (ns > 0 && kernel < phases.size()) phases[kernel] += (phases[kernel].empty() ? "" : " ") + std::to_string(i);
  return phases;
}

// Each kernel's number on the page: its rank by time, from 1.
std::vector<std::size_t> kernel_numbers(const Run& run) {
  std::vector<std::size_t> numbers(run.kernels.size());
  const auto order = kernels_by_time(run);
  for (std::size_t rank = 0; rank < order.size(); ++rank) numbers[order[rank]] = rank + 1;
  return numbers;
}

void header(std::string& out, const Report& r) {
  const Run& run = r.run;
  std::string gpu = run.gpus.empty() ? "no GPU recorded" : run.gpus.front().name;
  if (run.gpus.size() > 1) gpu += fmt::format(" (+{} more)", run.gpus.size() - 1);
  out += fmt::format("<header>\n<h1>brrr <code>{}</code></h1>\n", esc(command_line(run.info.command)));
  out += fmt::format("<p class=\"meta\">{} · wall {} · GPU active {} · {}{}</p>\n", esc(gpu),
                     format_duration(static_cast<double>(run.timeline.wall_ns)),
                     format_duration(static_cast<double>(run.timeline.gpu_end_ns - run.timeline.gpu_begin_ns)),
                     esc(exit_text(run.info.exit)), run.info.complete ? "" : " · <strong>incomplete</strong>");
  if (r.profile)
    out += fmt::format("<p class=\"meta\">roofs: {} ({} ceilings) · recorded {} on {}</p>\n", esc(r.profile->name),
                       r.analysis.ceilings == Ceilings::measured ? "measured" : "datasheet", esc(run.info.start_time),
                       esc(run.info.host));
  else
    out += fmt::format("<p class=\"meta\">no hardware profile: {} · recorded {} on {}</p>\n",
                       esc(r.profile_missing_reason), esc(run.info.start_time), esc(run.info.host));
  out += "</header>\n<ul id=\"brrr-errors\" class=\"errors\" hidden></ul>\n";
}

void verdict(std::string& out, const Report& r) {
  const Verdict& v = r.analysis.verdict;
  out += fmt::format("<section id=\"verdict\">\n<h2>Verdict</h2>\n<p class=\"headline {}\">{}</p>\n",
                     to_string(v.regime), esc(v.headline));
  for (const auto& note : v.notes) out += fmt::format("<p class=\"note\">{}</p>\n", esc(note));
  out += "</section>\n";
}

// The rules' findings with their savings and evidence, then what will not help.
void findings(std::string& out, const Report& r) {
  const Verdict& v = r.analysis.verdict;
  if (v.findings.empty() && v.will_not_help.empty()) return;
  out += "<section id=\"rules\">\n";
  if (!v.findings.empty()) {
    out += "<h2>Suggestions <span class=\"note\">(ranked by estimated saving)</span></h2>\n<ol class=\"findings\">\n";
    for (const auto& f : v.findings) {
      out += fmt::format("<li><span class=\"sev {0}\">{0}</span> <code>{1}</code> — saves up to {2} ({3})<br>{4}"
                         "<p class=\"todo\">→ {5}</p>",
                         to_string(f.severity), esc(f.rule_id), format_duration(static_cast<double>(f.saving_ns)),
                         format_percent(f.saving_fraction), esc(f.message), esc(f.suggestion));
      if (!f.evidence.empty()) {
        out += "<details><summary>evidence</summary>";
        for (const auto& e : f.evidence) out += fmt::format("<code>{} = {:.6g}</code> ", esc(e.key), e.value);
        out += "</details>";
      }
      out += "</li>\n";
    }
    out += "</ol>\n";
  }
  if (!v.will_not_help.empty()) {
    out += "<h3>What will not help</h3>\n<ul>\n";
    for (const auto& w : v.will_not_help) out += fmt::format("<li>{}</li>\n", esc(w));
    out += "</ul>\n";
  }
  out += "</section>\n";
}

// The plot area of the roofline in SVG units, and the value-to-position maps.
struct Plot {
  double left = 70;
  double top = 16;
  double width = 700;
  double height = 440;
  const RooflineChart* chart = nullptr;
  [[nodiscard]] double x(double intensity) const { return left + chart->intensity.position(intensity) * width; }
  [[nodiscard]] double y(double flops_per_s) const { return top + (1 - chart->rate.position(flops_per_s)) * height; }
};

constexpr double svg_width = 960;
constexpr double svg_height = 510;

void roof_lines(std::string& out, const RooflineChart& chart, const Plot& plot) {
  const double x_lo = std::pow(10.0, chart.intensity.lo);
  const double y_lo = std::pow(10.0, chart.rate.lo);
  const double top = chart.compute.empty() ? std::pow(10.0, chart.rate.hi) : chart.compute.back().flops_per_s;
  out += "<g clip-path=\"url(#plot-area)\">\n";
  for (std::size_t i = 0; i < chart.memory.size(); ++i) {
    const MemoryRoof& m = chart.memory[i];
    const double from = std::max(x_lo, y_lo / m.bytes_per_s);
    const double to = top / m.bytes_per_s;
    const double x0 = plot.x(from), y0 = plot.y(m.bytes_per_s * from), x1 = plot.x(to), y1 = plot.y(top);
    out += fmt::format(
        "<line class=\"roof{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>{} bandwidth {}</title></line>\n",
        i == 0 ? "" : " l2", num(x0), num(y0), num(x1), num(y1), esc(m.label), format_bandwidth(m.bytes_per_s));
    // The label rides on the slope, part of the way up.
    const double t = i == 0 ? 0.55 : 0.35;
    const double angle = std::atan2(y1 - y0, x1 - x0) * 180 / 3.14159265358979;
    const double lx = x0 + (x1 - x0) * t, ly = y0 + (y1 - y0) * t;
    out += fmt::format("<text x=\"{0}\" y=\"{1}\" dy=\"-5\" transform=\"rotate({2} {0} {1})\">{3} {4}</text>\n",
                       num(lx), num(ly), num(angle), esc(m.label), format_bandwidth(m.bytes_per_s));
  }
  const MemoryRoof* dram = chart.memory.empty() ? nullptr : &chart.memory.front();
  for (const auto& c : chart.compute) {
    const double from = dram ? plot.x(ridge_intensity(c, *dram)) : plot.left;
    out +=
        fmt::format("<line class=\"roof{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>{} peak {}</title></line>\n",
                    c.used ? "" : " unused", num(from), num(plot.y(c.flops_per_s)), num(plot.left + plot.width),
                    num(plot.y(c.flops_per_s)), esc(c.label()), format_flop_rate(c.flops_per_s));
  }
  out += "</g>\n";

  // The compute roofs' labels in the right margin, pushed apart where peaks are close.
  std::vector<std::pair<double, const ComputeRoof*>> labels;
  for (auto it = chart.compute.rbegin(); it != chart.compute.rend(); ++it)
    labels.emplace_back(plot.y(it->flops_per_s), &*it);
  constexpr double line_height = 12.5;
  for (std::size_t i = 1; i < labels.size(); ++i)
    labels[i].first = std::max(labels[i].first, labels[i - 1].first + line_height);
  for (const auto& [y, roof] : labels)
    out += fmt::format("<text class=\"roof-label{}\" x=\"{}\" y=\"{}\" dy=\"4\">{} {}</text>\n",
                       roof->used ? "" : " unused", num(plot.left + plot.width + 6), num(y), esc(roof->label()),
                       format_flop_rate(roof->flops_per_s));

  // Ridge points of the roofs kernels ran against: left of one, DRAM bounds such kernels.
  if (dram)
    for (const auto& c : chart.compute) {
      if (!c.used) continue;
      const double ridge = ridge_intensity(c, *dram);
      const double x = plot.x(ridge), y = plot.y(c.flops_per_s);
      out += fmt::format("<path class=\"ridge\" d=\"M{} {}l5 5l-5 5l-5 -5z\"><title>ridge point: {:.3g} FLOP/B, where "
                         "{} {} meets {} {}</title></path>\n",
                         num(x), num(y - 5), ridge, esc(dram->label), format_bandwidth(dram->bytes_per_s),
                         esc(c.label()), format_flop_rate(c.flops_per_s));
    }
}

std::string dot_title(const Report& r, const KernelPoint& p, std::size_t number) {
  const KernelGroup& k = r.run.kernels[p.kernel];
  const KernelAnalysis& a = r.analysis.kernels[p.kernel];
  std::string roofs;
  auto add = [&](const char* name, const std::optional<double>& f) {
    if (f) roofs += fmt::format("{}{} {}", roofs.empty() ? "" : ", ", name, format_percent(*f));
  };
  add("compute", a.compute_roof_fraction);
  add("DRAM", a.dram_roof_fraction);
  add("L2", a.l2_roof_fraction);
  return fmt::format("#{} {}\n{}-bound{} ({} {})\n{:.3g} FLOP/B · {} · DRAM {}\n{} in {} launches · {} of the run",
                     number, k.name, to_string(a.bound), roofs.empty() ? "" : ", of roofs: " + roofs,
                     to_string(a.precision), to_string(a.pipe), p.intensity, format_flop_rate(p.flops_per_s),
                     format_bandwidth(a.achieved_dram_bytes_per_s), format_duration(static_cast<double>(k.total_ns)),
                     format_count(static_cast<double>(k.launches)), format_percent(p.share));
}

void roofline(std::string& out, const Report& r, const std::vector<std::size_t>& numbers,
              const std::vector<std::string>& phases) {
  const RooflineChart chart = roofline_chart(r);
  Plot plot;
  plot.chart = &chart;
  out += "<section id=\"roofline\">\n<h2>Roofline</h2>\n";
  if (!r.profile)
    out += fmt::format("<p class=\"note\">No hardware profile ({}): the kernels are placed, but there are no roofs to "
                       "compare them with. <code>brrr explain --profile FILE</code> adds them.</p>\n",
                       esc(r.profile_missing_reason));
  if (!r.run.ranges.empty()) {
    out += "<div class=\"controls\"><label>Phase: <select id=\"phase-filter\"><option value=\"\">all phases</option>";
    for (std::size_t i = 0; i < r.run.ranges.size(); ++i)
      out += fmt::format("<option value=\"{}\">{}</option>", i, esc(r.run.ranges[i].name));
    out += "</select></label> <span class=\"note\">shows the kernels that ran in one NVTX range</span></div>\n";
  }
  out += fmt::format(
      "<svg id=\"roofline-chart\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"roofline\">\n",
      svg_width, svg_height);
  out += fmt::format(
      "<defs><clipPath id=\"plot-area\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\n",
      num(plot.left), num(plot.top), num(plot.width), num(plot.height));
  // Grid and axes: a line and a label at each decade.
  for (int e = chart.intensity.lo; e <= chart.intensity.hi; ++e) {
    const double x = plot.x(std::pow(10.0, e));
    out += fmt::format("<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/><text x=\"{0}\" y=\"{3}\" "
                       "text-anchor=\"middle\">{4}</text>\n",
                       num(x), num(plot.top), num(plot.top + plot.height), num(plot.top + plot.height + 16),
                       decade_label(e, false));
  }
  for (int e = chart.rate.lo; e <= chart.rate.hi; ++e) {
    const double y = plot.y(std::pow(10.0, e));
    out += fmt::format("<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/><text x=\"{3}\" y=\"{1}\" "
                       "dy=\"4\" text-anchor=\"end\">{4}</text>\n",
                       num(plot.left), num(y), num(plot.left + plot.width), num(plot.left - 6), decade_label(e, true));
  }
  out += fmt::format("<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", num(plot.left),
                     num(plot.top), num(plot.width), num(plot.height));
  out +=
      fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">arithmetic intensity (FLOP per "
                  "DRAM byte)</text>\n",
                  num(plot.left + plot.width / 2), num(plot.top + plot.height + 36));
  out += fmt::format("<text class=\"axis-title\" x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
                     "{0})\">FLOP/s</text>\n",
                     num(plot.top + plot.height / 2));
  roof_lines(out, chart, plot);

  // Largest dots first, so that small ones stay on top and can be pointed at.
  std::vector<const KernelPoint*> by_share;
  for (const auto& p : chart.points) by_share.push_back(&p);
  std::stable_sort(by_share.begin(), by_share.end(), [](auto* a, auto* b) { return a->share > b->share; });
  // Dots are sized by their share of all kernels' time, not of the run: in a run that is
  // mostly idle, shares of the run would make every dot a speck.
  double kernels_ns = 0;
  for (const auto& k : r.run.kernels) kernels_ns += static_cast<double>(k.attributed_ns);
  constexpr double max_radius = 26;
  constexpr double min_radius = 3.5;
  for (const KernelPoint* p : by_share) {
    const KernelAnalysis& a = r.analysis.kernels[p->kernel];
    const double kernel_share =
        kernels_ns > 0 ? static_cast<double>(r.run.kernels[p->kernel].attributed_ns) / kernels_ns : 0;
    const double radius = std::max(min_radius, std::sqrt(kernel_share) * max_radius);
    const double x = plot.x(p->intensity), y = plot.y(p->flops_per_s);
    out += fmt::format("<circle class=\"dot\" data-k=\"{}\" data-phases=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" "
                       "fill=\"{}\"><title>{}</title></circle>\n",
                       p->kernel, phases[p->kernel], num(x), num(y), num(radius), class_color(a.bound),
                       esc(dot_title(r, *p, numbers[p->kernel])));
    out += fmt::format("<text class=\"dot-label\" data-phases=\"{}\" x=\"{}\" y=\"{}\" dy=\"4\">{}</text>\n",
                       phases[p->kernel], num(x + radius + 3), num(y), numbers[p->kernel]);
  }
  out += "</svg>\n<div class=\"legend\">";
  for (auto c : {BoundClass::compute, BoundClass::memory, BoundClass::latency})
    out += fmt::format("<span><span class=\"swatch\" style=\"background:{}\"></span>{}-bound</span>", class_color(c),
                       to_string(c));
  out += "<span>a dot's area: its share of all kernels' time; its number: its rank in the kernel table</span>";
  out += "<span>solid roofs: the precisions the kernels ran at; dashed slope: L2; ◇ ridge point</span></div>\n";

  // A key to the numbers of the dots with the most time; the kernel table has them all.
  constexpr std::size_t keyed = 10;
  if (!chart.points.empty()) {
    out += "<ul class=\"key\">\n";
    for (std::size_t i = 0; i < std::min(keyed, chart.points.size()); ++i) {
      const std::size_t k = chart.points[i].kernel;
      const KernelAnalysis& a = r.analysis.kernels[k];
      out += fmt::format("<li data-k=\"{}\"><b>#{}</b> <span class=\"note\">{}{}, {} of the run</span> <code>{}</code>"
                         "</li>\n",
                         k, numbers[k], to_string(a.bound),
                         a.bound == BoundClass::unknown ? "" : ", " + format_percent(a.roof_fraction) + " of roof",
                         format_percent(chart.points[i].share), esc(r.run.kernels[k].name));
    }
    out += "</ul>\n";
    if (chart.points.size() > keyed)
      out += fmt::format("<p class=\"note\">and {} more on the chart: the kernel table has them all.</p>\n",
                         chart.points.size() - keyed);
  }

  // The kernels the chart cannot show, grouped by the reason, most time first.
  if (!chart.unplaced.empty()) {
    double share = 0;
    for (const auto& u : chart.unplaced) share += r.analysis.process.fraction(r.run.kernels[u.kernel].attributed_ns);
    out += fmt::format("<h3>Not on the chart: {} kernel group{}, {} of the run</h3>\n", chart.unplaced.size(),
                       chart.unplaced.size() == 1 ? "" : "s", format_percent(share));
    std::vector<std::string> reasons;
    for (const auto& u : chart.unplaced)
      if (std::find(reasons.begin(), reasons.end(), u.reason) == reasons.end()) reasons.push_back(u.reason);
    constexpr std::size_t shown_open = 10;
    for (const auto& reason : reasons) {
      std::string items;
      std::size_t count = 0;
      for (const auto& u : chart.unplaced) {
        if (u.reason != reason) continue;
        ++count;
        const KernelGroup& k = r.run.kernels[u.kernel];
        items += fmt::format(
            "<li class=\"unplaced\" data-k=\"{}\"><b>#{}</b> <span class=\"note\">{} of the run</span> "
            "<code>{}</code></li>\n",
            u.kernel, numbers[u.kernel], format_percent(r.analysis.process.fraction(k.attributed_ns)), esc(k.name));
      }
      out +=
          fmt::format("<details{}><summary>{}: {} kernel group{}</summary>\n<ul class=\"key\">\n{}</ul>\n</details>\n",
                      count <= shown_open ? " open" : "", esc(reason), count, count == 1 ? "" : "s", items);
    }
  }
  out += "</section>\n";
}

// A stacked bar of an attribution's parts, each titled with its figures.
std::string stacked_bar(const Attribution& a, bool small) {
  std::string out = small ? "<div class=\"bar small\">" : "<div class=\"bar\">";
  for (std::size_t i = 0; i < part_count; ++i) {
    const auto p = static_cast<Part>(i);
    if (a.get(p) == 0) continue;
    out += fmt::format("<span style=\"width:{:.3f}%;background:{}\" title=\"{}: {} ({})\"></span>",
                       a.fraction(a.get(p)) * 100, part_color(p), esc(part_label(p)),
                       format_percent(a.fraction(a.get(p))), format_duration(static_cast<double>(a.get(p))));
  }
  return out + "</div>";
}

void attribution(std::string& out, const Report& r) {
  const Attribution& a = r.analysis.process;
  const Attribution& g = r.analysis.gpu_active;
  if (a.wall_ns == 0) return;
  out += "<section id=\"attribution\">\n<h2>Where the time went</h2>\n";
  out += fmt::format("<div class=\"bar-label\">whole run, {}</div>{}\n",
                     format_duration(static_cast<double>(a.wall_ns)), stacked_bar(a, false));
  if (g.wall_ns > 0)
    out += fmt::format("<div class=\"bar-label\">GPU-active span, {}</div>{}\n",
                       format_duration(static_cast<double>(g.wall_ns)), stacked_bar(g, false));
  out += "<table>\n<thead><tr><th>part</th><th>regime</th><th class=\"n\">whole run</th><th class=\"n\">time</th>"
         "<th class=\"n\">GPU-active</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < part_count; ++i) {
    const auto p = static_cast<Part>(i);
    if (a.get(p) == 0) continue;
    out +=
        fmt::format("<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td "
                    "class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                    part_color(p), esc(part_label(p)), to_string(regime_of(p)), format_percent(a.fraction(a.get(p))),
                    format_duration(static_cast<double>(a.get(p))),
                    p == Part::idle_startup || p == Part::idle_teardown ? "–" : format_percent(g.fraction(g.get(p))));
  }
  out += "</tbody>\n</table>\n</section>\n";
}

void phase_table(std::string& out, const Report& r, const std::vector<std::size_t>& numbers) {
  const Run& run = r.run;
  if (run.ranges.empty()) return;
  out += "<section id=\"phases\">\n<h2>Phases <span class=\"note\">(NVTX ranges)</span></h2>\n<table>\n<thead><tr>"
         "<th>range</th><th class=\"n\">count</th><th class=\"n\">time</th><th>where its time went</th>"
         "<th class=\"n\">compute</th><th class=\"n\">memory</th><th class=\"n\">overhead</th><th>kernels (most time "
         "first)</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < run.ranges.size(); ++i) {
    const RangeSummary& range = run.ranges[i];
    const Attribution& a = r.analysis.ranges[i];
    auto kernels = range.kernel_ns;
    std::stable_sort(kernels.begin(), kernels.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    std::string names;
    for (std::size_t j = 0; j < std::min<std::size_t>(kernels.size(), 3); ++j)
      if (kernels[j].first < run.kernels.size())
        names += fmt::format("{}#{} ({})", names.empty() ? "" : ", ", numbers[kernels[j].first],
                             format_duration(static_cast<double>(kernels[j].second)));
    if (kernels.size() > 3) names += fmt::format(", +{} more", kernels.size() - 3);
    out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                       esc(range.name), format_count(static_cast<double>(range.instances)),
                       format_duration(static_cast<double>(range.total_ns)), stacked_bar(a, true),
                       format_percent(a.fraction(a.regime_ns(Regime::compute))),
                       format_percent(a.fraction(a.regime_ns(Regime::memory))),
                       format_percent(a.fraction(a.regime_ns(Regime::overhead))), names);
  }
  out += "</tbody>\n</table>\n</section>\n";
}

// A round step for a time axis: 1, 2 or 5 times a power of ten, giving at most ~10 ticks.
double time_step_ns(double span_ns) {
  const double raw = span_ns / 10;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

void idle_gaps(std::string& out, const Report& r, const std::vector<std::size_t>& numbers) {
  const Run& run = r.run;
  if (run.timeline.wall_ns == 0) return;
  out += "<section id=\"gaps\">\n<h2>Idle gaps over time</h2>\n";
  const double wall = static_cast<double>(run.timeline.wall_ns);
  constexpr double left = 110, width = 820, height = 150;
  auto x = [&](double ns) { return left + ns / wall * width; };
  out += fmt::format(
      "<svg id=\"gap-chart\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"idle gaps over time\">\n",
      svg_width, height);
  // Rows: the GPU-active span, the largest idle gaps, each kernel group's first launch.
  constexpr double active_y = 8, gaps_y = 40, kernels_y = 78, axis_y = 112;
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">GPU-active span</text>\n", left - 8, active_y + 12);
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\" fill=\"#cfe3f3\"><title>GPU-active span: {} "
                     "to {}</title></rect>\n",
                     num(x(static_cast<double>(run.timeline.gpu_begin_ns))), active_y,
                     num(std::max(1.0, x(static_cast<double>(run.timeline.gpu_end_ns)) -
                                           x(static_cast<double>(run.timeline.gpu_begin_ns)))),
                     format_duration(static_cast<double>(run.timeline.gpu_begin_ns)),
                     format_duration(static_cast<double>(run.timeline.gpu_end_ns)));
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">largest idle gaps</text>\n", left - 8, gaps_y + 14);
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"22\" fill=\"#f6f8fa\" stroke=\"#d8dde3\"/>\n", left,
                     gaps_y, width);
  for (const auto& gap : run.largest_gaps)
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"22\" fill=\"{}\"><title>{} gap: {} at {}</title></rect>\n",
        num(x(static_cast<double>(gap.start_ns))), gaps_y,
        num(std::max(1.0, static_cast<double>(gap.duration_ns) / wall * width)), part_color(idle_part(gap.cause)),
        to_string(gap.cause), format_duration(static_cast<double>(gap.duration_ns)),
        format_duration(static_cast<double>(gap.start_ns)));
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">first launches</text>\n", left - 8, kernels_y + 12);
  for (std::size_t i = 0; i < run.kernels.size(); ++i) {
    const KernelGroup& k = run.kernels[i];
    out += fmt::format("<line data-k=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\">"
                       "<title>#{} {}: first launch at {}</title></line>\n",
                       i, num(x(static_cast<double>(k.first_start_ns))), kernels_y,
                       num(x(static_cast<double>(k.first_start_ns))), kernels_y + 18,
                       class_color(r.analysis.kernels[i].bound), numbers[i], esc(k.name),
                       format_duration(static_cast<double>(k.first_start_ns)));
  }
  const double step = time_step_ns(wall);
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#aab3bd\"/>\n", left, axis_y, left + width,
                     axis_y);
  for (double t = 0; t <= wall; t += step)
    out +=
        fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#aab3bd\"/><text x=\"{0}\" y=\"{3}\" "
                    "text-anchor=\"middle\">{4}</text>\n",
                    num(x(t)), axis_y, axis_y + 5, axis_y + 18, t == 0 ? "0" : format_duration(t));
  out += "</svg>\n";
  out +=
      fmt::format("<p class=\"caption\">The {} largest idle gaps of the run, colored by cause; every gap is counted in "
                  "the table below.</p>\n",
                  run.largest_gaps.size());
  if (!run.idle.empty()) {
    out +=
        "<table>\n<thead><tr><th>cause</th><th class=\"n\">gaps</th><th class=\"n\">total</th><th class=\"n\">of "
        "the run</th><th class=\"n\">median</th><th class=\"n\">longest</th><th>evidence</th></tr></thead>\n<tbody>\n";
    for (const auto& s : run.idle) {
      std::string evidence;
      for (const auto& e : s.evidence) evidence += fmt::format("<code>{} = {:.6g}</code> ", esc(e.key), e.value);
      out += fmt::format("<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td class=\"n\">{}</td>"
                         "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                         "<td>{}</td></tr>\n",
                         part_color(idle_part(s.cause)), esc(part_label(idle_part(s.cause))),
                         format_count(static_cast<double>(s.gaps)), format_duration(static_cast<double>(s.total_ns)),
                         format_percent(r.analysis.process.fraction(s.total_ns)),
                         format_duration(static_cast<double>(s.median_ns)),
                         format_duration(static_cast<double>(s.max_ns)), evidence);
    }
    out += "</tbody>\n</table>\n";
  }
  out += "</section>\n";
}

void kernel_table(std::string& out, const Report& r, const std::vector<std::size_t>& numbers,
                  const std::vector<std::string>& phases) {
  const Run& run = r.run;
  out += fmt::format("<section id=\"kernels\">\n<h2>Kernels <span class=\"note\">({} groups; click a column to sort)"
                     "</span></h2>\n",
                     run.kernels.size());
  if (!run.kernels.empty()) {
    out += "<div class=\"scroll\"><table class=\"sortable\" id=\"kernel-table\">\n<thead><tr><th data-type=\"number\" "
           "class=\"n\">#</th>"
           "<th data-type=\"text\">kernel</th><th data-type=\"number\" class=\"n\">launches</th>"
           "<th data-type=\"number\" class=\"n\">time</th><th data-type=\"number\" class=\"n\">share</th>"
           "<th data-type=\"number\" class=\"n\">median</th><th data-type=\"text\">class</th>"
           "<th data-type=\"number\" class=\"n\">% of roof</th><th data-type=\"number\" class=\"n\">FLOP/B</th>"
           "<th data-type=\"number\" class=\"n\">FLOP/s</th><th data-type=\"number\" class=\"n\">DRAM</th>"
           "<th data-type=\"text\">precision</th><th data-type=\"text\">grid × block</th></tr></thead>\n<tbody>\n";
    for (std::size_t i : kernels_by_time(run)) {
      const KernelGroup& k = run.kernels[i];
      const KernelAnalysis& a = r.analysis.kernels[i];
      const bool measured = a.has_counters;
      const bool classed = a.bound != BoundClass::unknown;
      const double share = r.analysis.process.fraction(k.attributed_ns);
      const std::string precision =
          measured && a.flops > 0 ? fmt::format("{} {}", to_string(a.precision), to_string(a.pipe)) : "";
      out += fmt::format("<tr data-k=\"{}\" data-phases=\"{}\">", i, phases[i]);
      out += cell(std::to_string(numbers[i]), static_cast<double>(numbers[i]));
      out += fmt::format("<td class=\"name\" data-v=\"{0}\" title=\"{0}\"><code>{0}</code></td>", esc(k.name));
      out += cell(format_count(static_cast<double>(k.launches)), static_cast<double>(k.launches));
      out += cell(format_duration(static_cast<double>(k.total_ns)), static_cast<double>(k.total_ns));
      out += cell(format_percent(share), share);
      out += cell(format_duration(static_cast<double>(k.median_ns)), static_cast<double>(k.median_ns));
      out += fmt::format(
          "<td class=\"class\" data-v=\"{0}\"><span class=\"swatch\" style=\"background:{1}\"></span>{0}</td>",
          to_string(a.bound), class_color(a.bound));
      out += classed ? cell(format_percent(a.roof_fraction), a.roof_fraction) : cell("–", std::nullopt);
      out +=
          measured && a.intensity ? cell(fmt::format("{:.3g}", *a.intensity), *a.intensity) : cell("–", std::nullopt);
      out +=
          measured ? cell(format_flop_rate(a.achieved_flops_per_s), a.achieved_flops_per_s) : cell("–", std::nullopt);
      out += measured ? cell(format_bandwidth(a.achieved_dram_bytes_per_s), a.achieved_dram_bytes_per_s)
                      : cell("–", std::nullopt);
      out += fmt::format("<td data-v=\"{0}\">{0}</td>", precision);
      const std::string shape =
          fmt::format("{}×{}×{} × {}×{}×{}", k.grid.x, k.grid.y, k.grid.z, k.block.x, k.block.y, k.block.z);
      out += fmt::format("<td data-v=\"{0}\">{0}</td></tr>\n", shape);
    }
    out += "</tbody>\n</table></div>\n";
  }
  if (!run.transfers.empty()) {
    out += "<h3>Copies and sets</h3>\n<table>\n<thead><tr><th>kind</th><th>memory</th><th class=\"n\">count</th>"
           "<th class=\"n\">bytes</th><th class=\"n\">time</th><th class=\"n\">share</th><th class=\"n\">rate</th>"
           "</tr></thead>\n<tbody>\n";
    for (const auto& t : run.transfers) {
      const std::string memory = t.kind == TransferKind::memset
                                     ? std::string(to_string(t.destination))
                                     : fmt::format("{} → {}", to_string(t.source), to_string(t.destination));
      const double rate = t.total_ns ? static_cast<double>(t.bytes) / (static_cast<double>(t.total_ns) * 1e-9) : 0;
      out +=
          fmt::format("<tr><td>{}{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}"
                      "</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                      to_string(t.kind), t.async ? "" : " (sync)", memory, format_count(static_cast<double>(t.count)),
                      format_bytes(static_cast<double>(t.bytes)), format_duration(static_cast<double>(t.total_ns)),
                      format_percent(r.analysis.process.fraction(t.attributed_ns)), format_bandwidth(rate));
    }
    out += "</tbody>\n</table>\n";
  }
  out += "</section>\n";
}

} // namespace

std::string render_html(const Report& r) {
  const std::vector<std::size_t> numbers = kernel_numbers(r.run);
  const std::vector<std::string> phases = kernel_phases(r.run);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>brrr: {}</title>\n", esc(command_line(r.run.info.command)));
  out += fmt::format("<script>{}</script>\n<style>{}</style>\n</head>\n<body>\n", error_script, page_style);
  header(out, r);
  verdict(out, r);
  attribution(out, r);
  roofline(out, r, numbers, phases);
  findings(out, r);
  phase_table(out, r, numbers);
  idle_gaps(out, r, numbers);
  kernel_table(out, r, numbers, phases);
  out += fmt::format("<footer class=\"note\"><p>brrr report, schema version {}; recorded by brrr {}; counters: {}.</p>"
                     "</footer>\n",
                     report_schema_version, esc(r.run.info.tool_version), esc(r.run.collection.counters_mode));
  out += fmt::format("<script>{}</script>\n</body>\n</html>\n", page_script);
  return out;
}

} // namespace brrr
