#pragma once
// What brrr makes of a calibration: the hardware profile that holds its measured ceilings
// beside the datasheet's, the warnings about how it was measured (clocks, MIG, a busy GPU),
// and the rule by which a calibration is matched to the GPU of a run.

#include "model/ceilings.hpp"
#include "model/hardware.hpp"

#include <optional>
#include <string>
#include <vector>

namespace brrr {

// A calibration that comes out this much below an earlier one of the same GPU, on any ceiling
// the GPU alone decides, was probably measured on a busy or throttled GPU.
inline constexpr double busy_drop_fraction = 0.10;

// Host-bound ceilings this much away from an earlier calibration of the same GPU, in either
// direction, say that the host changed between the two: on the lent VMs two runs a minute apart
// differed by 3-30% on every one of them when the host did, and by 0.4-1.7% when it did not
// (bench/results/calibrate-h100.md).
inline constexpr double host_shift_fraction = 0.10;

// The highest SM or memory clock seen under load below this fraction of the maximum: the
// clocks were locked or held down all along, and the ceilings understate the GPU.
inline constexpr double low_clock_fraction = 0.95;

// A ceiling's value from its runs, by `statistic` (model/ceilings.hpp): the best run (the
// highest rate, or the lowest latency for a ceiling in ns), the fast decile (the 90th
// percentile of a rate, the 10th of a latency) or the median, interpolated between the two
// nearest runs. `runs` must not be empty.
[[nodiscard]] double ceiling_value(const CeilingSpec& spec, CeilingStatistic statistic,
                                   const std::vector<double>& runs);

// How much a ceiling's runs vary: their interquartile range (between the 25th and 75th
// percentiles, interpolated) relative to the ceiling; 0 for a single run. It says how steady
// the machine was while it was measured, not how far off the ceiling is: for a host-bound
// ceiling it is the host's noise across the trials, which the fast decile is made to
// withstand, so a large spread there does not make the ceiling itself unsteady.
[[nodiscard]] double ceiling_spread(const CeilingMeasurement& measurement);

// The file name (without .json) a calibration of this GPU is kept under: its name in lower
// case, every run of other characters one hyphen, and for a MIG slice "mig" (unless the name
// says it) and its SM count: "nvidia-h100-80gb-hbm3", "nvidia-a100-sxm4-40gb-mig-1g-5gb-14sm".
[[nodiscard]] std::string calibration_slug(const GpuInfo& gpu);

// Whether a calibration made on `calibrated` applies to `gpu`: the same name (ignoring case),
// maximum SM clock, SM count and MIG state. The GPU's identity (its UUID) does not matter:
// the ceilings belong to the model at those clocks.
[[nodiscard]] bool same_gpu(const GpuInfo& calibrated, const GpuInfo& gpu);

// The profile `brrr calibrate` writes: the datasheet profile (when one is known for the GPU)
// with each roof's measured value, the highest of the ceilings that measure it. A figure the
// datasheet profile lacks is added with the measured value as its value too. Throws
// std::runtime_error when neither gives a DRAM bandwidth, which every profile needs.
[[nodiscard]] HardwareProfile calibrated_profile(const Calibration& calibration, const HardwareProfile* datasheet);

// How the measurements may mislead, one sentence each: clocks that never reached their
// maximum, a MIG slice, fewer SMs than the datasheet profile's GPU, clocks that could not be
// read.
[[nodiscard]] std::vector<std::string> calibration_warnings(const Calibration& calibration,
                                                            const HardwareProfile* datasheet);

// The warnings from comparing `now` with `previous`, an earlier calibration of the same GPU
// (`previous_origin` names its file): one when a ceiling the GPU decides is more than
// busy_drop_fraction below it (a busy or throttled GPU), one when host-bound ceilings moved by
// more than host_shift_fraction either way (another host, or the same host under another load).
[[nodiscard]] std::vector<std::string> compare_with_previous(const Calibration& now, const Calibration& previous,
                                                             const std::string& previous_origin);

// The documented value of the profile figure a ceiling measures (the datasheet's, for a
// built-in profile); empty when the profile has no such figure.
[[nodiscard]] std::optional<double> datasheet_value(const HardwareProfile& profile, const CeilingSpec& spec);

// A ceiling's value in its unit: "2.86 TB/s", "803 TFLOP/s", "1.57 POP/s" (int8), "252 k/s",
// "3.96 µs".
[[nodiscard]] std::string format_ceiling(const CeilingSpec& spec, double value);

// The lowest and highest SM clock NVML reported during the measurements; empty without NVML.
[[nodiscard]] std::optional<std::pair<uint32_t, uint32_t>> sm_clock_range(const Calibration& calibration);
[[nodiscard]] std::optional<std::pair<uint32_t, uint32_t>> memory_clock_range(const Calibration& calibration);

} // namespace brrr
