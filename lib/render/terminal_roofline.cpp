// The roofline drawn with characters for the text report. Lines are drawn on a canvas of
// Braille dots (2×4 per character cell) in Unicode, or of whole cells in ASCII, where the
// DRAM slope becomes `_-/` steps and the roofs rows of `-`; the ridge points, the kernels and
// their numbers are written over the lines. Only the roofs of the precisions the marked
// kernels ran at are drawn: a dozen rows cannot tell apart peaks a factor of two apart.

#include "render/layout.hpp"
#include "render/render.hpp"
#include "render/roofline_chart.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace brrr {

using namespace layout;

namespace {

// The plot's height in character cells (two rows a decade, within these bounds), and how
// many kernels get numbered marks.
constexpr std::size_t min_plot_rows = 10;
constexpr std::size_t max_plot_rows = 16;
constexpr std::size_t max_marks = 5;
constexpr std::size_t max_roof_label_width = 30;

struct Glyphs {
  const char* mark;
  const char* other_kernel;
  const char* ridge;
  const char* axis_tick;
  const char* axis;
  const char* corner;
  const char* base;
  const char* base_tick;
};
constexpr Glyphs unicode_glyphs{"●", "·", "◆", "┤", "│", "└", "─", "┬"};
constexpr Glyphs ascii_glyphs{"o", ".", "+", "+", "|", "+", "-", "+"};

// Character cells holding line strokes underneath text written over them. Coordinates are
// in cells, as doubles: x from the left edge, y from the top edge.
class Canvas {
public:
  Canvas(std::size_t columns, std::size_t rows, bool unicode)
      : columns_(columns), rows_(rows), unicode_(unicode), dots_(columns * rows, 0), strokes_(columns * rows, ' '),
        text_(columns * rows) {}

  [[nodiscard]] std::size_t columns() const { return columns_; }
  [[nodiscard]] std::size_t rows() const { return rows_; }

  // A straight line, clipped to the canvas.
  void line(double x0, double y0, double x1, double y1) {
    if (x1 < x0) {
      std::swap(x0, x1);
      std::swap(y0, y1);
    }
    if (unicode_)
      braille_line(x0, y0, x1, y1);
    else if (std::fabs(y1 - y0) < 1e-9)
      for (double x = std::floor(x0); x < x1; x += 1) stroke(x, y0, '-');
    else
      ascii_slope(x0, y0, x1, y1);
  }

  [[nodiscard]] bool has_text(std::size_t column, std::size_t row) const {
    return column < columns_ && row < rows_ && !text_[row * columns_ + column].empty();
  }
  // One character (a UTF-8 sequence) over whatever the cell holds.
  void put(std::size_t column, std::size_t row, std::string glyph) {
    if (column < columns_ && row < rows_) text_[row * columns_ + column] = std::move(glyph);
  }
  void write(std::size_t column, std::size_t row, const std::string& ascii_text) {
    for (std::size_t i = 0; i < ascii_text.size(); ++i) put(column + i, row, std::string(1, ascii_text[i]));
  }

