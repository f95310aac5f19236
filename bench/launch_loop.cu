// brrr-launch-loop: N back-to-back launches of a tiny kernel, for measuring what a tracer adds
// to each launch. The kernel does almost nothing, so the loop runs at the speed of the launch
// path, which is where per-launch tracing overhead shows.
//
// Usage: brrr-launch-loop [--driver] [N] [threads]
//   (defaults: 20000 launches of 1 block of 256 threads, through the runtime; --driver: through
//   the driver's cuLaunchKernel, as Triton's and CuPy's kernels are launched)

#include <cuda.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cuda_check.h"

namespace {

constexpr int kWarmupLaunches = 100;

__global__ void fill_buffer(float* buffer, uint32_t seed) {
  // A multiplicative hash of the index, so that the buffer holds varied non-zero values.
  const uint32_t h = (threadIdx.x + seed) * 2654435761u;
  buffer[threadIdx.x] = 1.0f + static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
}

__global__ void tiny_kernel(float* buffer) { buffer[threadIdx.x] = buffer[threadIdx.x] * 0.5f + 1.0f; }

long long parse_positive(const char* text, const char* what, long long max) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value <= 0 || value > max) {
    std::fprintf(stderr, "brrr-launch-loop: %s must be an integer in [1, %lld], got %s\n", what, max, text);
    std::fprintf(stderr, "usage: brrr-launch-loop [--driver] [N] [threads]\n");
    std::exit(2);
  }
  return value;
}

} // namespace

int main(int argc, char** argv) {
  const bool driver = argc > 1 && std::strcmp(argv[1], "--driver") == 0;
  if (driver) --argc, ++argv;
  if (argc > 3) {
    std::fprintf(stderr, "usage: brrr-launch-loop [--driver] [N] [threads]\n");
    return 2;
  }
  const long long launches = argc > 1 ? parse_positive(argv[1], "N", 1LL << 40) : 20000;
  const int threads = argc > 2 ? static_cast<int>(parse_positive(argv[2], "threads", 1024)) : 256;

  float* buffer = nullptr;
  CHECK(cudaMalloc(&buffer, threads * sizeof(float)));
  fill_buffer<<<1, threads>>>(buffer, 12345u);
  CHECK_LAUNCH();

  // The driver's handle of the same kernel, for --driver.
  CUfunction function = nullptr;
  if (driver) CHECK(cudaGetFuncBySymbol(&function, reinterpret_cast<const void*>(tiny_kernel)));
  void* params[] = {&buffer};
  const auto launch = [&] {
    if (driver) {
      if (const CUresult r = cuLaunchKernel(function, 1, 1, 1, threads, 1, 1, 0, nullptr, params, nullptr);
          r != CUDA_SUCCESS) {
        std::fprintf(stderr, "brrr-launch-loop: cuLaunchKernel failed: %d\n", static_cast<int>(r));
        std::exit(1);
      }
    } else {
      tiny_kernel<<<1, threads>>>(buffer);
      CHECK_LAUNCH();
    }
  };

  // The warm-up pays for module loading and the first-launch set-up outside the timed loop.
  for (int i = 0; i < kWarmupLaunches; ++i) launch();
  CHECK(cudaDeviceSynchronize());

  const auto start = std::chrono::steady_clock::now();
  for (long long i = 0; i < launches; ++i) launch();
  CHECK(cudaDeviceSynchronize());
  const auto stop = std::chrono::steady_clock::now();

  const double us = std::chrono::duration<double, std::micro>(stop - start).count();
  std::printf("launches=%lld us_per_launch=%.3f\n", launches, us / static_cast<double>(launches));
  CHECK(cudaFree(buffer));
  return 0;
}
