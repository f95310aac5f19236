#pragma once
// The run: what was measured about one `brrr profile`, aggregated so that a report stays
// small however many kernels ran. It holds measurements only; everything that depends on a
// hardware profile (roofline class, % of roof, the attribution by regime, the verdict) is
// derived from it by analyse/ and can be derived again by `brrr explain`.
//
// Times inside a run are offsets in nanoseconds from the moment the target was started.

#include "model/trace.hpp"
#include "model/units.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

inline constexpr int report_schema_version = 1;

// How the target ended, in the terms of wait(2).
struct ExitStatus {
  enum class Kind : uint8_t { exited, signaled, not_started, unknown };
  Kind kind = Kind::unknown;
  int code = 0;   // exit code when exited
  int signal = 0; // signal number when signaled
  bool operator==(const ExitStatus&) const = default;
};

// "SIGTERM", or "signal N" for a number without a name.
[[nodiscard]] std::string signal_name(int signal);

struct RunInfo {
  std::string tool_version;
  std::vector<std::string> command;
  std::string start_time; // ISO 8601, UTC
  std::string host;
  ExitStatus exit;
  // False when data may be missing (the target crashed or was killed, a stream was cut).
  bool complete = true;
  std::vector<std::string> incomplete_reasons;
  // The target process's peak resident memory, as the kernel reported it at its exit.
  uint64_t target_peak_rss_bytes = 0;
  // The rank brrr itself ran as, when a launcher started it (torchrun, mpirun, srun ... brrr
  // profile): the report is then one rank's.
  std::optional<RankInfo> rank;
  bool operator==(const RunInfo&) const = default;
};

struct GpuInfo {
  uint32_t id = 0;
  std::string name;
  std::string uuid;
  std::string compute_capability; // "9.0"
  uint32_t sm_count = 0;
  uint32_t sm_clock_mhz = 0;
  uint64_t memory_bytes = 0;
  uint64_t l2_bytes = 0;
  bool mig = false;
  bool operator==(const GpuInfo&) const = default;
};

struct ProcessSummary {
  int32_t pid = 0;
  int32_t parent_pid = 0;
  std::vector<std::string> command;
  uint64_t kernel_launches = 0;
  uint64_t copies = 0;
  bool complete = true;
  std::string problem;
  uint64_t dropped_records = 0;
  std::vector<std::string> warnings;
  // The process's rank, from its own environment (brrr outside the launcher sees every rank).
  std::optional<RankInfo> rank;
  bool operator==(const ProcessSummary&) const = default;
};

// How counters were collected for the run as a whole.
struct CollectionInfo {
  std::string counters_mode = "off"; // off | first:N | all
  bool counters_available = false;
  std::string counters_unavailable_reason; // once, for the whole run
  // Time brrr held the program up (kernel replay), cut out of every figure below.
  uint64_t tool_ns = 0;
  uint64_t kernel_records = 0;
  uint64_t api_records = 0;
  uint64_t dropped_records = 0;
  // Whether kernel arguments were compared between consecutive launches (with counters on),
  // so that Succession::linked is known.
  bool dataflow = false;
  // brrr's own peak resident memory while it built the report.
  uint64_t brrr_peak_rss_bytes = 0;
  bool operator==(const CollectionInfo&) const = default;
};

// Counter figures of one kernel group: means over the launches whose counters were read.
struct KernelCounters {
  uint64_t measured_launches = 0;
  FlopCounts flops_per_launch;
  double dram_read_bytes_per_launch = 0;
  double dram_write_bytes_per_launch = 0;
  double l2_bytes_per_launch = 0;
  // The kernel's own duration in the counter pass (serialised, replayed).
  double counter_pass_ns_per_launch = 0;
  bool operator==(const KernelCounters&) const = default;
};

// All launches of one kernel with one launch configuration.
struct KernelGroup {
  std::string name;   // demangled
  std::string symbol; // as the driver reports it
  Dim3 grid;
  Dim3 block;
  uint32_t registers_per_thread = 0;
  uint32_t static_shared_bytes = 0;
  uint32_t dynamic_shared_bytes = 0;
  uint32_t device = 0;
  uint64_t launches = 0;
  uint64_t graph_launches = 0;   // of which ran inside CUDA graphs
  uint64_t untimed_launches = 0; // of which CUPTI could not time (the process ended first)
  uint64_t total_ns = 0;
  uint64_t min_ns = 0;
  uint64_t median_ns = 0;
  uint64_t max_ns = 0;
  // This group's share of the wall time: its busy time, with time shared among
  // concurrently running activities split evenly between them.
  uint64_t attributed_ns = 0;
  uint64_t first_start_ns = 0;
  std::optional<KernelCounters> counters;
  std::string counters_missing_reason; // when counters is empty
  bool operator==(const KernelGroup&) const = default;
};