  [[nodiscard]] std::string row_text(std::size_t row) const {
    std::string out;
    for (std::size_t c = 0; c < columns_; ++c) {
      const std::size_t i = row * columns_ + c;
      if (!text_[i].empty())
        out += text_[i];
      else if (unicode_ && dots_[i] != 0)
        out += braille(dots_[i]);
      else
        out += unicode_ ? ' ' : strokes_[i];
    }
    return out;
  }

private:
  void braille_line(double x0, double y0, double x1, double y1) {
    // Enough samples that consecutive ones fall on the same or adjacent dots.
    const auto steps = static_cast<int>(std::ceil(std::max(std::fabs(x1 - x0) * 2, std::fabs(y1 - y0) * 4))) * 2 + 1;
    for (int i = 0; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps;
      dot(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
    }
  }

  void dot(double x, double y) {
    if (x < 0 || y < 0) return;
    const auto dx = static_cast<std::size_t>(x * 2);
    const auto dy = static_cast<std::size_t>(y * 4);
    if (dx >= columns_ * 2 || dy >= rows_ * 4) return;
    // Braille dot bits: the left column is dots 1, 2, 3, 7, the right one 4, 5, 6, 8.
    static constexpr uint8_t left[4] = {0x01, 0x02, 0x04, 0x40};
    static constexpr uint8_t right[4] = {0x08, 0x10, 0x20, 0x80};
    dots_[(dy / 4) * columns_ + dx / 2] |= (dx % 2 ? right : left)[dy % 4];
  }

  static std::string braille(uint8_t bits) {
    const char32_t c = 0x2800 + bits; // three bytes in UTF-8: E2 A0..A3 80..BF
    return {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
            static_cast<char>(0x80 | (c & 0x3F))};
  }

  // A rising line in whole cells: within a row, `_` in the lower half and `-` in the upper
  // half; `/` where it climbs into the next row.
  void ascii_slope(double x0, double y0, double x1, double y1) {
    const double slope = (y1 - y0) / (x1 - x0);
    for (double column = std::floor(x0); column < x1; column += 1) {
      const double left = std::max(column, x0);
      const double right = std::min(column + 1, x1);
      const double y_left = y0 + (left - x0) * slope;
      const double y_right = y0 + (right - x0) * slope;
      const double top = std::min(y_left, y_right);
      const double bottom = std::max(y_left, y_right);
      if (std::floor(top) == std::floor(bottom)) {
        const double middle = (top + bottom) / 2;
        stroke(column, middle, middle - std::floor(middle) >= 0.5 ? '_' : '-');
      } else {
        for (double row = std::floor(top) + 1; row <= std::floor(bottom); row += 1) stroke(column, row, '/');
      }
    }
  }

  void stroke(double x, double y, char c) {
    if (x < 0 || y < 0) return;
    const auto column = static_cast<std::size_t>(x);
    const auto row = static_cast<std::size_t>(y);
    if (column < columns_ && row < rows_) strokes_[row * columns_ + column] = c;
  }

  std::size_t columns_;
  std::size_t rows_;
  bool unicode_;
  std::vector<uint8_t> dots_;
  std::vector<char> strokes_;
  std::vector<std::string> text_;
};

// Maps values to canvas coordinates: each decade of an axis to the same number of cells,
// 10^lo at the centre of the first cell, 10^hi at the centre of the last.
struct Scale {
  const RooflineChart& chart;
  std::size_t columns;
  std::size_t rows;
  [[nodiscard]] double x(double intensity) const {
    return chart.intensity.position(intensity) * static_cast<double>(columns - 1) + 0.5;
  }
  [[nodiscard]] double y(double flops_per_s) const {
    return (1 - chart.rate.position(flops_per_s)) * static_cast<double>(rows - 1) + 0.5;
  }
  [[nodiscard]] static std::size_t cell(double v) { return v < 0 ? 0 : static_cast<std::size_t>(v); }
};

std::string roof_label(const ComputeRoof& roof) { return roof.label() + " " + format_flop_rate(roof.flops_per_s); }

} // namespace

std::string render_terminal_roofline(const Report& r, const RenderOptions& o) {
  RooflineChart chart = roofline_chart(r);
  if (chart.points.empty())
    return wrap("No kernel has counters with FLOPs and DRAM bytes to place on it.", o.width, 2, 2) + "\n";
  const Glyphs& g = o.unicode ? unicode_glyphs : ascii_glyphs;

  // The marked kernels, and the roofs of their precisions: only those are drawn.
  const std::size_t marked = std::min({max_marks, o.top, chart.points.size()});
  std::vector<ComputeRoof> roofs;
  for (const auto& roof : chart.compute)
    for (std::size_t i = 0; i < marked; ++i) {
      const KernelAnalysis& a = r.analysis.kernels[chart.points[i].kernel];
      if (std::find(roof.members.begin(), roof.members.end(), std::pair(a.precision, a.pipe)) != roof.members.end()) {
        roofs.push_back(roof);
        break;
      }
    }
  chart.compute = roofs;
  if (chart.memory.size() > 1) chart.memory.resize(1); // DRAM only: the points' intensity is per DRAM byte
  fit_axes(chart);
  const MemoryRoof* dram = chart.memory.empty() ? nullptr : &chart.memory.front();

  // Left gutter: decade labels and the axis; right: the roofs' labels.
  std::size_t label_width = 0;
  for (int e = chart.rate.lo; e <= chart.rate.hi; ++e)
    label_width = std::max(label_width, decade_label(e, true).size());
  std::size_t right_width = 0;
  for (const auto& roof : roofs)
    right_width = std::max(right_width, std::min(display_width(roof_label(roof)), max_roof_label_width) + 1);
  const std::size_t gutter = label_width + 2;
  const std::size_t columns = o.width > gutter + right_width + 20 ? o.width - gutter - right_width - 2 : 20;
  const std::size_t plot_rows =
      std::clamp(static_cast<std::size_t>(2 * (chart.rate.hi - chart.rate.lo)), min_plot_rows, max_plot_rows);
  Canvas canvas(columns, plot_rows, o.unicode);
  const Scale scale{chart, columns, plot_rows};
  const double left = scale.x(std::pow(10.0, chart.intensity.lo)) - 0.5;
  const double right = static_cast<double>(columns);

  // The DRAM slope, up to the highest drawn roof, and each roof from its ridge rightwards.
  if (dram) {
    const double top = roofs.empty() ? std::pow(10.0, chart.rate.hi) : roofs.back().flops_per_s;
    const double x_top = top / dram->bytes_per_s;
    const double x_from = std::pow(10.0, chart.intensity.lo);
    canvas.line(scale.x(x_from), scale.y(dram->bytes_per_s * x_from), scale.x(x_top), scale.y(top));
  }
  for (const auto& roof : roofs) {
    const double from = dram ? scale.x(ridge_intensity(roof, *dram)) : left;
    canvas.line(from, scale.y(roof.flops_per_s), right, scale.y(roof.flops_per_s));
  }
  if (dram)
    for (const auto& roof : roofs)
      canvas.put(Scale::cell(scale.x(ridge_intensity(roof, *dram))), Scale::cell(scale.y(roof.flops_per_s)), g.ridge);

  // The other kernels as small dots, then the marked ones with their numbers; kernels that
  // fall in one cell share its mark.
  for (std::size_t i = marked; i < chart.points.size(); ++i) {
    const auto& p = chart.points[i];
    canvas.put(Scale::cell(scale.x(p.intensity)), Scale::cell(scale.y(p.flops_per_s)), g.other_kernel);
  }
  std::map<std::pair<std::size_t, std::size_t>, std::string> marks; // (row, column) → "1,3"
  for (std::size_t i = 0; i < marked; ++i) {
    const auto& p = chart.points[i];
    std::string& label = marks[{Scale::cell(scale.y(p.flops_per_s)), Scale::cell(scale.x(p.intensity))}];
    label += (label.empty() ? "" : ",") + std::to_string(i + 1);
  }
  for (const auto& [cell, label] : marks) canvas.put(cell.second, cell.first, g.mark);
  for (const auto& [cell, label] : marks) {
    const auto [row, column] = cell;
    const bool fits_right = column + 1 + label.size() <= columns;
    canvas.write(fits_right ? column + 1 : column - std::min(column, label.size()), row, label);
  }

  // The roofs' labels, on the roof's row or the nearest free one.
  std::vector<std::string> right_labels(plot_rows);
  for (auto it = roofs.rbegin(); it != roofs.rend(); ++it) {
    const std::size_t row = Scale::cell(scale.y(it->flops_per_s));
    for (std::size_t candidate : {row, row + 1, row - 1})
      if (candidate < plot_rows && right_labels[candidate].empty()) {
        right_labels[candidate] = clip(roof_label(*it), max_roof_label_width, o.unicode);
        break;
      }
  }

  std::vector<std::string> tick_labels(plot_rows);
  for (int e = chart.rate.hi; e >= chart.rate.lo; --e) {
    const std::size_t row = Scale::cell(scale.y(std::pow(10.0, e)));
    if (row < plot_rows && tick_labels[row].empty()) tick_labels[row] = decade_label(e, true);
  }
  std::string out = std::string(gutter - 1, ' ') + "FLOP/s\n";
  for (std::size_t row = 0; row < plot_rows; ++row) {
    std::string line = std::string(label_width - std::min(label_width, tick_labels[row].size()), ' ') +
                       tick_labels[row] + " " + (tick_labels[row].empty() ? g.axis : g.axis_tick) +
                       canvas.row_text(row);
    if (!right_labels[row].empty()) line += " " + right_labels[row];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }

  // The intensity axis: a tick and a label under each decade, where the labels do not touch.
  std::string base = std::string(label_width + 1, ' ') + g.corner;
  std::string labels(label_width + 2, ' ');
  std::size_t labels_end = 0;
  std::vector<bool> tick(columns, false);
  for (int e = chart.intensity.lo; e <= chart.intensity.hi; ++e) {
    const std::size_t column = Scale::cell(scale.x(std::pow(10.0, e)));
    if (column >= columns) continue;
    tick[column] = true;
    const std::string label = decade_label(e, false);
    const std::size_t at = gutter + column - std::min(gutter + column, label.size() / 2);
    if (at < labels_end + 1 && labels_end > 0) continue;
    if (labels.size() < at) labels.append(at - labels.size(), ' ');
    labels = labels.substr(0, at) + label;
    labels_end = at + label.size();
  }
  for (std::size_t c = 0; c < columns; ++c) base += tick[c] ? g.base_tick : g.base;
  out += base + "\n" + labels + "  FLOP/B\n";

  // What the lines are, then the marked kernels.
  std::string key = dram ? fmt::format("slope: DRAM {}", format_bandwidth(dram->bytes_per_s)) : "";
  std::string ridges;
  for (const auto& roof : roofs)
    ridges += fmt::format("{}{:.3g} FLOP/B ({})", ridges.empty() ? "" : ", ", dram ? ridge_intensity(roof, *dram) : 0.0,
                          roof_label(roof));
  if (dram && !ridges.empty()) key += fmt::format("; {} ridges: {}", g.ridge, ridges);
  if (!key.empty()) out += wrap(key, o.width, 4, 2) + "\n";
  const std::size_t details_width = 42;
  const std::size_t name_width = o.width > details_width + 30 ? o.width - details_width - 8 : 22;
  for (std::size_t i = 0; i < marked; ++i) {
    const auto& p = chart.points[i];
    const KernelAnalysis& a = r.analysis.kernels[p.kernel];
    const std::string number = fmt::format("{}{}", g.mark, i + 1);
    const std::string roof = a.bound == BoundClass::unknown ? "" : format_percent(a.roof_fraction) + " of roof";
    out += "  " + pad_right(number, 4) +
           pad_right(clip(r.run.kernels[p.kernel].name, name_width, o.unicode), name_width) +
           fmt::format(" {:<8} {:>12} {:>5} of the time", to_string(a.bound), roof, format_percent(p.share)) + "\n";
  }
  if (!chart.unplaced.empty()) {
    double share = 0;
    for (const auto& u : chart.unplaced) share += r.analysis.process.fraction(r.run.kernels[u.kernel].attributed_ns);
    out += wrap(fmt::format("Not on the chart: {} kernel group{} ({} of the time) without counters, FLOPs or DRAM "
                            "bytes; TOP KERNELS lists them.",
                            chart.unplaced.size(), chart.unplaced.size() == 1 ? "" : "s", format_percent(share)),
                o.width, 2, 2) +
           "\n";
  }
  return out;
}

} // namespace brrr
