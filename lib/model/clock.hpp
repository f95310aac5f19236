#pragma once
// The run's clock: maps trace timestamps (host-clock nanoseconds) to offsets from the target's
// start, with the intervals in which brrr held the program up cut out, and everything clamped
// into the run. The model places every event with it, and exports that show events one by one
// (the Chrome trace) place them with the same clock, so that both agree to the nanosecond.

#include "model/trace.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace brrr {

// Intervals [first, second) in order, overlapping and touching ones merged.
[[nodiscard]] std::vector<std::pair<uint64_t, uint64_t>>
merged_intervals(std::vector<std::pair<uint64_t, uint64_t>> spans);

class RunClock {
public:
  RunClock() = default;
  // cuts: the intervals to cut out of the timeline, in any order, overlapping or not.
  RunClock(uint64_t start_ns, uint64_t end_ns, const std::vector<ToolEvent>& cuts);

  // Activity that outlives the launcher's view of the target (an orphaned child still running)
  // extends the run rather than falling off its end.
  void extend_to(uint64_t t) { end_ns_ = std::max(end_ns_, t); }

  [[nodiscard]] uint64_t offset(uint64_t t) const;
  [[nodiscard]] uint64_t wall_ns() const { return offset(end_ns_); }
  // The cut time inside the run, up to its (possibly extended) end: cuts past the end took
  // nothing from the wall time.
  [[nodiscard]] uint64_t cut_ns() const { return end_ns_ - start_ns_ - wall_ns(); }

private:
  uint64_t start_ns_ = 0;
  uint64_t end_ns_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> cuts_;
  std::vector<uint64_t> cut_before_{0};
};

} // namespace brrr
