#pragma once
// The CUDA API calls recorded as API activity: only those that put work on the GPU or block the
// host until it is done (synchronize calls: cheaper to record than CUPTI's SYNCHRONIZATION
// activity, which costs about 1.9 µs on every kernel launch, measured), because
// recording every call costs per call (PyTorch makes about 13 runtime calls per kernel, see
// shared/notes/gpu-facts.md) and the attribution needs only the launch-type ones. Each entry
// names a CUPTI callback id (without its CUPTI_RUNTIME_TRACE_CBID_ / CUPTI_DRIVER_TRACE_CBID_
// prefix) and the brrr::ApiKind it records as. This table both enables the calls and
// classifies their records.

#include <cupti.h>

#include "model/trace.hpp"

#define BRRR_RUNTIME_LAUNCH_APIS(X)                                                                                    \
  X(cudaLaunchKernel_v7000, kernel_launch)                                                                             \
  X(cudaLaunchKernel_ptsz_v7000, kernel_launch)                                                                        \
  X(cudaLaunchKernelExC_v11060, kernel_launch)                                                                         \
  X(cudaLaunchKernelExC_ptsz_v11060, kernel_launch)                                                                    \
  X(cudaLaunchCooperativeKernel_v9000, kernel_launch)                                                                  \
  X(cudaLaunchCooperativeKernel_ptsz_v9000, kernel_launch)                                                             \
  X(__cudaLaunchKernel_v13000, kernel_launch)                                                                          \
  X(__cudaLaunchKernel_ptsz_v13000, kernel_launch)                                                                     \
  X(cudaGraphLaunch_v10000, graph_launch)                                                                              \
  X(cudaGraphLaunch_ptsz_v10000, graph_launch)                                                                         \
  X(cudaMemcpy_v3020, memcpy)                                                                                          \
  X(cudaMemcpy_ptds_v7000, memcpy)                                                                                     \
  X(cudaMemcpyAsync_v3020, memcpy)                                                                                     \
  X(cudaMemcpyAsync_ptsz_v7000, memcpy)                                                                                \
  X(cudaMemcpy2D_v3020, memcpy)                                                                                        \
  X(cudaMemcpy2D_ptds_v7000, memcpy)                                                                                   \
  X(cudaMemcpy2DAsync_v3020, memcpy)                                                                                   \
  X(cudaMemcpy2DAsync_ptsz_v7000, memcpy)                                                                              \
  X(cudaMemcpyPeer_v4000, memcpy)                                                                                      \
  X(cudaMemcpyPeerAsync_v4000, memcpy)                                                                                 \
  X(cudaMemset_v3020, memset)                                                                                          \
  X(cudaMemset_ptds_v7000, memset)                                                                                     \
  X(cudaMemsetAsync_v3020, memset)                                                                                     \
  X(cudaMemsetAsync_ptsz_v7000, memset)                                                                                \
  X(cudaDeviceSynchronize_v3020, synchronize)                                                                          \
  X(cudaThreadSynchronize_v3020, synchronize)                                                                          \
  X(cudaStreamSynchronize_v3020, synchronize)                                                                          \
  X(cudaStreamSynchronize_ptsz_v7000, synchronize)                                                                     \
  X(cudaEventSynchronize_v3020, synchronize)

