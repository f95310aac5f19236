#include "model/calibration.hpp"

#include <cmath>

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace brrr {

namespace {

// Ceilings measured with the SMs at work: the clocks seen during them are the clocks under
// load. Host-bound ceilings and host copies leave the SMs idle, at idle clocks.
bool loads_the_gpu(const CeilingSpec& spec) { return !spec.host_bound && spec.roof != RoofFigure::host_link; }

std::optional<std::pair<uint32_t, uint32_t>> clock_range(const Calibration& c,
                                                         std::optional<uint32_t> CeilingMeasurement::*clock) {
  std::optional<std::pair<uint32_t, uint32_t>> range;
  for (const auto& m : c.ceilings) {
    const auto* spec = find_ceiling_spec(m.id);
    const auto& mhz = m.*clock;
    if (!spec || !loads_the_gpu(*spec) || !mhz) continue;
    if (!range)
      range = std::pair{*mhz, *mhz};
    else
      range = std::pair{std::min(range->first, *mhz), std::max(range->second, *mhz)};
  }
  return range;
}

// NVML's reasons for holding the clocks down, over all measurements, each once.
std::string clock_limit_reasons(const Calibration& c) {
  std::vector<std::string> reasons;
  for (const auto& m : c.ceilings)
    for (const auto& r : m.clock_limits)
      if (std::find(reasons.begin(), reasons.end(), r) == reasons.end()) reasons.push_back(r);
  return reasons.empty() ? std::string() : fmt::format(" (NVML: {})", fmt::join(reasons, ", "));
}

// The q-quantile of sorted values, linearly interpolated between the two nearest.
double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(position);
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

std::vector<double> sorted(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values;
}

} // namespace

double ceiling_value(const CeilingSpec& spec, CeilingStatistic statistic, const std::vector<double>& runs) {
  const bool lower_is_better = spec.unit == CeilingUnit::ns;
  switch (statistic) {
  case CeilingStatistic::fast_decile:
    return quantile(sorted(runs), lower_is_better ? fast_decile_fraction : 1 - fast_decile_fraction);
  case CeilingStatistic::median:
    return quantile(sorted(runs), 0.5);
  case CeilingStatistic::best:
    break;
  }
  return lower_is_better ? *std::min_element(runs.begin(), runs.end()) : *std::max_element(runs.begin(), runs.end());
}

double ceiling_spread(const CeilingMeasurement& m) {
  if (m.runs.size() < 2 || m.value <= 0) return 0;
  const auto values = sorted(m.runs);
  return (quantile(values, 0.75) - quantile(values, 0.25)) / m.value;
}

std::string calibration_slug(const GpuInfo& gpu) {
  std::string slug;
  for (char ch : gpu.name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c))
      slug += static_cast<char>(std::tolower(c));
    else if (!slug.empty() && slug.back() != '-')
      slug += '-';
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "gpu";
  // MIG slices of one GPU share its name (with or without the slice's profile in it).
  if (gpu.mig) slug += fmt::format("{}-{}sm", slug.find("mig") == std::string::npos ? "-mig" : "", gpu.sm_count);
  return slug;
}

bool same_gpu(const GpuInfo& calibrated, const GpuInfo& gpu) {
  const bool same_name =
      std::equal(calibrated.name.begin(), calibrated.name.end(), gpu.name.begin(), gpu.name.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      });
  return same_name && calibrated.sm_clock_mhz == gpu.sm_clock_mhz && calibrated.sm_count == gpu.sm_count &&
         calibrated.mig == gpu.mig;
}

HardwareProfile calibrated_profile(const Calibration& c, const HardwareProfile* datasheet) {
  HardwareProfile p = datasheet ? *datasheet : HardwareProfile{};
  p.id = calibration_slug(c.gpu);
  p.compute_capability = c.gpu.compute_capability;
  p.match_names = {c.gpu.name};
  p.origin.clear();
  if (!datasheet) {
    p.name = c.gpu.name;
    const std::string source = "cudaDeviceProp of the calibrated GPU";
    p.sm_count = Figure{static_cast<double>(c.gpu.sm_count), source, {}};
    if (c.gpu.sm_clock_mhz) p.sm_boost_clock_mhz = Figure{static_cast<double>(c.gpu.sm_clock_mhz), source, {}};
    if (c.gpu.memory_bytes) p.memory_bytes = Figure{static_cast<double>(c.gpu.memory_bytes), source, {}};
    if (c.gpu.l2_bytes) p.l2_bytes = Figure{static_cast<double>(c.gpu.l2_bytes), source, {}};
  }
  // Measured values of an earlier calibration (a calibrated profile given as the datasheet)
  // must not mix with this one's.
  for (auto* f : {&p.dram_bytes_per_s, &p.l2_bytes_per_s, &p.host_link_bytes_per_s})
    if (*f) (*f)->measured.reset();
  for (auto& [key, figure] : p.peak_flops_per_s) figure.measured.reset();

  const std::string source =
      fmt::format("no datasheet figure: measured by brrr calibrate on {} on {}", c.gpu.name, c.date.substr(0, 10));
  auto raise = [&](std::optional<Figure>& f, double measured) {
    if (!f) f = Figure{measured, source, {}};
    f->measured = std::max(f->measured.value_or(0), measured);
  };
  for (const auto& m : c.ceilings) {
    const auto* spec = find_ceiling_spec(m.id);
    if (!spec || m.value <= 0) continue;
    switch (spec->roof) {
    case RoofFigure::dram:
      raise(p.dram_bytes_per_s, m.value);
      break;
    case RoofFigure::l2:
      raise(p.l2_bytes_per_s, m.value);
      break;
    case RoofFigure::host_link:
      raise(p.host_link_bytes_per_s, m.value);
      break;
    case RoofFigure::peak: {
      std::optional<Figure> figure;
      if (auto it = p.peak_flops_per_s.find({spec->precision, spec->pipe}); it != p.peak_flops_per_s.end())
        figure = it->second;
      raise(figure, m.value);
      p.peak_flops_per_s[{spec->precision, spec->pipe}] = *figure;
      break;
    }
    case RoofFigure::none:
      break;
    }
  }
  if (!p.dram_bytes_per_s)
    throw std::runtime_error("the calibration measured no DRAM bandwidth and no datasheet profile gives one");
  p.calibration = c;
  return p;
}

