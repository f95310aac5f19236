// FLOPs are counted from executed instructions per thread (CUDA cores) and from the tensor
// pipe's operation counters (tensor cores), as Nsight Compute's roofline does: a fused
// multiply-add is two operations, an add or a multiply one. Tensor-path metrics already
// count two operations per multiply-accumulate.

#include "model/counters.hpp"

#include <array>

namespace brrr {

namespace {

// Tensor-path metrics as the H100 (GH100) names them (`ncu --query-metrics --chip gh100`): one
// per source precision, counting two operations per multiply-accumulate.
constexpr std::array<FlopMetric, 15> flop_table{{
    {"sm__sass_thread_inst_executed_op_dfma_pred_on.sum", Precision::fp64, Pipe::cuda_core, 2},
    {"sm__sass_thread_inst_executed_op_dadd_pred_on.sum", Precision::fp64, Pipe::cuda_core, 1},
    {"sm__sass_thread_inst_executed_op_dmul_pred_on.sum", Precision::fp64, Pipe::cuda_core, 1},
    {"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", Precision::fp32, Pipe::cuda_core, 2},
    {"sm__sass_thread_inst_executed_op_fadd_pred_on.sum", Precision::fp32, Pipe::cuda_core, 1},
    {"sm__sass_thread_inst_executed_op_fmul_pred_on.sum", Precision::fp32, Pipe::cuda_core, 1},
    // Half-precision instructions are packed pairs (HFMA2, HADD2, HMUL2): two lanes a thread.
    // Measured on the H100: a __hfma2 kernel over 64 Mi halves counts 3.36e7 hfma thread
    // instructions for its 1.34e8 analytic FLOPs (bench/results/counters-accuracy-h100.md).
    {"sm__sass_thread_inst_executed_op_hfma_pred_on.sum", Precision::fp16, Pipe::cuda_core, 4},
    {"sm__sass_thread_inst_executed_op_hadd_pred_on.sum", Precision::fp16, Pipe::cuda_core, 2},
    {"sm__sass_thread_inst_executed_op_hmul_pred_on.sum", Precision::fp16, Pipe::cuda_core, 2},
    {"sm__ops_path_tensor_src_fp64.sum", Precision::fp64, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_tf32_dst_fp32.sum", Precision::tf32, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp16.sum", Precision::fp16, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_bf16_dst_fp32.sum", Precision::bf16, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp8.sum", Precision::fp8, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_int8.sum", Precision::int8, Pipe::tensor, 1},
}};

constexpr std::string_view dram_read_metric = "dram__bytes_read.sum";
constexpr std::string_view dram_write_metric = "dram__bytes_write.sum";
constexpr std::string_view l2_metric = "lts__t_bytes.sum";
constexpr std::string_view duration_metric = "gpu__time_duration.sum";

constexpr auto all_metrics = [] {
  std::array<std::string_view, flop_table.size() + 4> out{};
  std::size_t i = 0;
  for (const auto& m : flop_table) out[i++] = m.metric;
  out[i++] = dram_read_metric;
  out[i++] = dram_write_metric;
  out[i++] = l2_metric;
  out[i++] = duration_metric;
  return out;
}();

} // namespace

std::span<const std::string_view> counter_metrics() { return all_metrics; }
std::span<const FlopMetric> flop_metrics() { return flop_table; }

bool derive_launch_counters(std::span<const std::pair<std::string_view, double>> values, LaunchCounters& out) {
  out = {};
  bool has_dram_read = false;
  bool has_dram_write = false;
  for (const auto& [name, value] : values) {
    for (const auto& m : flop_table)
      if (m.metric == name) out.flops.add(m.precision, m.pipe, m.weight * value);
    if (name == dram_read_metric) {
      out.dram_read_bytes = value;
      has_dram_read = true;
    } else if (name == dram_write_metric) {
      out.dram_write_bytes = value;
      has_dram_write = true;
    } else if (name == l2_metric) {
      out.l2_bytes = value;
    } else if (name == duration_metric) {
      out.duration_ns = value;
    }
  }
  return has_dram_read && has_dram_write;
}

} // namespace brrr