#define BRRR_DRIVER_LAUNCH_APIS(X)                                                                                     \
  X(cuLaunchKernel, kernel_launch)                                                                                     \
  X(cuLaunchKernel_ptsz, kernel_launch)                                                                                \
  X(cuLaunchKernelEx, kernel_launch)                                                                                   \
  X(cuLaunchKernelEx_ptsz, kernel_launch)                                                                              \
  X(cuLaunchCooperativeKernel, kernel_launch)                                                                          \
  X(cuLaunchCooperativeKernel_ptsz, kernel_launch)                                                                     \
  X(cuGraphLaunch, graph_launch)                                                                                       \
  X(cuGraphLaunch_ptsz, graph_launch)                                                                                  \
  X(cuMemcpy, memcpy)                                                                                                  \
  X(cuMemcpy_ptds, memcpy)                                                                                             \
  X(cuMemcpyAsync, memcpy)                                                                                             \
  X(cuMemcpyAsync_ptsz, memcpy)                                                                                        \
  X(cuMemcpyHtoD_v2, memcpy)                                                                                           \
  X(cuMemcpyHtoD_v2_ptds, memcpy)                                                                                      \
  X(cuMemcpyDtoH_v2, memcpy)                                                                                           \
  X(cuMemcpyDtoH_v2_ptds, memcpy)                                                                                      \
  X(cuMemcpyDtoD_v2, memcpy)                                                                                           \
  X(cuMemcpyDtoD_v2_ptds, memcpy)                                                                                      \
  X(cuMemcpyHtoDAsync_v2, memcpy)                                                                                      \
  X(cuMemcpyHtoDAsync_v2_ptsz, memcpy)                                                                                 \
  X(cuMemcpyDtoHAsync_v2, memcpy)                                                                                      \
  X(cuMemcpyDtoHAsync_v2_ptsz, memcpy)                                                                                 \
  X(cuMemcpyDtoDAsync_v2, memcpy)                                                                                      \
  X(cuMemcpyDtoDAsync_v2_ptsz, memcpy)                                                                                 \
  X(cuMemcpy2D_v2, memcpy)                                                                                             \
  X(cuMemcpy2D_v2_ptds, memcpy)                                                                                        \
  X(cuMemcpy2DAsync_v2, memcpy)                                                                                        \
  X(cuMemcpy2DAsync_v2_ptsz, memcpy)                                                                                   \
  X(cuMemsetD8_v2, memset)                                                                                             \
  X(cuMemsetD8_v2_ptds, memset)                                                                                        \
  X(cuMemsetD16_v2, memset)                                                                                            \
  X(cuMemsetD16_v2_ptds, memset)                                                                                       \
  X(cuMemsetD32_v2, memset)                                                                                            \
  X(cuMemsetD32_v2_ptds, memset)                                                                                       \
  X(cuMemsetD8Async, memset)                                                                                           \
  X(cuMemsetD8Async_ptsz, memset)                                                                                      \
  X(cuMemsetD16Async, memset)                                                                                          \
  X(cuMemsetD16Async_ptsz, memset)                                                                                     \
  X(cuMemsetD32Async, memset)                                                                                          \
  X(cuMemsetD32Async_ptsz, memset)                                                                                     \
  X(cuCtxSynchronize, synchronize)                                                                                     \
  X(cuCtxSynchronize_v2, synchronize)                                                                                  \
  X(cuStreamSynchronize, synchronize)                                                                                  \
  X(cuStreamSynchronize_ptsz, synchronize)                                                                             \
  X(cuEventSynchronize, synchronize)

namespace brrr::inject {

struct LaunchApi {
  CUpti_CallbackId callback_id;
  ApiKind kind;
};

#define BRRR_RUNTIME_LAUNCH_API_ENTRY(name, api_kind) LaunchApi{CUPTI_RUNTIME_TRACE_CBID_##name, ApiKind::api_kind},
#define BRRR_DRIVER_LAUNCH_API_ENTRY(name, api_kind) LaunchApi{CUPTI_DRIVER_TRACE_CBID_##name, ApiKind::api_kind},
inline constexpr LaunchApi runtime_launch_apis[] = {BRRR_RUNTIME_LAUNCH_APIS(BRRR_RUNTIME_LAUNCH_API_ENTRY)};
inline constexpr LaunchApi driver_launch_apis[] = {BRRR_DRIVER_LAUNCH_APIS(BRRR_DRIVER_LAUNCH_API_ENTRY)};
#undef BRRR_RUNTIME_LAUNCH_API_ENTRY
#undef BRRR_DRIVER_LAUNCH_API_ENTRY

// The kind of a recorded call; `other` for a callback id outside the table.
constexpr ApiKind runtime_api_kind(CUpti_CallbackId callback_id) {
  switch (callback_id) {
#define BRRR_RUNTIME_LAUNCH_API_CASE(name, api_kind)                                                                   \
  case CUPTI_RUNTIME_TRACE_CBID_##name:                                                                                \
    return ApiKind::api_kind;
    BRRR_RUNTIME_LAUNCH_APIS(BRRR_RUNTIME_LAUNCH_API_CASE)
#undef BRRR_RUNTIME_LAUNCH_API_CASE
  default:
    return ApiKind::other;
  }
}

constexpr ApiKind driver_api_kind(CUpti_CallbackId callback_id) {
  switch (callback_id) {
#define BRRR_DRIVER_LAUNCH_API_CASE(name, api_kind)                                                                    \
  case CUPTI_DRIVER_TRACE_CBID_##name:                                                                                 \
    return ApiKind::api_kind;
    BRRR_DRIVER_LAUNCH_APIS(BRRR_DRIVER_LAUNCH_API_CASE)
#undef BRRR_DRIVER_LAUNCH_API_CASE
  default:
    return ApiKind::other;
  }
}

} // namespace brrr::inject
