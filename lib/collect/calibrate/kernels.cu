// The calibration kernels: each does one kind of work as fast as the GPU allows, so that its
// rate is a ceiling. Loads that the compiler could drop or hoist are either used (summed, and
// stored under a condition the data never meets) or written as volatile PTX.

#include "kernels.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>

#include "random.cuh"

namespace brrr::calibrate {

namespace {

constexpr int kStreamThreads = 256;
constexpr int kL2Threads = 1024;
constexpr int kL2Loads = static_cast<int>(l2_chunk_bytes / 16 / kL2Threads);
constexpr int kSharedThreads = 256;
constexpr int kSharedTile = 1024; // float4s: 16 KiB per block
constexpr int kSharedLoads = static_cast<int>(shared_bytes_per_iteration / 16);
constexpr int kFmaThreads = 256;
constexpr int kFmaChains = fma_chains;
constexpr int kFmaUnroll = fma_per_iteration / fma_chains;

// Four 16-byte loads in flight per thread and iteration keep enough requests outstanding to
// saturate HBM. The data is never negative, so the store never happens; the compiler cannot
// know that and keeps every load.
__global__ void dram_read_kernel(const float4* __restrict__ in, size_t count, float* sink) {
  const size_t stride = size_t{gridDim.x} * blockDim.x;
  size_t i = size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  float sum = 0.0f;
  for (; i + 3 * stride < count; i += 4 * stride) {
    const float4 a = in[i];
    const float4 b = in[i + stride];
    const float4 c = in[i + 2 * stride];
    const float4 d = in[i + 3 * stride];
    sum += ((a.x + a.y) + (a.z + a.w)) + ((b.x + b.y) + (b.z + b.w)) + ((c.x + c.y) + (c.z + c.w)) +
           ((d.x + d.y) + (d.z + d.w));
  }
  for (; i < count; i += stride) {
    const float4 a = in[i];
    sum += (a.x + a.y) + (a.z + a.w);
  }
  if (sum < 0.0f) *sink = sum;
}

__global__ void dram_write_kernel(float4* __restrict__ out, size_t count, float value) {
  const size_t stride = size_t{gridDim.x} * blockDim.x;
  for (size_t i = size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride)
    out[i] = make_float4(value, value, value, value);
}

__global__ void dram_copy_kernel(const float4* __restrict__ in, float4* __restrict__ out, size_t count) {
  const size_t stride = size_t{gridDim.x} * blockDim.x;
  for (size_t i = size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride) out[i] = in[i];
}

// ld.global.cg caches in L2 only: L1 cannot serve the repeated reads. Volatile, so that reads
// of the same address in other blocks of the same SM are not merged.
__device__ __forceinline__ float4 load_l2(const float4* p) {
  float4 v;
  asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  return v;
}

__global__ void l2_read_kernel(const float4* __restrict__ data, unsigned chunks, float* sink) {
  const float4* chunk = data + size_t{blockIdx.x % chunks} * (l2_chunk_bytes / 16);
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < kL2Loads; ++k) {
    const float4 v = load_l2(chunk + k * kL2Threads + threadIdx.x);
    sum += (v.x + v.y) + (v.z + v.w);
  }
  if (sum < 0.0f) *sink = sum;
}

// A volatile shared-memory load cannot be hoisted out of the loop although its address is
// the same in every iteration.
__device__ __forceinline__ float load_shared(unsigned address) {
  float4 v;
  asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(address));
  return v.x + v.w;
}

// Every warp reads 32 consecutive 16-byte words per load: 512 bytes, no bank conflicts.
__global__ void shared_read_kernel(int iterations, float* sink) {
  __shared__ float4 tile[kSharedTile];
  for (int i = threadIdx.x; i < kSharedTile; i += blockDim.x) {
    const auto f = static_cast<float>(i);
    tile[i] = make_float4(f, f + 1, f + 2, f + 3);
  }
  __syncthreads();
  const auto base = static_cast<unsigned>(__cvta_generic_to_shared(tile));
  unsigned address[kSharedLoads];
#pragma unroll
  for (int k = 0; k < kSharedLoads; ++k)
    address[k] = base + ((threadIdx.x + k * 128u) % kSharedTile) * static_cast<unsigned>(sizeof(float4));
  float sum0 = 0.0f;
  float sum1 = 0.0f;
  for (int it = 0; it < iterations; ++it) {
#pragma unroll
    for (int k = 0; k < kSharedLoads; k += 2) {
      sum0 += load_shared(address[k]);
      sum1 += load_shared(address[k + 1]);
    }
  }
  if (sum0 + sum1 < 0.0f) *sink = sum0 + sum1;
}

