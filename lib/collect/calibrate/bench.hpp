#pragma once
// Timing for the calibration benchmarks: what one benchmark measures (its runs, with the clocks
// seen during each), how GPU work is timed (CUDA events around back-to-back launches) and how
// host-bound work is timed (the host's steady clock), and device memory that frees itself.

#include "nvml.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace brrr::calibrate {

// A CUDA call failed; `what` names the call. The calibration stops: after a failed launch the
// context may be unusable, and a figure measured past an error would not be trustworthy.
class CudaFailure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};
void check(cudaError_t result, const char* what);

// A benchmark cannot run on this GPU (too little memory, no cuBLASLt kernel for a type): the
// ceiling is skipped with this reason, and the others go on.
class Unsupported : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct Context {
  int device = 0;
  int sm_count = 0;
  size_t l2_bytes = 0;
  cudaStream_t stream = nullptr;
  const Nvml* nvml = nullptr;
};

struct Run {
  double value = 0; // a rate (per second) or a latency (ns)
  Nvml::Clocks clocks;
};
using Runs = std::vector<Run>;

// What one benchmark measured: its runs, and how, where there was a choice to make (which
// GEMM was fastest). Implicitly made from runs alone.
struct Measured {
  Measured(Runs measured_runs, std::string how = {}) : runs(std::move(measured_runs)), setup(std::move(how)) {}
  Runs runs;
  std::string setup;
};

// How long one timed run of GPU work lasts at least, and how many runs a ceiling gets. The
// best run is the ceiling; a run long enough averages over clock and scheduling jitter.
inline constexpr double gpu_run_ms = 30;
inline constexpr int gpu_runs = 9;

// Times one launch of `launch` with CUDA events, once the stream's earlier work is done:
// milliseconds.
[[nodiscard]] double time_launch_ms(const Context& context, const std::function<void()>& launch);

// Runs `launch` once to warm up, then times one more launch: milliseconds.
[[nodiscard]] double time_once_ms(const Context& context, const std::function<void()>& launch);

// Times `launch` (which queues `work` bytes or FLOPs of GPU work on the context's stream):
// once to warm up, once to size the runs, then gpu_runs runs of back-to-back launches, each
// at least gpu_run_ms long, between two CUDA events. NVML's clocks are read in the middle of
// each run. Returns the rates, work per second.
[[nodiscard]] Runs time_on_gpu(const Context& context, double work, const std::function<void()>& launch);

// A burst of work after the GPU has idled, as a program's GEMMs come between lighter kernels:
// an H100 under tensor-core load lowers its SM clock within milliseconds to stay within its
// power limit, and recovers while idle, so that a GEMM that follows lighter work runs faster
// than one in the middle of a long run of GEMMs. The ceiling is the fastest a kernel can be,
// so it is the fastest launch of a burst. The GPU idles burst_pause_ms before each burst.
inline constexpr double burst_pause_ms = 100;
// Each burst lasts at least this long (at least burst_min_launches launches): long enough to
// cover the clock's rise from idle and its fall under the power limit.
inline constexpr double burst_ms = 25;
inline constexpr int burst_min_launches = 3;
// NVML's clocks are sampled this often during a burst.
inline constexpr double burst_clock_sample_ms = 1;

// Idles burst_pause_ms, then queues `launches` launches of `launch` (each `work` bytes or
// FLOPs) back to back, each between two CUDA events. Returns the fastest launch's rate, with
// the clocks NVML reported nearest the middle of that launch.
[[nodiscard]] Run time_burst(const Context& context, double work, int launches, const std::function<void()>& launch);

// Host-bound ceilings (launches, synchronization, pageable copies) are paid in the host's CPU:
// its clock, which CPU the thread runs on, and whatever else the host's scheduler (and on a
// VM, the hypervisor) runs meanwhile, which only ever makes them slower. They are timed as
// many short trials after a warm-up, and their ceiling is the fast decile of the trials
// (model/ceilings.hpp), what the host sustains when it is not interrupted. Trials last about
// host_trial_ms (shorter where the benchmark caps a trial's operations), as many as fit in
// host_budget_ms, within [host_min_trials, host_max_trials], over host_rounds rounds; each
// round starts with a warm-up (the CPU leaving its idle states, the driver's first-use paths)
// of host_warm_up_ms.
inline constexpr double host_warm_up_ms = 50;
inline constexpr double host_trial_ms = 1;
inline constexpr double host_budget_ms = 1000;
inline constexpr int host_min_trials = 80;
inline constexpr int host_max_trials = 4000;
// The trials are spread over up to host_cpus of the CPUs near the GPU, in host_rounds rounds
// of one block of trials on each CPU, the rounds spread over the calibration (main.cpp runs
// them before, between and after the GPU's ceilings). On a 2×H200 VM the trials of one block
// mostly agreed within a few percent, while blocks lay up to 50% apart, with no CPU fast or
// slow from one round to the next, and all of one calibration's launch-rate blocks (0.6 s)
// were slower than most of another's: how fast the host is changes between blocks and over
// seconds (which physical core is behind the CPU, what its sibling and the other tenants
// run), not trial to trial. The fast decile is decided by the fastest few blocks, so the more
// blocks, and the more moments they are drawn from, the less it depends on luck. Each block
// starts with one untimed trial, to warm the caches of the CPU it moved to.
inline constexpr int host_cpus = 8;
inline constexpr int host_rounds = 3;

// Times one round of `body(n)` (which does n operations, each `work` bytes or 1 when
// counting) on the host's steady clock, in trials of n ≤ max_operations operations, with the
// calling thread pinned to one CPU near the GPU at a time, one block of trials on each.
// `untimed`, when given, runs before each trial and each warm-up batch, outside the timing:
// what keeps the trials comparable (draining the launch queue before it fills). Returns one
// run per trial: work per second, or nanoseconds per operation when `latency`.
[[nodiscard]] Runs time_on_host(double work, bool latency, int max_operations,
                                const std::function<void(int operations)>& body,
                                const std::function<void()>& untimed = {});

// Keeps the calling thread, and the threads it starts later (the CUDA runtime's), on the CPUs
// nearest the GPU, among those it may use: host memory it touches is then on the GPU's NUMA
// node, and its launches and synchronizations do not cross sockets. Without that, which
// socket the scheduler picks would change from one calibration to the next, and the
// host-bound ceilings with it. Does nothing when NVML cannot tell which CPUs are near, or
// none of them is allowed.
void stay_near_gpu(const Nvml& nvml);

// Device memory for one benchmark. Throws Unsupported when the GPU does not have it free.
class DeviceBuffer {
public:
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  [[nodiscard]] void* get() const { return data_; }
  template <typename T> [[nodiscard]] T* as() const { return static_cast<T*>(data_); }

private:
  void* data_ = nullptr;
};

// Free device memory now.
[[nodiscard]] size_t free_device_bytes();

} // namespace brrr::calibrate
