// brrr-counter-cost: what one hardware-counter sample costs through CUPTI's range profiler, by
// metric set (and so by the number of replay passes it needs) and by how much device memory the
// program holds (kernel replay saves and restores memory between passes). It drives the range
// profiler directly, the way brrr's injection library does (auto range, kernel replay, one range
// per sample, the profiler left enabled while the config changes between samples) or in the
// variants the options choose, and prints one markdown table row per (metric set, kernel): the
// median time of each step of a sample.
//
// Usage: brrr-counter-cost [--ballast-gib N] [--reps N] [--toggle] [--user-replay] [--batch N] [--quick]
// (see Options below).
//
// The metric sets are brrr's own (lib/model/counters.cpp) and the single-pass groups they split
// into on GH100 (found with cuptiProfilerHostGetNumOfPasses): the SASS instruction counters
// cannot share a pass with anything else, and the six tensor-path counters take a pass each.

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

// Each CUPTI step is named on stderr before it runs, so that a crash inside CUPTI shows where.
#define STEP(what) std::fprintf(stderr, "  step: %s\n", what)

struct MetricSet {
  const char* name;
  std::vector<const char*> metrics;
};

std::vector<const char*> joined(std::initializer_list<const std::vector<const char*>*> parts) {
  std::vector<const char*> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// How a sample is taken, from the command line.
struct Options {
  double ballast_gib = 0;
  int reps = 5;
  // The range profiler is enabled before each sample and disabled after it, instead of staying
  // enabled for the whole run.
  bool toggle = false;
  // CUPTI_UserReplay: the program's launch runs once per pass (here: once, for one-pass sets)
  // instead of CUPTI replaying it inside the launch call.
  bool user_replay = false;
  // Launches measured between one Start and one Stop, each its own range.
  int batch = 1;
  // Only the one-pass, two-pass and full sets.
  bool quick = false;
};

const char* usage =
    "usage: brrr-counter-cost [--ballast-gib N] [--reps N] [--toggle] [--user-replay] [--batch N] [--quick]\n";

} // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--ballast-gib") == 0 && has_value) {
      o.ballast_gib = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--reps") == 0 && has_value) {
      o.reps = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--batch") == 0 && has_value) {
      o.batch = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--toggle") == 0) {
      o.toggle = true;
    } else if (std::strcmp(argv[i], "--user-replay") == 0) {
      o.user_replay = true;
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      o.quick = true;
    } else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  CHECK(cudaSetDevice(0));
  CHECK(cudaFree(nullptr));
  // Memory the program holds but the kernels never touch, as PyTorch's caching allocator holds it.
  void* ballast = nullptr;
  const size_t ballast_bytes = static_cast<size_t>(o.ballast_gib * double(1ull << 30));
  if (ballast_bytes > 0) {
    CHECK(cudaMalloc(&ballast, ballast_bytes));
    CHECK(cudaMemset(ballast, 1, ballast_bytes));
  }
  constexpr size_t copy_bytes = size_t{256} << 20;
  float* tiny_out = nullptr;
  float4* in = nullptr;
  float4* out = nullptr;
  CHECK(cudaMalloc(&tiny_out, 256 * sizeof(float)));
  CHECK(cudaMalloc(&in, copy_bytes));
  CHECK(cudaMalloc(&out, copy_bytes));
  CHECK(cudaMemset(in, 0, copy_bytes));
  CHECK(cudaDeviceSynchronize());
  CUcontext context = nullptr;
  cuCtxGetCurrent(&context);

  // What a launch costs the host with no profiler, then with the range profiler enabled but
  // not started (the state brrr leaves it in between samples).
  auto launch_loop_us = [&] {
    constexpr int launches = 20000;
    CHECK(cudaDeviceSynchronize());
    const double t0 = now_ms();
    for (int i = 0; i < launches; ++i) tiny_kernel<<<1, 256>>>(tiny_out);
    CHECK(cudaDeviceSynchronize());
    return (now_ms() - t0) * 1000.0 / launches;
  };
  launch_loop_us();
  const double plain_launch_us = launch_loop_us();

  auto init = PARAMS(CUpti_Profiler_Initialize_Params);
  CUPTI_CHECK(cuptiProfilerInitialize(&init));
  const Chip chip = chip_of(context);

  std::vector<MetricSet> sets = {
      {"memory + tensor instructions", memory_and_tensor_instructions},
      {"SASS FLOP instructions", sass_flops},
      {"both", joined({&sass_flops, &memory_and_tensor_instructions})},
      {"one tensor path (bf16)", {"sm__ops_path_tensor_src_bf16_dst_fp32.sum"}},
      {"tensor paths", tensor_paths},
      {"all (brrr today)", joined({&sass_flops, &memory_and_tensor_instructions, &tensor_paths})},
  };
  if (o.quick) sets = {sets[0], sets[2], sets[5]};
  // Every config is made before profiling starts: the host objects live to the end.
  std::vector<Config> configs;
  for (const MetricSet& set : sets) configs.push_back(make_config(chip.name, chip.availability, set.metrics));

  CUpti_RangeProfiler_Object* object = nullptr;
  auto enable = [&] {
    STEP("enable");
    auto enable_params = PARAMS(CUpti_RangeProfiler_Enable_Params);
    enable_params.ctx = context;
    CUPTI_CHECK(cuptiRangeProfilerEnable(&enable_params));
    object = enable_params.pRangeProfilerObject;
  };
  auto disable = [&] {
    STEP("disable");
    auto disable_params = PARAMS(CUpti_RangeProfiler_Disable_Params);
    disable_params.pRangeProfilerObject = object;
    CUPTI_CHECK(cuptiRangeProfilerDisable(&disable_params));
    object = nullptr;
  };
  enable();
  launch_loop_us();
  const double enabled_launch_us = launch_loop_us();
  if (o.toggle) disable();

  std::printf("ballast %.1f GiB, %d repetitions, chip %s, %s replay, %s, %d launch(es) per sample; times in ms, "
              "medians\n\nlaunch loop: %.2f µs/launch plain, %.2f µs/launch with the range profiler enabled, idle\n\n",
              o.ballast_gib, o.reps, chip.name, o.user_replay ? "user" : "kernel",
              o.toggle ? "enabled for each sample only" : "enabled throughout", o.batch, plain_launch_us,
              enabled_launch_us);
  std::printf("| metric set | metrics | passes | kernel | plain launch+sync | enable | config | start | launch | sync "
              "| stop | decode | evaluate | disable | per launch |\n"
              "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  for (size_t set_index = 0; set_index < sets.size(); ++set_index) {
    const MetricSet& set = sets[set_index];
    Config& config = configs[set_index];
    std::fprintf(stderr, "set %s: %zu passes\n", set.name, config.passes);
    std::vector<uint8_t> counter_data;
    for (int kernel = 0; kernel < 2; ++kernel) {
      auto launch = [&] {
        for (int b = 0; b < o.batch; ++b) {
          if (kernel == 0)
            tiny_kernel<<<1, 256>>>(tiny_out);
          else
            copy_kernel<<<132 * 8, 256>>>(in, out, copy_bytes / sizeof(float4));
        }
      };
      std::vector<double> plain, enabling, configure, start, run, sync, stop, decode, evaluate, disabling, total;
      for (int r = 0; r < o.reps; ++r) {
        double t0 = now_ms();
        launch();
        CHECK(cudaDeviceSynchronize());
        plain.push_back(now_ms() - t0);
      }
      std::vector<double> values(config.metrics.size());
      for (int r = 0; r < o.reps; ++r) {
        double t0 = now_ms();
        if (o.toggle) enable();
        double t1 = now_ms();
        // A counter data image belongs to the profiler object it was sized with.
        if (counter_data.empty() || o.toggle) {
          STEP("counter data size");
          auto size = PARAMS(CUpti_RangeProfiler_GetCounterDataSize_Params);
          size.pRangeProfilerObject = object;
          size.pMetricNames = config.metrics.data();
          size.numMetrics = config.metrics.size();
          size.maxNumOfRanges = o.batch;
          size.maxNumRangeTreeNodes = o.batch;
          CUPTI_CHECK(cuptiRangeProfilerGetCounterDataSize(&size));
          counter_data.resize(size.counterDataSize);
        }
        STEP("counter data initialize and set config");
        set_config(object, config, counter_data, o.user_replay ? CUPTI_UserReplay : CUPTI_KernelReplay, o.batch);
        double t2 = now_ms(), t_start = 0, t_launch = 0, t_sync = 0, t_stop = 0;
        // Kernel replay finishes every pass inside the launch; user replay needs the launches
        // repeated once per pass.
        for (bool all_passes = false; !all_passes;) {
          double a = now_ms();
          STEP("start");
          start_ranges(object);
          double b = now_ms();
          launch();
          double c = now_ms();
          CHECK(cudaDeviceSynchronize());
          double d = now_ms();
          STEP("stop");
          const bool submitted = stop_ranges(object);
          double e = now_ms();
          t_start += b - a, t_launch += c - b, t_sync += d - c, t_stop += e - d;
          all_passes = !o.user_replay || submitted;
        }
        double t3 = now_ms();
        STEP("decode");
        auto decode_params = PARAMS(CUpti_RangeProfiler_DecodeData_Params);
        decode_params.pRangeProfilerObject = object;
        CUPTI_CHECK(cuptiRangeProfilerDecodeData(&decode_params));
        double t4 = now_ms();
        auto evaluate_params = PARAMS(CUpti_Profiler_Host_EvaluateToGpuValues_Params);
        evaluate_params.pHostObject = config.host;
        evaluate_params.pCounterDataImage = counter_data.data();
        evaluate_params.counterDataImageSize = counter_data.size();
        evaluate_params.rangeIndex = 0;
        evaluate_params.ppMetricNames = config.metrics.data();
        evaluate_params.numMetrics = config.metrics.size();
        evaluate_params.pMetricValues = values.data();
        CUPTI_CHECK(cuptiProfilerHostEvaluateToGpuValues(&evaluate_params));
        double t5 = now_ms();
        if (o.toggle) disable();
        double t6 = now_ms();
        enabling.push_back(t1 - t0);
        configure.push_back(t2 - t1);
        start.push_back(t_start);
        run.push_back(t_launch);
        sync.push_back(t_sync);
        stop.push_back(t_stop);
        decode.push_back(t4 - t3);
        evaluate.push_back(t5 - t4);
        disabling.push_back(t6 - t5);
        total.push_back((t6 - t0) / o.batch);
      }
      std::printf(
          "| %s | %zu | %zu | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
          set.name, config.metrics.size(), config.passes, kernel == 0 ? "tiny (1×256)" : "copy 256 MiB", median(plain),
          median(enabling), median(configure), median(start), median(run), median(sync), median(stop), median(decode),
          median(evaluate), median(disabling), median(total));
      // The values of the last sample's first range, so that a reader can see the counters answered.
      std::fprintf(stderr, "%s / %s:", set.name, kernel == 0 ? "tiny" : "copy");
      for (size_t i = 0; i < values.size(); ++i) std::fprintf(stderr, " %s=%.4g", config.metrics[i], values[i]);
      std::fprintf(stderr, "\n");
      std::fflush(stdout);
    }
  }
  // Whether the launch cost of an enabled profiler goes away once it is disabled for good.
  if (!o.toggle) {
    disable();
    launch_loop_us();
    std::printf("\nlaunch loop after the range profiler was disabled: %.2f µs/launch\n", launch_loop_us());
  }
  return 0;
}
