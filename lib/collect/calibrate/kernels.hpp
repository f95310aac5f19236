#pragma once
// The calibration kernels (kernels.cu), launched from host code that nvcc does not compile.
// Each launch function queues one launch on `stream` and returns the launch's error. The
// constants say how much work one launch does, so that the host can turn times into rates.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace brrr::calibrate {

enum class Kernel : uint8_t {
  dram_read,
  dram_write,
  dram_copy,
  l2_read,
  shared_read,
  fma_fp64,
  fma_fp32,
  fma_fp16,
  fma_bf16
};

// Threads per block of each kernel.
[[nodiscard]] int block_threads(Kernel kernel);
// One full wave: SMs × the blocks of the kernel that fit on one SM at once.
[[nodiscard]] int full_grid(Kernel kernel, int sm_count);

// Streaming over DRAM in 16-byte words, grid-stride; `bytes` is a multiple of 16.
cudaError_t launch_dram_read(const void* data, size_t bytes, float* sink, int sm_count, cudaStream_t stream);
cudaError_t launch_dram_write(void* data, size_t bytes, int sm_count, cudaStream_t stream);
cudaError_t launch_dram_copy(const void* in, void* out, size_t bytes, int sm_count, cudaStream_t stream);

// Each block reads one chunk of l2_chunk_bytes; block b reads chunk b % chunks, so the data
// read is chunks × l2_chunk_bytes, and it is read again and again from L2.
inline constexpr size_t l2_chunk_bytes = 1024 * 16 * 16;
cudaError_t launch_l2_read(const void* data, unsigned chunks, unsigned blocks, float* sink, cudaStream_t stream);

// Bytes of shared memory one thread reads per iteration.
inline constexpr size_t shared_bytes_per_iteration = 8 * 16;
cudaError_t launch_shared_read(int iterations, float* sink, int sm_count, cudaStream_t stream);

// Fused multiply-adds per thread and iteration: independent chains × unrolled steps. Each is
// 2 FLOPs, and a half2 or bf16x2 one does two lanes' worth. `out` holds one value of at most
// 8 bytes per chain and thread of the grid.
inline constexpr int fma_chains = 8;
inline constexpr int fma_per_iteration = fma_chains * 16;
cudaError_t launch_fma(Kernel kernel, int iterations, void* out, int sm_count, cudaStream_t stream);

cudaError_t launch_empty(cudaStream_t stream);

// Random values (never all zeros: tensor cores draw less power on zeros and run faster than
// on real data) for the GEMM inputs, converted to each type: uniform in [-1, 1) (INT8:
// [-64, 64)), or in [0, 1) ([0, 64)) when non-negative; `seed` picks the sequence.
enum class Fill : uint8_t { fp64, fp32, fp16, bf16, fp8_e4m3, int8 };
enum class Sign : uint8_t { signed_values, non_negative };
cudaError_t launch_fill(Fill type, Sign sign, uint32_t seed, void* data, size_t count, int sm_count,
                        cudaStream_t stream);

} // namespace brrr::calibrate
