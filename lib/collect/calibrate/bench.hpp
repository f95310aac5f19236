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

// How long one timed run of GPU work lasts at least, and how many runs a ceiling gets. The
// best run is the ceiling; a run long enough averages over clock and scheduling jitter.
inline constexpr double gpu_run_ms = 30;
inline constexpr int gpu_runs = 9;
// Host-bound ceilings vary more, and one run is short: more runs.
inline constexpr int host_runs = 15;

// Runs `launch` once to warm up, then times one more launch with CUDA events: milliseconds.
[[nodiscard]] double time_once_ms(const Context& context, const std::function<void()>& launch);

// Times `launch` (which queues `work` bytes or FLOPs of GPU work on the context's stream):
// once to warm up, once to size the runs, then gpu_runs runs of back-to-back launches, each
// at least gpu_run_ms long, between two CUDA events. NVML's clocks are read in the middle of
// each run. Returns the rates, work per second.
[[nodiscard]] Runs time_on_gpu(const Context& context, double work, const std::function<void()>& launch);

// Times `body` (which does `operations` operations and waits for them) on the host's steady
// clock, after one warm-up: host_runs runs. Returns operations per second, or nanoseconds
// per operation when `latency`.
[[nodiscard]] Runs time_on_host(int operations, bool latency, const std::function<void()>& body);

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
