#include "gemm.hpp"

#include "kernels.hpp"

#include <cublasLt.h>
#include <cublas_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace brrr::calibrate {

namespace {

// The square GEMM's side: large enough that a launch keeps every SM busy for a millisecond or
// more on an H100, small enough for the GPUs brrr knows.
constexpr size_t kGemmSize = 8192;
constexpr size_t kWorkspaceBytes = size_t{64} << 20;
// cuBLASLt's heuristic ranks its algorithms by a model, not a measurement: up to this many of
// each shape and layout are timed.
constexpr int kAlgorithms = 8;
// The candidates are screened in the heuristic's order, every configuration's first before any
// second: where screening them all would take longer than this (a slow GPU), the least
// promising are left out.
constexpr double kScreeningMs = 1500;
// One launch each in the screening runs at whatever clock the GPU has at that moment, so the
// fastest few, and the plain cuBLAS call (below), are timed again in bursts taking turns, on
// each kind of input (kSigns), kRounds times.
constexpr int kFinalists = 3;
constexpr int kRounds = 3;
// The inputs of the finals. Signed values are a GEMM's usual data (weights, gradients);
// non-negative ones are as common (activations after a ReLU, attention probabilities, the
// demo's inputs) and can run faster: where they draw less power, the clock stays higher under
// the power limit. A ceiling is the fastest a GEMM can be, so both are timed, and the faster
// counts.
constexpr std::array<Sign, 2> kSigns{Sign::signed_values, Sign::non_negative};
// The heuristic's rank of the plain cuBLAS call: cublasGemmEx with CUBLAS_GEMM_DEFAULT on the
// square shape in NN, exactly as a program (the demo) calls it. cuBLAS chooses its kernel by
// its own heuristic and with its own workspace, and that kernel need not be among cuBLASLt's
// first kAlgorithms for the same GEMM; it always goes to the finals.
constexpr int kPlainCall = -1;
// Seeds of the inputs A and B: different sequences, as a program's two operands are.
constexpr uint32_t kSeedA = 7;
constexpr uint32_t kSeedB = 8;
// A burst of GEMMs shorter than burst_ms / 64 (a small GPU's memory-starved fallback) stops
// at this many launches.
constexpr int kMaxBurstLaunches = 64;

// A layout of op(A)·op(B), column-major as cuBLAS has it: NN is the plain call (cublasGemmEx
// with no transposes, the demo's GEMM), TN is a linear layer's forward pass in the frameworks
// and the only layout FP8 and INT8 have on most GPUs, NT its weight gradient. cuBLASLt has no
// kernel for some types in some layouts: those are passed over.
struct Layout {
  cublasOperation_t a;
  cublasOperation_t b;
  const char* name;
};
constexpr std::array<Layout, 3> kLayouts{{
    {CUBLAS_OP_N, CUBLAS_OP_N, "NN"},
    {CUBLAS_OP_T, CUBLAS_OP_N, "TN"},
    {CUBLAS_OP_N, CUBLAS_OP_T, "NT"},
}};

struct Shape {
  uint64_t m;
  uint64_t n;
  uint64_t k;
};

// Inputs A and B of `ab`, output D (and C) of `cd`. FP8 uses fast accumulation, the faster of
// its two modes (Transformer Engine's forward pass uses it). `tall`: a GEMM twice as tall as
// the square one is tried too, where the square one is short (a millisecond or two on an
// H100) and the last wave of tiles, which leaves SMs idle, weighs on it; FP64's square GEMM
// already lasts about 20 ms.
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
  bool tall;
};

