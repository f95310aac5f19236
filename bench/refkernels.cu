// brrr-refkernels: kernels whose work is known on paper, for checking how closely hardware
// counters (FLOPs by precision, DRAM bytes) agree with the truth. Each kernel runs once to warm
// up, then once more inside an NVTX range of its name, and prints one JSON line:
//   {"name":..., "analytic_flops":..., "analytic_flops_precision":..., "analytic_dram_bytes":...,
//    "analytic_dram_bytes_lower_bound":..., "ms":...}
//
// Usage: brrr-refkernels [--only NAME] [--help]
//
// Caveats for the DRAM numbers: writes land in the 50 MiB L2 first and some of the last ones
// are written back only after the kernel ends, so small outputs (the 4-8 MiB the FMA kernels
// write) may show up as almost no DRAM traffic at all. The GEMM numbers are the compulsory
// traffic (each input read once, the output written once); real tilings read more.

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cuda_check.h"
#include "random.cuh"

namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr int kStreamThreads = 256;

// The FMA kernels use a fixed grid so that their FLOP count does not depend on the GPU:
// 1024 blocks of 256 threads is one full wave on an H100 (132 SMs x 8 blocks of 256).
constexpr int kFmaBlocks = 1024;
constexpr int kFmaThreads = 256;
constexpr int kFmaChains = 4;
// About 1 ms each on an H100 SXM: 5.6e10 FP32 FLOPs at ~56 TFLOP/s, 3.4e10 FP64 FLOPs at
// ~34 TFLOP/s. Multiples of the unroll factor (8) so that no remainder loop runs.
constexpr int kFp32Iterations = 26624;
constexpr int kFp64Iterations = 16384;
constexpr int kFmaUnroll = 8;

constexpr size_t kCopyFloat4s = kGiB / sizeof(float4);
constexpr size_t kCosElements = size_t{64} << 20;
constexpr size_t kHalfElements = size_t{64} << 20;
constexpr int kGemmSize = 8192;

__global__ void copy_kernel(const float4* __restrict__ in, float4* __restrict__ out, size_t count) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x) {
    out[i] = in[i];
  }
}

__global__ void cos_cos_kernel(const float4* __restrict__ x, float4* __restrict__ z, size_t count4) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count4; i += size_t{gridDim.x} * blockDim.x) {
    const float4 v = x[i];
    z[i] = make_float4(cosf(cosf(v.x)), cosf(cosf(v.y)), cosf(cosf(v.z)), cosf(cosf(v.w)));
  }
}

// Four independent chains hide the FMA latency. The multiplier and addend arrive at run time,
// so the compiler can neither fold the chains nor drop them, and every chain's result is
// stored, so no FMA is dead. Storing all four (rather than their sum) keeps the kernel free of
// any floating-point instruction besides the counted FMAs.
//
// The starting values are built from bits with integer instructions only (1.0 to 1.75 with the
// thread index in the low mantissa bits): arithmetic on floats there would add a few FADDs and
// FFMAs per thread that the analytic count leaves out.
__global__ void fma_fp32_kernel(float4* out, int iterations, float multiplier, float addend) {
  const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned low_bits = tid & 1023u;
  float c0 = __uint_as_float(0x3F800000u | low_bits);
  float c1 = __uint_as_float(0x3FA00000u | low_bits);
  float c2 = __uint_as_float(0x3FC00000u | low_bits);
  float c3 = __uint_as_float(0x3FE00000u | low_bits);
#pragma unroll kFmaUnroll
  for (int i = 0; i < iterations; ++i) {
    c0 = fmaf(c0, multiplier, addend);
    c1 = fmaf(c1, multiplier, addend);
    c2 = fmaf(c2, multiplier, addend);
    c3 = fmaf(c3, multiplier, addend);
  }
  out[tid] = make_float4(c0, c1, c2, c3);
}

__global__ void fma_fp64_kernel(double2* out, int iterations, double multiplier, double addend) {
  const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
  const int low_bits = static_cast<int>(tid & 1023u);
  double c0 = __hiloint2double(0x3FF00000, low_bits);
  double c1 = __hiloint2double(0x3FF40000, low_bits);
  double c2 = __hiloint2double(0x3FF80000, low_bits);
  double c3 = __hiloint2double(0x3FFC0000, low_bits);
#pragma unroll kFmaUnroll
  for (int i = 0; i < iterations; ++i) {
    c0 = fma(c0, multiplier, addend);
    c1 = fma(c1, multiplier, addend);
    c2 = fma(c2, multiplier, addend);
    c3 = fma(c3, multiplier, addend);
  }
  out[2 * tid] = make_double2(c0, c1);
  out[2 * tid + 1] = make_double2(c2, c3);
}

