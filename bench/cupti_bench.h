// What the CUPTI benchmark programs share: checked CUPTI calls, parameter structs, brrr's metric
// lists (lib/model/counters.cpp), the range profiler's per-chip config for a metric set, and the
// kernels and timing helpers they measure with. For .cu files: it defines kernels.
#pragma once

#include <cuda.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

#include <errno.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

// Any failing CUPTI call ends the benchmark with its name: a partial table would mislead.
#define CUPTI_CHECK(call)                                                                                              \
  do {                                                                                                                 \
    CUptiResult r_ = (call);                                                                                           \
    if (r_ != CUPTI_SUCCESS) {                                                                                         \
      const char* s_ = nullptr;                                                                                        \
      cuptiGetResultString(r_, &s_);                                                                                   \
      std::fprintf(stderr, "%s: %s failed: %s\n", program_invocation_short_name, #call, s_ ? s_ : "?");                \
      std::exit(1);                                                                                                    \
    }                                                                                                                  \
  } while (0)

// A one-block kernel that does almost nothing, for what a launch costs.
static __global__ void tiny_kernel(float* out) { out[threadIdx.x] = threadIdx.x * 0.5f; }

// A grid-stride copy, for a kernel that moves DRAM.
static __global__ void copy_kernel(const float4* __restrict__ in, float4* __restrict__ out, size_t count) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x)
    out[i] = in[i];
}

inline double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <typename Params> Params params(size_t size) {
  Params p{};
  p.structSize = size;
  return p;
}
#define PARAMS(type) params<type>(type##_STRUCT_SIZE)

inline const std::vector<const char*> sass_flops = {
    "sm__sass_thread_inst_executed_op_dfma_pred_on.sum", "sm__sass_thread_inst_executed_op_dadd_pred_on.sum",
    "sm__sass_thread_inst_executed_op_dmul_pred_on.sum", "sm__sass_thread_inst_executed_op_ffma_pred_on.sum",
    "sm__sass_thread_inst_executed_op_fadd_pred_on.sum", "sm__sass_thread_inst_executed_op_fmul_pred_on.sum",
    "sm__sass_thread_inst_executed_op_hfma_pred_on.sum", "sm__sass_thread_inst_executed_op_hadd_pred_on.sum",
    "sm__sass_thread_inst_executed_op_hmul_pred_on.sum"};
inline const std::vector<const char*> memory_and_tensor_instructions = {"dram__bytes_read.sum",
                                                                        "dram__bytes_write.sum",
                                                                        "lts__t_bytes.sum",
                                                                        "gpu__time_duration.sum",
                                                                        "sm__inst_executed_pipe_tensor_op_hmma.sum",
                                                                        "sm__inst_executed_pipe_tensor_op_gmma.sum",
                                                                        "sm__inst_executed_pipe_tensor_op_imma.sum",
                                                                        "sm__inst_executed_pipe_tensor_op_dmma.sum"};
inline const std::vector<const char*> tensor_paths = {
    "sm__ops_path_tensor_src_fp64.sum", "sm__ops_path_tensor_src_tf32_dst_fp32.sum",
    "sm__ops_path_tensor_src_fp16.sum", "sm__ops_path_tensor_src_bf16_dst_fp32.sum",
    "sm__ops_path_tensor_src_fp8.sum",  "sm__ops_path_tensor_src_int8.sum"};

// All of brrr's metrics together (8 passes on GH100).
inline std::vector<const char*> all_metrics() {
  std::vector<const char*> out = sass_flops;
  out.insert(out.end(), memory_and_tensor_instructions.begin(), memory_and_tensor_instructions.end());
  out.insert(out.end(), tensor_paths.begin(), tensor_paths.end());
  return out;
}

struct Config {
  std::vector<uint8_t> image;
  size_t passes = 0;
  CUpti_Profiler_Host_Object* host = nullptr;
  std::vector<const char*> metrics;
};

