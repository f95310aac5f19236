// brrr-counter-session: how CUPTI's range profiler behaves with user replay and auto range over
// a program's own launches, the design that measures one single-pass metric group per launch
// (docs/counters.md). For each single-pass group of brrr's metrics on this chip, one session
// (Start, N launches of a mix of kernels, Stop) is timed, and the program asks what the
// injection library needs to know:
//   - what each launch call costs inside a session, and whether the kernel has finished when
//     the call returns (then the kernel runs inside the time brrr cuts out as its own);
//   - what a range is named, so that ranges can be matched to launches;
//   - whether a memset, a copy and a CUDA graph launch inside the session add ranges.
//
// Usage: brrr-counter-session [--launches N] [--extra] [--reverse] [--toggle]
// (--launches: default 32; --extra: a probe group; --reverse: groups in reverse order;
// --toggle: the profiler disabled and enabled again between sessions)

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_check.h"
#include "cupti_bench.h"

namespace {

// brrr's metrics split greedily into groups that each need one pass on this chip; a metric
// that needs more than one pass alone is left out (reported).
std::vector<std::vector<const char*>> single_pass_groups(const Chip& chip, std::vector<const char*> metrics) {
  std::vector<std::vector<const char*>> groups;
  for (const char* m : metrics) {
    bool placed = false;
    for (auto& g : groups) {
      auto trial = g;
      trial.push_back(m);
      if (make_config(chip.name, chip.availability, trial).passes == 1) {
        g = trial;
        placed = true;
        break;
      }
    }
    if (placed) continue;
    if (make_config(chip.name, chip.availability, {m}).passes != 1) {
      std::printf("- `%s` needs more than one pass alone: left out\n", m);
      continue;
    }
    groups.push_back({m});
  }
  return groups;
}

} // namespace

