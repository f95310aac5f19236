#include "gemm.hpp"

#include "kernels.hpp"

#include <cublasLt.h>
#include <fmt/format.h>

#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <string>
#include <type_traits>

namespace brrr::calibrate {

namespace {

constexpr size_t kGemmSize = 8192;
constexpr size_t kWorkspaceBytes = size_t{64} << 20;
// cuBLASLt's heuristic ranks its algorithms by a model, not a measurement: the first few are
// timed and the fastest is kept.
constexpr int kCandidates = 4;

// Inputs A and B of `ab`, output D (and C) of `cd`. FP8 and INT8 need A transposed ("TN"),
// which suits every type, so every GEMM is TN. FP8 uses fast accumulation, the faster of its
// two modes (Transformer Engine's forward pass uses it).
struct TypeInfo {
  const char* name;
  cudaDataType ab;
  cudaDataType cd;
  cublasComputeType_t compute;
  cudaDataType scale;
  Fill fill;
  size_t ab_bytes;
  size_t cd_bytes;
  bool fast_accumulation;
};

TypeInfo info(GemmType type) {
  switch (type) {
  case GemmType::fp64:
    return {"FP64", CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F, Fill::fp64, 8, 8, false};
  case GemmType::tf32:
    return {"TF32", CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F, Fill::fp32, 4, 4, false};
  case GemmType::fp16:
    return {"FP16", CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, Fill::fp16, 2, 2, false};
  case GemmType::bf16:
    return {"BF16", CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, Fill::bf16, 2, 2, false};
  case GemmType::fp8:
    return {"FP8 (E4M3)", CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, Fill::fp8_e4m3, 1, 2, true};
  case GemmType::int8:
    return {"INT8", CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I, Fill::int8, 1, 4, false};
  }
  return {};
}

// alpha = 1 and beta = 0 in the scale type.
struct Scalars {
  alignas(8) unsigned char alpha[8] = {};
  alignas(8) unsigned char beta[8] = {};
  explicit Scalars(cudaDataType scale) {
    if (scale == CUDA_R_64F) {
      const double one = 1;
      std::memcpy(alpha, &one, sizeof one);
    } else if (scale == CUDA_R_32I) {
      const int32_t one = 1;
      std::memcpy(alpha, &one, sizeof one);
    } else {
      const float one = 1;
      std::memcpy(alpha, &one, sizeof one);
    }
  }
};

} // namespace

// The cuBLASLt calls, resolved from the library opened at run time.
struct Gemm::Api {
  decltype(&cublasLtCreate) create = nullptr;
  decltype(&cublasLtDestroy) destroy = nullptr;
  decltype(&cublasLtGetStatusName) status_name = nullptr;
  decltype(&cublasLtMatmulDescCreate) desc_create = nullptr;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy = nullptr;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set = nullptr;
  decltype(&cublasLtMatrixLayoutCreate) layout_create = nullptr;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceCreate) preference_create = nullptr;
  decltype(&cublasLtMatmulPreferenceDestroy) preference_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceSetAttribute) preference_set = nullptr;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&cublasLtMatmul) matmul = nullptr;
  cublasLtHandle_t handle = nullptr;

  void check(cublasStatus_t status, const char* what) const {
    if (status != CUBLAS_STATUS_SUCCESS) throw CudaFailure(fmt::format("{}: {}", what, status_name(status)));
  }
};

namespace {

// The descriptors of one GEMM, destroyed with it.
struct Descriptors {
  const Gemm::Api& api;
  cublasLtMatmulDesc_t matmul = nullptr;
  cublasLtMatrixLayout_t a = nullptr;
  cublasLtMatrixLayout_t b = nullptr;
  cublasLtMatrixLayout_t d = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~Descriptors() {
    if (preference) api.preference_destroy(preference);
    for (auto* layout : {d, b, a})
      if (layout) api.layout_destroy(layout);
    if (matmul) api.desc_destroy(matmul);
  }
};

} // namespace

Gemm::Gemm() : api_(std::make_unique<Api>()) {
  const std::string name = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
  library_ = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) {
    problem_ = fmt::format("{} could not be loaded ({}): the CUDA toolkit's cuBLAS is needed for tensor-core "
                           "ceilings (set LD_LIBRARY_PATH to its folder)",
                           name, dlerror());
    return;
  }
  bool resolved = true;
  auto resolve = [&](auto& function, const char* symbol) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(library_, symbol));
    resolved = resolved && function != nullptr;
  };
  resolve(api_->create, "cublasLtCreate");
  resolve(api_->destroy, "cublasLtDestroy");
  resolve(api_->status_name, "cublasLtGetStatusName");
  resolve(api_->desc_create, "cublasLtMatmulDescCreate");
  resolve(api_->desc_destroy, "cublasLtMatmulDescDestroy");
  resolve(api_->desc_set, "cublasLtMatmulDescSetAttribute");
  resolve(api_->layout_create, "cublasLtMatrixLayoutCreate");
  resolve(api_->layout_destroy, "cublasLtMatrixLayoutDestroy");
  resolve(api_->preference_create, "cublasLtMatmulPreferenceCreate");
  resolve(api_->preference_destroy, "cublasLtMatmulPreferenceDestroy");
  resolve(api_->preference_set, "cublasLtMatmulPreferenceSetAttribute");
  resolve(api_->heuristic, "cublasLtMatmulAlgoGetHeuristic");
  resolve(api_->matmul, "cublasLtMatmul");
  if (!resolved) {
    problem_ = name + " lacks functions this brrr needs";
  } else if (const auto status = api_->create(&api_->handle); status != CUBLAS_STATUS_SUCCESS) {
    problem_ = fmt::format("cublasLtCreate: {}", api_->status_name(status));
    api_->handle = nullptr;
  }
}