inline Config make_config(const char* chip, const std::vector<uint8_t>& availability,
                          const std::vector<const char*>& m) {
  Config c;
  c.metrics = m;
  auto init = PARAMS(CUpti_Profiler_Host_Initialize_Params);
  init.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
  init.pChipName = chip;
  init.pCounterAvailabilityImage = availability.data();
  CUPTI_CHECK(cuptiProfilerHostInitialize(&init));
  c.host = init.pHostObject;
  auto add = PARAMS(CUpti_Profiler_Host_ConfigAddMetrics_Params);
  add.pHostObject = c.host;
  add.ppMetricNames = c.metrics.data();
  add.numMetrics = c.metrics.size();
  CUPTI_CHECK(cuptiProfilerHostConfigAddMetrics(&add));
  auto size = PARAMS(CUpti_Profiler_Host_GetConfigImageSize_Params);
  size.pHostObject = c.host;
  CUPTI_CHECK(cuptiProfilerHostGetConfigImageSize(&size));
  c.image.resize(size.configImageSize);
  auto image = PARAMS(CUpti_Profiler_Host_GetConfigImage_Params);
  image.pHostObject = c.host;
  image.configImageSize = c.image.size();
  image.pConfigImage = c.image.data();
  CUPTI_CHECK(cuptiProfilerHostGetConfigImage(&image));
  auto passes = PARAMS(CUpti_Profiler_Host_GetNumOfPasses_Params);
  passes.configImageSize = c.image.size();
  passes.pConfigImage = c.image.data();
  CUPTI_CHECK(cuptiProfilerHostGetNumOfPasses(&passes));
  c.passes = passes.numOfPasses;
  return c;
}

// Makes the counter data image ready and sets the config for the next Start: auto range, one
// nesting level, `ranges` ranges a pass.
inline void set_config(CUpti_RangeProfiler_Object* object, const Config& config, std::vector<uint8_t>& counter_data,
                       CUpti_ProfilerReplayMode replay, size_t ranges) {
  auto image_init = PARAMS(CUpti_RangeProfiler_CounterDataImage_Initialize_Params);
  image_init.pRangeProfilerObject = object;
  image_init.counterDataSize = counter_data.size();
  image_init.pCounterData = counter_data.data();
  CUPTI_CHECK(cuptiRangeProfilerCounterDataImageInitialize(&image_init));
  auto set_config = PARAMS(CUpti_RangeProfiler_SetConfig_Params);
  set_config.pRangeProfilerObject = object;
  set_config.configSize = config.image.size();
  set_config.pConfig = config.image.data();
  set_config.counterDataImageSize = counter_data.size();
  set_config.pCounterDataImage = counter_data.data();
  set_config.range = CUPTI_AutoRange;
  set_config.replayMode = replay;
  set_config.maxRangesPerPass = ranges;
  set_config.numNestingLevels = 1;
  set_config.minNestingLevel = 1;
  CUPTI_CHECK(cuptiRangeProfilerSetConfig(&set_config));
}

// GPU 0's chip name and its counter availability image for a context, which a config needs.
struct Chip {
  const char* name = nullptr;
  std::vector<uint8_t> availability;
};

inline Chip chip_of(CUcontext context) {
  Chip chip;
  auto chip_params = PARAMS(CUpti_Device_GetChipName_Params);
  chip_params.deviceIndex = 0;
  CUPTI_CHECK(cuptiDeviceGetChipName(&chip_params));
  chip.name = chip_params.pChipName;
  auto availability_params = PARAMS(CUpti_Profiler_GetCounterAvailability_Params);
  availability_params.ctx = context;
  CUPTI_CHECK(cuptiProfilerGetCounterAvailability(&availability_params));
  chip.availability.resize(availability_params.counterAvailabilityImageSize);
  availability_params.pCounterAvailabilityImage = chip.availability.data();
  CUPTI_CHECK(cuptiProfilerGetCounterAvailability(&availability_params));
  return chip;
}

// Starts a session of ranges (a pass, under user replay).
inline void start_ranges(CUpti_RangeProfiler_Object* object) {
  auto start_params = PARAMS(CUpti_RangeProfiler_Start_Params);
  start_params.pRangeProfilerObject = object;
  CUPTI_CHECK(cuptiRangeProfilerStart(&start_params));
}

// Ends it; true when every pass the config needs has been submitted.
inline bool stop_ranges(CUpti_RangeProfiler_Object* object) {
  auto stop_params = PARAMS(CUpti_RangeProfiler_Stop_Params);
  stop_params.pRangeProfilerObject = object;
  CUPTI_CHECK(cuptiRangeProfilerStop(&stop_params));
  return stop_params.isAllPassSubmitted != 0;
}