TypeInfo info(GemmType type) {
  switch (type) {
  case GemmType::fp64:
    return {"FP64", CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F, Fill::fp64, 8, 8, false, false};
  case GemmType::tf32:
    return {"TF32", CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F, Fill::fp32, 4, 4, false, true};
  case GemmType::fp16:
    return {"FP16", CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, Fill::fp16, 2, 2, false, true};
  case GemmType::bf16:
    return {"BF16", CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, Fill::bf16, 2, 2, false, true};
  case GemmType::fp8:
    return {"FP8 (E4M3)", CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, Fill::fp8_e4m3, 1, 2, true,
            true};
  case GemmType::int8:
    return {"INT8", CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I, Fill::int8, 1, 4, false, true};
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
  // Optional: only to name the algorithm that won.
  decltype(&cublasLtMatmulAlgoConfigGetAttribute) algo_attribute = nullptr;
  cublasLtHandle_t handle = nullptr;

  // The plain cuBLAS call (kPlainCall), from libcublas, opened beside cuBLASLt; all null when
  // it cannot be, and the finals go without it. cublasGemmEx is overloaded in C++, so its type
  // is spelt out.
  using GemmEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                    const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                                    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  void* blas_library = nullptr;
  decltype(&cublasCreate_v2) blas_create = nullptr;
  decltype(&cublasDestroy_v2) blas_destroy = nullptr;
  decltype(&cublasSetStream_v2) blas_set_stream = nullptr;
  GemmEx gemm_ex = nullptr;
  cublasHandle_t blas = nullptr;

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
  api_->algo_attribute =
      reinterpret_cast<decltype(api_->algo_attribute)>(dlsym(library_, "cublasLtMatmulAlgoConfigGetAttribute"));
  if (!resolved) {
    problem_ = name + " lacks functions this brrr needs";
  } else if (const auto status = api_->create(&api_->handle); status != CUBLAS_STATUS_SUCCESS) {
    problem_ = fmt::format("cublasLtCreate: {}", api_->status_name(status));
    api_->handle = nullptr;
  } else {
    open_plain_cublas();
  }
}

void Gemm::open_plain_cublas() {
  Api& api = *api_;
  const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  api.blas_library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api.blas_library) return;
  api.blas_create = reinterpret_cast<decltype(api.blas_create)>(dlsym(api.blas_library, "cublasCreate_v2"));
  api.blas_destroy = reinterpret_cast<decltype(api.blas_destroy)>(dlsym(api.blas_library, "cublasDestroy_v2"));
  api.blas_set_stream = reinterpret_cast<decltype(api.blas_set_stream)>(dlsym(api.blas_library, "cublasSetStream_v2"));
  api.gemm_ex = reinterpret_cast<Api::GemmEx>(dlsym(api.blas_library, "cublasGemmEx"));
  if (!api.blas_create || !api.blas_destroy || !api.blas_set_stream || !api.gemm_ex ||
      api.blas_create(&api.blas) != CUBLAS_STATUS_SUCCESS) {
    api.blas = nullptr;
    api.gemm_ex = nullptr;
  }
}

Gemm::~Gemm() {
  if (api_->blas) api_->blas_destroy(api_->blas);
  if (api_->blas_library) dlclose(api_->blas_library);
  if (api_->handle) api_->destroy(api_->handle);
  if (library_) dlclose(library_);
}

namespace {

// One shape in one layout, with its descriptors and the algorithms the heuristic offers.
struct Configuration {
  Configuration(const Gemm::Api& api, Shape s, const Layout& l) : shape(s), layout(l), desc{api} {}
  Shape shape;
  const Layout& layout;
  Descriptors desc;
  std::array<cublasLtMatmulHeuristicResult_t, kAlgorithms> algorithms{};
  int found = 0;
  [[nodiscard]] double operations() const {
    return 2.0 * static_cast<double>(shape.m) * static_cast<double>(shape.n) * static_cast<double>(shape.k);
  }
};

struct Candidate {
  Configuration* configuration;
  int rank; // in the heuristic's order, 0 first; kPlainCall for cublasGemmEx
  double screened_ms = 0;
  [[nodiscard]] const cublasLtMatmulAlgo_t& algo() const { return configuration->algorithms[rank].algo; }
  [[nodiscard]] double rate() const { return configuration->operations() / (screened_ms / 1e3); }
};

// The finals' fastest launch of one finalist on one kind of input, burst by burst.
struct Final {
  const Candidate* candidate;
  Sign sign;
  Runs runs;
  [[nodiscard]] double best() const {
    return std::max_element(runs.begin(), runs.end(), [](const auto& x, const auto& y) { return x.value < y.value; })
        ->value;
  }
};

// The descriptors of op(A) (m×k), op(B) (k×n) and D (m×n), column-major, in their layout.
// Returns false when cuBLASLt has no algorithm for them.
bool describe(const Gemm::Api& api, const TypeInfo& t, Configuration& c) {
  const auto [m, n, k] = c.shape;
  const bool ta = c.layout.a == CUBLAS_OP_T;
  const bool tb = c.layout.b == CUBLAS_OP_T;
  api.check(api.desc_create(&c.desc.matmul, t.compute, t.scale), "cublasLtMatmulDescCreate");
  api.check(api.desc_set(c.desc.matmul, CUBLASLT_MATMUL_DESC_TRANSA, &c.layout.a, sizeof c.layout.a), "TRANSA");
  api.check(api.desc_set(c.desc.matmul, CUBLASLT_MATMUL_DESC_TRANSB, &c.layout.b, sizeof c.layout.b), "TRANSB");
  if (t.fast_accumulation) {
    const int8_t on = 1;
    api.check(api.desc_set(c.desc.matmul, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &on, sizeof on), "FAST_ACCUM");
  }
  api.check(api.layout_create(&c.desc.a, t.ab, ta ? k : m, ta ? m : k, static_cast<int64_t>(ta ? k : m)),
            "layout of A");
  api.check(api.layout_create(&c.desc.b, t.ab, tb ? n : k, tb ? k : n, static_cast<int64_t>(tb ? n : k)),
            "layout of B");
  api.check(api.layout_create(&c.desc.d, t.cd, m, n, static_cast<int64_t>(m)), "layout of D");
  api.check(api.preference_create(&c.desc.preference), "cublasLtMatmulPreferenceCreate");
  const uint64_t workspace_bytes = kWorkspaceBytes;
  api.check(api.preference_set(c.desc.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                               sizeof workspace_bytes),
            "MAX_WORKSPACE_BYTES");
  const auto status = api.heuristic(api.handle, c.desc.matmul, c.desc.a, c.desc.b, c.desc.d, c.desc.d,
                                    c.desc.preference, kAlgorithms, c.algorithms.data(), &c.found);
  return status == CUBLAS_STATUS_SUCCESS && c.found > 0;
}

} // namespace

