// The job view of several ranks' reports. Three measurements carry it:
//  - the wait in collectives: a collective ends on every rank together, so it lasts longest on
//    the ranks that arrived first. Its typical time without waiting is the smallest of the
//    ranks' median durations (the last rank to arrive finds the others ready); every
//    launch's time beyond that is waiting for other ranks;
//  - each rank's own work: its GPU-active span less its communication;
//  - the straggler: the rank with the most work, and the parts of its span that exceed the
//    other ranks' mean, grouped into kernels, host and copies.
// Integer arithmetic moves the wait between parts, so each rank's parts still sum to its wall.

#include "analyse/merge.hpp"

#include "analyse/rules.hpp"
#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace brrr {

namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

// A sentence that starts with a rank's label ("rank 1 ...") starts with a capital.
std::string sentence(std::string text) {
  if (!text.empty() && text.front() >= 'a' && text.front() <= 'z') text.front() = static_cast<char>(text.front() - 32);
  return text;
}

constexpr std::array all_causes{StragglerCause::kernels, StragglerCause::host, StragglerCause::copies};

// A collective as the ranks share it: the same kernel with the same launch configuration.
using CollectiveKey = std::tuple<std::string, Dim3, Dim3>;

CollectiveKey collective_key(const KernelGroup& k) { return {k.symbol, k.grid, k.block}; }

uint64_t timed_launches(const KernelGroup& k) { return k.launches - std::min(k.launches, k.untimed_launches); }

bool is_timed_collective(const Report& r, std::size_t kernel) {
  return kernel < r.analysis.kernels.size() && r.analysis.kernels[kernel].bound == BoundClass::communication &&
         timed_launches(r.run.kernels[kernel]) > 0 && r.run.kernels[kernel].total_ns > 0;
}

// The typical duration of each collective that at least two ranks ran: the smallest median.
std::map<CollectiveKey, uint64_t> typical_collective_ns(const std::vector<RankReport>& ranks) {
  std::map<CollectiveKey, std::pair<uint64_t, std::size_t>> seen; // (smallest median, ranks)
  for (const auto& rank : ranks) {
    std::set<CollectiveKey> in_rank;
    for (std::size_t i = 0; i < rank.report.run.kernels.size(); ++i) {
      if (!is_timed_collective(rank.report, i)) continue;
      const auto& k = rank.report.run.kernels[i];
      auto [it, inserted] = seen.try_emplace(collective_key(k), k.median_ns, 0);
      it->second.first = std::min(it->second.first, k.median_ns);
      if (in_rank.insert(it->first).second) ++it->second.second;
    }
  }
  std::map<CollectiveKey, uint64_t> out;
  for (const auto& [key, value] : seen)
    if (value.second >= 2) out.emplace(key, value.first);
  return out;
}

// The attributed time of a rank's collectives spent waiting: each group's time beyond its
// launches at the typical duration, as a share of the group's attributed time (which splits
// time shared with kernels on other streams).
uint64_t collective_wait_ns(const Report& r, const std::map<CollectiveKey, uint64_t>& typical) {
  uint64_t wait = 0;
  for (std::size_t i = 0; i < r.run.kernels.size(); ++i) {
    if (!is_timed_collective(r, i)) continue;
    const auto& k = r.run.kernels[i];
    const auto it = typical.find(collective_key(k));
    if (it == typical.end()) continue;
    // Checked by division first, so that launches × typical cannot overflow.
    if (it->second > 0 && timed_launches(k) > k.total_ns / it->second) continue;
    const uint64_t beyond = k.total_ns - timed_launches(k) * it->second;
    const double share = as_double(beyond) / as_double(k.total_ns);
    wait += std::min(k.attributed_ns, static_cast<uint64_t>(as_double(k.attributed_ns) * share));
  }
  return wait;
}

