#pragma once
// The ceilings `brrr calibrate` measures, as one table with stable ids. The ids are the keys of
// a calibration's `measured.ceilings` (docs/report-format.md) and the names the calibration
// kernels (brrr-calibrate-kernels) report their results under, so both include this header.

#include "model/units.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace brrr {

enum class CeilingUnit : uint8_t {
  bytes_per_s, // bandwidth
  flops_per_s, // arithmetic throughput (int8: operations), a fused multiply-add counted as two
  per_s,       // events per second
  ns           // latency: lower is better
};

// The hardware-profile figure a ceiling measures. A figure's measured value is the highest of
// the ceilings that measure it: the DRAM roof is the fastest of read, write and copy, because
// a kernel that reaches one of them has reached the memory's ceiling.
enum class RoofFigure : uint8_t { none, dram, l2, host_link, peak };

struct CeilingSpec {
  std::string_view id;
  // What the table row says.
  std::string_view label;
  CeilingUnit unit;
  RoofFigure roof;
  // For RoofFigure::peak: which peak of the profile.
  Precision precision = Precision::fp32;
  Pipe pipe = Pipe::cuda_core;
  // Timed on the host's clock or bound by the host (its CPU, its memory): launches,
  // synchronization and pageable copies vary more from run to run than what the GPU alone
  // decides, so comparisons with an earlier calibration leave them out.
  bool host_bound = false;
};

inline constexpr std::array<CeilingSpec, 22> ceiling_specs{{
    {"dram_read_bytes_per_s", "DRAM read", CeilingUnit::bytes_per_s, RoofFigure::dram},
    {"dram_write_bytes_per_s", "DRAM write", CeilingUnit::bytes_per_s, RoofFigure::dram},
    {"dram_copy_bytes_per_s", "DRAM copy (read + write)", CeilingUnit::bytes_per_s, RoofFigure::dram},
    {"l2_read_bytes_per_s", "L2 read", CeilingUnit::bytes_per_s, RoofFigure::l2},
    {"shared_read_bytes_per_s", "shared memory read", CeilingUnit::bytes_per_s, RoofFigure::none},
    {"fp64_cuda_core_flops_per_s", "FP64 FMA, CUDA cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::fp64,
     Pipe::cuda_core},
    {"fp32_cuda_core_flops_per_s", "FP32 FMA, CUDA cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::fp32,
     Pipe::cuda_core},
    {"fp16_cuda_core_flops_per_s", "FP16 FMA (half2), CUDA cores", CeilingUnit::flops_per_s, RoofFigure::peak,
     Precision::fp16, Pipe::cuda_core},
    {"bf16_cuda_core_flops_per_s", "BF16 FMA (bf16x2), CUDA cores", CeilingUnit::flops_per_s, RoofFigure::peak,
     Precision::bf16, Pipe::cuda_core},
    {"fp64_tensor_flops_per_s", "FP64 GEMM, tensor cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::fp64,
     Pipe::tensor},
    {"tf32_tensor_flops_per_s", "TF32 GEMM, tensor cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::tf32,
     Pipe::tensor},
    {"fp16_tensor_flops_per_s", "FP16 GEMM, tensor cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::fp16,
     Pipe::tensor},
    {"bf16_tensor_flops_per_s", "BF16 GEMM, tensor cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::bf16,
     Pipe::tensor},
    {"fp8_tensor_flops_per_s", "FP8 (E4M3) GEMM, tensor cores", CeilingUnit::flops_per_s, RoofFigure::peak,
     Precision::fp8, Pipe::tensor},
    {"int8_tensor_flops_per_s", "INT8 GEMM, tensor cores", CeilingUnit::flops_per_s, RoofFigure::peak, Precision::int8,
     Pipe::tensor},
    {"htod_pinned_bytes_per_s", "host to device, pinned", CeilingUnit::bytes_per_s, RoofFigure::host_link},
    {"dtoh_pinned_bytes_per_s", "device to host, pinned", CeilingUnit::bytes_per_s, RoofFigure::host_link},
    {"htod_pageable_bytes_per_s", "host to device, pageable", CeilingUnit::bytes_per_s, RoofFigure::none,
     Precision::fp32, Pipe::cuda_core, true},
    {"dtoh_pageable_bytes_per_s", "device to host, pageable", CeilingUnit::bytes_per_s, RoofFigure::none,
     Precision::fp32, Pipe::cuda_core, true},
    {"launch_rate_per_s", "kernel launches, back to back", CeilingUnit::per_s, RoofFigure::none, Precision::fp32,
     Pipe::cuda_core, true},
    {"launch_latency_ns", "kernel launch and wait", CeilingUnit::ns, RoofFigure::none, Precision::fp32, Pipe::cuda_core,
     true},
    {"sync_round_trip_ns", "synchronization round trip", CeilingUnit::ns, RoofFigure::none, Precision::fp32,
     Pipe::cuda_core, true},
}};

// How a ceiling is taken from its runs. A ceiling is the best the machine sustains, and
// interference (a clock dip, another process, the hypervisor) only ever makes a run slower.
// GPU-bound ceilings have a few long runs, each averaging over its own jitter: the best run.
// Host-bound ones have hundreds of trials of about a millisecond, on a host whose scheduler
// interrupts some of them: the undisturbed trials gather at the fast end, the disturbed ones
// trail off to the slow side, and how many are disturbed changes from one calibration to the
// next. Their ceiling is the fast decile, the edge of the fastest tenth of the trials (the
// 10th percentile of a latency, the 90th of a rate): it lies among the undisturbed trials as
// long as a tenth of them were, so it does not move with how many others were disturbed (a
// median does), and it is what tens of trials reached, not one lucky trial (a minimum is).
// `median` is read from calibrations of brrr before the fast decile, never written.
enum class CeilingStatistic : uint8_t { best, fast_decile, median };
inline constexpr std::array<CeilingStatistic, 3> ceiling_statistics{
    {CeilingStatistic::best, CeilingStatistic::fast_decile, CeilingStatistic::median}};

// The share of the trials the fast decile leaves on its fast side.
inline constexpr double fast_decile_fraction = 0.10;

[[nodiscard]] constexpr CeilingStatistic statistic_of(const CeilingSpec& spec) {
  return spec.host_bound ? CeilingStatistic::fast_decile : CeilingStatistic::best;
}

[[nodiscard]] constexpr std::string_view to_string(CeilingStatistic statistic) {
  switch (statistic) {
  case CeilingStatistic::fast_decile:
    return "fast_decile";
  case CeilingStatistic::median:
    return "median";
  case CeilingStatistic::best:
    break;
  }
  return "best";
}

// The spec of an id; nullptr for an id this brrr does not know (a newer brrr's calibration).
[[nodiscard]] constexpr const CeilingSpec* find_ceiling_spec(std::string_view id) {
  for (const auto& spec : ceiling_specs)
    if (spec.id == id) return &spec;
  return nullptr;
}

// A ceiling's place in the table, for keeping lists in its order; ids this brrr does not know
// come after all the others.
[[nodiscard]] constexpr std::size_t ceiling_position(std::string_view id) {
  const auto* spec = find_ceiling_spec(id);
  return spec ? static_cast<std::size_t>(spec - ceiling_specs.data()) : ceiling_specs.size();
}

} // namespace brrr