std::optional<std::pair<uint32_t, uint32_t>> sm_clock_range(const Calibration& c) {
  return clock_range(c, &CeilingMeasurement::sm_clock_mhz);
}

std::optional<std::pair<uint32_t, uint32_t>> memory_clock_range(const Calibration& c) {
  return clock_range(c, &CeilingMeasurement::memory_clock_mhz);
}

std::vector<std::string> calibration_warnings(const Calibration& c, const HardwareProfile* datasheet) {
  std::vector<std::string> out;
  if (!c.nvml)
    out.emplace_back("NVML (libnvidia-ml.so.1) could not be read: the clocks under load, the reasons they were held "
                     "down and a MIG slice cannot be checked");
  auto below_maximum = [&](const char* clock, std::optional<std::pair<uint32_t, uint32_t>> seen, uint32_t max_mhz) {
    if (!seen || max_mhz == 0 || seen->second >= low_clock_fraction * max_mhz) return;
    out.push_back(fmt::format("the {} clock stayed below its maximum: at most {} MHz under load, of {} MHz{}; the "
                              "ceilings hold at these clocks, not at the GPU's full clock (locked clocks, or a power "
                              "or thermal limit)",
                              clock, seen->second, max_mhz, clock_limit_reasons(c)));
  };
  below_maximum("SM", sm_clock_range(c), c.gpu.sm_clock_mhz);
  below_maximum("memory", memory_clock_range(c), c.max_memory_clock_mhz);
  if (c.gpu.mig)
    out.push_back(fmt::format("this GPU is a MIG slice ({} SMs): the ceilings are the slice's, not the whole GPU's, "
                              "and the datasheet figures (the whole GPU's) are higher by design",
                              c.gpu.sm_count));
  else if (datasheet && datasheet->sm_count && c.gpu.sm_count < datasheet->sm_count->value)
    out.push_back(fmt::format("this GPU has {} SMs, fewer than the {} of the datasheet profile ({}): its ratios to the "
                              "datasheet understate it",
                              c.gpu.sm_count, datasheet->sm_count->value, datasheet->name));
  return out;
}

std::vector<std::string> compare_with_previous(const Calibration& now, const Calibration& previous,
                                               const std::string& previous_origin) {
  std::vector<std::string> drops;
  std::vector<std::string> shifts;
  for (const auto& spec : ceiling_specs) {
    const auto* a = now.find(spec.id);
    const auto* b = previous.find(spec.id);
    if (!a || !b || a->value <= 0 || b->value <= 0) continue;
    // Above 1: faster now.
    const double ratio = spec.unit == CeilingUnit::ns ? b->value / a->value : a->value / b->value;
    const std::string change = fmt::format("{} {} against {} ({:+.0f}%)", spec.label, format_ceiling(spec, a->value),
                                           format_ceiling(spec, b->value), 100 * (ratio - 1));
    if (spec.host_bound) {
      if (std::fabs(ratio - 1) > host_shift_fraction) shifts.push_back(change);
    } else if (ratio < 1 - busy_drop_fraction) {
      drops.push_back(change);
    }
  }
  std::vector<std::string> out;
  if (!drops.empty())
    out.push_back(fmt::format("more than {} below the calibration of this GPU from {} ({}): {}; the GPU may be busy "
                              "(another process: see nvidia-smi) or throttled",
                              format_percent(busy_drop_fraction), previous.date, previous_origin,
                              fmt::join(drops, "; ")));
  if (!shifts.empty())
    out.push_back(fmt::format("host-bound ceilings more than {} away from the calibration of this GPU from {} ({}): "
                              "{}; the host is not as it was then (its CPU clock or its load): these say how fast "
                              "it was during this run",
                              format_percent(host_shift_fraction), previous.date, previous_origin,
                              fmt::join(shifts, "; ")));
  return out;
}

std::optional<double> datasheet_value(const HardwareProfile& p, const CeilingSpec& spec) {
  auto value_of = [](const std::optional<Figure>& f) { return f ? std::optional(f->value) : std::nullopt; };
  switch (spec.roof) {
  case RoofFigure::dram:
    return value_of(p.dram_bytes_per_s);
  case RoofFigure::l2:
    return value_of(p.l2_bytes_per_s);
  case RoofFigure::host_link:
    return value_of(p.host_link_bytes_per_s);
  case RoofFigure::peak: {
    auto it = p.peak_flops_per_s.find({spec.precision, spec.pipe});
    return it == p.peak_flops_per_s.end() ? std::nullopt : std::optional(it->second.value);
  }
  case RoofFigure::none:
    break;
  }
  return std::nullopt;
}

std::string format_ceiling(const CeilingSpec& spec, double value) {
  switch (spec.unit) {
  case CeilingUnit::bytes_per_s:
    return format_bandwidth(value);
  case CeilingUnit::flops_per_s:
    return spec.precision == Precision::int8 ? format_rate(value, "OP/s") : format_flop_rate(value);
  case CeilingUnit::per_s:
    return format_rate(value, "/s");
  case CeilingUnit::ns:
    return format_duration(value);
  }
  return {};
}

} // namespace brrr