Attribution with_wait(Attribution a, uint64_t wait) {
  wait = std::min(wait, a.get(Part::communication));
  a.ns[static_cast<std::size_t>(Part::communication)] -= wait;
  a.add(Part::communication_wait, wait);
  return a;
}

uint64_t parts_ns(const Attribution& a, const std::vector<Part>& parts) {
  uint64_t sum = 0;
  for (auto p : parts) sum += a.get(p);
  return sum;
}

int64_t difference(uint64_t a, uint64_t b) { return static_cast<int64_t>(a) - static_cast<int64_t>(b); }

Straggler find_cause(const std::vector<RankAnalysis>& ranks, std::size_t straggler) {
  Straggler s;
  s.index = straggler;
  const auto others = static_cast<uint64_t>(ranks.size() - 1);
  const Attribution& mine = ranks[straggler].gpu_active;
  std::array<uint64_t, part_count> others_mean{};
  uint64_t others_work = 0;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    if (r == straggler) continue;
    for (std::size_t p = 0; p < part_count; ++p) others_mean[p] += ranks[r].gpu_active.ns[p];
    others_work += ranks[r].work_ns;
  }
  for (auto& v : others_mean) v /= std::max<uint64_t>(1, others);
  for (std::size_t p = 0; p < part_count; ++p) s.part_excess_ns[p] = difference(mine.ns[p], others_mean[p]);
  s.excess_ns = difference(ranks[straggler].work_ns, others_work / std::max<uint64_t>(1, others));
  bool first = true;
  for (auto cause : all_causes) {
    const auto parts = straggler_cause_parts(cause);
    int64_t excess = 0;
    uint64_t others_ns = 0;
    for (auto p : parts) {
      excess += s.part_excess_ns[static_cast<std::size_t>(p)];
      others_ns += others_mean[static_cast<std::size_t>(p)];
    }
    if (first || excess > s.cause_excess_ns) {
      first = false;
      s.cause = cause;
      s.cause_excess_ns = excess;
      s.cause_ns = parts_ns(mine, parts);
      s.others_cause_ns = others_ns;
    }
  }
  return s;
}

std::string ratio_text(uint64_t a, uint64_t b) {
  return b == 0 ? std::string("far") : fmt::format("{:.1f}×", as_double(a) / as_double(b));
}

// What the straggler does more of, in one clause with its figures.
std::string cause_clause(const Straggler& s) {
  const std::string mine = format_duration(as_double(s.cause_ns));
  const std::string others = format_duration(as_double(s.others_cause_ns));
  switch (s.cause) {
  case StragglerCause::kernels:
    return fmt::format("its kernels run {} as long as the other ranks' ({} against a mean of {})",
                       ratio_text(s.cause_ns, s.others_cause_ns), mine, others);
  case StragglerCause::host:
    return fmt::format("its GPU waits {} for its host between kernels (the other ranks: {} on average)", mine, others);
  case StragglerCause::copies:
    break;
  }
  return fmt::format("its host↔device copies take {} (the other ranks: {} on average)", mine, others);
}

std::string_view cause_suggestion(StragglerCause c) {
  switch (c) {
  case StragglerCause::kernels:
    return "Even out the work: give the straggler less (uneven batches, sequence lengths, pipeline stages, expert "
           "routing or a larger shard) or the others more. If the work is even, check its GPU: clocks, throttling, "
           "another process sharing it.";
  case StragglerCause::host:
    return "Find what its host does between launches that the others' do not (data loading, logging, checkpoints, "
           "evaluation or printing on one rank) and move it off the training loop or spread it over all ranks.";
  case StragglerCause::copies:
    break;
  }
  return "Pin its host buffers, overlap its copies with compute, and check its PCIe link and NUMA placement against "
         "the other ranks'.";
}

// The wait the straggler causes: the other ranks' collective wait, summed.
uint64_t others_wait_ns(const MergeAnalysis& m, std::size_t straggler) {
  uint64_t wait = 0;
  for (std::size_t r = 0; r < m.ranks.size(); ++r)
    if (r != straggler) wait += m.ranks[r].communication_wait_ns;
  return wait;
}

