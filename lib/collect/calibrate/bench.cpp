#include "bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sched.h>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }

// While it lives, the calling thread runs on one CPU at a time, the one pin() named last; then
// it runs where it could before. A thread that moves between CPUs in the middle of a trial
// pays for it (cold caches, another CPU's queue), and the scheduler moves it more on a busy
// host.
class OneCpuAtATime {
public:
  OneCpuAtATime() : known_(sched_getaffinity(0, sizeof allowed_, &allowed_) == 0) {}
  ~OneCpuAtATime() {
    if (moved_) sched_setaffinity(0, sizeof allowed_, &allowed_);
  }
  OneCpuAtATime(const OneCpuAtATime&) = delete;
  OneCpuAtATime& operator=(const OneCpuAtATime&) = delete;

  // Up to `count` of the CPUs the thread may use: the one it is on first, then others evenly
  // spaced among the rest. Empty when the thread's CPUs cannot be read.
  [[nodiscard]] std::vector<int> cpus(int count) const {
    if (!known_) return {};
    std::vector<int> allowed;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &allowed_)) allowed.push_back(cpu);
    const auto here = std::find(allowed.begin(), allowed.end(), sched_getcpu());
    if (here != allowed.end()) std::rotate(allowed.begin(), here, allowed.end());
    const std::size_t chosen = std::min(allowed.size(), static_cast<std::size_t>(count));
    std::vector<int> out;
    for (std::size_t i = 0; i < chosen; ++i) out.push_back(allowed[i * allowed.size() / chosen]);
    return out;
  }

  void pin(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    moved_ = sched_setaffinity(0, sizeof one, &one) == 0 || moved_;
  }

private:
  cpu_set_t allowed_{};
  bool known_;
  bool moved_ = false;
};

std::string gib(size_t bytes) { return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / double(1 << 30)); }

} // namespace

void check(cudaError_t result, const char* what) {
  if (result != cudaSuccess) throw CudaFailure(std::string(what) + ": " + cudaGetErrorString(result));
}

double time_launch_ms(const Context& context, const std::function<void()>& launch) {
  Event start;
  Event stop;
  check(cudaStreamSynchronize(context.stream), "the work before a timed launch");
  check(cudaEventRecord(start, context.stream), "cudaEventRecord");
  launch();
  check(cudaEventRecord(stop, context.stream), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "timed launch");
  return elapsed_ms(start, stop);
}

double time_once_ms(const Context& context, const std::function<void()>& launch) {
  launch();
  check(cudaStreamSynchronize(context.stream), "warm-up run");
  return time_launch_ms(context, launch);
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
    sleep_ms(launches * one_ms / 2);
    Run run;
    if (context.nvml) run.clocks = context.nvml->clocks();
    check(cudaEventSynchronize(stop), "timed run");
    run.value = work * launches / (elapsed_ms(start, stop) / 1e3);
    runs.push_back(std::move(run));
  }
  return runs;
}

Run time_burst(const Context& context, double work, int launches, const std::function<void()>& launch) {
  sleep_ms(burst_pause_ms);
  std::vector<Event> events(static_cast<size_t>(launches) + 1);
  const auto start = Clock::now();
  check(cudaEventRecord(events[0], context.stream), "cudaEventRecord");
  for (size_t i = 1; i < events.size(); ++i) {
    launch();
    check(cudaEventRecord(events[i], context.stream), "cudaEventRecord");
  }
  // The GPU was idle, so the first event ran as soon as it was queued: the host's time since
  // `start` is the GPU's time since that event, to within a launch latency.
  std::vector<std::pair<double, Nvml::Clocks>> samples;
  if (context.nvml && context.nvml->available()) {
    while (cudaEventQuery(events.back()) == cudaErrorNotReady) {
      samples.emplace_back(ms_since(start), context.nvml->clocks());
      sleep_ms(burst_clock_sample_ms);
    }
    // "Not ready" is an answer, not an error, but must not linger for the next launch's check.
    if (cudaPeekAtLastError() == cudaErrorNotReady) (void)cudaGetLastError();
  }
  check(cudaEventSynchronize(events.back()), "timed burst");
  double best_ms = std::numeric_limits<double>::infinity();
  double best_middle_ms = 0;
  double elapsed = 0;
  for (size_t i = 1; i < events.size(); ++i) {
    const double ms = elapsed_ms(events[i - 1], events[i]);
    if (ms < best_ms) {
      best_ms = ms;
      best_middle_ms = elapsed + ms / 2;
    }
    elapsed += ms;
  }
  Run run;
  run.value = work / (std::max(best_ms, 1e-6) / 1e3);
  const auto nearest = std::min_element(samples.begin(), samples.end(), [&](const auto& a, const auto& b) {
    return std::fabs(a.first - best_middle_ms) < std::fabs(b.first - best_middle_ms);
  });
  if (nearest != samples.end()) run.clocks = nearest->second;
  return run;
}

Runs time_on_host(double work, bool latency, int max_operations, const std::function<void(int)>& body,
                  const std::function<void()>& untimed) {
  OneCpuAtATime pinning;
  const std::vector<int> cpus = pinning.cpus(host_cpus);
  if (!cpus.empty()) pinning.pin(cpus.front());
  // The warm-up doubles its batches, and tells how long one operation takes.
  const auto warm_up = Clock::now();
  long done = 0;
  double body_ms = 0;
  for (int batch = 1; done == 0 || ms_since(warm_up) < host_warm_up_ms; batch = std::min(2 * batch, max_operations)) {
    if (untimed) untimed();
    const auto begin = Clock::now();
    body(batch);
    body_ms += ms_since(begin);
    done += batch;
  }
  const double operation_ms = body_ms / static_cast<double>(done);
  const int operations = std::clamp(static_cast<int>(host_trial_ms / operation_ms), 1, max_operations);
  const int trials = std::clamp(static_cast<int>(host_budget_ms / host_rounds / (operations * operation_ms)),
                                host_min_trials / host_rounds, host_max_trials / host_rounds);
  const int blocks = std::max<int>(1, static_cast<int>(cpus.size()));
  Runs runs;
  for (int block = 0; block < blocks; ++block) {
    if (!cpus.empty()) pinning.pin(cpus[static_cast<std::size_t>(block) % cpus.size()]);
    if (untimed) untimed();
    body(operations);
    for (int t = trials * block / blocks; t < trials * (block + 1) / blocks; ++t) {
      if (untimed) untimed();
      const auto begin = Clock::now();
      body(operations);
      const double ns = std::chrono::duration<double, std::nano>(Clock::now() - begin).count();
      Run run;
      run.value = latency ? ns / operations : work * operations / (ns / 1e9);
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

void stay_near_gpu(const Nvml& nvml) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  cpu_set_t near;
  CPU_ZERO(&near);
  for (const int cpu : nvml.near_cpus())
    if (cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed)) CPU_SET(cpu, &near);
  if (CPU_COUNT(&near) > 0) (void)sched_setaffinity(0, sizeof near, &near);
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
