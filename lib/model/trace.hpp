#pragma once
// The trace: what the collector recorded, event by event, before any aggregation.
// It is the boundary between collect/ (which fills it from the injection library's record
// streams) and model/ (which turns it into a Run). All times are nanoseconds on one host
// clock (CLOCK_REALTIME, CUPTI's default on Linux), so that GPU activity, API calls and the
// launcher's own start and end times can be compared directly.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

// Index into Trace::strings; kernel names, NVTX range names and metric names are interned
// once per stream so that a million launches of one kernel do not carry a million copies.
using StringId = uint32_t;

struct Dim3 {
  uint32_t x = 1;
  uint32_t y = 1;
  uint32_t z = 1;

  auto operator<=>(const Dim3&) const = default;
  [[nodiscard]] uint64_t count() const { return uint64_t{x} * y * z; }
};

// A process's place in a multi-process job, as its launcher's environment variables state it
// (collect/rank_variables.hpp).
struct RankInfo {
  // The launcher whose variables named the rank: torchrun, torch (RANK without torchrun's
  // marker), openmpi, pmi, slurm, or local (LOCAL_RANK alone).
  std::string launcher;
  // The variable the rank was read from, e.g. "RANK".
  std::string variable;
  uint32_t rank = 0;
  // The rank among the job's processes on the same host; empty when the launcher did not say.
  std::optional<uint32_t> local_rank;
  // How many processes the job has; empty when the launcher did not say.
  std::optional<uint32_t> world_size;
  bool operator==(const RankInfo&) const = default;
};

// One process that loaded the injection library (the target, or a process it forked or
// executed that used CUDA).
struct ProcessTrace {
  int32_t pid = 0;
  int32_t parent_pid = 0;
  std::vector<std::string> command;
  // When the injection library initialized (the process's first CUDA call).
  uint64_t injection_start_ns = 0;
  // When the library flushed its last records at exit; 0 when the process died first.
  uint64_t injection_end_ns = 0;
  // True when the stream ended with the library's end record: nothing was lost.
  bool stream_complete = false;
  // Why the stream is incomplete (truncated, corrupt record at an offset), empty if complete.
  std::string stream_problem;
  // Records CUPTI itself reported as dropped (buffers full).
  uint64_t dropped_records = 0;
  // Problems the library met inside the process, one line each (a CUPTI call that failed).
  std::vector<std::string> warnings;
  // Its rank, when a launcher's variables were set in its environment.
  std::optional<RankInfo> rank;
};

struct DeviceTrace {
  uint32_t id = 0;
  std::string name;
  std::string uuid;
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
  uint32_t sm_count = 0;
  uint64_t sm_clock_khz = 0;
  uint64_t memory_bytes = 0;
  uint64_t memory_bandwidth_bytes_per_s = 0;
  uint64_t l2_bytes = 0;
  // True when the device is a MIG instance: counters are unavailable there.
  bool mig = false;
};

struct KernelEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  // When the launch was queued by the host; 0 when not recorded. (The stream also carries
  // when it was submitted to the GPU; no analysis uses that, so the trace leaves it out and
  // keeps a million launches smaller.)
  uint64_t queued_ns = 0;
  uint32_t correlation_id = 0;
  // The symbol as CUPTI reports it (mangled for C++ kernels).
  StringId name = 0;
  Dim3 grid;
  Dim3 block;
  uint32_t registers_per_thread = 0;
  uint32_t static_shared_bytes = 0;
  uint32_t dynamic_shared_bytes = 0;
  uint32_t device_id = 0;
  uint32_t context_id = 0;
  uint32_t stream_id = 0;
  // Non-zero when the kernel ran as a node of a CUDA graph.
  uint32_t graph_id = 0;
  // Index into Trace::processes.
  uint32_t process = 0;
};

enum class CopyKind : uint8_t { unknown, host_to_device, device_to_host, device_to_device, host_to_host, peer };
enum class MemoryKind : uint8_t { unknown, pageable, pinned, device, array, managed };

