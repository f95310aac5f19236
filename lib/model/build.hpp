#pragma once
// From a trace to a run: group kernels and transfers, sweep the timeline so that every
// nanosecond of the wall time goes to exactly one activity share or one idle cause, and
// aggregate NVTX ranges the same way.

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

[[nodiscard]] Run build_run(const Trace& trace, const LaunchFacts& launch, const GapLimits& limits = {});

// The C++ name of a kernel symbol, or the symbol itself when it is not a mangled name.
[[nodiscard]] std::string demangle(const std::string& symbol);

} // namespace brrr
