#pragma once
// From hardware-counter values to FLOPs by precision and bytes. The table of metrics and
// their weights is the single place that says how brrr counts work; docs/counters.md
// explains each row.

#include "model/units.hpp"

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brrr {

// One metric's contribution to the FLOPs of one precision and pipe: ops = weight × value.
struct FlopMetric {
  std::string_view metric;
  Precision precision;
  Pipe pipe;
  double weight;
};

// Every metric the collector asks for, in the order the injection library requests them.
[[nodiscard]] std::span<const std::string_view> counter_metrics();
[[nodiscard]] std::span<const FlopMetric> flop_metrics();

// The figures that none of the metrics a chip provides feeds ("fp8 tensor FLOPs", "DRAM
// reads"): the table names a figure by several metrics where chips name it differently, so a
// chip lacking some of those names lacks no figure. `provided(metric)` says whether the chip
// has a metric of the table.
template <typename Provided> [[nodiscard]] std::vector<std::string> figures_without_metrics(Provided provided);

// What one kernel launch did, as read from its counters.
struct LaunchCounters {
  FlopCounts flops;
  double dram_read_bytes = 0;
  double dram_write_bytes = 0;
  double l2_bytes = 0;
  double duration_ns = 0;
};

// Derives a launch's FLOPs and bytes from its metric values (metric name → value).
// Metrics absent from the sample count as not measured, not as zero, for the figures they
// feed: a sample without DRAM metrics leaves the DRAM figures at zero and returns false.
[[nodiscard]] bool derive_launch_counters(std::span<const std::pair<std::string_view, double>> values,
                                          LaunchCounters& out);

// The metrics that feed each figure, for figures_without_metrics.
struct CounterFigure {
  std::string name;
  std::vector<std::string_view> metrics;
};
[[nodiscard]] std::vector<CounterFigure> counter_figures();

template <typename Provided> std::vector<std::string> figures_without_metrics(Provided provided) {
  std::vector<std::string> out;
  for (const CounterFigure& f : counter_figures()) {
    bool any = false;
    for (std::string_view m : f.metrics) any = any || provided(m);
    if (!any) out.push_back(f.name);
  }
  return out;
}

} // namespace brrr
