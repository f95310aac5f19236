#pragma once
// The roofline as the HTML report and the terminal draw it: the roofs of the report's hardware
// profile under its ceilings, each kernel group's point (arithmetic intensity in FLOP per DRAM
// byte against achieved FLOP/s), the kernels that have no point and why, and log axes that
// hold them all. Both charts draw from this one model, so that they place kernels alike.

#include "report/report.hpp"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace brrr {

// A horizontal roof: one peak rate, shared by the precisions and pipes that have it.
struct ComputeRoof {
  double flops_per_s = 0;
  std::vector<std::pair<Precision, Pipe>> members;
  // Whether some kernel of the report did most of its FLOPs at one of the members.
  bool used = false;
  // "fp16/bf16 tensor", "fp64 tensor, fp32": precisions on CUDA cores are named alone.
  [[nodiscard]] std::string label() const;
};

// A sloped roof: a memory level's bandwidth (DRAM, L2).
struct MemoryRoof {
  std::string label;
  double bytes_per_s = 0;
};

struct KernelPoint {
  std::size_t kernel = 0; // index into Run::kernels
  double intensity = 0;   // FLOP per DRAM byte
  double flops_per_s = 0;
  double share = 0; // of the run's wall time
};

// A kernel group the roofline cannot show, with the reason in words.
struct UnplacedKernel {
  std::size_t kernel = 0;
  std::string reason;
};

// A logarithmic axis from 10^lo to 10^hi.
struct LogAxis {
  int lo = 0;
  int hi = 1;
  // Where `value` falls, from 0 at 10^lo to 1 at 10^hi (outside that range when it does).
  [[nodiscard]] double position(double value) const;
};

struct RooflineChart {
  std::vector<ComputeRoof> compute; // lowest peak first
  std::vector<MemoryRoof> memory;   // DRAM, then L2
  std::vector<KernelPoint> points;  // most time first
  std::vector<UnplacedKernel> unplaced;
  LogAxis intensity;
  LogAxis rate;
};

// The whole roofline of an analysed report. Without a hardware profile it has points but no
// roofs.
[[nodiscard]] RooflineChart roofline_chart(const Report& report);

// Axes that hold every point, every ridge (where a compute roof meets a memory roof) and
// every compute roof of `chart`, with some room around them. Called again by a chart that
// drops roofs it does not draw.
void fit_axes(RooflineChart& chart);

// Where the compute roof meets the memory roof, in FLOP per byte.
[[nodiscard]] inline double ridge_intensity(const ComputeRoof& c, const MemoryRoof& m) {
  return c.flops_per_s / m.bytes_per_s;
}

// A power of ten as an axis label: "0.01", "1", "100", "10k" for intensities (no unit) and
// "100G", "1P" for rates.
[[nodiscard]] std::string decade_label(int exponent, bool rate);

} // namespace brrr
