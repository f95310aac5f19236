#pragma once
// The CUPTI functions the injection library calls, resolved with dlsym from a libcupti found
// at run time: the library never links libcupti, so it loads into programs on machines where
// CUPTI sits anywhere (or nowhere: then the program runs untraced). Every function the
// library uses is listed once, in BRRR_CUPTI_FUNCTIONS; a counters module adds its own there.

#include <cupti.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

#include <cstdint>
#include <string>
#include <string_view>

// X(function): each CUPTI function the library calls. The members of CuptiApi keep CUPTI's own
// names so that a call reads like the CUPTI manual.
#define BRRR_CUPTI_FUNCTIONS(X)                                                                                        \
  X(cuptiGetVersion)                                                                                                   \
  X(cuptiGetResultString)                                                                                              \
  X(cuptiGetTimestamp)                                                                                                 \
  X(cuptiSubscribe_v2)                                                                                                 \
  X(cuptiActivityRegisterCallbacks)                                                                                    \
  X(cuptiActivityEnable)                                                                                               \
  X(cuptiActivityEnableLatencyTimestamps)                                                                              \
  X(cuptiActivityEnableRuntimeApi)                                                                                     \
  X(cuptiActivityEnableDriverApi)                                                                                      \
  X(cuptiActivityFlushAll)                                                                                             \
  X(cuptiActivityGetNextRecord)                                                                                        \
  X(cuptiActivityGetNumDroppedRecords)                                                                                 \
  X(cuptiEnableCallback)                                                                                               \
  X(cuptiGetDeviceId)                                                                                                  \
  X(cuptiDeviceGetChipName)                                                                                            \
  X(cuptiProfilerInitialize)                                                                                           \
  X(cuptiProfilerGetCounterAvailability)                                                                               \
  X(cuptiProfilerHostInitialize)                                                                                       \
  X(cuptiProfilerHostGetBaseMetrics)                                                                                   \
  X(cuptiProfilerHostConfigAddMetrics)                                                                                 \
  X(cuptiProfilerHostGetConfigImageSize)                                                                               \
  X(cuptiProfilerHostGetConfigImage)                                                                                   \
  X(cuptiProfilerHostEvaluateToGpuValues)                                                                              \
  X(cuptiRangeProfilerEnable)                                                                                          \
  X(cuptiRangeProfilerDisable)                                                                                         \
  X(cuptiRangeProfilerGetCounterDataSize)                                                                              \
  X(cuptiRangeProfilerCounterDataImageInitialize)                                                                      \
  X(cuptiRangeProfilerSetConfig)                                                                                       \
  X(cuptiRangeProfilerStart)                                                                                           \
  X(cuptiRangeProfilerStop)                                                                                            \
  X(cuptiRangeProfilerDecodeData)                                                                                      \
  X(cuptiRangeProfilerGetCounterDataInfo)

namespace brrr::inject {

struct CuptiApi {
#define BRRR_CUPTI_MEMBER(function) decltype(&::function) function = nullptr;
  BRRR_CUPTI_FUNCTIONS(BRRR_CUPTI_MEMBER)
#undef BRRR_CUPTI_MEMBER
  // Where the library was loaded from, for messages.
  std::string path;
  // CUPTI's NVTX entry point, to which this library forwards NVTX (optional: without it,
  // NVTX ranges are not recorded).
  int (*InitializeInjectionNvtx2)(void*) = nullptr;
};

// Loads libcupti.so.13 and resolves every function: first a copy the process already loaded
// (PyTorch ships one; two copies of CUPTI in one process would fight over the driver), then
// the one locate_cupti() finds, then whatever the dynamic loader finds. Returns an empty
// string on success, else a sentence saying why tracing is impossible.
std::string load_cupti(CuptiApi& api);

// "cuptiActivityEnable(MARKER) failed: <CUPTI's description>", for warnings.
std::string describe_failure(const CuptiApi& api, std::string_view call, CUptiResult result);

} // namespace brrr::inject
