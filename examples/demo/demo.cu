// brrr-demo: the bundled program that brrr profiles. Each phase is built to be bound by one
// thing (launch overhead, synchronisation, PCIe copies, DRAM bandwidth, tensor-core math),
// and each sits in an NVTX range of its own name so that a report can be read phase by phase.
// One more phase runs only when named: the same GEMM in FP32 on CUDA cores, the case where
// tensor cores would help.
//
// Usage: brrr-demo [--phases a,b,c] [--scale F] [--help]

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cuda_check.h"
#include "random.cuh"

namespace {

constexpr size_t kMiB = size_t{1} << 20;
// N is fixed so that the DRAM traffic of a cos phase is known: 64 Mi floats are 256 MiB per
// buffer, far more than the 50 MiB L2 of an H100, so every pass goes to DRAM.
constexpr size_t kCosElements = size_t{64} << 20;
constexpr size_t kCopyBytes = 256 * kMiB;
constexpr int kGemmSize = 8192;
constexpr int kTinyThreads = 256;
constexpr int kStreamThreads = 256;

const std::vector<std::string_view> kAllPhases = {"overhead", "sync", "copies", "unfused", "fused", "gemm"};
// Phases that run only when --phases names them.
const std::vector<std::string_view> kOptionalPhases = {"sgemm"};

struct Options {
  std::vector<std::string_view> phases;
  double scale = 1.0;
};

// One block touching one small buffer: the GPU time is negligible next to the launch cost.
__global__ void tiny_kernel(float* buffer) { buffer[threadIdx.x] = buffer[threadIdx.x] * 0.5f + 1.0f; }

__global__ void cos_kernel(const float4* __restrict__ x, float4* __restrict__ y, size_t count4) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count4; i += size_t{gridDim.x} * blockDim.x) {
    const float4 v = x[i];
    y[i] = make_float4(cosf(v.x), cosf(v.y), cosf(v.z), cosf(v.w));
  }
}

// The fused form of two cos_kernel passes: same loads and stores, minus the round trip of the
// intermediate through DRAM.
__global__ void cos_cos_kernel(const float4* __restrict__ x, float4* __restrict__ z, size_t count4) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count4; i += size_t{gridDim.x} * blockDim.x) {
    const float4 v = x[i];
    z[i] = make_float4(cosf(cosf(v.x)), cosf(cosf(v.y)), cosf(cosf(v.z)), cosf(cosf(v.w)));
  }
}

struct Demo {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  int sm_count = 0;
  double scale = 1.0;
  float* tiny = nullptr;
  float* x = nullptr;
  float* y = nullptr;
  float* z = nullptr;
  __nv_bfloat16* a = nullptr;
  __nv_bfloat16* b = nullptr;
  __nv_bfloat16* c = nullptr;
  float* sa = nullptr;
  float* sb = nullptr;
  float* sc = nullptr;
  void* copy_device = nullptr;
  void* copy_pageable = nullptr;
  void* copy_pinned = nullptr;

  int reps(int base) const { return std::max(1, static_cast<int>(std::lround(base * scale))); }
};

// A grid that fills every SM once; the grid-stride loops cover the rest.
template <typename Kernel> int full_grid(const Demo& demo, Kernel kernel, int threads) {
  int blocks_per_sm = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, kernel, threads, 0));
  return demo.sm_count * std::max(1, blocks_per_sm);
}

void fill_device(const Demo& demo, float* data, size_t count, uint32_t seed, float low, float high) {
  fill_uniform<float><<<full_grid(demo, fill_uniform<float>, kStreamThreads), kStreamThreads, 0, demo.stream>>>(
      data, count, seed, low, high);
  CHECK_LAUNCH();
}

void fill_device(const Demo& demo, __nv_bfloat16* data, size_t count, uint32_t seed, float low, float high) {
  fill_uniform<__nv_bfloat16>
      <<<full_grid(demo, fill_uniform<__nv_bfloat16>, kStreamThreads), kStreamThreads, 0, demo.stream>>>(
          data, count, seed, low, high);
  CHECK_LAUNCH();
}

void fill_host(void* data, size_t bytes, uint32_t seed) {
  auto* words = static_cast<float*>(data);
  for (size_t i = 0; i < bytes / sizeof(float); ++i) words[i] = uniform_at(i, seed) + 0.5f;
}