Finding imbalance_finding(const std::vector<RankReport>& ranks, const MergeAnalysis& m, const Straggler& s) {
  Finding f;
  f.rule_id = "job.load-imbalance";
  f.saving_ns = m.max_work_ns - m.mean_work_ns;
  f.saving_fraction = m.wall_ns ? as_double(f.saving_ns) / as_double(m.wall_ns) : 0;
  f.severity = severity_for(f.saving_fraction);
  const uint64_t waiting = others_wait_ns(m, s.index);
  f.message = sentence(fmt::format(
      "{} works {} against a mean of {} over the ranks (load imbalance {}): {}. The other ranks "
      "wait {} in all for it in their collectives.",
      rank_label(ranks, s.index), format_duration(as_double(m.max_work_ns)), format_duration(as_double(m.mean_work_ns)),
      format_percent(m.load_imbalance_fraction), cause_clause(s), format_duration(as_double(waiting))));
  f.suggestion = std::string(cause_suggestion(s.cause));
  f.evidence = {{"load_imbalance_fraction", m.load_imbalance_fraction},
                {"straggler_index", as_double(static_cast<uint64_t>(s.index))},
                {"straggler_work_ns", as_double(m.max_work_ns)},
                {"mean_work_ns", as_double(m.mean_work_ns)},
                {"cause_ns", as_double(s.cause_ns)},
                {"others_cause_ns", as_double(s.others_cause_ns)},
                {"others_wait_ns", as_double(waiting)}};
  return f;
}

std::vector<std::string> job_notes(const std::vector<RankReport>& ranks, const MergeAnalysis& m) {
  std::vector<std::string> out;
  std::optional<uint32_t> world_size;
  std::set<uint32_t> present;
  uint64_t communication = 0;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const auto& info = ranks[r].report.run.info;
    if (info.rank) present.insert(info.rank->rank);
    if (info.rank && info.rank->world_size) world_size = info.rank->world_size;
    if (!info.complete)
      out.push_back(
          sentence(fmt::format("{}'s report is incomplete: {}.", rank_label(ranks, r),
                               info.incomplete_reasons.empty() ? "data may be missing" : info.incomplete_reasons[0])));
    communication += m.ranks[r].communication_ns + m.ranks[r].communication_wait_ns;
  }
  if (world_size && present.size() < *world_size) {
    std::string missing;
    std::size_t named = 0;
    for (uint32_t r = 0; r < *world_size && named < 8; ++r)
      if (!present.count(r)) missing += (named++ ? ", " : "") + std::to_string(r);
    if (*world_size - present.size() > named) missing += ", ...";
    out.push_back(fmt::format("The job has {} ranks; {} of them were merged (missing: {}). The straggler and the "
                              "imbalance are those of the ranks merged.",
                              *world_size, present.size(), missing));
  }
  if (communication == 0)
    out.push_back("No communication kernels (NCCL) ran on any rank, so no wait could be measured: the ranks "
                  "communicate some other way, or not at all.");
  for (std::size_t r = 0; r < ranks.size(); ++r)
    if (const uint64_t held = ranks[r].report.run.collection.tool_ns; held > 0 && communication > 0)
      out.push_back(fmt::format("brrr held {} up for {} to read hardware counters; ranks that met it in a collective "
                                "then waited for brrr, not for the program. For exact waits, profile with --counters "
                                "off.",
                                rank_label(ranks, r), format_duration(as_double(held))));
  return out;
}