Measured Gemm::measure(const Context& context, GemmType type) {
  if (!problem_.empty()) throw Unsupported(problem_);
  const Api& api = *api_;
  const TypeInfo t = info(type);
  // Smaller GEMMs where A, B, D and the workspace would take more than half the free memory.
  // The buffers hold the largest shape; the smaller one uses their beginning.
  const uint64_t tall = t.tall ? 2 : 1;
  uint64_t size = kGemmSize;
  const size_t free = free_device_bytes();
  while (size > 1024 &&
         (tall + 1) * size * size * t.ab_bytes + tall * size * size * t.cd_bytes + kWorkspaceBytes > free / 2)
    size /= 2;
  const DeviceBuffer a(tall * size * size * t.ab_bytes);
  const DeviceBuffer b(size * size * t.ab_bytes);
  const DeviceBuffer d(tall * size * size * t.cd_bytes);
  const DeviceBuffer workspace(kWorkspaceBytes);
  auto fill_inputs = [&](Sign sign) {
    check(launch_fill(t.fill, sign, kSeedA, a.get(), tall * size * size, context.sm_count, context.stream),
          "filling A");
    check(launch_fill(t.fill, sign, kSeedB, b.get(), size * size, context.sm_count, context.stream), "filling B");
  };
  fill_inputs(kSigns.front());

  std::vector<Shape> shapes{{size, size, size}};
  if (t.tall) shapes.push_back({tall * size, size, size});
  std::vector<std::unique_ptr<Configuration>> configurations;
  for (const auto& shape : shapes)
    for (const auto& layout : kLayouts) {
      auto c = std::make_unique<Configuration>(api, shape, layout);
      if (describe(api, t, *c)) configurations.push_back(std::move(c));
    }
  if (configurations.empty()) throw Unsupported(fmt::format("cuBLASLt has no {} GEMM for this GPU", t.name));

  const Scalars scalars(t.scale);
  auto gemm = [&](const Candidate& c) {
    if (c.rank == kPlainCall) {
      const auto [m, n, k] = c.configuration->shape;
      return api.gemm_ex(api.blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(m), static_cast<int>(n),
                         static_cast<int>(k), scalars.alpha, a.get(), t.ab, static_cast<int>(m), b.get(), t.ab,
                         static_cast<int>(k), scalars.beta, d.get(), t.cd, static_cast<int>(m), t.compute,
                         CUBLAS_GEMM_DEFAULT);
    }
    const Descriptors& desc = c.configuration->desc;
    return api.matmul(api.handle, desc.matmul, scalars.alpha, a.get(), desc.a, b.get(), desc.b, scalars.beta, d.get(),
                      desc.d, d.get(), desc.d, &c.algo(), workspace.get(), kWorkspaceBytes, context.stream);
  };
  auto launcher = [&](const Candidate& c) {
    return [&api, &gemm, candidate = &c] {
      api.check(gemm(*candidate), candidate->rank == kPlainCall ? "cublasGemmEx" : "cublasLtMatmul");
    };
  };
  auto burst_launches = [](const Candidate& c) {
    return std::clamp(static_cast<int>(std::ceil(burst_ms / c.screened_ms)), burst_min_launches, kMaxBurstLaunches);
  };

  // Screening: one warm-up launch (which also loads the kernel) and one timed launch each. The
  // plain call comes first: it is in the finals whatever its screening time.
  std::vector<Candidate> candidates;
  const auto square_nn = std::find_if(configurations.begin(), configurations.end(), [&](const auto& c) {
    return c->shape.m == size && c->layout.a == CUBLAS_OP_N && c->layout.b == CUBLAS_OP_N;
  });
  if (api.gemm_ex && square_nn != configurations.end() &&
      api.blas_set_stream(api.blas, context.stream) == CUBLAS_STATUS_SUCCESS)
    candidates.push_back({square_nn->get(), kPlainCall});
  for (int rank = 0; rank < kAlgorithms; ++rank)
    for (auto& c : configurations)
      if (rank < c->found && c->algorithms[rank].state == CUBLAS_STATUS_SUCCESS) candidates.push_back({c.get(), rank});
  std::vector<Candidate> screened;
  const auto screening = std::chrono::steady_clock::now();
  for (auto& c : candidates) {
    if (!screened.empty() &&
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - screening).count() > kScreeningMs)
      break;
    if (gemm(c) != CUBLAS_STATUS_SUCCESS) continue;
    c.screened_ms = std::max(time_launch_ms(context, launcher(c)), 1e-6);
    screened.push_back(c);
  }
  if (screened.empty()) throw Unsupported(fmt::format("none of cuBLASLt's {} GEMM algorithms ran on this GPU", t.name));

  // The finalists: the plain call (first in the screening, when it ran) and the fastest
  // kFinalists of the others.
  const size_t screened_count = screened.size();
  const size_t plain = screened.front().rank == kPlainCall ? 1 : 0;
  std::sort(screened.begin() + static_cast<std::ptrdiff_t>(plain), screened.end(),
            [](const auto& x, const auto& y) { return x.rate() > y.rate(); });
  screened.resize(std::min<size_t>(screened.size(), plain + kFinalists));

  // The finals: bursts, the finalists taking turns on each kind of input, so that none is
  // favoured by the moment.
  std::vector<Final> finals;
  for (const Sign sign : kSigns)
    for (const auto& c : screened) finals.push_back({&c, sign, {}});
  for (int round = 0; round < kRounds; ++round)
    for (const Sign sign : kSigns) {
      fill_inputs(sign);
      for (auto& f : finals)
        if (f.sign == sign)
          f.runs.push_back(time_burst(context, f.candidate->configuration->operations(), burst_launches(*f.candidate),
                                      launcher(*f.candidate)));
    }
  const auto winner =
      std::max_element(finals.begin(), finals.end(), [](const auto& x, const auto& y) { return x.best() < y.best(); });

  const Candidate& c = *winner->candidate;
  const auto [m, n, k] = c.configuration->shape;
  std::string algorithm = "cuBLAS's own choice (cublasGemmEx, CUBLAS_GEMM_DEFAULT)";
  if (c.rank != kPlainCall) {
    int id = 0;
    size_t written = 0;
    const bool named = api.algo_attribute && api.algo_attribute(&c.algo(), CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id,
                                                                &written) == CUBLAS_STATUS_SUCCESS;
    algorithm = fmt::format("cuBLASLt algorithm{}, heuristic rank {} of {}", named ? fmt::format(" {}", id) : "",
                            c.rank + 1, c.configuration->found);
  }
  return {std::move(winner->runs),
          fmt::format("{}×{}×{} {} (m×n×k), {}, on {} inputs; {} screened, {} in the finals: {} rounds of bursts of {} "
                      "launches, on signed and on non-negative inputs",
                      m, n, k, c.configuration->layout.name, algorithm,
                      winner->sign == Sign::non_negative ? "non-negative" : "signed", screened_count, screened.size(),
                      kRounds, burst_launches(c))};
}

} // namespace brrr::calibrate