void launch_tiny(const Demo& demo) {
  tiny_kernel<<<1, kTinyThreads, 0, demo.stream>>>(demo.tiny);
  CHECK_LAUNCH();
}

void launch_cos(const Demo& demo, const float* in, float* out) {
  cos_kernel<<<full_grid(demo, cos_kernel, kStreamThreads), kStreamThreads, 0, demo.stream>>>(
      reinterpret_cast<const float4*>(in), reinterpret_cast<float4*>(out), kCosElements / 4);
  CHECK_LAUNCH();
}

void launch_cos_cos(const Demo& demo) {
  cos_cos_kernel<<<full_grid(demo, cos_cos_kernel, kStreamThreads), kStreamThreads, 0, demo.stream>>>(
      reinterpret_cast<const float4*>(demo.x), reinterpret_cast<float4*>(demo.z), kCosElements / 4);
  CHECK_LAUNCH();
}

void gemm(const Demo& demo) {
  const float alpha = 1.0f;
  const float beta = 0.0f;
  CHECK(cublasGemmEx(demo.cublas, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize, &alpha, demo.a,
                     CUDA_R_16BF, kGemmSize, demo.b, CUDA_R_16BF, kGemmSize, &beta, demo.c, CUDA_R_16BF, kGemmSize,
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// The same GEMM in FP32. cuBLAS's default math mode does not use TF32 for it, so it runs on the
// CUDA cores: what a program gets that never asks for tensor cores.
void sgemm(const Demo& demo) {
  const float alpha = 1.0f;
  const float beta = 0.0f;
  CHECK(cublasSgemm(demo.cublas, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize, &alpha, demo.sa, kGemmSize,
                    demo.sb, kGemmSize, &beta, demo.sc, kGemmSize));
}

bool wants(const Options& options, std::string_view phase) {
  return std::find(options.phases.begin(), options.phases.end(), phase) != options.phases.end();
}

// Allocates the three matrices of a GEMM and fills A and B (with seeds seed and seed + 1).
template <typename T> void make_gemm_operands(const Demo& demo, T*& a, T*& b, T*& c, uint32_t seed) {
  const size_t elements = size_t{kGemmSize} * kGemmSize;
  CHECK(cudaMalloc(&a, elements * sizeof(T)));
  CHECK(cudaMalloc(&b, elements * sizeof(T)));
  CHECK(cudaMalloc(&c, elements * sizeof(T)));
  // Non-negative inputs keep every output far from zero, so a relative check is meaningful.
  fill_device(demo, a, elements, seed, 0.0f, 1.0f);
  fill_device(demo, b, elements, seed + 1, 0.0f, 1.0f);
}

// Everything the phases need, allocated, filled and run once, so that no phase pays for
// lazy initialisation (module loading, cuBLAS heuristics, first-touch of pages).
void warm_up(Demo& demo, const Options& options) {
  nvtxRangePushA("warmup");
  CHECK(cudaFree(nullptr));
  int device = 0;
  CHECK(cudaGetDevice(&device));
  CHECK(cudaDeviceGetAttribute(&demo.sm_count, cudaDevAttrMultiProcessorCount, device));
  CHECK(cudaStreamCreate(&demo.stream));
  CHECK(cudaEventCreate(&demo.start));
  CHECK(cudaEventCreate(&demo.stop));

  CHECK(cudaMalloc(&demo.tiny, kTinyThreads * sizeof(float)));
  fill_device(demo, demo.tiny, kTinyThreads, 1, -1.0f, 1.0f);
  launch_tiny(demo);

  if (wants(options, "copies")) {
    CHECK(cudaMalloc(&demo.copy_device, kCopyBytes));
    demo.copy_pageable = std::malloc(kCopyBytes);
    if (demo.copy_pageable == nullptr) {
      std::fprintf(stderr, "%s:%d: out of host memory\n", __FILE__, __LINE__);
      std::exit(1);
    }
    CHECK(cudaMallocHost(&demo.copy_pinned, kCopyBytes));
    fill_host(demo.copy_pageable, kCopyBytes, 2);
    fill_host(demo.copy_pinned, kCopyBytes, 3);
    CHECK(cudaMemcpy(demo.copy_device, demo.copy_pageable, kMiB, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpyAsync(demo.copy_device, demo.copy_pinned, kMiB, cudaMemcpyHostToDevice, demo.stream));
    CHECK(cudaMemcpy(demo.copy_pageable, demo.copy_device, kMiB, cudaMemcpyDeviceToHost));
  }

  if (wants(options, "unfused") || wants(options, "fused")) {
    CHECK(cudaMalloc(&demo.x, kCosElements * sizeof(float)));
    CHECK(cudaMalloc(&demo.y, kCosElements * sizeof(float)));
    CHECK(cudaMalloc(&demo.z, kCosElements * sizeof(float)));
    fill_device(demo, demo.x, kCosElements, 4, -4.0f, 4.0f);
    launch_cos(demo, demo.x, demo.y);
    launch_cos_cos(demo);
  }

  if (wants(options, "gemm") || wants(options, "sgemm")) {
    CHECK(cublasCreate(&demo.cublas));
    CHECK(cublasSetStream(demo.cublas, demo.stream));
  }
  if (wants(options, "gemm")) {
    make_gemm_operands(demo, demo.a, demo.b, demo.c, 5);
    gemm(demo);
  }
  if (wants(options, "sgemm")) {
    make_gemm_operands(demo, demo.sa, demo.sb, demo.sc, 7);
    sgemm(demo);
  }
  CHECK(cudaDeviceSynchronize());
  nvtxRangePop();
}

// Runs one phase inside its NVTX range and returns its GPU wall time. The synchronisation sits
// inside the range so that the range covers all the work the phase queued.
template <typename Body> float run_phase(const Demo& demo, const char* name, Body body) {
  nvtxRangePushA(name);
  CHECK(cudaEventRecord(demo.start, demo.stream));
  body();
  CHECK(cudaEventRecord(demo.stop, demo.stream));
  CHECK(cudaDeviceSynchronize());
  nvtxRangePop();
  float ms = 0.0f;
  CHECK(cudaEventElapsedTime(&ms, demo.start, demo.stop));
  return ms;
}

// The output is poisoned with NaNs before a cos phase, so that a kernel that skipped some
// elements cannot pass the check on what an earlier phase left behind.
void poison_output(const Demo& demo) {
  CHECK(cudaMemsetAsync(demo.z, 0xFF, kCosElements * sizeof(float), demo.stream));
  CHECK(cudaStreamSynchronize(demo.stream));
}

// Checks z = cos(cos(x)) on 4096 runs of 4 consecutive elements spread over the whole array,
// which covers every float4 lane and every part of the grid-stride loop.
bool verify_cos_cos(const Demo& demo, const char* phase) {
  constexpr size_t kRows = 4096;
  constexpr size_t kWidth = 4;
  const size_t pitch = kCosElements / kRows * sizeof(float);
  std::vector<float> x(kRows * kWidth);
  std::vector<float> z(kRows * kWidth);
  CHECK(cudaMemcpy2D(x.data(), kWidth * sizeof(float), demo.x, pitch, kWidth * sizeof(float), kRows,
                     cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy2D(z.data(), kWidth * sizeof(float), demo.z, pitch, kWidth * sizeof(float), kRows,
                     cudaMemcpyDeviceToHost));
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double expected = std::cos(std::cos(static_cast<double>(x[i])));
    if (!(std::fabs(static_cast<double>(z[i]) - expected) <= 1e-5)) {
      if (bad < 5) {
        std::fprintf(stderr, "%s: z[%zu] = %.8f, expected cos(cos(%.8f)) = %.8f\n", phase,
                     i / kWidth * (pitch / sizeof(float)) + i % kWidth, static_cast<double>(z[i]),
                     static_cast<double>(x[i]), expected);
      }
      ++bad;
    }
  }
  if (bad > 0) std::fprintf(stderr, "%s: %d of %zu sampled elements wrong\n", phase, bad, x.size());
  return bad == 0;
}

// The host's reference sums in double, whatever the element type of the GEMM it checks.
double to_double(__nv_bfloat16 v) { return static_cast<double>(__bfloat162float(v)); }
double to_double(float v) { return static_cast<double>(v); }

// Checks a few elements of C = A·B (column-major, no transposes) against a host dot product,
// within a relative tolerance. Only the needed row of A and column of B are copied, not the
// whole matrices.
template <typename T> bool verify_gemm(const char* phase, const T* a, const T* b, const T* c, double tolerance) {
  const size_t n = kGemmSize;
  const size_t samples[][2] = {{0, 0},       {n - 1, n - 1}, {0, n - 1},  {n - 1, 0},
                               {1234, 5678}, {4097, 31},     {777, 8000}, {6543, 2109}};
  std::vector<T> row(n);
  std::vector<T> column(n);
  int bad = 0;
  for (const auto& sample : samples) {
    const size_t i = sample[0];
    const size_t j = sample[1];
    CHECK(cudaMemcpy2D(row.data(), sizeof(T), a + i, n * sizeof(T), sizeof(T), n, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(column.data(), b + j * n, n * sizeof(T), cudaMemcpyDeviceToHost));
    T got_t;
    CHECK(cudaMemcpy(&got_t, c + i + j * n, sizeof(got_t), cudaMemcpyDeviceToHost));
    double expected = 0.0;
    for (size_t l = 0; l < n; ++l) expected += to_double(row[l]) * to_double(column[l]);
    const double got = to_double(got_t);
    if (!(std::fabs(got - expected) <= tolerance * std::fabs(expected))) {
      std::fprintf(stderr, "%s: C[%zu,%zu] = %.4f, expected %.4f\n", phase, i, j, got, expected);
      ++bad;
    }
  }
  return bad == 0;
}

// Runs a GEMM phase (10 GEMMs of 8192³ at scale 1) and prints its time and rate.
void time_gemm(const Demo& demo, const char* phase, void (*gemm_once)(const Demo&)) {
  const int reps = demo.reps(10);
  const float ms = run_phase(demo, phase, [&] {
    for (int r = 0; r < reps; ++r) gemm_once(demo);
  });
  const double flops = 2.0 * kGemmSize * kGemmSize * static_cast<double>(kGemmSize) * reps;
  std::printf("phase %s: %.1f ms (%d reps, %.0f TFLOP/s)\n", phase, static_cast<double>(ms), reps,
              flops / (ms * 1e-3) / 1e12);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs one phase, prints its line and returns whether its results were right.
bool run(Demo& demo, std::string_view phase) {
  if (phase == "overhead") {
    const int reps = demo.reps(20000);
    const float ms = run_phase(demo, "overhead", [&] {
      for (int r = 0; r < reps; ++r) launch_tiny(demo);
    });
    std::printf("phase overhead: %.1f ms (%d launches, %.2f us each)\n", static_cast<double>(ms), reps,
                1e3 * ms / reps);
  } else if (phase == "sync") {
    const int reps = demo.reps(2000);
    const float ms = run_phase(demo, "sync", [&] {
      for (int r = 0; r < reps; ++r) {
        launch_tiny(demo);
        CHECK(cudaStreamSynchronize(demo.stream));
      }
    });
    std::printf("phase sync: %.1f ms (%d launch+sync, %.2f us each)\n", static_cast<double>(ms), reps, 1e3 * ms / reps);
  } else if (phase == "copies") {
    const int reps = demo.reps(1);
    // The copies block the host, so a host clock times each of them well enough; the phase
    // total still comes from events like every other phase.
    double pageable_h2d = 0.0;
    double pinned_h2d = 0.0;
    double pageable_d2h = 0.0;
    const float ms = run_phase(demo, "copies", [&] {
      for (int r = 0; r < reps; ++r) {
        auto start = std::chrono::steady_clock::now();
        CHECK(cudaMemcpy(demo.copy_device, demo.copy_pageable, kCopyBytes, cudaMemcpyHostToDevice));
        pageable_h2d += seconds_since(start);
        start = std::chrono::steady_clock::now();
        CHECK(cudaMemcpyAsync(demo.copy_device, demo.copy_pinned, kCopyBytes, cudaMemcpyHostToDevice, demo.stream));
        CHECK(cudaStreamSynchronize(demo.stream));
        pinned_h2d += seconds_since(start);
        start = std::chrono::steady_clock::now();
        CHECK(cudaMemcpy(demo.copy_pageable, demo.copy_device, kCopyBytes, cudaMemcpyDeviceToHost));
        pageable_d2h += seconds_since(start);
      }
    });
    const double gb = static_cast<double>(kCopyBytes) * reps / 1e9;
    std::printf("phase copies: %.1f ms (%d x 3 copies of 256 MiB; GB/s: h2d pageable %.1f, h2d pinned %.1f, d2h "
                "pageable %.1f)\n",
                static_cast<double>(ms), reps, gb / pageable_h2d, gb / pinned_h2d, gb / pageable_d2h);
  } else if (phase == "unfused") {
    const int reps = demo.reps(20);
    poison_output(demo);
    const float ms = run_phase(demo, "unfused", [&] {
      for (int r = 0; r < reps; ++r) {
        launch_cos(demo, demo.x, demo.y);
        launch_cos(demo, demo.y, demo.z);
      }
    });
    std::printf("phase unfused: %.1f ms (%d reps)\n", static_cast<double>(ms), reps);
    return verify_cos_cos(demo, "unfused");
  } else if (phase == "fused") {
    const int reps = demo.reps(20);
    poison_output(demo);
    const float ms = run_phase(demo, "fused", [&] {
      for (int r = 0; r < reps; ++r) launch_cos_cos(demo);
    });
    std::printf("phase fused: %.1f ms (%d reps)\n", static_cast<double>(ms), reps);
    return verify_cos_cos(demo, "fused");
  } else if (phase == "gemm") {
    time_gemm(demo, "gemm", gemm);
    // bf16 inputs round to 8 bits of mantissa; the sums of 8192 products keep ~1% of error.
    return verify_gemm("gemm", demo.a, demo.b, demo.c, 2e-2);
  } else if (phase == "sgemm") {
    time_gemm(demo, "sgemm", sgemm);
    // FP32 sums of 8192 products of values in [0, 1): a relative error far under 1e-4.
    return verify_gemm("sgemm", demo.sa, demo.sb, demo.sc, 1e-4);
  }
  return true;
}

void release(Demo& demo) {
  if (demo.cublas != nullptr) CHECK(cublasDestroy(demo.cublas));
  for (void* p :
       {static_cast<void*>(demo.tiny), static_cast<void*>(demo.x), static_cast<void*>(demo.y),
        static_cast<void*>(demo.z), static_cast<void*>(demo.a), static_cast<void*>(demo.b), static_cast<void*>(demo.c),
        static_cast<void*>(demo.sa), static_cast<void*>(demo.sb), static_cast<void*>(demo.sc), demo.copy_device}) {
    CHECK(cudaFree(p));
  }
  CHECK(cudaFreeHost(demo.copy_pinned));
  std::free(demo.copy_pageable);
  CHECK(cudaEventDestroy(demo.start));
  CHECK(cudaEventDestroy(demo.stop));
  CHECK(cudaStreamDestroy(demo.stream));
}

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: brrr-demo [--phases a,b,c] [--scale F] [--help]\n"
                    "  --phases  phases to run, in the order given (default: overhead,sync,copies,unfused,fused,gemm;\n"
                    "            also sgemm, the same GEMM in FP32 on CUDA cores)\n"
                    "  --scale   multiplies every repetition count (default 1); array and matrix sizes stay fixed\n");
}

[[noreturn]] void usage_error(const char* message, const char* value) {
  std::fprintf(stderr, "brrr-demo: %s%s\n", message, value);
  print_usage(stderr);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  options.phases = kAllPhases;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_usage(stdout);
      std::exit(0);
    } else if (arg == "--phases" && i + 1 < argc) {
      options.phases.clear();
      std::string_view list = argv[++i];
      while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        auto known = std::find(kAllPhases.begin(), kAllPhases.end(), name);
        if (known == kAllPhases.end()) {
          known = std::find(kOptionalPhases.begin(), kOptionalPhases.end(), name);
          if (known == kOptionalPhases.end()) usage_error("unknown phase: ", std::string(name).c_str());
        }
        options.phases.push_back(*known);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
      if (options.phases.empty()) usage_error("--phases needs at least one phase", "");
    } else if (arg == "--scale" && i + 1 < argc) {
      char* end = nullptr;
      options.scale = std::strtod(argv[++i], &end);
      if (*end != '\0' || !std::isfinite(options.scale) || options.scale <= 0.0) {
        usage_error("--scale needs a positive number, got ", argv[i]);
      }
    } else {
      usage_error("unexpected argument: ", argv[i]);
    }
  }
  return options;
}

} // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  Demo demo;
  demo.scale = options.scale;
  warm_up(demo, options);
  bool ok = true;
  for (const std::string_view phase : options.phases) ok = run(demo, phase) && ok;
  release(demo);
  if (!ok) {
    std::fprintf(stderr, "brrr-demo: results are wrong\n");
    return 1;
  }
  return 0;
}