Gemm::~Gemm() {
  if (api_->handle) api_->destroy(api_->handle);
  if (library_) dlclose(library_);
}

Runs Gemm::measure(const Context& context, GemmType type) {
  if (!problem_.empty()) throw Unsupported(problem_);
  const Api& api = *api_;
  const TypeInfo t = info(type);
  // Smaller GEMMs where A, B, D and the workspace would take more than half the free memory.
  size_t n = kGemmSize;
  const size_t free = free_device_bytes();
  while (n > 1024 && n * n * (2 * t.ab_bytes + t.cd_bytes) + kWorkspaceBytes > free / 2) n /= 2;
  const DeviceBuffer a(n * n * t.ab_bytes);
  const DeviceBuffer b(n * n * t.ab_bytes);
  const DeviceBuffer d(n * n * t.cd_bytes);
  const DeviceBuffer workspace(kWorkspaceBytes);
  check(launch_fill(t.fill, a.get(), n * n, context.sm_count, context.stream), "filling A");
  check(launch_fill(t.fill, b.get(), n * n, context.sm_count, context.stream), "filling B");

  Descriptors desc{api};
  api.check(api.desc_create(&desc.matmul, t.compute, t.scale), "cublasLtMatmulDescCreate");
  const cublasOperation_t transpose = CUBLAS_OP_T;
  const cublasOperation_t keep = CUBLAS_OP_N;
  api.check(api.desc_set(desc.matmul, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose), "TRANSA");
  api.check(api.desc_set(desc.matmul, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep), "TRANSB");
  if (t.fast_accumulation) {
    const int8_t on = 1;
    api.check(api.desc_set(desc.matmul, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &on, sizeof on), "FAST_ACCUM");
  }
  const auto rows = static_cast<uint64_t>(n);
  api.check(api.layout_create(&desc.a, t.ab, rows, rows, static_cast<int64_t>(n)), "layout of A");
  api.check(api.layout_create(&desc.b, t.ab, rows, rows, static_cast<int64_t>(n)), "layout of B");
  api.check(api.layout_create(&desc.d, t.cd, rows, rows, static_cast<int64_t>(n)), "layout of D");
  api.check(api.preference_create(&desc.preference), "cublasLtMatmulPreferenceCreate");
  const uint64_t workspace_bytes = kWorkspaceBytes;
  api.check(api.preference_set(desc.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                               sizeof workspace_bytes),
            "MAX_WORKSPACE_BYTES");

  cublasLtMatmulHeuristicResult_t candidates[kCandidates] = {};
  int found = 0;
  const auto status = api.heuristic(api.handle, desc.matmul, desc.a, desc.b, desc.d, desc.d, desc.preference,
                                    kCandidates, candidates, &found);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0)
    throw Unsupported(fmt::format("cuBLASLt has no {} GEMM for this GPU ({})", t.name,
                                  status != CUBLAS_STATUS_SUCCESS ? api.status_name(status) : "no algorithm"));

  const Scalars scalars(t.scale);
  auto gemm = [&](const cublasLtMatmulAlgo_t& algo) {
    return api.matmul(api.handle, desc.matmul, scalars.alpha, a.get(), desc.a, b.get(), desc.b, scalars.beta, d.get(),
                      desc.d, d.get(), desc.d, &algo, workspace.get(), kWorkspaceBytes, context.stream);
  };
  int best = -1;
  double best_ms = std::numeric_limits<double>::infinity();
  for (int i = 0; i < found; ++i) {
    if (candidates[i].state != CUBLAS_STATUS_SUCCESS || gemm(candidates[i].algo) != CUBLAS_STATUS_SUCCESS) continue;
    const double ms = time_once_ms(context, [&] { api.check(gemm(candidates[i].algo), "cublasLtMatmul"); });
    if (ms < best_ms) {
      best_ms = ms;
      best = i;
    }
  }
  if (best < 0) throw Unsupported(fmt::format("none of cuBLASLt's {} GEMM algorithms ran on this GPU", t.name));
  const double operations = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  return time_on_gpu(context, operations, [&] { api.check(gemm(candidates[best].algo), "cublasLtMatmul"); });
}

} // namespace brrr::calibrate
