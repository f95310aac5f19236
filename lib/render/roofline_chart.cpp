// The roofline model both charts draw: roofs from the hardware profile, points from the
// analysis, and axes that fit them.

#include "render/roofline_chart.hpp"

#include "render/layout.hpp"
#include "render/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace brrr {

using namespace layout;

namespace {

// Room around the outermost point or roof, in decades, so that nothing sits on an edge.
constexpr double axis_margin_decades = 0.15;

LogAxis axis_around(double lowest, double highest) {
  LogAxis axis;
  axis.lo = static_cast<int>(std::floor(std::log10(lowest) - axis_margin_decades));
  axis.hi = static_cast<int>(std::ceil(std::log10(highest) + axis_margin_decades));
  return axis;
}

std::string unplaced_reason(const KernelGroup& k, const KernelAnalysis& a) {
  if (!a.has_counters)
    return k.counters_missing_reason.empty() ? "no hardware counters"
                                             : "no hardware counters: " + k.counters_missing_reason;
  if (a.flops <= 0) return "no FLOPs measured: its arithmetic intensity is 0, which a log axis cannot show";
  if (a.dram_bytes <= 0) return "no DRAM traffic measured: its arithmetic intensity has no finite value";
  return "no timed launch: its FLOP/s are unknown";
}

} // namespace

std::string ComputeRoof::label() const {
  // Precisions grouped by pipe, tensor cores first: "fp16/bf16 tensor", "fp64 tensor, fp32".
  std::string out;
  for (auto pipe : {Pipe::tensor, Pipe::cuda_core}) {
    std::string precisions;
    for (const auto& [p, u] : members)
      if (u == pipe) precisions += (precisions.empty() ? "" : "/") + std::string(to_string(p));
    if (precisions.empty()) continue;
    if (!out.empty()) out += ", ";
    out += precisions + (pipe == Pipe::tensor ? " tensor" : "");
  }
  return out;
}

double LogAxis::position(double value) const { return (std::log10(value) - lo) / static_cast<double>(hi - lo); }

RooflineChart roofline_chart(const Report& r) {
  RooflineChart chart;
  const Ceilings ceilings = r.analysis.ceilings;
  if (r.profile) {
    std::map<double, ComputeRoof> by_peak;
    for (const auto& [key, figure] : r.profile->peak_flops_per_s) {
      const double peak = HardwareProfile::pick(figure, ceilings);
      if (peak <= 0) continue;
      ComputeRoof& roof = by_peak[peak];
      roof.flops_per_s = peak;
      roof.members.push_back(key);
    }
    for (auto& [peak, roof] : by_peak) {
      std::sort(roof.members.begin(), roof.members.end());
      chart.compute.push_back(std::move(roof));
    }
    if (auto bw = r.profile->dram_bandwidth(ceilings); bw && *bw > 0) chart.memory.push_back({"DRAM", *bw});
    if (auto bw = r.profile->l2_bandwidth(ceilings); bw && *bw > 0) chart.memory.push_back({"L2", *bw});
  }

  for (std::size_t i : kernels_by_time(r.run)) {
    const KernelGroup& k = r.run.kernels[i];
    const KernelAnalysis& a = r.analysis.kernels[i];
    if (!a.has_counters || a.flops <= 0 || a.dram_bytes <= 0 || a.achieved_flops_per_s <= 0) {
      chart.unplaced.push_back({i, unplaced_reason(k, a)});
      continue;
    }
    chart.points.push_back(
        {i, a.flops / a.dram_bytes, a.achieved_flops_per_s, r.analysis.process.fraction(k.attributed_ns)});
    for (auto& roof : chart.compute)
      if (std::find(roof.members.begin(), roof.members.end(), std::pair(a.precision, a.pipe)) != roof.members.end())
        roof.used = true;
  }
  fit_axes(chart);
  return chart;
}

void fit_axes(RooflineChart& chart) {
  std::vector<double> intensities;
  std::vector<double> rates;
  for (const auto& p : chart.points) {
    intensities.push_back(p.intensity);
    rates.push_back(p.flops_per_s);
  }
  for (const auto& c : chart.compute) {
    rates.push_back(c.flops_per_s);
    for (const auto& m : chart.memory) intensities.push_back(ridge_intensity(c, m));
  }
  // An empty chart still gets axes: 0.1 to 1000 FLOP/B, 1 GFLOP/s to 1 PFLOP/s.
  if (intensities.empty()) intensities = {0.1, 1000};
  if (rates.empty()) rates = {1e9, 1e15};
  const auto [x_lo, x_hi] = std::minmax_element(intensities.begin(), intensities.end());
  const auto [y_lo, y_hi] = std::minmax_element(rates.begin(), rates.end());
  chart.intensity = axis_around(*x_lo, *x_hi);
  chart.rate = axis_around(*y_lo, *y_hi);
}

std::string decade_label(int exponent, bool rate) {
  if (!rate && exponent < 0) return fmt::format("{:.{}f}", std::pow(10.0, exponent), -exponent);
  static constexpr std::array<const char*, 7> prefixes{"", "k", "M", "G", "T", "P", "E"};
  if (exponent < 0) return fmt::format("{:g}", std::pow(10.0, exponent));
  const auto group = static_cast<std::size_t>(exponent / 3);
  if (group >= prefixes.size()) return fmt::format("1e{}", exponent);
  return fmt::format("{:.0f}{}", std::pow(10.0, exponent % 3), prefixes[group]);
}

} // namespace brrr
