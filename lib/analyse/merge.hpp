#pragma once
// One view of a multi-process job from its ranks' reports (`brrr merge`): each rank's
// attribution side by side, with the time its collectives spent waiting for the other ranks
// measured by comparing the ranks; the load imbalance; the straggler and why it is slow; and a
// verdict for the job. Everything here is derived from the rank reports, so `brrr explain`
// derives it again from a merged report.

#include "analyse/analysis.hpp"
#include "report/report.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

// One rank's report, as given to `brrr merge`.
struct RankReport {
  // The file it was read from, as named on the command line.
  std::string source;
  Report report;
};

// Thresholds of the job analysis, named so that docs and tests cite them (docs/rules.md,
// section 5, has the figures they were set by).
struct MergeLimits {
  // Below this load imbalance the ranks are balanced.
  double straggler_imbalance_fraction = 0.05;
  // The rank with the most work is a straggler only if the others wait for it: their mean
  // wait in collectives, less its own, must reach this share of its excess work. Work a rank
  // does out of step with the others (start-up, before its first collective) makes no one
  // wait, and neither does a difference that is noise in the ranks' own times.
  double wait_share_of_excess = 0.5;
  // ... and the waiting must be steady: its lead over the others at the median collective
  // (their median durations less its own, over its launches) must reach this share of its
  // lead in the mean, so that a few long waits (a counter replay, a one-off stall) are not
  // taken for an imbalance of every step.
  double steady_share_of_lead = 0.5;
};

// Which span of each rank the job analysis compares. Stable ids: report values.
//  - between_collectives: from the end of each rank's first collective to the end of its last
//    (Run::between_collectives), when every rank has one: the ranks are in step there, and
//    their spans last equally long;
//  - gpu_active: the GPU-active span, for ranks without collectives or reports recorded before
//    brrr measured the span between them.
enum class ComparedSpan : uint8_t { between_collectives, gpu_active };
[[nodiscard]] std::string_view to_string(ComparedSpan s);

// What a straggler does more of than the other ranks. Stable ids: report values.
//  - kernels: its GPU runs kernels longer (more work, or a slower GPU);
//  - host: its GPU waits longer for its host (launch gaps, syncs, host work between phases);
//  - copies: it spends longer in host<->device copies and staging them.
enum class StragglerCause : uint8_t { kernels, host, copies };
[[nodiscard]] std::string_view to_string(StragglerCause c);
// The parts of the GPU-active span each cause groups.
[[nodiscard]] std::vector<Part> straggler_cause_parts(StragglerCause c);

// Whether the rank with the most work is the straggler, or the test it failed (MergeLimits, in
// order). Stable ids: report values.
enum class StragglerDecision : uint8_t { straggler, below_threshold, not_waited_for, not_steady };
[[nodiscard]] std::string_view to_string(StragglerDecision d);

// One rank's figures in the job.
struct RankAnalysis {
  // The rank's own attributions, with the time its communication kernels waited for other
  // ranks moved from `communication` to `communication.wait`. The parts still sum to the wall.
  Attribution process;
  Attribution gpu_active;
  std::optional<Attribution> between_collectives;
  // Over the compared span (MergeAnalysis::compared): its own work, the span less the
  // communication parts (transfer and wait); the straggler is the rank with the most, and the
  // others wait for it in their collectives.
  uint64_t work_ns = 0;
  uint64_t communication_ns = 0;
  uint64_t communication_wait_ns = 0;

  // The attribution of the compared span.
  [[nodiscard]] const Attribution& compared(ComparedSpan span) const;
};

// The rank with the most work, against the other ranks.
struct Straggler {
  std::size_t index = 0; // into MergedReport::ranks
  StragglerCause cause = StragglerCause::kernels;
  // Its work less the mean work of the other ranks.
  int64_t excess_ns = 0;
  // Of which, the parts of its cause: the cause's parts less the other ranks' mean of them.
  int64_t cause_excess_ns = 0;
  // The cause's parts on the straggler, and their mean over the other ranks.
  uint64_t cause_ns = 0;
  uint64_t others_cause_ns = 0;
  // Every part of the compared span on the straggler less its mean over the other ranks.
  std::array<int64_t, part_count> part_excess_ns{};
  // The other ranks' mean communication.wait less its own, over the compared span.
  int64_t others_wait_excess_ns = 0;
  // Its lead over the other ranks in the collectives they share, summed over its launches of
  // each: the others' mean duration less its own (lead in the mean), and the others' median
  // less its own (lead at the median collective). Whole runs, from the kernel groups.
  int64_t mean_lead_ns = 0;
  int64_t median_lead_ns = 0;
  // Its timed launches of those collectives; 0 when it shares none with another rank.
  uint64_t collective_launches = 0;
};

struct MergeAnalysis {
  std::vector<RankAnalysis> ranks; // parallel to MergedReport::ranks
  ComparedSpan compared = ComparedSpan::gpu_active;
  // Whether at least two ranks ran a collective in common, so that waits were measured.
  bool waits_measured = false;
  uint64_t mean_work_ns = 0;
  uint64_t max_work_ns = 0;
  // (max − mean) / mean of the ranks' work: 0 when every rank works as long, 1 when the
  // slowest works twice the mean. 0 when no rank did any work.
  double load_imbalance_fraction = 0;
  // The rank with the most work (with two ranks or more), and whether it is the straggler.
  std::optional<Straggler> slowest;
  StragglerDecision decision = StragglerDecision::below_threshold;
  // The job's wall time: the longest of the ranks' runs.
  uint64_t wall_ns = 0;
  // The ranks' GPU-active attributions summed: where the job's GPU time went.
  Attribution gpu_active;
  Verdict verdict;

  // The slowest rank when it is the straggler; null otherwise.
  [[nodiscard]] const Straggler* straggler() const {
    return slowest && decision == StragglerDecision::straggler ? &*slowest : nullptr;
  }
};

struct MergedReport {
  std::string tool_version;
  // Ordered by rank (then host, then source); reports without a rank keep the order given.
  std::vector<RankReport> ranks;
  MergeAnalysis analysis;
};

// Checks that the reports are the ranks of one job and orders them: at least two, all with a
// rank or none, no rank twice on one host, no report twice, one world size. Throws InputError
// naming the files. Each report must be analysed already.
[[nodiscard]] MergedReport merge_reports(std::vector<RankReport> ranks, const std::string& tool_version,
                                         const MergeLimits& limits = {});

// The job analysis of ranks already checked and ordered (merge_reports, or a merged report read
// back), each analysed.
[[nodiscard]] MergeAnalysis analyse_merge(const std::vector<RankReport>& ranks, const MergeLimits& limits = {});

// How a rank is named in messages and tables: "rank 3" (with its host when the ranks span
// several hosts), or "#2" (its position, from 0) for a report without a rank.
[[nodiscard]] std::string rank_label(const std::vector<RankReport>& ranks, std::size_t index);

// Analyses every rank report again (with its own profile) and the job: what `brrr explain`
// does with a merged report.
void reanalyse(MergedReport& merged, const MergeLimits& limits = {});

} // namespace brrr
