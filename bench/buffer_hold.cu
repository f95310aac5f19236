// brrr-buffer-hold: whether CUPTI hands activity buffers over during a run, and what a forced
// flush costs in records, with and without the range profiler. Under brrr's default counters a
// long launch loop grows by ~330 bytes a launch and a SIGKILL loses every record
// (bench/results/reliability.md): CUPTI keeps every buffer until the forced flush at exit. This
// program traces its own launch loop the way the injection library does (kernel records and
// the launch calls' runtime API records, 8 MiB buffers, a thread that flushes every period) and
// says, for one state of the range profiler:
//   - how many buffers CUPTI filled and how many it handed over before the end of the loop;
//   - how many kernel records arrived, how many of them incomplete (a zero start or end), and
//     how many were lost (launches without a record);
//   - the loop's cost per launch and the process's resident memory growth.
//
// Usage: brrr-buffer-hold [--profiler STATE] [--flush default|forced] [--period-ms N]
//                         [--launches N] [--sync-every N]
// where STATE is one of:
//   none              no range profiler;
//   enabled           enabled on the context before the loop, never started;
//   sampled           enabled, then one kernel-replay sample of brrr's metrics (as brrr takes
//                     the first launch of a kernel), left enabled;
//   sampled-rearmed   the same sample, then the config set again for a next sample (as brrr);
//   sampled-disabled  the same sample, then the profiler disabled before the loop;
//   sampled-deinit    disabled, and the profiler interface deinitialized too;
//   callback          the loop's first launch sampled inside its launch call, from the launch's
//                     API callbacks, and the config set again after it: what brrr does;
//   callback-once     the same without setting the config again.
// Prints one Markdown table row.

#include <cuda.h>
#include <cuda_runtime.h>
#include <cupti_activity.h>
#include <cupti_callbacks.h>
#include <cupti_runtime_cbid.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cuda_check.h"
#include "cupti_bench.h"

namespace {

constexpr size_t buffer_bytes = 8u << 20;

struct Counts {
  std::atomic<long> requested{0};
  std::atomic<long> delivered{0};
  std::atomic<long> kernels{0};
  std::atomic<long> incomplete_kernels{0};
  // Buffers whose walk stopped at a record CUPTI called invalid or incomplete.
  std::atomic<long> broken_buffers{0};
};

Counts counts;

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, buffer_bytes));
  *size = *buffer != nullptr ? buffer_bytes : 0;
  *max_records = 0;
  counts.requested++;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  counts.delivered++;
  CUpti_Activity* record = nullptr;
  for (;;) {
    const CUptiResult result = cuptiActivityGetNextRecord(buffer, valid_bytes, &record);
    if (result == CUPTI_ERROR_MAX_LIMIT_REACHED) break;
    if (result != CUPTI_SUCCESS) {
      counts.broken_buffers++;
      break;
    }
    if (record->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) {
      const auto* kernel = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
      counts.kernels++;
      if (kernel->start == 0 || kernel->end == 0 || kernel->end < kernel->start) counts.incomplete_kernels++;
    }
  }
  std::free(buffer);
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double rss_mib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * 4096.0 / (1 << 20);
}

// One kernel-replay sample of brrr's metrics, taken as the injection library takes it.
struct Sampler {
  CUpti_RangeProfiler_Object* object = nullptr;
  Config config;
  std::vector<uint8_t> counter_data;
  // After the sample, set the config again for the next one (brrr does).
  bool rearm = false;
  bool sampled = false;

  void arm() { set_config(object, config, counter_data, CUPTI_KernelReplay, 1); }
  void start() { start_ranges(object); }
  void stop() {
    stop_ranges(object);
    auto decode = PARAMS(CUpti_RangeProfiler_DecodeData_Params);
    decode.pRangeProfilerObject = object;
    CUPTI_CHECK(cuptiRangeProfilerDecodeData(&decode));
    sampled = true;
  }
};

Sampler g_sampler;

// Samples the first launch of the loop inside its launch call.
void CUPTIAPI on_launch(void*, CUpti_CallbackDomain, CUpti_CallbackId, const void* data) {
  const auto& cb = *static_cast<const CUpti_CallbackData*>(data);
  static bool sampling = false;
  if (cb.callbackSite == CUPTI_API_ENTER && !g_sampler.sampled && !sampling) {
    sampling = true;
    g_sampler.start();
  } else if (cb.callbackSite == CUPTI_API_EXIT && sampling) {
    sampling = false;
    g_sampler.stop();
    if (g_sampler.rearm) g_sampler.arm();
  }
}

const char* usage =
    "usage: brrr-buffer-hold [--profiler "
    "none|enabled|sampled|sampled-rearmed|sampled-disabled|sampled-deinit|callback|callback-once] [--flush "
    "default|forced] [--period-ms N] [--launches N] [--sync-every N]\n";

} // namespace

