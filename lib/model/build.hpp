#pragma once
// From a trace to a run: group kernels and transfers, sweep the timeline so that every
// nanosecond of the wall time goes to exactly one activity share or one idle cause, and
// aggregate NVTX ranges the same way.

#include "model/clock.hpp"
#include "model/run.hpp"
#include "model/trace.hpp"

#include <cstdint>

namespace brrr {

// What the launcher knows about the target's run, on the trace's clock (CLOCK_REALTIME ns).
struct LaunchFacts {
  RunInfo info;
  uint64_t start_ns = 0; // just before the target was started
  uint64_t end_ns = 0;   // when the target's exit was seen
  CollectionInfo collection;
};

// Limits of the idle-gap classifier, named so that docs and tests cite them.
struct GapLimits {
  // An idle gap up to this long, ended by the host's next launch, is launch overhead (the
  // host issuing kernels as fast as it can); a longer one is host work between phases.
  uint64_t launch_gap_max_ns = 100'000;
  // CPU and GPU timestamps are matched by interpolation; a sync that returns this much
  // before the GPU went idle is still taken as having waited for it.
  uint64_t clock_slack_ns = 5'000;
  // How many of the longest gaps the run keeps individually.
  std::size_t largest_gaps = 20;
  // How many kernel successions (fusion candidates) the run keeps.
  std::size_t successions = 100;
};

enum class ActivitySource : uint8_t { kernel, copy, set };

// One GPU activity on the run's timeline, in run offsets. owner is its group: an index into
// Run::kernels, or from Run::kernels.size() on, into Run::transfers. The event (an index into
// Trace::kernels, copies or sets) and its source share 32 bits, so that a million launches
// take 24 MB.
struct Activity {
  uint64_t start = 0;
  uint64_t end = 0;
  uint32_t owner = 0;
  uint32_t source_and_event = 0;

  static constexpr uint32_t event_bits = 30;
  [[nodiscard]] ActivitySource source() const { return static_cast<ActivitySource>(source_and_event >> event_bits); }
  [[nodiscard]] uint32_t event() const { return source_and_event & ((1u << event_bits) - 1); }
};

// Where the model placed each event, for exports that show the timeline event by event (the
// Chrome trace) rather than the run's summaries. It holds what the run does not keep: the run
// keeps only the longest gaps, and no single activity.
struct TimelineDetail {
  // Trace time to run offset, exactly as the model mapped every event.
  RunClock clock;
  // The GPU activities that took time, in order of start, then of end; zero-length and
  // untimed ones are not on the timeline.
  std::vector<Activity> activities;
  // Every idle gap of the GPUs, in order of time, with the cause the model gave it: per cause,
  // they sum to Run::idle's total_ns.
  std::vector<IdleGap> gaps;
};

// detail, when given, receives the timeline event by event (which costs memory in proportion
// to the events: 48 bytes a launch).
[[nodiscard]] Run build_run(const Trace& trace, const LaunchFacts& launch, const GapLimits& limits = {},
                            TimelineDetail* detail = nullptr);

// The C++ name of a kernel symbol, or the symbol itself when it is not a mangled name.
[[nodiscard]] std::string demangle(const std::string& symbol);

} // namespace brrr