std::string job_headline(const std::vector<RankReport>& ranks, const MergeAnalysis& m, Regime regime) {
  const std::string share = format_percent(m.gpu_active.fraction(m.gpu_active.regime_ns(regime)));
  if (m.straggler) {
    const auto& s = *m.straggler;
    return sentence(fmt::format("{} is the straggler (load imbalance {}): {}; the other ranks wait {} for it in "
                                "their collectives.",
                                rank_label(ranks, s.index), format_percent(m.load_imbalance_fraction), cause_clause(s),
                                format_duration(as_double(others_wait_ns(m, s.index)))));
  }
  if (m.gpu_active.wall_ns == 0) return fmt::format("None of the {} ranks ran anything on its GPU.", ranks.size());
  return fmt::format(
      "The {} ranks are balanced (load imbalance {}); over all of them, {} of the GPU-active time is {}.", ranks.size(),
      format_percent(m.load_imbalance_fraction), share, to_string(regime));
}

} // namespace

std::string_view to_string(StragglerCause c) {
  switch (c) {
  case StragglerCause::kernels:
    return "kernels";
  case StragglerCause::host:
    return "host";
  case StragglerCause::copies:
    break;
  }
  return "copies";
}

std::vector<Part> straggler_cause_parts(StragglerCause c) {
  switch (c) {
  case StragglerCause::kernels:
    return {Part::compute, Part::memory, Part::latency, Part::unclassified};
  case StragglerCause::host:
    return {Part::idle_launch, Part::idle_sync, Part::idle_host};
  case StragglerCause::copies:
    break;
  }
  return {Part::transfer, Part::idle_copy};
}

std::string rank_label(const std::vector<RankReport>& ranks, std::size_t index) {
  const auto& info = ranks.at(index).report.run.info;
  if (!info.rank) return fmt::format("#{}", index);
  std::set<std::string> hosts;
  for (const auto& r : ranks) hosts.insert(r.report.run.info.host);
  if (hosts.size() > 1) return fmt::format("rank {} ({})", info.rank->rank, info.host);
  return fmt::format("rank {}", info.rank->rank);
}

MergeAnalysis analyse_merge(const std::vector<RankReport>& ranks, const MergeLimits& limits) {
  MergeAnalysis m;
  const auto typical = typical_collective_ns(ranks);
  uint64_t total_work = 0;
  for (const auto& rank : ranks) {
    const Report& r = rank.report;
    const uint64_t wait = collective_wait_ns(r, typical);
    RankAnalysis a;
    a.process = with_wait(r.analysis.process, wait);
    a.gpu_active = with_wait(r.analysis.gpu_active, wait);
    a.communication_ns = a.gpu_active.get(Part::communication);
    a.communication_wait_ns = a.gpu_active.get(Part::communication_wait);
    a.work_ns = a.gpu_active.wall_ns - a.gpu_active.regime_ns(Regime::communication);
    total_work += a.work_ns;
    m.max_work_ns = std::max(m.max_work_ns, a.work_ns);
    m.wall_ns = std::max(m.wall_ns, r.run.timeline.wall_ns);
    m.gpu_active.wall_ns += a.gpu_active.wall_ns;
    for (std::size_t p = 0; p < part_count; ++p) m.gpu_active.ns[p] += a.gpu_active.ns[p];
    m.ranks.push_back(a);
  }
  if (ranks.empty()) return m;
  m.mean_work_ns = total_work / ranks.size();
  if (m.mean_work_ns > 0)
    m.load_imbalance_fraction = as_double(m.max_work_ns - m.mean_work_ns) / as_double(m.mean_work_ns);
  if (ranks.size() >= 2 && m.load_imbalance_fraction >= limits.straggler_imbalance_fraction) {
    std::size_t slowest = 0;
    for (std::size_t r = 1; r < m.ranks.size(); ++r)
      if (m.ranks[r].work_ns > m.ranks[slowest].work_ns) slowest = r;
    m.straggler = find_cause(m.ranks, slowest);
  }

  Verdict& v = m.verdict;
  v.regime = dominant_regime(m.gpu_active);
  v.regime_fraction = m.gpu_active.fraction(m.gpu_active.regime_ns(v.regime));
  v.headline = job_headline(ranks, m, v.regime);
  if (m.straggler) {
    v.findings.push_back(imbalance_finding(ranks, m, *m.straggler));
    v.will_not_help.push_back(fmt::format(
        "Faster collectives (a faster interconnect, NCCL tuning): of the ranks' communication time, {} is waiting "
        "for the straggler; only the other {} is transfer.",
        format_duration(as_double(m.gpu_active.get(Part::communication_wait))),
        format_duration(as_double(m.gpu_active.get(Part::communication)))));
  }
  v.notes = job_notes(ranks, m);
  return m;
}

