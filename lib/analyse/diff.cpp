// Comparing two analysed reports. Kernels are matched by the key the report groups them by
// (name, grid, block), then by name alone, so that a kernel whose launch configuration changed
// is shown as changed rather than as one kernel gone and another new. The verdict names the
// change of the wall time and the part that moved it, the regime share that moved most over
// the GPU-active span (the span the report's own verdict judges), and the regime after.

#include "analyse/diff.hpp"

#include "model/format.hpp"
#include "report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>

namespace brrr {

namespace {

// Whether two changes go the same way. Not by their product: two deltas of seconds in
// nanoseconds overflow 64 bits (found by the sanitized suite).
bool same_direction(int64_t a, int64_t b) { return (a > 0 && b > 0) || (a < 0 && b < 0); }

TimeChange time_change(uint64_t before_ns, uint64_t after_ns, const Attribution& before, const Attribution& after) {
  return {before_ns, after_ns, before.fraction(before_ns), after.fraction(after_ns)};
}

AttributionChange attribution_change(const Attribution& before, const Attribution& after) {
  AttributionChange out;
  out.wall = time_change(before.wall_ns, after.wall_ns, before, after);
  for (std::size_t i = 0; i < part_count; ++i) out.parts[i] = time_change(before.ns[i], after.ns[i], before, after);
  for (std::size_t i = 0; i < diff_regimes.size(); ++i)
    out.regimes[i] = time_change(before.regime_ns(diff_regimes[i]), after.regime_ns(diff_regimes[i]), before, after);
  return out;
}

KernelSide kernel_side(const Report& r, std::vector<std::size_t> groups) {
  std::stable_sort(groups.begin(), groups.end(),
                   [&](std::size_t x, std::size_t y) { return r.run.kernels[x].total_ns > r.run.kernels[y].total_ns; });
  KernelSide out;
  for (std::size_t i : groups) {
    const KernelGroup& k = r.run.kernels[i];
    out.launches += k.launches;
    out.total_ns += k.total_ns;
    out.attributed_ns += k.attributed_ns;
    out.configs.emplace_back(k.grid, k.block);
  }
  if (!groups.empty() && groups.front() < r.analysis.kernels.size())
    out.bound = r.analysis.kernels[groups.front()].bound;
  return out;
}

using ExactKey = std::tuple<std::string, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t>;

ExactKey exact_key(const KernelGroup& k) {
  return {k.name, k.grid.x, k.grid.y, k.grid.z, k.block.x, k.block.y, k.block.z};
}

// Groups of each key, in the report's order; a key may hold several groups (one per device).
template <typename Key>
std::map<Key, std::vector<std::size_t>> by_key(const Report& r, const std::vector<bool>& taken,
                                               Key (*key)(const KernelGroup&)) {
  std::map<Key, std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < r.run.kernels.size(); ++i)
    if (!taken[i]) out[key(r.run.kernels[i])].push_back(i);
  return out;
}

std::string name_key(const KernelGroup& k) { return k.name; }

void match_kernels(const Report& before, const Report& after, ReportDiff& d) {
  std::vector<bool> taken_before(before.run.kernels.size());
  std::vector<bool> taken_after(after.run.kernels.size());
  // Matches every key present on both sides, then marks its groups as taken.
  auto match = [&](auto key, KernelChange::Match how) {
    const auto b = by_key(before, taken_before, key);
    const auto a = by_key(after, taken_after, key);
    for (const auto& [k, after_groups] : a) {
      const auto it = b.find(k);
      if (it == b.end()) continue;
      d.matched.push_back({after.run.kernels[after_groups.front()].name, how, kernel_side(before, it->second),
                           kernel_side(after, after_groups)});
      for (std::size_t i : it->second) taken_before[i] = true;
      for (std::size_t i : after_groups) taken_after[i] = true;
    }
  };
  match(exact_key, KernelChange::Match::exact);
  match(name_key, KernelChange::Match::name);
  for (const auto& [name, groups] : by_key(after, taken_after, name_key))
    d.appeared.push_back({name, KernelChange::Match::appeared, std::nullopt, kernel_side(after, groups)});
  for (const auto& [name, groups] : by_key(before, taken_before, name_key))
    d.disappeared.push_back({name, KernelChange::Match::disappeared, kernel_side(before, groups), std::nullopt});

  std::stable_sort(d.matched.begin(), d.matched.end(), [](const KernelChange& x, const KernelChange& y) {
    return std::llabs(x.delta_ns()) > std::llabs(y.delta_ns());
  });
  // An appeared kernel's change is its time; a disappeared one's, its time negated.
  std::stable_sort(d.appeared.begin(), d.appeared.end(),
                   [](const KernelChange& x, const KernelChange& y) { return x.delta_ns() > y.delta_ns(); });
  std::stable_sort(d.disappeared.begin(), d.disappeared.end(),
                   [](const KernelChange& x, const KernelChange& y) { return x.delta_ns() < y.delta_ns(); });
}

// Each rule that fired, with its findings' savings summed and the first finding's message.
std::map<std::string, RuleChange> fired_rules(const Report& r) {
  std::map<std::string, RuleChange> out;
  for (const auto& f : r.analysis.verdict.findings) {
    auto [it, inserted] = out.try_emplace(f.rule_id, RuleChange{f.rule_id, 0, 0, f.message});
    it->second.saving_ns += f.saving_ns;
    it->second.saving_fraction += f.saving_fraction;
  }
  return out;
}

// The rules of `from` that `other` lacks, by saving, largest first.
std::vector<RuleChange> rules_only_in(const Report& from, const Report& other) {
  const auto there = fired_rules(other);
  std::vector<RuleChange> out;
  for (auto& [id, change] : fired_rules(from))
    if (!there.count(id)) out.push_back(change);
  std::stable_sort(out.begin(), out.end(),
                   [](const RuleChange& x, const RuleChange& y) { return x.saving_ns > y.saving_ns; });
  return out;
}

void match_ranges(const Report& before, const Report& after, ReportDiff& d) {
  std::map<std::string, std::size_t> before_index;
  for (std::size_t i = 0; i < before.run.ranges.size(); ++i) before_index.emplace(before.run.ranges[i].name, i);
  std::vector<bool> seen(before.run.ranges.size());
  for (std::size_t i = 0; i < after.run.ranges.size(); ++i) {
    const auto& range = after.run.ranges[i];
    const auto it = before_index.find(range.name);
    if (it == before_index.end()) {
      d.ranges_only_after.push_back(range.name);
      continue;
    }
    seen[it->second] = true;
    d.ranges.push_back({range.name, before.run.ranges[it->second].instances, range.instances,
                        attribution_change(before.analysis.ranges[it->second], after.analysis.ranges[i])});
  }
  for (std::size_t i = 0; i < before.run.ranges.size(); ++i)
    if (!seen[i]) d.ranges_only_before.push_back(before.run.ranges[i].name);
}

std::vector<std::string> warnings(const Report& before, const Report& after) {
  std::vector<std::string> out;
  const auto gpu = [](const Report& r) { return r.run.gpus.empty() ? std::string() : r.run.gpus.front().name; };
  const std::string before_gpu = gpu(before);
  const std::string after_gpu = gpu(after);
  if (before_gpu.empty() != after_gpu.empty())
    out.push_back(fmt::format("only the {} report recorded a GPU ({}): the runs did not do the same thing",
                              before_gpu.empty() ? "second" : "first", before_gpu.empty() ? after_gpu : before_gpu));
  else if (before_gpu != after_gpu)
    out.push_back(fmt::format("the reports come from different GPUs ({}, then {}): the times compare the GPUs as "
                              "well as the programs",
                              before_gpu, after_gpu));
  const auto profile = [](const Report& r) { return r.profile ? r.profile->id : std::string("none"); };
  if (profile(before) != profile(after))
    out.push_back(fmt::format("the reports use different hardware profiles ({}, then {}): kernels may change class "
                              "for that reason alone",
                              profile(before), profile(after)));
  else if (before.analysis.ceilings != after.analysis.ceilings)
    out.push_back("the reports use different ceilings (datasheet and measured): kernels may change class for that "
                  "reason alone");
  for (const auto* r : {&before, &after}) {
    if (r->run.info.complete) continue;
    std::string reasons;
    for (const auto& reason : r->run.info.incomplete_reasons) reasons += (reasons.empty() ? "" : "; ") + reason;
    out.push_back(fmt::format("the {} report is incomplete ({}): its figures may miss data",
                              r == &before ? "first" : "second", reasons.empty() ? "no reason given" : reasons));
  }
  return out;
}

std::string bound_phrase(Regime r, bool still) {
  if (r == Regime::unknown)
    return fmt::format("the run's regime is {}unknown (its kernels have no counters)", still ? "still " : "now ");
  return fmt::format("the run is {} {}-bound", still ? "still" : "now", to_string(r));
}

std::string verdict(const ReportDiff& d) {
  std::vector<std::string> clauses;
  const TimeChange& wall = d.process.wall;
  const auto change = wall.change();
  if (!change) {
    clauses.push_back(
        fmt::format("wall time {} (the first run took none)", format_duration(static_cast<double>(wall.after_ns))));
  } else if (std::fabs(*change) < 0.005) {
    clauses.push_back(fmt::format("wall time is unchanged ({})", format_duration(static_cast<double>(wall.after_ns))));
  } else {
    std::string clause = fmt::format(
        "wall time {} {} ({} → {})", *change < 0 ? "fell" : "rose", format_percent(std::fabs(*change)),
        format_duration(static_cast<double>(wall.before_ns)), format_duration(static_cast<double>(wall.after_ns)));
    // The part that moved the wall time most in its direction.
    std::size_t top = 0;
    for (std::size_t i = 1; i < part_count; ++i)
      if (same_direction(d.process.parts[i].delta_ns(), wall.delta_ns()) &&
          std::llabs(d.process.parts[i].delta_ns()) > std::llabs(d.process.parts[top].delta_ns()))
        top = i;
    const int64_t top_delta = d.process.parts[top].delta_ns();
    if (same_direction(top_delta, wall.delta_ns()))
      clause += fmt::format(", {} in {} ({})",
                            2 * std::llabs(top_delta) >= std::llabs(wall.delta_ns()) ? "most of it" : "the most",
                            to_string(static_cast<Part>(top)), format_signed_duration(top_delta));
    clauses.push_back(clause);
  }
  const Verdict& before = d.before->analysis.verdict;
  const Verdict& after = d.after->analysis.verdict;
  if (d.gpu_active.wall.before_ns > 0 && d.gpu_active.wall.after_ns > 0) {
    // The shares sum to 1, so what one regime loses others gain: of moves within half a point
    // of each other, overhead's is named first, then memory's, then compute's.
    const auto moved = [&](Regime r) {
      return std::fabs(d.gpu_active.regime(r).after_fraction - d.gpu_active.regime(r).before_fraction);
    };
    Regime top = Regime::overhead;
    for (auto r : {Regime::memory, Regime::compute, Regime::unknown})
      if (moved(r) > moved(top) + 0.005) top = r;
    const TimeChange& t = d.gpu_active.regime(top);
    if (moved(top) >= 0.01)
      clauses.push_back(fmt::format("{} {} from {} to {} of the GPU-active time", to_string(top),
                                    t.after_fraction < t.before_fraction ? "fell" : "rose",
                                    format_percent(t.before_fraction), format_percent(t.after_fraction)));
  }
  clauses.push_back(bound_phrase(after.regime, before.regime == after.regime));
  std::string out;
  for (const auto& c : clauses) out += (out.empty() ? "" : "; ") + c;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out + ".";
}

} // namespace

