// brrr-floor-inject: the least a CUPTI-based tracer can do, as a floor for tracing-overhead
// benchmarks. Loaded through CUDA_INJECTION64_PATH, it records kernel activity and nothing
// else, counts the records and prints the count at exit. Whatever brrr costs above this
// library is brrr's own overhead; what this library costs is CUPTI's.

#include <cupti.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr size_t kBufferBytes = size_t{8} << 20;
constexpr size_t kBufferAlignment = 8;

std::atomic<uint64_t> kernel_records{0};
std::atomic<uint64_t> dropped_records{0};
std::atomic<bool> initialized{false};

// The library runs inside someone else's process, in CUPTI's callbacks and in an atexit
// handler, where calling exit() again would be undefined; _Exit ends the process at once.
void check_cupti(CUptiResult result, const char* file, int line) {
  if (result != CUPTI_SUCCESS) {
    const char* message = nullptr;
    if (cuptiGetResultString(result, &message) != CUPTI_SUCCESS || message == nullptr) message = "unknown CUPTI error";
    std::fprintf(stderr, "%s:%d: %s\n", file, line, message);
    std::_Exit(1);
  }
}

#define CUPTI_CHECK(call) check_cupti((call), __FILE__, __LINE__)

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_num_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(kBufferAlignment, kBufferBytes));
  if (*buffer == nullptr) {
    std::fprintf(stderr, "%s:%d: out of memory for a CUPTI buffer\n", __FILE__, __LINE__);
    std::_Exit(1);
  }
  *size = kBufferBytes;
  // Zero asks CUPTI to fill the buffer with as many records as fit.
  *max_num_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream_id, uint8_t* buffer, size_t /*size*/,
                               size_t valid_size) {
  uint64_t count = 0;
  CUpti_Activity* record = nullptr;
  for (;;) {
    const CUptiResult result = cuptiActivityGetNextRecord(buffer, valid_size, &record);
    if (result == CUPTI_ERROR_MAX_LIMIT_REACHED) break;
    CUPTI_CHECK(result);
    if (record->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) ++count;
  }
  kernel_records += count;
  size_t dropped = 0;
  CUPTI_CHECK(cuptiActivityGetNumDroppedRecords(context, stream_id, &dropped));
  dropped_records += dropped;
  std::free(buffer);
}

void flush_and_report() {
  // A forced flush also hands over buffers that are only partly filled.
  CUPTI_CHECK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
  std::fprintf(stderr, "floor-inject: %llu kernel records\n", static_cast<unsigned long long>(kernel_records.load()));
  if (dropped_records.load() > 0) {
    std::fprintf(stderr, "floor-inject: %llu records dropped\n",
                 static_cast<unsigned long long>(dropped_records.load()));
  }
}

} // namespace

// Called by the CUDA driver during cuInit when this library is named in
// CUDA_INJECTION64_PATH. A non-zero return tells the driver that injection succeeded.
extern "C" __attribute__((visibility("default"))) int InitializeInjection(void) {
  if (initialized.exchange(true)) return 1;
  CUPTI_CHECK(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed));
  CUPTI_CHECK(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
  if (std::atexit(flush_and_report) != 0) {
    std::fprintf(stderr, "%s:%d: cannot register the exit handler\n", __FILE__, __LINE__);
    return 0;
  }
  return 1;
}
