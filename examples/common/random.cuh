// Deterministic pseudo-random data for the CUDA programs: never zeros, the same values on the
// host and the device (so that results can be checked on the host), and no state to carry.
#pragma once

#include <cstddef>
#include <cstdint>

// splitmix64 of the element's index: a uniform value in [0, 1).
__host__ __device__ inline float uniform_at(uint64_t index, uint32_t seed) {
  uint64_t z = index + (uint64_t{seed} << 32) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

// Fills count elements with values uniform in [low, high), converted to T (float, half, bf16).
template <typename T> __global__ void fill_uniform(T* data, size_t count, uint32_t seed, float low, float high) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x) {
    data[i] = static_cast<T>(low + (high - low) * uniform_at(i, seed));
  }
}
