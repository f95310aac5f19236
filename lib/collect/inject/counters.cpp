#include "collect/inject/counters.hpp"

#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>
#include <cxxabi.h>
#include <generated_nvtx_meta.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collect/inject/driver.hpp"
#include "collect/kernel_signature.hpp"
#include "model/communication.hpp"
#include "model/counters.hpp"

namespace brrr::inject {
namespace {

// CUPTI's parameter structs, zeroed with their size set, as CUPTI requires.
template <typename Params> Params cupti_params(size_t struct_size) {
  Params p{};
  p.structSize = struct_size;
  return p;
}

// A distinct kernel, as the sampling counts it: its symbol (CUPTI's pointer, stable for the
// life of the module) and its launch configuration.
struct KernelKey {
  const char* symbol = nullptr;
  uint32_t grid[3] = {0, 0, 0};
  uint32_t block[3] = {0, 0, 0};
  bool operator==(const KernelKey& o) const {
    return symbol == o.symbol && std::memcmp(grid, o.grid, sizeof grid) == 0 &&
           std::memcmp(block, o.block, sizeof block) == 0;
  }
};

struct KernelKeyHash {
  size_t operator()(const KernelKey& k) const {
    size_t h = std::hash<const void*>()(k.symbol);
    for (uint32_t v : k.grid) h = h * 1000003u ^ v;
    for (uint32_t v : k.block) h = h * 1000003u ^ v;
    return h;
  }
};

// The metrics and the config image for one chip (the range profiler's config is per chip).
struct ChipConfig {
  CUpti_Profiler_Host_Object* host = nullptr;
  std::vector<const char*> metrics;
  std::vector<uint8_t> config_image;
};

// The range profiler of one context, enabled at its first sampled launch and left enabled.
// While it is enabled, every launch of the program costs about 1 µs more
// (bench/results/counters-accuracy-h100.md). A sample taken inside a launch call keeps CUPTI
// from handing activity buffers to a default flush, so the periodic flush is a forced one when
// counters are on (ActivityOptions::forced_periodic_flush). Disabling the profiler once sampling
// goes quiet was tried (session 3) and is not done: the program's memory still grew, and in one
// run a kernel the GPU ran during the disable's tool interval went missing from the exported
// timeline; see docs/counters.md.
struct ContextProfiler {
  CUcontext context = nullptr;
  ChipConfig* chip = nullptr;
  std::vector<uint8_t> counter_data;
  CUpti_RangeProfiler_Object* object = nullptr;
};

// An 8-byte word of a kernel's parameters, where a pointer can be.
struct ParamWord {
  uint32_t index = 0;  // the parameter
  uint32_t offset = 0; // bytes into it
  // The parameter points to const (known from a demangled signature): the kernel does not
  // write through it, so what the next kernel reads there is not this one's output.
  bool read_only = false;
};
// Cached per function.
using ParamWords = std::vector<ParamWord>;

// An argument value of a launch that looks like an address, with its word position.
struct AddressArgument {
  uint64_t value = 0;
  uint16_t word = 0;
  bool read_only = false;
};

// The address-like arguments of the last launch on a stream.
struct LastLaunch {
  uint32_t correlation_id = 0;
  uint8_t count = 0;
  std::array<AddressArgument, 16> values{};
};

// Two kinds of state, two rules. The tables below are shared by every thread and guarded by
// `mutex`, which is never held across a CUDA or CUPTI call: a launch callback runs inside the
// program's launch call, where the driver may hold its own locks, and a thread waiting for
// `mutex` there while the holder waited for the driver hung multi-threaded programs
// (measured: 8 threads launching with counters on, several runs of three hung). The profiler
// objects, the chips' configs and the progress line belong to the one thread that set `busy`
// (the range profiler measures one launch at a time), which uses them without the lock.
struct CountersState {
  const CuptiApi* api = nullptr;
  StreamWriter* writer = nullptr;
  CounterOptions options;
  std::mutex mutex;
  std::unordered_map<KernelKey, uint32_t, KernelKeyHash> sampled;
  std::unordered_map<CUcontext, ContextProfiler*> contexts;
  std::unordered_map<std::string, ChipConfig*> chips;
  // Set when counters turn out to be unavailable; every distinct kernel then gets a gap.
  std::string unavailable;
  std::unordered_map<CUfunction, ParamWords> param_words;
  // The same for kernels launched through the runtime, per host function (the launch's symbol).
  std::unordered_map<const void*, ParamWords> runtime_param_words;
  std::unordered_map<CUstream, LastLaunch> last_launch;
  // Dataflow records gathered, written in blocks: one write per launch would cost more than
  // the launch.
  std::vector<stream::DataflowRecord> dataflow;
  // Whether any launch's arguments could be compared (its parameter layout was known).
  bool dataflow_compared = false;
  // A launch of some thread is being measured: the range profiler measures one at a time.
  bool busy = false;
  uint64_t samples = 0;
  // Owned by the thread that set `busy`.
  bool profiler_initialized = false;
  uint64_t started_ns = 0;
  uint64_t last_progress_ns = 0;
};

// Never freed, like the rest of the library's state: callbacks may run until the end.
CountersState* g_counters = nullptr;

// Kernel replay runs a launch once per counter pass; a collective replayed on one rank would
// wait for peers that run it once, and hang the job.
constexpr const char* communication_gap_reason =
    "a communication library's kernel (NCCL): not replayed for counters, because a collective replayed on one rank "
    "would wait forever for the other ranks";

// Per application thread: launch callbacks nest (a runtime launch calls the driver), and only
// the outermost one samples.
thread_local int t_launch_depth = 0;
thread_local ContextProfiler* t_sampling = nullptr;
// The correlation id of the outermost launch call: the id the kernel's activity record carries.
thread_local uint32_t t_launch_correlation = 0;
thread_local uint64_t t_sample_start_ns = 0;
// NVTX push/pop ranges open on this thread, and how many of them are the restricting range.
thread_local std::vector<bool> t_ranges;
thread_local int t_inside_range = 0;
// Kernels this thread knows need no more samples: their launches return without the lock.
thread_local std::unordered_set<KernelKey, KernelKeyHash> t_sampled_enough;

uint64_t now_ns(const CuptiApi& api) {
  uint64_t ns = 0;
  api.cuptiGetTimestamp(&ns);
  return ns;
}

// The counters are off for the rest of the run; every distinct kernel seen from now on gets
// a gap record with this reason.
// Takes the lock: callers do not hold it.
void give_up(CountersState& s, std::string reason) {
  std::lock_guard lock(s.mutex);
  if (!s.unavailable.empty()) return;
  s.writer->warn("hardware counters are unavailable: " + reason + "; tracing continues without them");
  s.unavailable = std::move(reason);
}

// Why counters are unavailable, or an empty string.
std::string unavailable(CountersState& s) {
  std::lock_guard lock(s.mutex);
  return s.unavailable;
}

std::string failure(const CountersState& s, const char* call, CUptiResult result) {
  if (result == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES)
    return "the NVIDIA driver lets only administrators read GPU counters (module option "
           "NVreg_RestrictProfilingToAdminUsers=1); run as root, or set "
           "'options nvidia NVreg_RestrictProfilingToAdminUsers=0' in /etc/modprobe.d and reload the driver";
  if (result == CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED || result == CUPTI_ERROR_NOT_SUPPORTED)
    return describe_failure(*s.api, call, result) + " (a MIG slice or a GPU without counter support)";
  return describe_failure(*s.api, call, result);
}

// What the counters need from a launch call's parameters, whichever launch API it was.
struct LaunchParams {
  uint32_t grid[3] = {0, 0, 0};
  uint32_t block[3] = {0, 0, 0};
  CUstream stream = nullptr;
  void** args = nullptr;
  // The kernel: a driver function, or for runtime launches the host-side symbol.
  CUfunction function = nullptr;
  const void* runtime_function = nullptr;
};

LaunchParams launch_params(CUpti_CallbackDomain domain, CUpti_CallbackId id, const CUpti_CallbackData& cb) {
  LaunchParams out;
  auto set = [&](uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by, uint32_t bz) {
    out.grid[0] = gx, out.grid[1] = gy, out.grid[2] = gz;
    out.block[0] = bx, out.block[1] = by, out.block[2] = bz;
  };
  const void* p = cb.functionParams;
  if (p == nullptr) return out;
  if (domain == CUPTI_CB_DOMAIN_RUNTIME_API) {
    switch (id) {
    case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000:
    case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000:
    case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000:
    case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000: {
      // These calls share one parameter layout.
      const auto* a = static_cast<const cudaLaunchKernel_v7000_params*>(p);
      set(a->gridDim.x, a->gridDim.y, a->gridDim.z, a->blockDim.x, a->blockDim.y, a->blockDim.z);
      out.stream = reinterpret_cast<CUstream>(a->stream);
      out.args = a->args;
      out.runtime_function = a->func;
      break;
    }
    case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060:
    case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060: {
      const auto* a = static_cast<const cudaLaunchKernelExC_v11060_params*>(p);
      if (a->config != nullptr) {
        set(a->config->gridDim.x, a->config->gridDim.y, a->config->gridDim.z, a->config->blockDim.x,
            a->config->blockDim.y, a->config->blockDim.z);
        out.stream = reinterpret_cast<CUstream>(a->config->stream);
      }
      out.args = a->args;
      out.runtime_function = a->func;
      break;
    }
    default:
      break;
    }
  } else {
    switch (id) {
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel:
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz:
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel:
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz: {
      const auto* a = static_cast<const cuLaunchKernel_params*>(p);
      set(a->gridDimX, a->gridDimY, a->gridDimZ, a->blockDimX, a->blockDimY, a->blockDimZ);
      out.stream = a->hStream;
      out.args = a->kernelParams;
      out.function = a->f;
      break;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx:
    case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz: {
      const auto* a = static_cast<const cuLaunchKernelEx_params*>(p);
      if (a->config != nullptr) {
        set(a->config->gridDimX, a->config->gridDimY, a->config->gridDimZ, a->config->blockDimX, a->config->blockDimY,
            a->config->blockDimZ);
        out.stream = a->config->hStream;
      }
      out.args = a->kernelParams;
      out.function = a->f;
      break;
    }
    default:
      break;
    }
  }
  return out;
}

KernelKey launch_key(const LaunchParams& params, const CUpti_CallbackData& cb) {
  KernelKey key;
  key.symbol = cb.symbolName;
  std::memcpy(key.grid, params.grid, sizeof key.grid);
  std::memcpy(key.block, params.block, sizeof key.block);
  return key;
}

// The metrics this chip supports, among those brrr asks for, and their config image. Metrics
// are added one at a time so that one the chip lacks (fp8 tensor paths before Hopper) drops
// out alone instead of failing the whole set.
ChipConfig* chip_config(CountersState& s, CUcontext context) {
  const CuptiApi& api = *s.api;
  // CUPTI names the device of most contexts; for some (PyTorch's, seen on the H100) it
  // answers CUPTI_ERROR_INVALID_DEVICE, and the driver is asked instead.
  // A context whose device cannot be named is skipped, not a reason to stop counters for
  // every context.
  uint32_t device = 0;
  if (api.cuptiGetDeviceId(context, &device) != CUPTI_SUCCESS) {
    const Driver* d = driver();
    CUdevice ordinal = 0;
    if (d == nullptr || d->cuCtxGetDevice(&ordinal) != CUDA_SUCCESS) return nullptr;
    device = static_cast<uint32_t>(ordinal);
  }
  auto chip_params = cupti_params<CUpti_Device_GetChipName_Params>(CUpti_Device_GetChipName_Params_STRUCT_SIZE);
  chip_params.deviceIndex = device;
  if (CUptiResult r = api.cuptiDeviceGetChipName(&chip_params); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiDeviceGetChipName", r));
    return nullptr;
  }
  const std::string chip_name = chip_params.pChipName;
  if (auto it = s.chips.find(chip_name); it != s.chips.end()) return it->second;

  auto availability = cupti_params<CUpti_Profiler_GetCounterAvailability_Params>(
      CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE);
  availability.ctx = context;
  std::vector<uint8_t> availability_image;
  if (api.cuptiProfilerGetCounterAvailability(&availability) == CUPTI_SUCCESS) {
    availability_image.resize(availability.counterAvailabilityImageSize);
    availability.pCounterAvailabilityImage = availability_image.data();
    if (CUptiResult r = api.cuptiProfilerGetCounterAvailability(&availability); r != CUPTI_SUCCESS) {
      give_up(s, failure(s, "cuptiProfilerGetCounterAvailability", r));
      return nullptr;
    }
  }
  auto* chip = new ChipConfig;
  auto host = cupti_params<CUpti_Profiler_Host_Initialize_Params>(CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE);
  host.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
  host.pChipName = chip_name.c_str();
  host.pCounterAvailabilityImage = availability_image.empty() ? nullptr : availability_image.data();
  if (CUptiResult r = api.cuptiProfilerHostInitialize(&host); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiProfilerHostInitialize", r));
    return nullptr;
  }
  chip->host = host.pHostObject;
  // The chip's own list of metrics: one it lacks (fp8 tensor paths before Hopper) is left out
  // alone, instead of failing the whole set.
  auto base =
      cupti_params<CUpti_Profiler_Host_GetBaseMetrics_Params>(CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE);
  base.pHostObject = chip->host;
  base.metricType = CUPTI_METRIC_TYPE_COUNTER;
  if (CUptiResult r = api.cuptiProfilerHostGetBaseMetrics(&base); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiProfilerHostGetBaseMetrics", r));
    return nullptr;
  }
  std::unordered_map<std::string_view, bool> provided;
  for (size_t i = 0; i < base.numMetrics; ++i) provided.emplace(base.ppMetricNames[i], true);
  // "dram__bytes_read.sum" is the base metric "dram__bytes_read" rolled up as a sum.
  const auto has = [&](std::string_view metric) { return provided.count(metric.substr(0, metric.rfind('.'))) != 0; };
  for (std::string_view metric : counter_metrics())
    if (has(metric)) chip->metrics.push_back(metric.data()); // the table's literals are NUL-terminated
  std::string missing;
  for (const std::string& figure : figures_without_metrics(has)) missing += (missing.empty() ? "" : ", ") + figure;
  auto add = cupti_params<CUpti_Profiler_Host_ConfigAddMetrics_Params>(
      CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE);
  add.pHostObject = chip->host;
  add.ppMetricNames = chip->metrics.data();
  add.numMetrics = chip->metrics.size();
  if (CUptiResult r = api.cuptiProfilerHostConfigAddMetrics(&add); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiProfilerHostConfigAddMetrics", r));
    return nullptr;
  }
  if (!missing.empty()) s.writer->warn(chip_name + " has no counter for " + missing + ": counted as zero");
  auto size = cupti_params<CUpti_Profiler_Host_GetConfigImageSize_Params>(
      CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE);
  size.pHostObject = chip->host;
  if (CUptiResult r = api.cuptiProfilerHostGetConfigImageSize(&size); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiProfilerHostGetConfigImageSize", r));
    return nullptr;
  }
  chip->config_image.resize(size.configImageSize);
  auto image =
      cupti_params<CUpti_Profiler_Host_GetConfigImage_Params>(CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE);
  image.pHostObject = chip->host;
  image.configImageSize = chip->config_image.size();
  image.pConfigImage = chip->config_image.data();
  if (CUptiResult r = api.cuptiProfilerHostGetConfigImage(&image); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiProfilerHostGetConfigImage", r));
    return nullptr;
  }
  s.chips.emplace(chip_name, chip);
  return chip;
}

// Prepares the counter data image for one range and hands it and the config to the profiler.
bool configure(CountersState& s, ContextProfiler& p) {
  const CuptiApi& api = *s.api;
  auto init = cupti_params<CUpti_RangeProfiler_CounterDataImage_Initialize_Params>(
      CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE);
  init.pRangeProfilerObject = p.object;
  init.counterDataSize = p.counter_data.size();
  init.pCounterData = p.counter_data.data();
  if (CUptiResult r = api.cuptiRangeProfilerCounterDataImageInitialize(&init); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiRangeProfilerCounterDataImageInitialize", r));
    return false;
  }
  auto config = cupti_params<CUpti_RangeProfiler_SetConfig_Params>(CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE);
  config.pRangeProfilerObject = p.object;
  config.configSize = p.chip->config_image.size();
  config.pConfig = p.chip->config_image.data();
  config.counterDataImageSize = p.counter_data.size();
  config.pCounterDataImage = p.counter_data.data();
  config.range = CUPTI_AutoRange;
  config.replayMode = CUPTI_KernelReplay;
  config.maxRangesPerPass = 1;
  config.numNestingLevels = 1;
  config.minNestingLevel = 1;
  if (CUptiResult r = api.cuptiRangeProfilerSetConfig(&config); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiRangeProfilerSetConfig", r));
    return false;
  }
  return true;
}

// Enables the context's range profiler with a counter data image of its own and hands it the
// config.
bool enable(CountersState& s, ContextProfiler& p) {
  const CuptiApi& api = *s.api;
  auto params = cupti_params<CUpti_RangeProfiler_Enable_Params>(CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE);
  params.ctx = p.context;
  if (CUptiResult r = api.cuptiRangeProfilerEnable(&params); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiRangeProfilerEnable", r));
    return false;
  }
  p.object = params.pRangeProfilerObject;
  auto size = cupti_params<CUpti_RangeProfiler_GetCounterDataSize_Params>(
      CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE);
  size.pRangeProfilerObject = p.object;
  size.pMetricNames = p.chip->metrics.data();
  size.numMetrics = p.chip->metrics.size();
  size.maxNumOfRanges = 1;
  size.maxNumRangeTreeNodes = 1;
  if (CUptiResult r = api.cuptiRangeProfilerGetCounterDataSize(&size); r != CUPTI_SUCCESS) {
    give_up(s, failure(s, "cuptiRangeProfilerGetCounterDataSize", r));
    return false;
  }
  p.counter_data.assign(size.counterDataSize, 0);
  return configure(s, p);
}

// For the thread that set `busy`: the context's profiler, made at its first sampled launch.
ContextProfiler* context_profiler(CountersState& s, CUcontext context) {
  {
    std::lock_guard lock(s.mutex);
    if (auto it = s.contexts.find(context); it != s.contexts.end()) return it->second;
    s.contexts[context] = nullptr; // a failure below is not retried for this context
  }
  // The profiler is initialised at the first sampled launch, with a context current: inside
  // cuInit, where the library starts, CUPTI refuses (CUPTI_ERROR_UNKNOWN on the H100).
  if (!s.profiler_initialized) {
    s.profiler_initialized = true;
    auto init = cupti_params<CUpti_Profiler_Initialize_Params>(CUpti_Profiler_Initialize_Params_STRUCT_SIZE);
    if (CUptiResult r = s.api->cuptiProfilerInitialize(&init); r != CUPTI_SUCCESS) {
      give_up(s, failure(s, "cuptiProfilerInitialize", r));
      return nullptr;
    }
  }
  ChipConfig* chip = chip_config(s, context);
  if (chip == nullptr || chip->metrics.empty()) {
    if (chip != nullptr) give_up(s, "the GPU provides none of the metrics brrr reads");
    return nullptr;
  }
  auto* p = new ContextProfiler;
  p->context = context;
  p->chip = chip;
  if (!enable(s, *p)) return nullptr;
  std::lock_guard lock(s.mutex);
  s.contexts[context] = p;
  return p;
}

void add_gap(CountersState& s, const CUpti_CallbackData& cb, const std::string& reason) {
  StreamWriter::Batch batch(*s.writer);
  if (!batch.active()) return;
  batch.add(stream::CounterGapRecord{cb.correlationId, batch.intern(cb.symbolName ? cb.symbolName : ""),
                                     batch.intern(reason), 0});
}

// Stops the profiler after the sampled launch, reads the range's values and writes them with
// the time brrr held the program up.
void finish_sample(CountersState& s, ContextProfiler& p, const CUpti_CallbackData& cb) {
  const CuptiApi& api = *s.api;
  auto stop = cupti_params<CUpti_RangeProfiler_Stop_Params>(CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE);
  stop.pRangeProfilerObject = p.object;
  if (CUptiResult r = api.cuptiRangeProfilerStop(&stop); r != CUPTI_SUCCESS)
    return give_up(s, failure(s, "cuptiRangeProfilerStop", r));
  auto decode = cupti_params<CUpti_RangeProfiler_DecodeData_Params>(CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE);
  decode.pRangeProfilerObject = p.object;
  if (CUptiResult r = api.cuptiRangeProfilerDecodeData(&decode); r != CUPTI_SUCCESS)
    return give_up(s, failure(s, "cuptiRangeProfilerDecodeData", r));
  auto info = cupti_params<CUpti_RangeProfiler_GetCounterDataInfo_Params>(
      CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE);
  info.pCounterDataImage = p.counter_data.data();
  info.counterDataImageSize = p.counter_data.size();
  std::vector<double> values(p.chip->metrics.size(), 0.0);
  bool measured = false;
  if (api.cuptiRangeProfilerGetCounterDataInfo(&info) == CUPTI_SUCCESS && info.numTotalRanges > 0) {
    auto evaluate = cupti_params<CUpti_Profiler_Host_EvaluateToGpuValues_Params>(
        CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE);
    evaluate.pHostObject = p.chip->host;
    evaluate.pCounterDataImage = p.counter_data.data();
    evaluate.counterDataImageSize = p.counter_data.size();
    evaluate.rangeIndex = info.numTotalRanges - 1;
    evaluate.ppMetricNames = p.chip->metrics.data();
    evaluate.numMetrics = p.chip->metrics.size();
    evaluate.pMetricValues = values.data();
    measured = api.cuptiProfilerHostEvaluateToGpuValues(&evaluate) == CUPTI_SUCCESS;
  }
  configure(s, p);
  const uint64_t end_ns = now_ns(api);
  {
    // The writer's lock is let go before the table lock is taken: elsewhere the table lock
    // is held while writing (gaps, dataflow), and the two are always taken in that order.
    StreamWriter::Batch batch(*s.writer);
    if (!batch.active()) return;
    const auto name = batch.intern(cb.symbolName ? cb.symbolName : "");
    if (measured) {
      std::vector<stream::CounterValue> out(values.size());
      for (size_t i = 0; i < values.size(); ++i) out[i] = {batch.intern(p.chip->metrics[i]), 0, values[i]};
      batch.add_counter_sample({cb.correlationId, name, static_cast<uint32_t>(out.size()), 0}, out.data());
    } else {
      batch.add(
          stream::CounterGapRecord{cb.correlationId, name, batch.intern("the range profiler returned no range"), 0});
    }
    batch.add(stream::ToolEventRecord{t_sample_start_ns, end_ns, cb.correlationId, 0});
  }
  uint64_t samples = 0;
  size_t kernels = 0;
  {
    std::lock_guard lock(s.mutex);
    samples = s.samples += measured ? 1 : 0;
    kernels = s.sampled.size();
  }
  // Progress for long runs, at most every two seconds, on the program's stderr.
  if (end_ns - s.started_ns > 2'000'000'000ull && end_ns - s.last_progress_ns > 2'000'000'000ull) {
    s.last_progress_ns = end_ns;
    const std::string line =
        "brrr: counters: " + std::to_string(samples) + " launches of " + std::to_string(kernels) +
        " kernels measured (latest: " + std::string(cb.symbolName ? cb.symbolName : "?").substr(0, 60) + ")\n";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  }
}

void write_dataflow(CountersState& s) {
  if (s.dataflow.empty()) return;
  StreamWriter::Batch batch(*s.writer);
  if (batch.active())
    for (const auto& record : s.dataflow) batch.add(record);
  s.dataflow.clear();
}

// A function's parameter words, read from the driver the first time, outside the lock (see
// CountersState). The cache's entries are never changed or erased once in, so the reference
// stays valid.
const ParamWords& param_words(CountersState& s, CUfunction f) {
  {
    std::lock_guard lock(s.mutex);
    if (auto it = s.param_words.find(f); it != s.param_words.end()) return it->second;
  }
  ParamWords words;
  const Driver* d = driver();
  if (d != nullptr && d->cuFuncGetParamInfo != nullptr) {
    size_t offset = 0;
    size_t size = 0;
    for (uint32_t i = 0; i < 1024 && d->cuFuncGetParamInfo(f, i, &offset, &size) == CUDA_SUCCESS; ++i)
      for (size_t word = 0; word + 8 <= size; word += 8) words.push_back({i, static_cast<uint32_t>(word), false});
  }
  std::lock_guard lock(s.mutex);
  return s.param_words.try_emplace(f, std::move(words)).first->second;
}

// Compares a launch's arguments with the previous launch on its stream: a value
// that looks like an address and sits in another position (cos(x→y) then cos(y→z): y moved
// from the output to the input) means the previous kernel most likely wrote what this one
// reads. Repeating the same arguments (cos_cos(x→z) twice) is not a link, and neither is an
// address the previous kernel only read (cos(y→z) then cos(x→y) overwrites its input).
void record_dataflow(CountersState& s, const ParamWords& words, CUstream stream, void** params,
                     uint32_t correlation_id) {
  if (words.empty() || params == nullptr) return;
  LastLaunch current;
  current.correlation_id = correlation_id;
  // The first comparison is announced with a record of correlation id 0, so that the report
  // can tell "no link found" from "nothing compared".
  if (!s.dataflow_compared) {
    s.dataflow_compared = true;
    s.dataflow.push_back({0, 0});
  }
  // Addresses of device memory are far above small integers (sizes, counts, flags).
  constexpr uint64_t smallest_address = 1ull << 24;
  for (size_t w = 0; w < words.size() && current.count < current.values.size(); ++w) {
    uint64_t value = 0;
    std::memcpy(&value, static_cast<const char*>(params[words[w].index]) + words[w].offset, sizeof value);
    if (value >= smallest_address)
      current.values[current.count++] = {value, static_cast<uint16_t>(w), words[w].read_only};
  }
  LastLaunch& last = s.last_launch[stream];
  bool linked = false;
  for (uint8_t i = 0; i < current.count && !linked; ++i)
    for (uint8_t j = 0; j < last.count && !linked; ++j)
      linked = current.values[i].value == last.values[j].value && current.values[i].word != last.values[j].word &&
               !last.values[j].read_only;
  if (linked) s.dataflow.push_back({correlation_id, last.correlation_id});
  last = current;
  if (s.dataflow.size() >= 4096) write_dataflow(s);
}

// The parameter words of a kernel launched through the runtime: the driver's layout when the
// runtime is a shared library that can name the kernel's function, else the pointer
// parameters of its demangled signature (a runtime linked into the program).
const ParamWords& runtime_param_words(CountersState& s, const void* function, const char* symbol) {
  {
    std::lock_guard lock(s.mutex);
    if (auto it = s.runtime_param_words.find(function); it != s.runtime_param_words.end()) return it->second;
  }
  ParamWords words;
  CUfunction f = nullptr;
  if (const Runtime* r = runtime(); r != nullptr && r->cudaPeekAtLastError() == 0) {
    if (r->cudaGetFuncBySymbol(&f, function) == 0 && f != nullptr)
      words = param_words(s, f);
    else
      r->cudaGetLastError();
  }
  if (words.empty() && symbol != nullptr) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(symbol, nullptr, nullptr, &status);
    if (demangled != nullptr) {
      for (const PointerParameter& p : pointer_parameters(demangled)) words.push_back({p.index, 0, p.read_only});
      std::free(demangled);
    }
  }
  std::lock_guard lock(s.mutex);
  return s.runtime_param_words.try_emplace(function, std::move(words)).first->second;
}

// Whether a launch on this stream is being captured into a CUDA graph: it runs nothing now, so
// there is nothing to measure, and starting the range profiler inside a capture breaks the
// capture (measured: the program's cudaStreamEndCapture failed). The default stream stands for
// the legacy one or this thread's own, so both are asked; a query that fails (another thread
// capturing in global mode) counts as capturing.
bool capturing(CUstream stream) {
  const Driver* d = driver();
  if (d == nullptr || d->cuStreamIsCapturing == nullptr) return false;
  const auto is_capturing = [&](CUstream s) {
    CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
    return d->cuStreamIsCapturing(s, &status) != CUDA_SUCCESS || status != CU_STREAM_CAPTURE_STATUS_NONE;
  };
  return stream != nullptr ? is_capturing(stream)
                           : is_capturing(CU_STREAM_LEGACY) || is_capturing(CU_STREAM_PER_THREAD);
}

// Compares the launch's arguments with the previous launch on its stream (dataflow).
void on_launch_arguments(CountersState& s, const LaunchParams& params, const CUpti_CallbackData& cb) {
  const ParamWords* words = nullptr;
  if (params.function != nullptr)
    words = &param_words(s, params.function);
  else if (params.runtime_function != nullptr)
    words = &runtime_param_words(s, params.runtime_function, cb.symbolName);
  if (words == nullptr) return;
  std::lock_guard lock(s.mutex);
  record_dataflow(s, *words, params.stream, params.args, t_launch_correlation);
}

void on_launch(CUpti_CallbackDomain domain, CUpti_CallbackId id, const CUpti_CallbackData& cb) {
  CountersState& s = *g_counters;
  if (cb.callbackSite == CUPTI_API_ENTER) {
    if (t_launch_depth++ > 0) return;
    t_launch_correlation = cb.correlationId;
    const LaunchParams params = launch_params(domain, id, cb);
    on_launch_arguments(s, params, cb);
    if (!s.options.range.empty() && t_inside_range == 0) return;
    const KernelKey key = launch_key(params, cb);
    if (t_sampled_enough.count(key) != 0) return;
    // What the decision needs from the driver, asked before taking the lock.
    const bool communication = cb.symbolName != nullptr && is_communication_kernel(cb.symbolName);
    const bool captured = !communication && capturing(params.stream);
    CUcontext context = cb.context;
    if (context == nullptr && driver() != nullptr) driver()->cuCtxGetCurrent(&context);
    {
      std::lock_guard lock(s.mutex);
      uint32_t& count = s.sampled[key];
      if (communication) {
        if (count++ == 0) add_gap(s, cb, communication_gap_reason);
        t_sampled_enough.insert(key);
        return;
      }
      if (!s.unavailable.empty()) {
        if (count++ == 0) add_gap(s, cb, s.unavailable);
        t_sampled_enough.insert(key);
        return;
      }
      if (s.options.mode == CounterOptions::Mode::first && count >= s.options.first) {
        t_sampled_enough.insert(key);
        return;
      }
      // A thread without a current context at the launch call (the runtime makes one current
      // inside it) is left for a later launch of the same kernel.
      if (s.busy || captured || context == nullptr) return;
      ++count;
      s.busy = true;
    }
    // This thread measures the launch, outside the lock. Everything from here on is brrr's
    // time, the profiler's first set-up (seconds, for the metric configuration) included: it
    // goes into the tool event, never to the program.
    t_sample_start_ns = now_ns(*s.api);
    ContextProfiler* p = context_profiler(s, context);
    auto start = cupti_params<CUpti_RangeProfiler_Start_Params>(CUpti_RangeProfiler_Start_Params_STRUCT_SIZE);
    CUptiResult started = CUPTI_ERROR_UNKNOWN;
    if (p != nullptr) {
      start.pRangeProfilerObject = p->object;
      started = s.api->cuptiRangeProfilerStart(&start);
      if (started != CUPTI_SUCCESS) give_up(s, failure(s, "cuptiRangeProfilerStart", started));
    }
    if (started != CUPTI_SUCCESS) {
      const std::string reason = unavailable(s);
      add_gap(s, cb,
              reason.empty() ? std::string("the range profiler could not be set up for this kernel's context")
                             : reason);
      // The launch runs unprofiled after this callback; only the set-up time is brrr's.
      {
        StreamWriter::Batch batch(*s.writer);
        if (batch.active()) batch.add(stream::ToolEventRecord{t_sample_start_ns, now_ns(*s.api), 0, 0});
      }
      std::lock_guard lock(s.mutex);
      s.busy = false;
      return;
    }
    t_sampling = p;
  } else {
    if (--t_launch_depth > 0 || t_sampling == nullptr) return;
    ContextProfiler* p = t_sampling;
    t_sampling = nullptr;
    finish_sample(s, *p, cb);
    std::lock_guard lock(s.mutex);
    s.busy = false;
  }
}

// A context being destroyed (cudaDeviceReset, cuCtxDestroy) takes its range profiler with it:
// the profiler is disabled while the context still exists, and forgotten, so that a later
// context at the same address gets a profiler of its own. Measured before this was done: a
// program that reset its device and launched again crashed inside CUPTI with counters on.
void on_context_destroy(const CUpti_ResourceData& data) {
  CountersState& s = *g_counters;
  ContextProfiler* p = nullptr;
  {
    std::lock_guard lock(s.mutex);
    auto it = s.contexts.find(data.context);
    if (it == s.contexts.end()) return;
    // A launch of another thread being measured keeps its profiler (the program destroys a
    // context it is launching into); only the map forgets it.
    if (!s.busy) p = it->second;
    s.contexts.erase(it);
  }
  if (p == nullptr) return;
  auto disable = cupti_params<CUpti_RangeProfiler_Disable_Params>(CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE);
  disable.pRangeProfilerObject = p->object;
  if (CUptiResult r = s.api->cuptiRangeProfilerDisable(&disable); r != CUPTI_SUCCESS)
    s.writer->warn(describe_failure(*s.api, "cuptiRangeProfilerDisable", r) +
                   " as its context was destroyed: launches in a new context are not measured");
  else
    delete p;
}

// Tracks NVTX push/pop ranges on this thread, for the range restriction.
void on_nvtx(CUpti_CallbackId id, const CUpti_NvtxData& data) {
  if (id == CUPTI_CBID_NVTX_nvtxRangePushA) {
    const auto* params = static_cast<const nvtxRangePushA_params*>(data.functionParams);
    const bool match = params != nullptr && params->message != nullptr && g_counters->options.range == params->message;
    t_ranges.push_back(match);
    t_inside_range += match ? 1 : 0;
  } else if (id == CUPTI_CBID_NVTX_nvtxRangePop && !t_ranges.empty()) {
    t_inside_range -= t_ranges.back() ? 1 : 0;
    t_ranges.pop_back();
  }
}

bool is_kernel_launch_runtime(CUpti_CallbackId id) {
  switch (id) {
  case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000:
  case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000:
  case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060:
  case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060:
  case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000:
  case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000:
  case CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000:
  case CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_ptsz_v13000:
    return true;
  default:
    return false;
  }
}

bool is_kernel_launch_driver(CUpti_CallbackId id) {
  switch (id) {
  case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel:
  case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz:
  case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx:
  case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz:
  case CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel:
  case CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz:
    return true;
  default:
    return false;
  }
}

} // namespace

void finish_counters() {
  if (g_counters == nullptr) return;
  std::lock_guard lock(g_counters->mutex);
  write_dataflow(*g_counters);
}

std::string counter_options_from_env(CounterOptions& options) {
  const char* mode = std::getenv("BRRR_COUNTERS");
  if (const char* range = std::getenv("BRRR_COUNTERS_RANGE"); range != nullptr) options.range = range;
  if (mode == nullptr || *mode == '\0' || std::strcmp(mode, "off") == 0) {
    options.mode = CounterOptions::Mode::off;
  } else if (std::strcmp(mode, "all") == 0) {
    options.mode = CounterOptions::Mode::all;
  } else if (std::strncmp(mode, "first:", 6) == 0 && std::atoi(mode + 6) > 0) {
    options.mode = CounterOptions::Mode::first;
    options.first = static_cast<uint32_t>(std::atoi(mode + 6));
  } else {
    options.mode = CounterOptions::Mode::off;
    return std::string("BRRR_COUNTERS=") + mode + " is not off, first:N or all: counters are off";
  }
  return {};
}

void start_counters(const CuptiApi& api, StreamWriter& writer, CUpti_SubscriberHandle subscriber,
                    const CounterOptions& options) {
  if (options.mode == CounterOptions::Mode::off) return;
  auto* s = new CountersState;
  s->api = &api;
  s->writer = &writer;
  s->options = options;
  s->started_ns = now_ns(api);
  g_counters = s;
  auto enable = [&](CUpti_CallbackDomain domain, CUpti_CallbackId id) {
    if (CUptiResult r = api.cuptiEnableCallback(1, subscriber, domain, id); r != CUPTI_SUCCESS)
      writer.warn(describe_failure(api, "cuptiEnableCallback", r) + ": some launches are not sampled for counters");
  };
  for (CUpti_CallbackId id = 0; id < CUPTI_RUNTIME_TRACE_CBID_SIZE; ++id)
    if (is_kernel_launch_runtime(id)) enable(CUPTI_CB_DOMAIN_RUNTIME_API, id);
  for (CUpti_CallbackId id = 0; id < CUPTI_DRIVER_TRACE_CBID_SIZE; ++id)
    if (is_kernel_launch_driver(id)) enable(CUPTI_CB_DOMAIN_DRIVER_API, id);
  // Without it a profiler would outlive its context; counters are then not taken at all.
  if (CUptiResult r = api.cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
                                              CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING);
      r != CUPTI_SUCCESS)
    give_up(*s, describe_failure(api, "cuptiEnableCallback(CONTEXT_DESTROY_STARTING)", r));
  if (!options.range.empty()) {
    enable(CUPTI_CB_DOMAIN_NVTX, CUPTI_CBID_NVTX_nvtxRangePushA);
    enable(CUPTI_CB_DOMAIN_NVTX, CUPTI_CBID_NVTX_nvtxRangePop);
  }
}

void counters_callback(CUpti_CallbackDomain domain, CUpti_CallbackId id, const void* data) {
  if (g_counters == nullptr || data == nullptr) return;
  if (domain == CUPTI_CB_DOMAIN_NVTX) return on_nvtx(id, *static_cast<const CUpti_NvtxData*>(data));
  if (domain == CUPTI_CB_DOMAIN_RESOURCE) {
    if (id == CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING)
      on_context_destroy(*static_cast<const CUpti_ResourceData*>(data));
    return;
  }
  const bool launch = (domain == CUPTI_CB_DOMAIN_RUNTIME_API && is_kernel_launch_runtime(id)) ||
                      (domain == CUPTI_CB_DOMAIN_DRIVER_API && is_kernel_launch_driver(id));
  if (launch) on_launch(domain, id, *static_cast<const CUpti_CallbackData*>(data));
}

} // namespace brrr::inject