// Multiply-add on each type, and a start value from a float.
template <typename T> struct Fma;
template <> struct Fma<double> {
  __device__ static double op(double c, double m, double a) { return fma(c, m, a); }
  __host__ __device__ static double make(float x) { return x; }
};
template <> struct Fma<float> {
  __device__ static float op(float c, float m, float a) { return fmaf(c, m, a); }
  __host__ __device__ static float make(float x) { return x; }
};
template <> struct Fma<__half2> {
  __device__ static __half2 op(__half2 c, __half2 m, __half2 a) { return __hfma2(c, m, a); }
  __host__ __device__ static __half2 make(float x) { return __float2half2_rn(x); }
};
template <> struct Fma<__nv_bfloat162> {
  // Before Ampere there is no bf16 arithmetic: brrr does not ask for this ceiling there (the
  // datasheet profiles list no bf16 peak), but the code must still compile for Turing.
  __device__ static __nv_bfloat162 op(__nv_bfloat162 c, __nv_bfloat162 m, __nv_bfloat162 a) {
#if __CUDA_ARCH__ >= 800
    return __hfma2(c, m, a);
#else
    const float2 cf = __bfloat1622float2(c);
    const float2 mf = __bfloat1622float2(m);
    const float2 af = __bfloat1622float2(a);
    return __floats2bfloat162_rn(fmaf(cf.x, mf.x, af.x), fmaf(cf.y, mf.y, af.y));
#endif
  }
  __host__ __device__ static __nv_bfloat162 make(float x) { return __float2bfloat162_rn(x); }
};

// Independent chains hide the FMA latency and the unrolled body keeps loop instructions
// few. The multiplier and addend arrive at run time (0.99 and 0.01: the chains converge to
// 1, no overflow, no subnormals), so the compiler can neither fold the chains nor drop them,
// and every chain's result is stored.
template <typename T> __global__ void fma_kernel(T* out, int iterations, T multiplier, T addend) {
  T c[kFmaChains];
#pragma unroll
  for (int k = 0; k < kFmaChains; ++k) c[k] = Fma<T>::make(static_cast<float>(k + 1) + 0.001f * (threadIdx.x % 32));
  for (int i = 0; i < iterations; ++i) {
#pragma unroll
    for (int u = 0; u < kFmaUnroll; ++u) {
#pragma unroll
      for (int k = 0; k < kFmaChains; ++k) c[k] = Fma<T>::op(c[k], multiplier, addend);
    }
  }
  const size_t thread = size_t{blockIdx.x} * blockDim.x + threadIdx.x;
#pragma unroll
  for (int k = 0; k < kFmaChains; ++k) out[thread * kFmaChains + k] = c[k];
}

__global__ void empty_kernel() {}

template <typename Kernel> int grid_of(Kernel kernel, int threads, int sm_count) {
  int blocks_per_sm = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, kernel, threads, 0) != cudaSuccess)
    blocks_per_sm = 1;
  return sm_count * std::max(1, blocks_per_sm);
}

template <typename T> cudaError_t launch_fma_of(int iterations, void* out, int sm_count, cudaStream_t stream) {
  const int grid = grid_of(fma_kernel<T>, kFmaThreads, sm_count);
  fma_kernel<T>
      <<<grid, kFmaThreads, 0, stream>>>(static_cast<T*>(out), iterations, Fma<T>::make(0.99f), Fma<T>::make(0.01f));
  return cudaGetLastError();
}

template <typename T>
cudaError_t fill(void* data, size_t count, uint32_t seed, float low, float high, int sm_count, cudaStream_t stream) {
  const int grid = grid_of(fill_uniform<T>, kStreamThreads, sm_count);
  fill_uniform<T><<<grid, kStreamThreads, 0, stream>>>(static_cast<T*>(data), count, seed, low, high);
  return cudaGetLastError();
}

} // namespace

int block_threads(Kernel kernel) {
  switch (kernel) {
  case Kernel::l2_read:
    return kL2Threads;
  case Kernel::shared_read:
    return kSharedThreads;
  case Kernel::fma_fp64:
  case Kernel::fma_fp32:
  case Kernel::fma_fp16:
  case Kernel::fma_bf16:
    return kFmaThreads;
  case Kernel::dram_read:
  case Kernel::dram_write:
  case Kernel::dram_copy:
    break;
  }
  return kStreamThreads;
}