// z = x*y + x on 8 halves per 16-byte load, as four HFMA2 instructions.
__global__ void hfma_kernel(const uint4* __restrict__ x, const uint4* __restrict__ y, uint4* __restrict__ z,
                            size_t count8) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count8; i += size_t{gridDim.x} * blockDim.x) {
    const uint4 xv = x[i];
    const uint4 yv = y[i];
    uint4 zv;
    const auto* xh = reinterpret_cast<const __half2*>(&xv);
    const auto* yh = reinterpret_cast<const __half2*>(&yv);
    auto* zh = reinterpret_cast<__half2*>(&zv);
#pragma unroll
    for (int k = 0; k < 4; ++k) zh[k] = __hfma2(xh[k], yh[k], xh[k]);
    z[i] = zv;
  }
}

struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  int sm_count = 0;
};

// What a kernel is known to do, and how to run it.
struct RefKernel {
  std::string name;
  long long flops; // Negative when no count is meaningful (printed as null).
  const char* precision;
  unsigned long long dram_bytes;
  bool dram_bytes_lower_bound;
  std::function<void()> run;
};

template <typename Kernel> int full_grid(const Context& context, Kernel kernel, int threads) {
  int blocks_per_sm = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, kernel, threads, 0));
  return context.sm_count * std::max(1, blocks_per_sm);
}

template <typename T> T* alloc_filled(const Context& context, size_t count, uint32_t seed, float low, float high) {
  T* data = nullptr;
  CHECK(cudaMalloc(&data, count * sizeof(T)));
  fill_uniform<T><<<full_grid(context, fill_uniform<T>, kStreamThreads), kStreamThreads, 0, context.stream>>>(
      data, count, seed, low, high);
  CHECK_LAUNCH();
  return data;
}

template <typename T> T* alloc_output(size_t count) {
  T* data = nullptr;
  CHECK(cudaMalloc(&data, count * sizeof(T)));
  return data;
}

void gemm(const Context& context, const void* a, const void* b, void* c, cudaDataType type,
          cublasComputeType_t compute) {
  const float alpha = 1.0f;
  const float beta = 0.0f;
  CHECK(cublasGemmEx(context.cublas, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize, &alpha, a, type,
                     kGemmSize, b, type, kGemmSize, &beta, c, type, kGemmSize, compute, CUBLAS_GEMM_DEFAULT));
}