enum class TransferKind : uint8_t {
  host_to_device,
  device_to_host,
  device_to_device,
  host_to_host,
  peer,
  memset,
  unknown
};

// Copies and sets of one kind between one pair of memory kinds.
struct TransferGroup {
  TransferKind kind = TransferKind::unknown;
  MemoryKind source = MemoryKind::unknown;
  MemoryKind destination = MemoryKind::unknown;
  bool async = false;
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t total_ns = 0;
  uint64_t attributed_ns = 0;
  // Of attributed_ns, the part during which no kernel ran: all that overlapping these
  // transfers with kernels could hide (attributed_ns also holds shares of overlapped time).
  uint64_t alone_ns = 0;
  bool operator==(const TransferGroup&) const = default;
};

// Why the GPU sat idle. Stable ids: they are report keys.
enum class IdleCause : uint8_t { startup, launch, sync, copy, host, teardown };
inline constexpr std::array all_idle_causes{IdleCause::startup, IdleCause::launch, IdleCause::sync,
                                            IdleCause::copy,    IdleCause::host,   IdleCause::teardown};
[[nodiscard]] std::string_view to_string(IdleCause c);
[[nodiscard]] std::optional<IdleCause> parse_idle_cause(std::string_view s);

// The measured facts behind one cause, summed over all gaps of that cause.
struct IdleSummary {
  IdleCause cause = IdleCause::host;
  uint64_t gaps = 0;
  uint64_t total_ns = 0;
  uint64_t median_ns = 0;
  uint64_t max_ns = 0;
  // How the cause was established, with the figures (e.g. the median time from the
  // previous kernel's end to the host's next launch call).
  std::vector<Evidence> evidence;
  bool operator==(const IdleSummary&) const = default;
};

struct IdleGap {
  uint64_t start_ns = 0;
  uint64_t duration_ns = 0;
  IdleCause cause = IdleCause::host;
  bool operator==(const IdleGap&) const = default;
};

// Consecutive launches of two kernel groups on one stream, a candidate for fusion.
struct Succession {
  uint32_t from = 0; // index into Run::kernels
  uint32_t to = 0;
  uint64_t count = 0;
  // Of which the collector saw the second take, in another argument position, a value the first
  // took: the first one's output passed to the second (when CollectionInfo::dataflow).
  uint64_t linked = 0;
  bool operator==(const Succession&) const = default;
};

// Where the time of an NVTX range went: the time windows of all its instances, swept like
// the whole run, so its parts sum to its duration.
struct RangeSummary {
  std::string name;
  uint64_t instances = 0;
  uint64_t total_ns = 0;
  std::vector<std::pair<uint32_t, uint64_t>> kernel_ns;   // kernel group → attributed ns
  std::vector<std::pair<uint32_t, uint64_t>> transfer_ns; // transfer group → attributed ns
  std::array<uint64_t, all_idle_causes.size()> idle_ns{};
  bool operator==(const RangeSummary&) const = default;
};

struct Timeline {
  uint64_t wall_ns = 0;
  // The GPU-active span: from the start of the first GPU activity to the end of the last.
  uint64_t gpu_begin_ns = 0;
  uint64_t gpu_end_ns = 0;
  bool operator==(const Timeline&) const = default;
};

struct Run {
  RunInfo info;
  std::vector<GpuInfo> gpus;
  std::vector<ProcessSummary> processes;
  CollectionInfo collection;
  Timeline timeline;
  std::vector<KernelGroup> kernels;
  std::vector<TransferGroup> transfers;
  std::vector<IdleSummary> idle; // one per cause present
  std::vector<IdleGap> largest_gaps;
  std::vector<RangeSummary> ranges;
  std::vector<Succession> successions;

  [[nodiscard]] uint64_t idle_ns(IdleCause c) const;
  [[nodiscard]] uint64_t kernel_launches() const;
  bool operator==(const Run&) const = default;
};

[[nodiscard]] std::string_view to_string(TransferKind k);
[[nodiscard]] std::optional<TransferKind> parse_transfer_kind(std::string_view s);
[[nodiscard]] std::string_view to_string(MemoryKind k);
[[nodiscard]] std::optional<MemoryKind> parse_memory_kind(std::string_view s);

} // namespace brrr
