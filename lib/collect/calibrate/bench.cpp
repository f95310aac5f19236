#include "bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>

namespace brrr::calibrate {

namespace {

// A run of cheap launches stops at this many: the launch queue holds about a thousand.
constexpr int kMaxLaunchesPerRun = 1000;

class Event {
public:
  Event() { check(cudaEventCreate(&event_), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  operator cudaEvent_t() const { return event_; }

private:
  cudaEvent_t event_ = nullptr;
};

double elapsed_ms(const Event& start, const Event& stop) {
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  return ms;
}

std::string gib(size_t bytes) { return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / double(1 << 30)); }

} // namespace

void check(cudaError_t result, const char* what) {
  if (result != cudaSuccess) throw CudaFailure(std::string(what) + ": " + cudaGetErrorString(result));
}

double time_once_ms(const Context& context, const std::function<void()>& launch) {
  Event start;
  Event stop;
  launch();
  check(cudaStreamSynchronize(context.stream), "warm-up run");
  check(cudaEventRecord(start, context.stream), "cudaEventRecord");
  launch();
  check(cudaEventRecord(stop, context.stream), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "timed launch");
  return elapsed_ms(start, stop);
}

Runs time_on_gpu(const Context& context, double work, const std::function<void()>& launch) {
  const double one_ms = std::max(time_once_ms(context, launch), 1e-3);
  Event start;
  Event stop;
  const int launches = std::clamp(static_cast<int>(std::ceil(gpu_run_ms / one_ms)), 1, kMaxLaunchesPerRun);
  Runs runs;
  for (int r = 0; r < gpu_runs; ++r) {
    check(cudaEventRecord(start, context.stream), "cudaEventRecord");
    for (int i = 0; i < launches; ++i) launch();
    check(cudaEventRecord(stop, context.stream), "cudaEventRecord");
    // The queued work keeps the GPU busy for about launches × one_ms: its clocks are read
    // half way through.
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(launches * one_ms / 2));
    Run run;
    if (context.nvml) run.clocks = context.nvml->clocks();
    check(cudaEventSynchronize(stop), "timed run");
    run.value = work * launches / (elapsed_ms(start, stop) / 1e3);
    runs.push_back(std::move(run));
  }
  return runs;
}

Runs time_on_host(int operations, bool latency, const std::function<void()>& body) {
  body();
  Runs runs;
  for (int r = 0; r < host_runs; ++r) {
    const auto begin = std::chrono::steady_clock::now();
    body();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - begin).count();
    Run run;
    run.value = latency ? ns / operations : operations / (ns / 1e9);
    runs.push_back(std::move(run));
  }
  return runs;
}

size_t free_device_bytes() {
  size_t free = 0;
  size_t total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return free;
}

DeviceBuffer::DeviceBuffer(size_t bytes) {
  const cudaError_t result = cudaMalloc(&data_, bytes);
  if (result == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError(); // an allocation failure does not poison the context
    throw Unsupported("needs " + gib(bytes) + " of GPU memory, " + gib(free_device_bytes()) + " are free");
  }
  check(result, "cudaMalloc");
}

} // namespace brrr::calibrate