int main(int argc, char** argv) {
  int launches = 32;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--launches") == 0 && i + 1 < argc) launches = std::max(2, std::atoi(argv[++i]));
  CHECK(cudaSetDevice(0));
  CHECK(cudaFree(nullptr));
  CUcontext context = nullptr;
  cuCtxGetCurrent(&context);
  const size_t copy_bytes = size_t{256} << 20;
  float *in = nullptr, *out = nullptr, *tiny_out = nullptr;
  CHECK(cudaMalloc(&in, copy_bytes));
  CHECK(cudaMalloc(&out, copy_bytes));
  CHECK(cudaMalloc(&tiny_out, 4096));
  CHECK(cudaMemset(in, 0, copy_bytes));
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  // A two-kernel graph, to see whether a graph launch inside a session adds ranges.
  cudaGraph_t graph;
  cudaGraphExec_t graph_exec;
  CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  tiny_kernel<<<1, 256, 0, stream>>>(tiny_out);
  tiny_kernel<<<1, 256, 0, stream>>>(tiny_out);
  CHECK(cudaStreamEndCapture(stream, &graph));
  CHECK(cudaGraphInstantiate(&graph_exec, graph, 0));
  auto launch = [&](int i) {
    if (i % 2 == 0)
      tiny_kernel<<<1, 256, 0, stream>>>(tiny_out);
    else
      copy_kernel<<<132 * 8, 256, 0, stream>>>(reinterpret_cast<const float4*>(in), reinterpret_cast<float4*>(out),
                                               copy_bytes / sizeof(float4));
  };
  // Plain cost of the same launches, for comparison.
  std::vector<double> plain_call;
  for (int i = 0; i < launches; ++i) {
    double a = now_ms();
    launch(i);
    plain_call.push_back(now_ms() - a);
  }
  CHECK(cudaStreamSynchronize(stream));

  auto init = PARAMS(CUpti_Profiler_Initialize_Params);
  CUPTI_CHECK(cuptiProfilerInitialize(&init));
  const Chip chip = chip_of(context);
  std::vector<const char*> metrics = {"gpu__time_duration.sum",
                                      "dram__bytes_read.sum",
                                      "dram__bytes_write.sum",
                                      "lts__t_bytes.sum",
                                      "sm__inst_executed_pipe_tensor_op_hmma.sum",
                                      "sm__inst_executed_pipe_tensor_op_gmma.sum",
                                      "sm__inst_executed_pipe_tensor_op_imma.sum",
                                      "sm__inst_executed_pipe_tensor_op_dmma.sum"};
  metrics.insert(metrics.end(), sass_flops.begin(), sass_flops.end());
  metrics.insert(metrics.end(), tensor_paths.begin(), tensor_paths.end());
  double t0 = now_ms();
  auto groups = single_pass_groups(chip, metrics);
  // Probes of why a group's values may come back NaN: a tensor path with the duration beside it.
  bool toggle = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--extra") == 0)
      groups.push_back({"sm__ops_path_tensor_src_fp64.sum", "gpu__time_duration.sum"});
    else if (std::strcmp(argv[i], "--reverse") == 0)
      std::reverse(groups.begin(), groups.end());
    else if (std::strcmp(argv[i], "--toggle") == 0)
      toggle = true;
  }
  std::printf("chip %s: %zu single-pass groups, found in %.1f ms; plain launch call %.4f ms (median)\n\n", chip.name,
              groups.size(), now_ms() - t0, median(plain_call));

  // The profiler keeps pointers to the config and counter data images it was given (a freed
  // one crashed libnvperf_host at the next SetConfig): they live to the end.
  std::vector<Config> configs;
  for (const auto& group : groups) configs.push_back(make_config(chip.name, chip.availability, group));
  std::vector<std::vector<uint8_t>> counter_data_images;
  counter_data_images.reserve(groups.size() + 2);
  auto enable = PARAMS(CUpti_RangeProfiler_Enable_Params);
  enable.ctx = context;
  CUPTI_CHECK(cuptiRangeProfilerEnable(&enable));
  CUpti_RangeProfiler_Object* object = enable.pRangeProfilerObject;
  std::printf("| group | metrics | set config | start | launch call (median) | done at return | then sync | "
              "stop | decode | ranges | first range names |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  // Variant 0: kernels only, for every group; variants 1 and 2 (group 0): a memset and a copy,
  // then a graph launch, after the kernels.
  for (size_t run = 0; run < groups.size() + 2; ++run) {
    const size_t g = run < groups.size() ? run : 0;
    const int variant = run < groups.size() ? 0 : static_cast<int>(run - groups.size() + 1);
    Config& config = configs[g];
    // --toggle: a profiler object of its own for each session (disable, enable).
    double toggled = now_ms();
    if (toggle && run > 0) {
      auto disable = PARAMS(CUpti_RangeProfiler_Disable_Params);
      disable.pRangeProfilerObject = object;
      CUPTI_CHECK(cuptiRangeProfilerDisable(&disable));
      auto again = PARAMS(CUpti_RangeProfiler_Enable_Params);
      again.ctx = context;
      CUPTI_CHECK(cuptiRangeProfilerEnable(&again));
      object = again.pRangeProfilerObject;
    }
    toggled = now_ms() - toggled;
    const size_t max_ranges = static_cast<size_t>(launches) + 16;
    auto size = PARAMS(CUpti_RangeProfiler_GetCounterDataSize_Params);
    size.pRangeProfilerObject = object;
    size.pMetricNames = config.metrics.data();
    size.numMetrics = config.metrics.size();
    size.maxNumOfRanges = max_ranges;
    size.maxNumRangeTreeNodes = max_ranges;
    CUPTI_CHECK(cuptiRangeProfilerGetCounterDataSize(&size));
    std::vector<uint8_t>& counter_data = counter_data_images.emplace_back(size.counterDataSize);
    double a = now_ms();
    set_config(object, config, counter_data, CUPTI_UserReplay, max_ranges);
    double b = now_ms();
    start_ranges(object);
    double c = now_ms();
    std::vector<double> call;
    int done = 0;
    for (int i = 0; i < launches; ++i) {
      double x = now_ms();
      launch(i);
      call.push_back(now_ms() - x);
      if (i % 2 == 1) done += cudaStreamQuery(stream) == cudaSuccess ? 1 : 0;
    }
    double d = now_ms();
    if (variant >= 1) {
      CHECK(cudaMemsetAsync(tiny_out, 0, 4096, stream));
      CHECK(cudaMemcpyAsync(out, in, 4096, cudaMemcpyDeviceToDevice, stream));
    }
    if (variant == 2) CHECK(cudaGraphLaunch(graph_exec, stream));
    CHECK(cudaStreamSynchronize(stream));
    double e = now_ms();
    auto stop = PARAMS(CUpti_RangeProfiler_Stop_Params);
    stop.pRangeProfilerObject = object;
    const CUptiResult stopped = cuptiRangeProfilerStop(&stop);
    const bool all_passes = stop.isAllPassSubmitted != 0;
    double f = now_ms();
    if (stopped != CUPTI_SUCCESS) {
      const char* why = nullptr;
      cuptiGetResultString(stopped, &why);
      std::printf("| %zu (variant %d) | stop failed: %s |\n", g, variant, why ? why : "?");
      std::fflush(stdout);
      continue;
    }
    auto decode = PARAMS(CUpti_RangeProfiler_DecodeData_Params);
    decode.pRangeProfilerObject = object;
    CUPTI_CHECK(cuptiRangeProfilerDecodeData(&decode));
    double h = now_ms();
    auto info = PARAMS(CUpti_RangeProfiler_GetCounterDataInfo_Params);
    info.pCounterDataImage = counter_data.data();
    info.counterDataImageSize = counter_data.size();
    CUPTI_CHECK(cuptiRangeProfilerGetCounterDataInfo(&info));
    std::string names;
    for (size_t r = 0; r < info.numTotalRanges; ++r) {
      auto range = PARAMS(CUpti_RangeProfiler_CounterData_GetRangeInfo_Params);
      range.pCounterDataImage = counter_data.data();
      range.counterDataImageSize = counter_data.size();
      range.rangeIndex = r;
      range.rangeDelimiter = "/";
      CUPTI_CHECK(cuptiRangeProfilerCounterDataGetRangeInfo(&range));
      if (r < 3 || r + 4 >= info.numTotalRanges)
        names += std::string(r ? ", " : "") + std::to_string(r) + ":" + (range.rangeName ? range.rangeName : "(null)");
    }
    if (toggle) std::printf("| (disable and enable: %.2f ms) |\n", toggled);
    std::printf("| %zu (variant %d) | %zu | %.2f | %.2f | %.3f | %d/%d | %.2f | %.2f | %.2f | %zu (%s) | %s |\n", g,
                variant, groups[g].size(), b - a, c - b, median(call), done, launches / 2, e - d, f - e, h - f,
                info.numTotalRanges, all_passes ? "all passes" : "passes left", names.c_str());
    // The values of the first two ranges (the tiny kernel, then the copy), and how many values
    // of all ranges came back as NaN, so that a reader sees whether the counters answered.
    std::vector<double> values(config.metrics.size());
    size_t nan_values = 0;
    for (size_t r = 0; r < info.numTotalRanges; ++r) {
      auto evaluate = PARAMS(CUpti_Profiler_Host_EvaluateToGpuValues_Params);
      evaluate.pHostObject = config.host;
      evaluate.pCounterDataImage = counter_data.data();
      evaluate.counterDataImageSize = counter_data.size();
      evaluate.rangeIndex = r;
      evaluate.ppMetricNames = config.metrics.data();
      evaluate.numMetrics = config.metrics.size();
      evaluate.pMetricValues = values.data();
      CUPTI_CHECK(cuptiProfilerHostEvaluateToGpuValues(&evaluate));
      for (double v : values) nan_values += v != v ? 1 : 0;
      if (r < 2) {
        std::fprintf(stderr, "group %zu variant %d, range %zu:", g, variant, r);
        for (size_t i = 0; i < values.size(); ++i) std::fprintf(stderr, " %s=%.4g", config.metrics[i], values[i]);
        std::fprintf(stderr, "\n");
      }
    }
    std::fprintf(stderr, "group %zu variant %d: %zu NaN values in %zu ranges\n", g, variant, nan_values,
                 static_cast<size_t>(info.numTotalRanges));
    std::fflush(stdout);
  }
  return 0;
}
