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