MergedReport merge_reports(std::vector<RankReport> ranks, const std::string& tool_version, const MergeLimits& limits) {
  if (ranks.size() < 2)
    throw InputError(fmt::format("brrr merge needs the reports of at least two ranks ({} given)", ranks.size()));
  const auto with_rank =
      std::count_if(ranks.begin(), ranks.end(), [](const RankReport& r) { return r.report.run.info.rank.has_value(); });
  if (with_rank != 0 && with_rank != static_cast<std::ptrdiff_t>(ranks.size())) {
    const auto with = std::find_if(ranks.begin(), ranks.end(), [](const auto& r) { return r.report.run.info.rank; });
    const auto without =
        std::find_if(ranks.begin(), ranks.end(), [](const auto& r) { return !r.report.run.info.rank; });
    throw InputError(fmt::format("{} is rank {} of a job, but {} was recorded outside any launcher: merge the "
                                 "reports of one job's ranks",
                                 with->source, with->report.run.info.rank->rank, without->source));
  }
  // The ranks of one host, one rank each; the same run given twice is the same report.
  std::map<std::tuple<std::string, uint32_t>, const RankReport*> by_rank;
  std::map<std::tuple<std::string, std::string, uint64_t, int32_t>, const RankReport*> by_run;
  std::optional<std::pair<uint32_t, const RankReport*>> world;
  for (const auto& r : ranks) {
    const auto& info = r.report.run.info;
    const int32_t pid = r.report.run.processes.empty() ? 0 : r.report.run.processes.front().pid;
    const auto run_key = std::tuple(info.host, info.start_time, r.report.run.timeline.wall_ns, pid);
    if (auto [it, inserted] = by_run.try_emplace(run_key, &r); !inserted)
      throw InputError(fmt::format("{} and {} are the same run", it->second->source, r.source));
    if (!info.rank) continue;
    if (auto [it, inserted] = by_rank.try_emplace(std::tuple(info.host, info.rank->rank), &r); !inserted)
      throw InputError(fmt::format("{} and {} are both rank {} on host {}: they come from different jobs",
                                   it->second->source, r.source, info.rank->rank, info.host));
    if (!info.rank->world_size) continue;
    if (!world)
      world = std::pair(*info.rank->world_size, &r);
    else if (world->first != *info.rank->world_size)
      throw InputError(fmt::format("{} is from a job of {} ranks, {} from one of {}: merge the reports of one job",
                                   world->second->source, world->first, r.source, *info.rank->world_size));
  }
  std::stable_sort(ranks.begin(), ranks.end(), [](const RankReport& a, const RankReport& b) {
    const auto& x = a.report.run.info;
    const auto& y = b.report.run.info;
    if (!x.rank || !y.rank) return false;
    return std::tuple(x.rank->rank, x.host, a.source) < std::tuple(y.rank->rank, y.host, b.source);
  });
  MergedReport merged;
  merged.tool_version = tool_version;
  merged.ranks = std::move(ranks);
  merged.analysis = analyse_merge(merged.ranks, limits);
  return merged;
}

void reanalyse(MergedReport& merged, const MergeLimits& limits) {
  for (auto& rank : merged.ranks) reanalyse(rank.report);
  merged.analysis = analyse_merge(merged.ranks, limits);
}

} // namespace brrr
