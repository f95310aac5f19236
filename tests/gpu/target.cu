// A CUDA program that ends in the ways brrr must survive, for the GPU tests:
//   brrr-test-target exit N          launch 10 kernels, wait, exit with status N
//   brrr-test-target exit-in-flight  launch 1000 kernels and exit() without waiting for them
//   brrr-test-target segv            run kernels for about 1.5 s, then crash with SIGSEGV
//   brrr-test-target abort           the same, then abort()
//   brrr-test-target late-kernel     12000 launches of one kernel, then 10 of a kernel first seen
//                                    after them (brrr's counters must wake up for it)
// Each prints the number of kernels it launched, so that the tests can count them in the report.

#include "cuda_check.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// About 10 µs of work on one block, so that launches queue up behind each other.
__global__ void spin_kernel(float* out, int iterations) {
  float v = static_cast<float>(threadIdx.x);
  for (int i = 0; i < iterations; ++i) v = v * 0.999f + 1.0f;
  if (v == -1.0f) out[threadIdx.x] = v;
}

// A kernel of its own, launched only after thousands of others.
__global__ void late_kernel(float* out) { out[threadIdx.x] = 2.0f * threadIdx.x; }

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: brrr-test-target exit N | exit-in-flight | segv | abort | late-kernel\n");
    return 2;
  }
  float* out = nullptr;
  CHECK(cudaMalloc(&out, 1024 * sizeof(float)));
  const char* mode = argv[1];
  if (std::strcmp(mode, "exit") == 0 && argc > 2) {
    for (int i = 0; i < 10; ++i) spin_kernel<<<1, 128>>>(out, 1000);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    std::printf("launched 10\n");
    std::fflush(stdout);
    std::exit(std::atoi(argv[2]));
  }
  if (std::strcmp(mode, "exit-in-flight") == 0) {
    for (int i = 0; i < 1000; ++i) spin_kernel<<<1, 128>>>(out, 20000);
    CHECK(cudaGetLastError());
    std::printf("launched 1000\n");
    std::fflush(stdout);
    std::exit(0);
  }
  if (std::strcmp(mode, "segv") == 0 || std::strcmp(mode, "abort") == 0) {
    const auto start = std::chrono::steady_clock::now();
    long launched = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500)) {
      for (int i = 0; i < 100; ++i) spin_kernel<<<1, 128>>>(out, 1000);
      launched += 100;
      CHECK(cudaDeviceSynchronize());
    }
    std::printf("launched %ld\n", launched);
    std::fflush(stdout);
    if (std::strcmp(mode, "abort") == 0) std::abort();
    std::raise(SIGSEGV);
  }
  if (std::strcmp(mode, "late-kernel") == 0) {
    for (int i = 0; i < 12000; ++i) spin_kernel<<<1, 128>>>(out, 100);
    CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < 10; ++i) late_kernel<<<1, 128>>>(out);
    CHECK(cudaDeviceSynchronize());
    std::printf("launched 12010\n");
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
