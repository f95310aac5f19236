#pragma once
// CUPTI activity tracing: kernels, copies, sets, synchronizations, launch-type API calls,
// NVTX markers and devices, converted from CUPTI's buffers into stream records on CUPTI's
// worker thread (never on the application's threads).

#include "collect/inject/cupti_api.hpp"
#include "collect/inject/stream_writer.hpp"

namespace brrr::inject {

// What is traced besides kernels. Each part can be turned off through the environment, so
// that the benchmark (bench/trace_overhead.py) can price it; brrr itself always asks for all.
struct ActivityOptions {
  // Records for the launch-type API calls (BRRR_TRACE_API=0 turns them off).
  bool trace_api = true;
  // Queued and submitted timestamps of kernels (BRRR_TRACE_LATENCY=0).
  bool latency_timestamps = true;
  // Copies, sets, synchronizations and NVTX ranges (BRRR_TRACE_OTHER=0).
  bool other_kinds = true;
};

// Enables the activity kinds and starts the periodic flush. Every failure becomes a warning
// in the stream: the process runs on with whatever could be enabled.
void start_activity(const CuptiApi& api, StreamWriter& writer, const ActivityOptions& options);

// Stops the periodic flush and has CUPTI hand over every record it still holds. For the exit
// handler; does nothing when start_activity was not called.
void finish_activity();

} // namespace brrr::inject