int full_grid(Kernel kernel, int sm_count) {
  const int threads = block_threads(kernel);
  switch (kernel) {
  case Kernel::dram_read:
    return grid_of(dram_read_kernel, threads, sm_count);
  case Kernel::dram_write:
    return grid_of(dram_write_kernel, threads, sm_count);
  case Kernel::dram_copy:
    return grid_of(dram_copy_kernel, threads, sm_count);
  case Kernel::l2_read:
    return grid_of(l2_read_kernel, threads, sm_count);
  case Kernel::shared_read:
    return grid_of(shared_read_kernel, threads, sm_count);
  case Kernel::fma_fp64:
    return grid_of(fma_kernel<double>, threads, sm_count);
  case Kernel::fma_fp32:
    return grid_of(fma_kernel<float>, threads, sm_count);
  case Kernel::fma_fp16:
    return grid_of(fma_kernel<__half2>, threads, sm_count);
  case Kernel::fma_bf16:
    return grid_of(fma_kernel<__nv_bfloat162>, threads, sm_count);
  }
  return sm_count;
}

cudaError_t launch_dram_read(const void* data, size_t bytes, float* sink, int sm_count, cudaStream_t stream) {
  dram_read_kernel<<<full_grid(Kernel::dram_read, sm_count), kStreamThreads, 0, stream>>>(
      static_cast<const float4*>(data), bytes / 16, sink);
  return cudaGetLastError();
}

cudaError_t launch_dram_write(void* data, size_t bytes, int sm_count, cudaStream_t stream) {
  dram_write_kernel<<<full_grid(Kernel::dram_write, sm_count), kStreamThreads, 0, stream>>>(static_cast<float4*>(data),
                                                                                            bytes / 16, 1.0f);
  return cudaGetLastError();
}

cudaError_t launch_dram_copy(const void* in, void* out, size_t bytes, int sm_count, cudaStream_t stream) {
  dram_copy_kernel<<<full_grid(Kernel::dram_copy, sm_count), kStreamThreads, 0, stream>>>(
      static_cast<const float4*>(in), static_cast<float4*>(out), bytes / 16);
  return cudaGetLastError();
}

cudaError_t launch_l2_read(const void* data, unsigned chunks, unsigned blocks, float* sink, cudaStream_t stream) {
  l2_read_kernel<<<blocks, kL2Threads, 0, stream>>>(static_cast<const float4*>(data), chunks, sink);
  return cudaGetLastError();
}

cudaError_t launch_shared_read(int iterations, float* sink, int sm_count, cudaStream_t stream) {
  shared_read_kernel<<<full_grid(Kernel::shared_read, sm_count), kSharedThreads, 0, stream>>>(iterations, sink);
  return cudaGetLastError();
}

cudaError_t launch_fma(Kernel kernel, int iterations, void* out, int sm_count, cudaStream_t stream) {
  switch (kernel) {
  case Kernel::fma_fp64:
    return launch_fma_of<double>(iterations, out, sm_count, stream);
  case Kernel::fma_fp32:
    return launch_fma_of<float>(iterations, out, sm_count, stream);
  case Kernel::fma_fp16:
    return launch_fma_of<__half2>(iterations, out, sm_count, stream);
  case Kernel::fma_bf16:
    return launch_fma_of<__nv_bfloat162>(iterations, out, sm_count, stream);
  default:
    return cudaErrorInvalidValue;
  }
}

cudaError_t launch_empty(cudaStream_t stream) {
  empty_kernel<<<1, 32, 0, stream>>>();
  return cudaGetLastError();
}

cudaError_t launch_fill(Fill type, Sign sign, uint32_t seed, void* data, size_t count, int sm_count,
                        cudaStream_t stream) {
  const float high = type == Fill::int8 ? 64.0f : 1.0f;
  const float low = sign == Sign::non_negative ? 0.0f : -high;
  switch (type) {
  case Fill::fp64:
    return fill<double>(data, count, seed, low, high, sm_count, stream);
  case Fill::fp32:
    return fill<float>(data, count, seed, low, high, sm_count, stream);
  case Fill::fp16:
    return fill<__half>(data, count, seed, low, high, sm_count, stream);
  case Fill::bf16:
    return fill<__nv_bfloat16>(data, count, seed, low, high, sm_count, stream);
  case Fill::fp8_e4m3:
    return fill<__nv_fp8_e4m3>(data, count, seed, low, high, sm_count, stream);
  case Fill::int8:
    return fill<int8_t>(data, count, seed, low, high, sm_count, stream);
  }
  return cudaErrorInvalidValue;
}

} // namespace brrr::calibrate
