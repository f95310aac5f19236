#pragma once
// brrr diff: what changed from one analysed report to another. Wall time and every part of the
// attribution, before and after; kernels matched as the report groups them (name, grid and
// block), falling back to the name alone when the launch configuration changed; the rules that
// began or stopped firing; the NVTX ranges both runs have; and a one-line verdict computed from
// those numbers. The renderers (render/diff_render.hpp) only print this.

#include "analyse/analysis.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

struct Report;

inline constexpr int diff_schema_version = 1;

// One time before and after, with its share of the time split on each side.
struct TimeChange {
  uint64_t before_ns = 0;
  uint64_t after_ns = 0;
  double before_fraction = 0;
  double after_fraction = 0;

  [[nodiscard]] int64_t delta_ns() const { return static_cast<int64_t>(after_ns) - static_cast<int64_t>(before_ns); }
  // after / before − 1; empty when before is 0.
  [[nodiscard]] std::optional<double> change() const;
};

// The regimes in the order of their enum, which is the order AttributionChange holds them in.
inline constexpr auto diff_regimes = all_regimes;
static_assert(diff_regimes.size() == static_cast<std::size_t>(Regime::unknown) + 1, "one change per regime");

// One attribution before and after: each part, and each regime.
struct AttributionChange {
  TimeChange wall;
  std::array<TimeChange, part_count> parts;
  std::array<TimeChange, diff_regimes.size()> regimes;

  [[nodiscard]] const TimeChange& part(Part p) const { return parts[static_cast<std::size_t>(p)]; }
  [[nodiscard]] const TimeChange& regime(Regime r) const { return regimes[static_cast<std::size_t>(r)]; }
};

// The kernel groups of one name on one side, as one entry.
struct KernelSide {
  uint64_t launches = 0;
  uint64_t total_ns = 0;                      // the launches' summed durations
  uint64_t attributed_ns = 0;                 // their share of the wall time
  std::vector<std::pair<Dim3, Dim3>> configs; // grid and block of each group, largest first
  BoundClass bound = BoundClass::unknown;     // the class of the largest group
};

struct KernelChange {
  // exact: same name, grid and block. name: the same name with other launch configurations.
  enum class Match : uint8_t { exact, name, appeared, disappeared };
  std::string name;
  Match match = Match::exact;
  std::optional<KernelSide> before;
  std::optional<KernelSide> after;

  [[nodiscard]] int64_t delta_ns() const;
};
[[nodiscard]] std::string_view to_string(KernelChange::Match m);

// A rule that fires in one report and not in the other, with its finding there.
struct RuleChange {
  std::string rule_id;
  uint64_t saving_ns = 0;
  double saving_fraction = 0;
  std::string message;
};

// An NVTX range both runs have (by name): its time and its regime shares on each side.
struct RangeChange {
  std::string name;
  uint64_t before_instances = 0;
  uint64_t after_instances = 0;
  AttributionChange attribution;
};

struct ReportDiff {
  const Report* before = nullptr;
  const Report* after = nullptr;
  std::string before_label; // how the reports are named in the output: their paths
  std::string after_label;
  std::vector<std::string> warnings; // different GPUs, profiles or ceilings, incomplete runs
  std::string verdict;
  AttributionChange process;    // the whole run
  AttributionChange gpu_active; // the GPU-active span, which the verdict judges
  // Kernels in both reports, by the size of the change, largest first.
  std::vector<KernelChange> matched;
  std::vector<KernelChange> appeared;    // only after, largest first
  std::vector<KernelChange> disappeared; // only before, largest first
  std::vector<RuleChange> rules_appeared;
  std::vector<RuleChange> rules_disappeared;
  std::vector<RangeChange> ranges; // in the order of the second report
  std::vector<std::string> ranges_only_before;
  std::vector<std::string> ranges_only_after;
};

// Both reports must be analysed. The diff points into them: they must outlive it.
[[nodiscard]] ReportDiff diff_reports(const Report& before, const Report& after, std::string before_label,
                                      std::string after_label);

} // namespace brrr
