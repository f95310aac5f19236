#include "model/clock.hpp"

#include <algorithm>

namespace brrr {

std::vector<std::pair<uint64_t, uint64_t>> merged_intervals(std::vector<std::pair<uint64_t, uint64_t>> spans) {
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& s : spans) {
    if (!out.empty() && s.first <= out.back().second)
      out.back().second = std::max(out.back().second, s.second);
    else
      out.push_back(s);
  }
  return out;
}

RunClock::RunClock(uint64_t start_ns, uint64_t end_ns, const std::vector<ToolEvent>& cuts) : start_ns_(start_ns) {
  // A cut is clipped to the run's start: the part before it is not on the timeline, and
  // subtracting it would take offsets below zero.
  for (const auto& e : cuts)
    if (e.end_ns > std::max(e.start_ns, start_ns)) cuts_.emplace_back(std::max(e.start_ns, start_ns), e.end_ns);
  // Merged, so that no cut is subtracted twice.
  cuts_ = merged_intervals(std::move(cuts_));
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