// Allocates a kernel's buffers, runs it once to warm up and once measured inside its NVTX
// range, prints its JSON line and frees the buffers. Buffers live only for their kernel, so
// the largest footprint is the 2 GiB of the copy.
void measure(const Context& context, const std::string& name) {
  std::vector<void*> buffers;
  auto keep = [&buffers](auto* p) {
    buffers.push_back(p);
    return p;
  };
  RefKernel kernel;
  const uint64_t gemm_flops = 2ull * kGemmSize * kGemmSize * kGemmSize;
  const uint64_t gemm_elements = uint64_t{kGemmSize} * kGemmSize;
  const uint64_t fma_threads = uint64_t{kFmaBlocks} * kFmaThreads;

  if (name == "copy") {
    const auto* in = keep(alloc_filled<float>(context, kCopyFloat4s * 4, 1, -1.0f, 1.0f));
    auto* out = keep(alloc_output<float>(kCopyFloat4s * 4));
    const int grid = full_grid(context, copy_kernel, kStreamThreads);
    kernel = {name, 0, "fp32", 2 * kGiB, false, [=] {
                copy_kernel<<<grid, kStreamThreads, 0, context.stream>>>(reinterpret_cast<const float4*>(in),
                                                                         reinterpret_cast<float4*>(out), kCopyFloat4s);
                CHECK_LAUNCH();
              }};
  } else if (name == "cos_cos") {
    const auto* x = keep(alloc_filled<float>(context, kCosElements, 2, -4.0f, 4.0f));
    auto* z = keep(alloc_output<float>(kCosElements));
    const int grid = full_grid(context, cos_cos_kernel, kStreamThreads);
    kernel = {name, -1, "fp32", 2 * kCosElements * sizeof(float), false, [=] {
                cos_cos_kernel<<<grid, kStreamThreads, 0, context.stream>>>(
                    reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(z), kCosElements / 4);
                CHECK_LAUNCH();
              }};
  } else if (name == "fma_fp32") {
    auto* out = keep(alloc_output<float4>(fma_threads));
    kernel = {name,
              static_cast<long long>(2 * kFmaChains * uint64_t{kFp32Iterations} * fma_threads),
              "fp32",
              fma_threads * sizeof(float4),
              false,
              [=] {
                fma_fp32_kernel<<<kFmaBlocks, kFmaThreads, 0, context.stream>>>(out, kFp32Iterations, 0.9999f, 1e-4f);
                CHECK_LAUNCH();
              }};
  } else if (name == "fma_fp64") {
    auto* out = keep(alloc_output<double2>(2 * fma_threads));
    kernel = {name,
              static_cast<long long>(2 * kFmaChains * uint64_t{kFp64Iterations} * fma_threads),
              "fp64",
              fma_threads * 2 * sizeof(double2),
              false,
              [=] {
                fma_fp64_kernel<<<kFmaBlocks, kFmaThreads, 0, context.stream>>>(out, kFp64Iterations, 0.9999, 1e-4);
                CHECK_LAUNCH();
              }};
  } else if (name == "gemm_bf16") {
    const auto* a = keep(alloc_filled<__nv_bfloat16>(context, gemm_elements, 3, -1.0f, 1.0f));
    const auto* b = keep(alloc_filled<__nv_bfloat16>(context, gemm_elements, 4, -1.0f, 1.0f));
    auto* c = keep(alloc_output<__nv_bfloat16>(gemm_elements));
    kernel = {name,   static_cast<long long>(gemm_flops),
              "bf16", 3 * gemm_elements * sizeof(__nv_bfloat16),
              true,   [=] { gemm(context, a, b, c, CUDA_R_16BF, CUBLAS_COMPUTE_32F); }};
  } else if (name == "gemm_tf32") {
    const auto* a = keep(alloc_filled<float>(context, gemm_elements, 5, -1.0f, 1.0f));
    const auto* b = keep(alloc_filled<float>(context, gemm_elements, 6, -1.0f, 1.0f));
    auto* c = keep(alloc_output<float>(gemm_elements));
    kernel = {name,   static_cast<long long>(gemm_flops),
              "tf32", 3 * gemm_elements * sizeof(float),
              true,   [=] { gemm(context, a, b, c, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32); }};
  } else if (name == "hadd_fp16") {
    // Inputs in [0.5, 1) keep x*y + x well inside the fp16 range.
    const auto* x = keep(alloc_filled<__half>(context, kHalfElements, 7, 0.5f, 1.0f));
    const auto* y = keep(alloc_filled<__half>(context, kHalfElements, 8, 0.5f, 1.0f));
    auto* z = keep(alloc_output<__half>(kHalfElements));
    const int grid = full_grid(context, hfma_kernel, kStreamThreads);
    kernel = {name, static_cast<long long>(2 * kHalfElements), "fp16", 3 * kHalfElements * sizeof(__half), false, [=] {
                hfma_kernel<<<grid, kStreamThreads, 0, context.stream>>>(
                    reinterpret_cast<const uint4*>(x), reinterpret_cast<const uint4*>(y), reinterpret_cast<uint4*>(z),
                    kHalfElements / 8);
                CHECK_LAUNCH();
              }};
  }

  kernel.run();
  CHECK(cudaStreamSynchronize(context.stream));

  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  nvtxRangePushA(name.c_str());
  CHECK(cudaEventRecord(start, context.stream));
  kernel.run();
  CHECK(cudaEventRecord(stop, context.stream));
  CHECK(cudaStreamSynchronize(context.stream));
  nvtxRangePop();
  float ms = 0.0f;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  for (void* p : buffers) CHECK(cudaFree(p));

  const std::string flops = kernel.flops < 0 ? "null" : std::to_string(kernel.flops);
  std::printf("{\"name\":\"%s\",\"analytic_flops\":%s,\"analytic_flops_precision\":\"%s\",\"analytic_dram_bytes\":%llu,"
              "\"analytic_dram_bytes_lower_bound\":%s,\"ms\":%.4f}\n",
              kernel.name.c_str(), flops.c_str(), kernel.precision, kernel.dram_bytes,
              kernel.dram_bytes_lower_bound ? "true" : "false", static_cast<double>(ms));
  std::fflush(stdout);
}

const std::vector<std::string> kNames = {"copy",      "cos_cos",   "fma_fp32", "fma_fp64",
                                         "gemm_bf16", "gemm_tf32", "hadd_fp16"};

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: brrr-refkernels [--only NAME] [--help]\n  NAME: copy, cos_cos, fma_fp32, fma_fp64, "
                    "gemm_bf16, gemm_tf32, hadd_fp16\n");
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names = kNames;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_usage(stdout);
      return 0;
    }
    if (arg == "--only" && i + 1 < argc && std::find(kNames.begin(), kNames.end(), argv[i + 1]) != kNames.end()) {
      names = {argv[++i]};
      continue;
    }
    std::fprintf(stderr, "brrr-refkernels: unexpected or unknown argument: %s\n", argv[i]);
    print_usage(stderr);
    return 2;
  }

  Context context;
  int device = 0;
  CHECK(cudaGetDevice(&device));
  CHECK(cudaDeviceGetAttribute(&context.sm_count, cudaDevAttrMultiProcessorCount, device));
  CHECK(cudaStreamCreate(&context.stream));
  CHECK(cublasCreate(&context.cublas));
  CHECK(cublasSetStream(context.cublas, context.stream));
  for (const std::string& name : names) measure(context, name);
  CHECK(cublasDestroy(context.cublas));
  CHECK(cudaStreamDestroy(context.stream));
  return 0;
}
