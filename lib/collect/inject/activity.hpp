#pragma once
// CUPTI activity tracing: kernels, copies, sets, synchronizations, launch-type API calls,
// NVTX markers and devices, converted from CUPTI's buffers into stream records on CUPTI's
// worker thread (never on the application's threads).

#include <string>

#include "collect/inject/cupti_api.hpp"
#include "collect/inject/stream_writer.hpp"

namespace brrr::inject {

// What is traced besides kernels. Each part can be turned off through the environment, so
// that the benchmark (bench/trace_overhead.py) can price it; brrr itself always asks for all.
struct ActivityOptions {
  // Records for the launch-type calls of the runtime and of the driver API
  // (BRRR_TRACE_API=0, runtime or driver).
  bool runtime_api = true;
  bool driver_api = true;
  // Queued and submitted timestamps of kernels (BRRR_TRACE_LATENCY=1, `brrr profile
  // --queued-timestamps`): off by default, since they cost about 1.1 µs a launch (measured).
  bool latency_timestamps = false;
  // Copies, sets and NVTX ranges: BRRR_TRACE_OTHER=0 turns them all off, a comma-separated
  // list of kinds (MEMCPY,MEMSET,MARKER) keeps only those.
  std::string other_kinds = "1";
  // The periodic flush is a forced one. Needed when counters are sampled: once a sample has
  // been taken inside a launch call (the range profiler started in its API callback), CUPTI
  // hands over no buffer to a default flush until the end of the process, so the program's
  // memory grows by every record (~380 bytes a launch) and a SIGKILL loses them all. Forced
  // flushes every period handed all of them over and lost none of a million launches in
  // flight (bench/buffer_hold.cu, bench/results/reliability.md).
  bool forced_periodic_flush = false;
};

// Enables the activity kinds and starts the periodic flush. Every failure becomes a warning
// in the stream: the process runs on with whatever could be enabled.
void start_activity(const CuptiApi& api, StreamWriter& writer, const ActivityOptions& options);

// Stops the periodic flush and has CUPTI hand over every record it still holds. For the exit
// handler; does nothing when start_activity was not called.
void finish_activity();

// Has the flush thread run `action` (which ends the process) instead of its next flush. For a
// signal handler: async-signal-safe. False when there is no flush thread to do it.
bool hand_exit_to_flusher(void (*action)());

} // namespace brrr::inject
