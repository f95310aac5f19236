// Error checking shared by the CUDA programs (the demo, the benchmark programs).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

// Every failure is fatal: a program that carries on after an error would hand brrr a trace of
// something other than what its phase names promise, or a number for work that never ran.
inline void check_result(cudaError_t result, const char* file, int line) {
  if (result != cudaSuccess) {
    std::fprintf(stderr, "%s:%d: %s\n", file, line, cudaGetErrorString(result));
    std::exit(1);
  }
}

inline void check_result(cublasStatus_t result, const char* file, int line) {
  if (result != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "%s:%d: %s\n", file, line, cublasGetStatusString(result));
    std::exit(1);
  }
}

#define CHECK(call) check_result((call), __FILE__, __LINE__)

// Kernel launches return nothing, so a bad configuration only shows up in the last error.
#define CHECK_LAUNCH() check_result(cudaGetLastError(), __FILE__, __LINE__)
