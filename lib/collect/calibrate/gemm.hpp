#pragma once
// Tensor-core ceilings: the throughput of large GEMMs through cuBLASLt, where the GEMMs of
// every framework end up, and which reaches the tensor cores' real ceiling (a hand-written MMA
// loop rarely does). libcublasLt is opened at run time: without it the tensor-core ceilings
// are skipped, not the whole calibration.

#include "bench.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace brrr::calibrate {

enum class GemmType : uint8_t { fp64, tf32, fp16, bf16, fp8, int8 };

class Gemm {
public:
  Gemm();
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Times square GEMMs of `type` (8192, or smaller when GPU memory is short) with random
  // inputs, on the fastest of cuBLASLt's first candidate algorithms: 2n³ operations each.
  // Throws Unsupported when cuBLASLt is missing or has no kernel for the type on this GPU.
  [[nodiscard]] Runs measure(const Context& context, GemmType type);

  // The cuBLASLt calls (gemm.cpp).
  struct Api;

private:
  void* library_ = nullptr;
  std::unique_ptr<Api> api_;
  // Why no GEMM can run (cuBLASLt not found); empty when they can.
  std::string problem_;
};

} // namespace brrr::calibrate