std::optional<double> TimeChange::change() const {
  if (before_ns == 0) return std::nullopt;
  return static_cast<double>(delta_ns()) / static_cast<double>(before_ns);
}

int64_t KernelChange::delta_ns() const {
  return static_cast<int64_t>(after ? after->total_ns : 0) - static_cast<int64_t>(before ? before->total_ns : 0);
}

std::string_view to_string(KernelChange::Match m) {
  switch (m) {
  case KernelChange::Match::exact:
    return "exact";
  case KernelChange::Match::name:
    return "name";
  case KernelChange::Match::appeared:
    return "appeared";
  case KernelChange::Match::disappeared:
    break;
  }
  return "disappeared";
}

ReportDiff diff_reports(const Report& before, const Report& after, std::string before_label, std::string after_label) {
  ReportDiff d;
  d.before = &before;
  d.after = &after;
  d.before_label = std::move(before_label);
  d.after_label = std::move(after_label);
  d.warnings = warnings(before, after);
  d.process = attribution_change(before.analysis.process, after.analysis.process);
  d.gpu_active = attribution_change(before.analysis.gpu_active, after.analysis.gpu_active);
  match_kernels(before, after, d);
  d.rules_appeared = rules_only_in(after, before);
  d.rules_disappeared = rules_only_in(before, after);
  match_ranges(before, after, d);
  d.verdict = verdict(d);
  return d;
}

} // namespace brrr
