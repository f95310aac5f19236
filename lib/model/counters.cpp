// FLOPs are counted from executed instructions per thread (CUDA cores) and from the tensor
// pipe's operation counters (tensor cores), as Nsight Compute's roofline does: a fused
// multiply-add is two operations, an add or a multiply one. Tensor-path metrics already
// count two operations per multiply-accumulate.

#include "model/counters.hpp"

#include <algorithm>
#include <array>

namespace brrr {

namespace {

// Tensor-path metrics, one per source precision, counting two operations per
// multiply-accumulate. Chips name them differently (`cuptiProfilerHostGetBaseMetrics` per chip,
// checked by tests/test_counter_metrics.cpp): the H100 (GH100) has one fp16 metric where the A100,
// the Ada and the Blackwell chips split it by accumulator, and fp8 is one metric on GH100 and
// AD10x, split by accumulator on GB20x, and shared with fp4 and fp6 on GB100. The injection
// library asks for every name and a chip answers for those it has, so no precision is counted
// twice: no chip has both a precision's whole metric and its parts.
constexpr std::array<FlopMetric, 21> flop_table{{
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
    {"sm__ops_path_tensor_src_fp16_dst_fp16.sum", Precision::fp16, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp16_dst_fp32.sum", Precision::fp16, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_bf16_dst_fp32.sum", Precision::bf16, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp8.sum", Precision::fp8, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp8_dst_fp16.sum", Precision::fp8, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp8_dst_fp32.sum", Precision::fp8, Pipe::tensor, 1},
    // GB100 counts fp8 together with fp4 and fp6 (docs/counters.md): reported as fp8.
    {"sm__ops_path_tensor_src_fp4_fp6_fp8_dst_fp16.sum", Precision::fp8, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_fp4_fp6_fp8_dst_fp32.sum", Precision::fp8, Pipe::tensor, 1},
    {"sm__ops_path_tensor_src_int8.sum", Precision::int8, Pipe::tensor, 1},
}};

// DRAM traffic, as most chips name it and as GB20x does.
constexpr std::array<std::string_view, 2> dram_read_metrics{"dram__bytes_read.sum", "dram__bytes_op_read.sum"};
constexpr std::array<std::string_view, 2> dram_write_metrics{"dram__bytes_write.sum", "dram__bytes_op_write.sum"};
constexpr std::string_view l2_metric = "lts__t_bytes.sum";
constexpr std::string_view duration_metric = "gpu__time_duration.sum";

constexpr auto all_metrics = [] {
  std::array<std::string_view, flop_table.size() + dram_read_metrics.size() + dram_write_metrics.size() + 2> out{};
  std::size_t i = 0;
  for (const auto& m : flop_table) out[i++] = m.metric;
  for (const auto m : dram_read_metrics) out[i++] = m;
  for (const auto m : dram_write_metrics) out[i++] = m;
  out[i++] = l2_metric;
  out[i++] = duration_metric;
  return out;
}();

bool is_one_of(std::string_view name, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace

std::span<const std::string_view> counter_metrics() { return all_metrics; }
std::span<const FlopMetric> flop_metrics() { return flop_table; }

std::vector<CounterFigure> counter_figures() {
  std::vector<CounterFigure> out;
  for (const auto& m : flop_table) {
    std::string name =
        std::string(to_string(m.precision)) + (m.pipe == Pipe::tensor ? " tensor" : " CUDA-core") + " FLOPs";
    auto it = std::find_if(out.begin(), out.end(), [&](const CounterFigure& f) { return f.name == name; });
    if (it == out.end()) it = out.insert(out.end(), CounterFigure{std::move(name), {}});
    it->metrics.push_back(m.metric);
  }
  out.push_back({"DRAM reads", {dram_read_metrics.begin(), dram_read_metrics.end()}});
  out.push_back({"DRAM writes", {dram_write_metrics.begin(), dram_write_metrics.end()}});
  out.push_back({"L2 traffic", {l2_metric}});
  out.push_back({"kernel duration", {duration_metric}});
  return out;
}

bool derive_launch_counters(std::span<const std::pair<std::string_view, double>> values, LaunchCounters& out) {
  out = {};
  bool has_dram_read = false;
  bool has_dram_write = false;
  for (const auto& [name, value] : values) {
    for (const auto& m : flop_table)
      if (m.metric == name) out.flops.add(m.precision, m.pipe, m.weight * value);
    if (is_one_of(name, dram_read_metrics)) {
      out.dram_read_bytes = value;
      has_dram_read = true;
    } else if (is_one_of(name, dram_write_metrics)) {
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
