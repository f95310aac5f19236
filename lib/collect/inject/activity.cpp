#include "collect/inject/activity.hpp"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "collect/inject/launch_apis.hpp"

namespace brrr::inject {
namespace {

// CUPTI fills a buffer before handing it over; 8 MiB holds tens of thousands of kernel
// records, so even a launch-bound program wakes the conversion a few times a second at most.
constexpr size_t activity_buffer_bytes = 8u << 20;
// CUPTI requires activity buffers aligned to 8 bytes.
constexpr size_t activity_buffer_alignment = 8;
// How often partly filled buffers are handed over. CUPTI's own cuptiActivityFlushPeriod only
// delivers full buffers (cupti_activity.h), which would let a crash lose a whole 8 MiB
// buffer; a default (non-forced) cuptiActivityFlushAll from our own thread delivers every
// buffer whose records are complete, so a crash loses about one period of records. 500 ms
// keeps that loss small while flushing too rarely to cost anything measurable.
constexpr auto flush_period = std::chrono::milliseconds(500);

// X(kind, essential): the activity kinds enabled, without their CUPTI_ACTIVITY_KIND_ prefix;
// the non-essential ones follow ActivityOptions::other_kinds. Not GRAPH_TRACE: it replaces the
// per-kernel records of graph launches by one record per graph. Not SYNCHRONIZATION: it costs
// about 1.9 µs on every kernel launch, synchronizing or not (bench/results/trace-overhead-h100.md);
// the synchronize calls' API records say when the host blocked.
#define BRRR_ACTIVITY_KINDS(X)                                                                                         \
  X(DEVICE, true)                                                                                                      \
  X(CONCURRENT_KERNEL, true)                                                                                           \
  X(MEMCPY, false)                                                                                                     \
  X(MEMSET, false)                                                                                                     \
  X(MARKER, false)

struct ActivityKind {
  CUpti_ActivityKind kind;
  const char* name;
  const char* call;
  bool essential;
};

constexpr ActivityKind activity_kinds[] = {
#define BRRR_ACTIVITY_KIND_ENTRY(kind, essential)                                                                      \
  {CUPTI_ACTIVITY_KIND_##kind, #kind, "cuptiActivityEnable(CUPTI_ACTIVITY_KIND_" #kind ")", essential},
    BRRR_ACTIVITY_KINDS(BRRR_ACTIVITY_KIND_ENTRY)
#undef BRRR_ACTIVITY_KIND_ENTRY
};

struct ActivityState {
  const CuptiApi* api = nullptr;
  StreamWriter* writer = nullptr;
  // Wakes the flusher early: posted at exit and from signal handlers (sem_post is
  // async-signal-safe, unlike a condition variable).
  sem_t flusher_wake;
  std::atomic<bool> stopping{false};
  // What the flusher runs instead of flushing when a signal handed it the end of the process.
  std::atomic<void (*)()> exit_action{nullptr};
  pthread_t flusher{};
  bool flusher_running = false;
  // ActivityOptions::forced_periodic_flush.
  bool forced_periodic_flush = false;
};

// Set once by start_activity and never freed: CUPTI may call the buffer callbacks from its
// worker thread until the process is gone, after every exit handler has run.
ActivityState* g_state = nullptr;

CopyKind copy_kind(uint8_t kind) {
  switch (kind) {
  case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD:
  case CUPTI_ACTIVITY_MEMCPY_KIND_HTOA:
    return CopyKind::host_to_device;
  case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH:
  case CUPTI_ACTIVITY_MEMCPY_KIND_ATOH:
    return CopyKind::device_to_host;
  case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD:
  case CUPTI_ACTIVITY_MEMCPY_KIND_ATOA:
  case CUPTI_ACTIVITY_MEMCPY_KIND_ATOD:
  case CUPTI_ACTIVITY_MEMCPY_KIND_DTOA:
    return CopyKind::device_to_device;
  case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH:
    return CopyKind::host_to_host;
  case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP:
    return CopyKind::peer;
  default:
    return CopyKind::unknown;
  }
}

MemoryKind memory_kind(uint32_t kind) {
  switch (kind) {
  case CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE:
    return MemoryKind::pageable;
  case CUPTI_ACTIVITY_MEMORY_KIND_PINNED:
    return MemoryKind::pinned;
  case CUPTI_ACTIVITY_MEMORY_KIND_DEVICE:
  case CUPTI_ACTIVITY_MEMORY_KIND_DEVICE_STATIC:
    return MemoryKind::device;
  case CUPTI_ACTIVITY_MEMORY_KIND_ARRAY:
    return MemoryKind::array;
  case CUPTI_ACTIVITY_MEMORY_KIND_MANAGED:
  case CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC:
    return MemoryKind::managed;
  default:
    return MemoryKind::unknown;
  }
}

SyncKind sync_kind(CUpti_ActivitySynchronizationType type) {
  switch (type) {
  case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE:
    return SyncKind::event;
  case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT:
    return SyncKind::stream_wait_event;
  case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE:
    return SyncKind::stream;
  case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE:
    return SyncKind::context;
  default:
    return SyncKind::unknown;
  }
}

// CUPTI marks fields that do not apply to a synchronization with an all-ones value.
uint32_t applicable(uint32_t id) { return id == CUPTI_SYNCHRONIZATION_INVALID_VALUE ? 0 : id; }

void add_kernel(StreamWriter::Batch& batch, const CUpti_ActivityKernel10& kernel) {
  stream::KernelRecord record{};
  record.name = batch.intern_name(kernel.name);
  record.start_ns = kernel.start;
  record.end_ns = kernel.end;
  // CUPTI_TIMESTAMP_UNKNOWN is 0, which is also the trace's "not recorded".
  record.queued_ns = kernel.queued;
  record.submitted_ns = kernel.submitted;
  record.graph_node_id = kernel.graphNodeId;
  record.correlation_id = kernel.correlationId;
  record.grid_x = static_cast<uint32_t>(kernel.gridX);
  record.grid_y = static_cast<uint32_t>(kernel.gridY);
  record.grid_z = static_cast<uint32_t>(kernel.gridZ);
  record.block_x = static_cast<uint32_t>(kernel.blockX);
  record.block_y = static_cast<uint32_t>(kernel.blockY);
  record.block_z = static_cast<uint32_t>(kernel.blockZ);
  record.registers_per_thread = kernel.registersPerThread;
  record.static_shared_bytes = static_cast<uint32_t>(kernel.staticSharedMemory);
  record.dynamic_shared_bytes = static_cast<uint32_t>(kernel.dynamicSharedMemory);
  record.device_id = kernel.deviceId;
  record.context_id = kernel.contextId;
  record.stream_id = kernel.streamId;
  record.graph_id = kernel.graphId;
  batch.add(record);
}

void add_copy(StreamWriter::Batch& batch, const CUpti_ActivityMemcpy6& copy) {
  stream::CopyRecord record{};
  record.start_ns = copy.start;
  record.end_ns = copy.end;
  record.bytes = copy.bytes;
  // The runtime call's id when the copy came through the runtime, as for kernels, so that
  // copies and kernels match the same API records.
  record.correlation_id = copy.runtimeCorrelationId != 0 ? copy.runtimeCorrelationId : copy.correlationId;
  record.device_id = copy.deviceId;
  record.context_id = copy.contextId;
  record.stream_id = copy.streamId;
  record.graph_id = copy.graphId;
  record.kind = static_cast<uint8_t>(copy_kind(copy.copyKind));
  record.source = static_cast<uint8_t>(memory_kind(copy.srcKind));
  record.destination = static_cast<uint8_t>(memory_kind(copy.dstKind));
  record.async = (copy.flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) != 0 ? 1 : 0;
  batch.add(record);
}

void add_set(StreamWriter::Batch& batch, const CUpti_ActivityMemset4& set) {
  stream::SetRecord record{};
  record.start_ns = set.start;
  record.end_ns = set.end;
  record.bytes = set.bytes;
  record.correlation_id = set.correlationId;
  record.device_id = set.deviceId;
  record.context_id = set.contextId;
  record.stream_id = set.streamId;
  record.graph_id = set.graphId;
  record.memory = static_cast<uint8_t>(memory_kind(set.memoryKind));
  record.async = (set.flags & CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC) != 0 ? 1 : 0;
  batch.add(record);
}

void add_sync(StreamWriter::Batch& batch, const CUpti_ActivitySynchronization2& sync) {
  stream::SyncRecord record{};
  record.start_ns = sync.start;
  record.end_ns = sync.end;
  record.correlation_id = sync.correlationId;
  record.context_id = applicable(sync.contextId);
  record.stream_id = applicable(sync.streamId);
  record.kind = static_cast<uint8_t>(sync_kind(sync.type));
  batch.add(record);
}

void add_api(StreamWriter::Batch& batch, const CUpti_ActivityAPI& call) {
  const bool driver = call.kind == CUPTI_ACTIVITY_KIND_DRIVER;
  stream::ApiRecord record{};
  record.start_ns = call.start;
  record.end_ns = call.end;
  record.correlation_id = call.correlationId;
  record.thread_id = call.threadId;
  record.callback_id = call.cbid;
  record.driver = driver ? 1 : 0;
  record.kind = static_cast<uint8_t>(driver ? driver_api_kind(call.cbid) : runtime_api_kind(call.cbid));
  batch.add(record);
}

// Only range starts and ends are kept: instantaneous marks and synchronization markers have
// no place in the trace. The names are copied here, while the record is valid.
void add_marker(StreamWriter::Batch& batch, const CUpti_ActivityMarker2& marker) {
  if ((marker.flags & CUPTI_ACTIVITY_FLAG_MARKER_START) != 0) {
    stream::MarkerBeginRecord record{};
    record.name = batch.intern(marker.name != nullptr ? marker.name : "");
    record.domain = batch.intern(marker.domain != nullptr ? marker.domain : "");
    record.timestamp_ns = marker.timestamp;
    record.id = marker.id;
    record.thread_id = marker.objectKind == CUPTI_ACTIVITY_OBJECT_THREAD ? marker.objectId.pt.threadId : 0;
    batch.add(record);
  } else if ((marker.flags & CUPTI_ACTIVITY_FLAG_MARKER_END) != 0) {
    batch.add(stream::MarkerEndRecord{marker.timestamp, marker.id});
  }
}

// The device name is left allocated although CUPTI's manual hands it to the client: a few
// bytes per device are not worth a double free should a CUPTI version keep owning it.
void add_device(StreamWriter::Batch& batch, const CUpti_ActivityDevice5& device) {
  stream::DeviceRecord record{};
  record.id = device.id;
  record.compute_capability_major = device.computeCapabilityMajor;
  record.compute_capability_minor = device.computeCapabilityMinor;
  record.sm_count = device.numMultiprocessors;
  record.sm_clock_khz = device.coreClockRate;
  record.memory_bytes = device.globalMemorySize;
  // CUPTI reports kilobytes per second.
  record.memory_bandwidth_bytes_per_s = device.globalMemoryBandwidth * 1000;
  record.l2_bytes = device.l2CacheSize;
  record.mig = device.isMigEnabled != 0 ? 1 : 0;
  const CUuuid& uuid = record.mig != 0 ? device.migUuid : device.uuid;
  std::memcpy(record.uuid, uuid.bytes, sizeof(record.uuid));
  batch.add(record, device.name != nullptr ? device.name : "");
}

void add_activity(StreamWriter::Batch& batch, const CUpti_Activity& activity) {
  switch (activity.kind) {
  case CUPTI_ACTIVITY_KIND_KERNEL:
  case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
    return add_kernel(batch, reinterpret_cast<const CUpti_ActivityKernel10&>(activity));
  case CUPTI_ACTIVITY_KIND_MEMCPY:
    return add_copy(batch, reinterpret_cast<const CUpti_ActivityMemcpy6&>(activity));
  case CUPTI_ACTIVITY_KIND_MEMSET:
    return add_set(batch, reinterpret_cast<const CUpti_ActivityMemset4&>(activity));
  case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
    return add_sync(batch, reinterpret_cast<const CUpti_ActivitySynchronization2&>(activity));
  case CUPTI_ACTIVITY_KIND_RUNTIME:
  case CUPTI_ACTIVITY_KIND_DRIVER:
    return add_api(batch, reinterpret_cast<const CUpti_ActivityAPI&>(activity));
  case CUPTI_ACTIVITY_KIND_MARKER:
    return add_marker(batch, reinterpret_cast<const CUpti_ActivityMarker2&>(activity));
  case CUPTI_ACTIVITY_KIND_DEVICE:
    return add_device(batch, reinterpret_cast<const CUpti_ActivityDevice5&>(activity));
  default:
    return; // A kind brrr did not enable.
  }
}

void add_buffer(StreamWriter::Batch& batch, const CuptiApi& api, uint8_t* buffer, size_t valid_bytes) {
  CUpti_Activity* activity = nullptr;
  for (;;) {
    const CUptiResult result = api.cuptiActivityGetNextRecord(buffer, valid_bytes, &activity);
    if (result == CUPTI_ERROR_MAX_LIMIT_REACHED) {
      return;
    }
    if (result != CUPTI_SUCCESS) {
      batch.warn(describe_failure(api, "cuptiActivityGetNextRecord", result) + ": the rest of a buffer was lost");
      return;
    }
    add_activity(batch, *activity);
  }
}

void add_dropped(StreamWriter::Batch& batch, const CuptiApi& api) {
  size_t dropped = 0;
  const CUptiResult result = api.cuptiActivityGetNumDroppedRecords(nullptr, 0, &dropped);
  if (result != CUPTI_SUCCESS) {
    batch.warn(describe_failure(api, "cuptiActivityGetNumDroppedRecords", result));
  } else if (dropped > 0) {
    batch.add(stream::DroppedRecord{dropped});
  }
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(activity_buffer_alignment, activity_buffer_bytes));
  // Without memory CUPTI drops records and counts them, which the stream then reports.
  *size = *buffer != nullptr ? activity_buffer_bytes : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  const ActivityState* state = g_state;
  if (state != nullptr && buffer != nullptr) {
    StreamWriter::Batch batch(*state->writer);
    if (batch.active()) {
      add_buffer(batch, *state->api, buffer, valid_bytes);
      add_dropped(batch, *state->api);
    }
  }
  std::free(buffer);
}

void flush(const ActivityState& state, uint32_t flag) {
  const CUptiResult result = state.api->cuptiActivityFlushAll(flag);
  if (result != CUPTI_SUCCESS) {
    state.writer->warn(describe_failure(*state.api, "cuptiActivityFlushAll", result));
  }
}

void* run_flusher(void* argument) {
  auto& state = *static_cast<ActivityState*>(argument);
  while (true) {
    timespec deadline{};
    ::clock_gettime(CLOCK_REALTIME, &deadline);
    const auto period_ns = std::chrono::nanoseconds(flush_period).count();
    deadline.tv_nsec += period_ns % 1'000'000'000;
    deadline.tv_sec += period_ns / 1'000'000'000 + deadline.tv_nsec / 1'000'000'000;
    deadline.tv_nsec %= 1'000'000'000;
    while (::sem_timedwait(&state.flusher_wake, &deadline) != 0 && errno == EINTR) {
    }
    if (void (*action)() = state.exit_action.load()) {
      action(); // does not return
    }
    if (state.stopping.load()) {
      return nullptr;
    }
    flush(state, state.forced_periodic_flush ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0);
  }
}

// The flusher blocks every signal, so that the program's signal handlers keep running on the
// program's own threads.
void start_flusher(ActivityState& state) {
  if (::sem_init(&state.flusher_wake, 0, 0) != 0) {
    state.writer->warn(std::string("cannot start the flush thread: ") + std::strerror(errno) +
                       ": records still held by CUPTI when the process crashes are lost");
    return;
  }
  sigset_t all_signals;
  sigset_t previous;
  ::sigfillset(&all_signals);
  ::pthread_sigmask(SIG_SETMASK, &all_signals, &previous);
  const int error = ::pthread_create(&state.flusher, nullptr, run_flusher, &state);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (error != 0) {
    state.writer->warn(std::string("cannot start the flush thread: ") + std::strerror(error) +
                       ": records still held by CUPTI when the process crashes are lost");
    return;
  }
  ::pthread_setname_np(state.flusher, "brrr-flush");
  state.flusher_running = true;
}

// Whether a non-essential kind is asked for: "1" (all), "0" (none) or a comma-separated list.
bool wanted(std::string_view selection, std::string_view kind) {
  if (selection == "1") return true;
  while (!selection.empty()) {
    const size_t comma = selection.find(',');
    if (selection.substr(0, comma) == kind) return true;
    selection = comma == std::string_view::npos ? std::string_view() : selection.substr(comma + 1);
  }
  return false;
}

// Enables each launch-type call of one API; one warning sums up the failures.
void enable_calls(const CuptiApi& api, StreamWriter& writer, std::string_view call,
                  decltype(CuptiApi::cuptiActivityEnableRuntimeApi) enable, const LaunchApi* calls, size_t count) {
  size_t failed = 0;
  std::string first_failure;
  for (size_t i = 0; i < count; ++i) {
    const CUptiResult result = enable(calls[i].callback_id, 1);
    if (result != CUPTI_SUCCESS && failed++ == 0) {
      first_failure =
          describe_failure(api, std::string(call) + "(" + std::to_string(calls[i].callback_id) + ")", result);
    }
  }
  if (failed > 0) {
    writer.warn(first_failure + "; " + std::to_string(failed) + " of " + std::to_string(count) +
                " launch calls are not recorded");
  }
}

} // namespace

void start_activity(const CuptiApi& api, StreamWriter& writer, const ActivityOptions& options) {
  g_state = new ActivityState;
  g_state->api = &api;
  g_state->writer = &writer;
  g_state->forced_periodic_flush = options.forced_periodic_flush;
  const auto succeeded = [&](std::string_view call, CUptiResult result) {
    if (result != CUPTI_SUCCESS) {
      writer.warn(describe_failure(api, call, result));
    }
    return result == CUPTI_SUCCESS;
  };
  if (!succeeded("cuptiActivityRegisterCallbacks",
                 api.cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed))) {
    return;
  }
  // Before the kinds: CUPTI reads this setting when kernel tracing starts.
  if (options.latency_timestamps) {
    succeeded("cuptiActivityEnableLatencyTimestamps", api.cuptiActivityEnableLatencyTimestamps(1));
  }
  for (const ActivityKind& kind : activity_kinds) {
    if (kind.essential || wanted(options.other_kinds, kind.name)) {
      succeeded(kind.call, api.cuptiActivityEnable(kind.kind));
    }
  }
  if (options.runtime_api) {
    enable_calls(api, writer, "cuptiActivityEnableRuntimeApi", api.cuptiActivityEnableRuntimeApi, runtime_launch_apis,
                 std::size(runtime_launch_apis));
  }
  if (options.driver_api) {
    enable_calls(api, writer, "cuptiActivityEnableDriverApi", api.cuptiActivityEnableDriverApi, driver_launch_apis,
                 std::size(driver_launch_apis));
  }
  start_flusher(*g_state);
}

void finish_activity() {
  ActivityState* state = g_state;
  if (state == nullptr) {
    return;
  }
  state->stopping = true;
  // On the flusher itself (the end of the process handed to it by a signal) there is nothing
  // to wait for.
  if (state->flusher_running && !::pthread_equal(::pthread_self(), state->flusher)) {
    ::sem_post(&state->flusher_wake);
    ::pthread_join(state->flusher, nullptr);
    state->flusher_running = false;
  }
  flush(*state, CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  StreamWriter::Batch batch(*state->writer);
  if (batch.active()) {
    add_dropped(batch, *state->api);
  }
}

bool hand_exit_to_flusher(void (*action)()) {
  ActivityState* state = g_state;
  if (state == nullptr || !state->flusher_running || state->stopping.load()) {
    return false;
  }
  state->exit_action.store(action);
  return ::sem_post(&state->flusher_wake) == 0;
}

} // namespace brrr::inject
