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

// Thresholds of the job analysis, named so that docs and tests cite them.
struct MergeLimits {
  // A job whose load imbalance reaches this fraction has a straggler; below it the ranks are
  // balanced (run-to-run noise of a synchronized job stays within a few percent).
  double straggler_imbalance_fraction = 0.05;
};

// What a straggler does more of than the other ranks. Stable ids: report values.
//  - kernels: its GPU runs kernels longer (more work, or a slower GPU);
//  - host: its GPU waits longer for its host (launch gaps, syncs, host work between phases);
//  - copies: it spends longer in host<->device copies and staging them.
enum class StragglerCause : uint8_t { kernels, host, copies };
[[nodiscard]] std::string_view to_string(StragglerCause c);
// The parts of the GPU-active span each cause groups.
[[nodiscard]] std::vector<Part> straggler_cause_parts(StragglerCause c);

// One rank's figures in the job.
struct RankAnalysis {
  // The rank's own attribution, with the time its communication kernels waited for other
  // ranks moved from `communication` to `communication.wait`. The parts still sum to the wall.
  Attribution process;
  Attribution gpu_active;
  // Its own work: the GPU-active span less the communication parts (transfer and wait). The
  // straggler is the rank with the most; the others wait for it in their collectives.
  uint64_t work_ns = 0;
  uint64_t communication_ns = 0;
  uint64_t communication_wait_ns = 0;
};

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
  // Every part of the GPU-active span on the straggler less its mean over the other ranks.
  std::array<int64_t, part_count> part_excess_ns{};
};

struct MergeAnalysis {
  std::vector<RankAnalysis> ranks; // parallel to MergedReport::ranks
  uint64_t mean_work_ns = 0;
  uint64_t max_work_ns = 0;
  // (max − mean) / mean of the ranks' work: 0 when every rank works as long, 1 when the
  // slowest works twice the mean. 0 when no rank did any work.
  double load_imbalance_fraction = 0;
  // The rank with the most work, when the imbalance reaches MergeLimits.
  std::optional<Straggler> straggler;
  // The job's wall time: the longest of the ranks' runs.
  uint64_t wall_ns = 0;
  // The ranks' GPU-active attributions summed: where the job's GPU time went.
  Attribution gpu_active;
  Verdict verdict;
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
