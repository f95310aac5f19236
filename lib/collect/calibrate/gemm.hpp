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

  // Finds the fastest GEMM of `type` that cuBLASLt has for this GPU, among the shapes and
  // layouts it is fastest at (gemm.cpp), and times it in bursts (time_burst): 2mnk
  // operations a launch, on random inputs. The setup names the GEMM that won. Throws
  // Unsupported when cuBLASLt is missing or has no kernel for the type on this GPU.
  [[nodiscard]] Measured measure(const Context& context, GemmType type);

  // The cuBLASLt calls (gemm.cpp).
  struct Api;

private:
  // Opens libcublas for the plain cuBLAS call; without it, the finals go without that call.
  void open_plain_cublas();

  void* library_ = nullptr;
  std::unique_ptr<Api> api_;
  // Why no GEMM can run (cuBLASLt not found); empty when they can.
  std::string problem_;
};

} // namespace brrr::calibrate