struct CopyEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;
  CopyKind kind = CopyKind::unknown;
  MemoryKind source = MemoryKind::unknown;
  MemoryKind destination = MemoryKind::unknown;
  // False for copies the host waited for (cudaMemcpy and friends).
  bool async = false;
  uint32_t correlation_id = 0;
  uint32_t device_id = 0;
  uint32_t context_id = 0;
  uint32_t stream_id = 0;
  uint32_t graph_id = 0;
  uint32_t process = 0;
};

struct SetEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;
  MemoryKind memory = MemoryKind::unknown;
  bool async = false;
  uint32_t correlation_id = 0;
  uint32_t device_id = 0;
  uint32_t context_id = 0;
  uint32_t stream_id = 0;
  uint32_t graph_id = 0;
  uint32_t process = 0;
};

enum class SyncKind : uint8_t { unknown, event, stream_wait_event, stream, context };

// The host blocked waiting for the GPU (cudaDeviceSynchronize, cudaStreamSynchronize,
// cudaEventSynchronize) from start_ns to end_ns.
struct SyncEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  SyncKind kind = SyncKind::unknown;
  uint32_t correlation_id = 0;
  uint32_t context_id = 0;
  uint32_t stream_id = 0;
  uint32_t process = 0;
};

// What a recorded API call does; the collector records only the calls the attribution needs.
enum class ApiKind : uint8_t { other, kernel_launch, graph_launch, memcpy, memset, synchronize };

struct ApiEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t correlation_id = 0;
  uint32_t thread_id = 0;
  // The CUPTI callback id, in the runtime or the driver domain.
  uint32_t callback_id = 0;
  bool driver = false;
  ApiKind kind = ApiKind::other;
  uint32_t process = 0;
};

// An NVTX range (push/pop or start/end), on the host clock.
struct RangeEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  StringId name = 0;
  StringId domain = 0;
  uint32_t thread_id = 0;
  uint32_t process = 0;
};

// Hardware-counter values read for one kernel launch, as metric name → value, before they
// are turned into FLOPs and bytes (that derivation lives in model/ and is unit-tested).
struct CounterSample {
  uint32_t correlation_id = 0;
  uint32_t process = 0;
  // The kernel's symbol, so that a sample can be matched even when its launch record is lost.
  StringId kernel_name = 0;
  std::vector<std::pair<StringId, double>> values;
};

// Counters that could not be read for a kernel, with the reason (privileges, MIG, graphs).
struct CounterGap {
  uint32_t correlation_id = 0;
  uint32_t process = 0;
  StringId kernel_name = 0;
  StringId reason = 0;
};

// An interval in which brrr itself held the program up (replaying a kernel for counters,
// around the launch correlation_id). The model cuts these intervals out of the timeline, all
// but the kernel's own execution: they are brrr's time, not the program's.
struct ToolEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t correlation_id = 0;
  uint32_t process = 0;
};

// A launch that took, as an argument in another position, a value the previous launch on its
// stream took: most likely a buffer the previous kernel wrote and this one reads.
struct DataflowLink {
  uint32_t correlation_id = 0;
  uint32_t previous_correlation_id = 0;
  uint32_t process = 0;
};

struct Trace {
  std::vector<std::string> strings;
  std::vector<ProcessTrace> processes;
  std::vector<DeviceTrace> devices;
  std::vector<KernelEvent> kernels;
  std::vector<CopyEvent> copies;
  std::vector<SetEvent> sets;
  std::vector<SyncEvent> syncs;
  std::vector<ApiEvent> apis;
  std::vector<RangeEvent> ranges;
  std::vector<CounterSample> counters;
  std::vector<CounterGap> counter_gaps;
  std::vector<ToolEvent> tool_events;
  std::vector<DataflowLink> dataflow;
  // Whether any process compared launch arguments (so that no link means none was found).
  bool dataflow_compared = false;

  [[nodiscard]] const std::string& str(StringId id) const { return strings.at(id); }
};

} // namespace brrr
