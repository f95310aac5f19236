#pragma once
// The run's timeline, event by event, as a Chrome trace-event file: the JSON that Perfetto UI
// (ui.perfetto.dev) and chrome://tracing open. The report keeps only summaries; this export is
// made while the trace is still in memory (`brrr profile --trace FILE`), and shows every kernel,
// copy and set on its GPU stream, every recorded API call and NVTX range on its host thread,
// synchronizations, and every idle gap of the GPUs with the cause the model gave it.
// docs/trace-export.md describes the tracks, the names and the arguments.

#include "model/build.hpp"
#include "model/run.hpp"
#include "model/trace.hpp"
#include "report/report.hpp"

#include <cstdint>

namespace brrr {

// What an export wrote, by kind of slice (each a complete event, "ph":"X").
struct TraceEventCounts {
  uint64_t kernels = 0;
  uint64_t copies = 0;
  uint64_t sets = 0;
  uint64_t api_calls = 0;
  uint64_t ranges = 0;
  uint64_t syncs = 0;
  uint64_t gaps = 0;
  // Launch calls linked to the GPU work they launched (by correlation id).
  uint64_t flows = 0;
  // Tracks: one per GPU stream, host thread and process's synchronizations, plus the idle
  // gaps' track, plus one for each extra row that slices overlapping on a track needed.
  uint64_t tracks = 0;

  [[nodiscard]] uint64_t slices() const { return kernels + copies + sets + api_calls + ranges + syncs + gaps; }
};

// Streams the trace-event JSON of `trace`, as `build_run` placed it (`run` and `timeline` come
// from the same build_run call), to `write` in pieces of about a megabyte: memory stays in
// proportion to the events' count (a few bytes each), never to the file's size. Times are
// microseconds from the target's start, with three decimals: exact nanoseconds, the run's own
// offsets (the time brrr held the program up cut out).
TraceEventCounts write_trace_events(const Trace& trace, const Run& run, const TimelineDetail& timeline,
                                    const WriteChunk& write);

} // namespace brrr