int main(int argc, char** argv) {
  std::string profiler = "none";
  bool forced = false;
  int period_ms = 500;
  long launches = 1'000'000;
  long sync_every = 10'000;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--profiler") == 0 && has_value) {
      profiler = argv[++i];
    } else if (std::strcmp(argv[i], "--flush") == 0 && has_value) {
      forced = std::strcmp(argv[++i], "forced") == 0;
    } else if (std::strcmp(argv[i], "--period-ms") == 0 && has_value) {
      period_ms = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--launches") == 0 && has_value) {
      launches = std::max(1L, std::atol(argv[++i]));
    } else if (std::strcmp(argv[i], "--sync-every") == 0 && has_value) {
      sync_every = std::max(1L, std::atol(argv[++i]));
    } else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  const std::vector<std::string> profilers = {"none",     "enabled",       "sampled",          "sampled-rearmed",
                                              "callback", "callback-once", "sampled-disabled", "sampled-deinit"};
  if (std::find(profilers.begin(), profilers.end(), profiler) == profilers.end()) {
    std::fputs(usage, stderr);
    return 2;
  }

  CUPTI_CHECK(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed));
  CUPTI_CHECK(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
  CUPTI_CHECK(cuptiActivityEnableRuntimeApi(CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 1));
  CHECK(cudaSetDevice(0));
  CHECK(cudaFree(nullptr));
  float* out = nullptr;
  CHECK(cudaMalloc(&out, 256 * sizeof(float)));
  CUcontext context = nullptr;
  cuCtxGetCurrent(&context);

  if (profiler != "none") {
    auto init = PARAMS(CUpti_Profiler_Initialize_Params);
    CUPTI_CHECK(cuptiProfilerInitialize(&init));
    auto enable = PARAMS(CUpti_RangeProfiler_Enable_Params);
    enable.ctx = context;
    CUPTI_CHECK(cuptiRangeProfilerEnable(&enable));
    g_sampler.object = enable.pRangeProfilerObject;
    if (profiler != "enabled") {
      const Chip chip = chip_of(context);
      g_sampler.config = make_config(chip.name, chip.availability, all_metrics());
      auto size = PARAMS(CUpti_RangeProfiler_GetCounterDataSize_Params);
      size.pRangeProfilerObject = g_sampler.object;
      size.pMetricNames = g_sampler.config.metrics.data();
      size.numMetrics = g_sampler.config.metrics.size();
      size.maxNumOfRanges = 1;
      size.maxNumRangeTreeNodes = 1;
      CUPTI_CHECK(cuptiRangeProfilerGetCounterDataSize(&size));
      g_sampler.counter_data.resize(size.counterDataSize);
      g_sampler.arm();
      if (profiler == "callback" || profiler == "callback-once") {
        // As brrr samples: inside the launch call, from its API callbacks.
        g_sampler.rearm = profiler == "callback";
        CUpti_SubscriberHandle subscriber = nullptr;
        CUPTI_CHECK(cuptiSubscribe(&subscriber, on_launch, nullptr));
        CUPTI_CHECK(cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RUNTIME_API,
                                        CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000));
      } else {
        g_sampler.start();
        tiny_kernel<<<1, 256>>>(out);
        CHECK(cudaDeviceSynchronize());
        g_sampler.stop();
        if (profiler == "sampled-rearmed") g_sampler.arm();
        if (profiler == "sampled-disabled" || profiler == "sampled-deinit") {
          auto disable = PARAMS(CUpti_RangeProfiler_Disable_Params);
          disable.pRangeProfilerObject = g_sampler.object;
          CUPTI_CHECK(cuptiRangeProfilerDisable(&disable));
        }
        if (profiler == "sampled-deinit") {
          auto deinit = PARAMS(CUpti_Profiler_DeInitialize_Params);
          CUPTI_CHECK(cuptiProfilerDeInitialize(&deinit));
        }
      }
    }
  }
  CHECK(cudaDeviceSynchronize());
  // Records before the loop (the sample's, the set-up's) are not the loop's.
  CUPTI_CHECK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
  const long kernels_before = counts.kernels.load();
  const long requested_before = counts.requested.load();
  const long delivered_before = counts.delivered.load();

  std::atomic<bool> done{false};
  std::thread flusher([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(period_ms));
      CUPTI_CHECK(cuptiActivityFlushAll(forced ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0));
    }
  });
  const double rss_start = rss_mib();
  const double t0 = now_s();
  for (long i = 0; i < launches; ++i) {
    tiny_kernel<<<1, 256>>>(out);
    if ((i + 1) % sync_every == 0) CHECK(cudaDeviceSynchronize());
  }
  CHECK(cudaDeviceSynchronize());
  const double loop_s = now_s() - t0;
  done = true;
  flusher.join();
  const double rss_end = rss_mib();
  const long requested_loop = counts.requested.load() - requested_before;
  const long delivered_loop = counts.delivered.load() - delivered_before;
  const long kernels_loop = counts.kernels.load() - kernels_before;
  CUPTI_CHECK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
  const long kernels_total = counts.kernels.load() - kernels_before;

  std::printf("| %s | %s every %d ms | %ld | %.2f | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %.0f |\n",
              profiler.c_str(), forced ? "forced" : "default", period_ms, launches, loop_s * 1e6 / launches,
              requested_loop, delivered_loop, kernels_loop, kernels_total, launches - kernels_total,
              counts.incomplete_kernels.load(), counts.broken_buffers.load(), rss_end - rss_start);
  return 0;
}
