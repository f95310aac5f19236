#include "model/clock.hpp"

#include <algorithm>

namespace brrr {

RunClock::RunClock(uint64_t start_ns, uint64_t end_ns, const std::vector<ToolEvent>& cuts) : start_ns_(start_ns) {
  // A cut is clipped to the run's start: the part before it is not on the timeline, and
  // subtracting it would take offsets below zero.
  for (const auto& e : cuts)
    if (e.end_ns > std::max(e.start_ns, start_ns)) cuts_.emplace_back(std::max(e.start_ns, start_ns), e.end_ns);
  std::sort(cuts_.begin(), cuts_.end());
  // Merge overlapping cuts so that none is subtracted twice.
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& c : cuts_) {
    if (!merged.empty() && c.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, c.second);
    else
      merged.push_back(c);
  }
  cuts_ = std::move(merged);
  cut_before_.reserve(cuts_.size() + 1);
  uint64_t total = 0;
  for (const auto& c : cuts_) cut_before_.push_back(total += c.second - c.first);
  end_ns_ = std::max(end_ns, start_ns);
}

uint64_t RunClock::offset(uint64_t t) const {
  t = std::clamp(t, start_ns_, end_ns_);
  // Cuts that end at or before t count whole; a cut containing t counts up to t.
  auto it = std::upper_bound(cuts_.begin(), cuts_.end(), t,
                             [](uint64_t v, const std::pair<uint64_t, uint64_t>& c) { return v < c.first; });
  const auto i = static_cast<std::size_t>(it - cuts_.begin());
  uint64_t cut = cut_before_[i];
  if (i > 0 && t < cuts_[i - 1].second) cut -= cuts_[i - 1].second - t;
  return t - start_ns_ - cut;
}

} // namespace brrr
