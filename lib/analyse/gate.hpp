#pragma once
// CI gates: conditions that fail a CI job when a report crosses a limit, such as
// `brrr explain r.json --fail-if 'overhead > 30%'`, or when a change between two reports does,
// such as `brrr diff a.json b.json --fail-if 'overhead.delta > 5%'`. docs/ci.md documents the
// grammar: `<metric> <op> <value>`, or a rule's firing by itself. The parser never throws and
// names the column of the first problem, so that a malformed condition is one clear line and
// the parser can be fuzzed.

#include "analyse/analysis.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brrr {

struct Report;

// Where conditions are evaluated: on one report (brrr explain), or on the change from one
// report to another (brrr diff), where each metric says which value it means.
enum class GateContext : uint8_t { report, diff };

enum class CompareOp : uint8_t { greater, greater_equal, less, less_equal, equal, not_equal };
[[nodiscard]] std::string_view to_string(CompareOp op);

// What a metric measures. It decides which thresholds the metric accepts.
enum class MetricKind : uint8_t {
  time_share, // a part or group of the attribution: a share of the time split (%) or a time
  duration,   // a time only: wall, gpu_active, kernel('…').time, range('…').time
  share,      // a share of the wall time only (%): kernel('…').share
  count,      // a plain number: launches, kernel('…').launches
  regime,     // a word: compute, memory, overhead or unknown
  flag        // true or false by itself: rule('…'), which is true when the rule fires
};

// Where a metric's value comes from.
enum class MetricSource : uint8_t {
  wall,              // run.wall_ns
  gpu_active,        // the GPU-active span's length
  launches,          // all kernel launches
  attribution,       // a part or group of the attribution
  kernel_time,       // kernel('…').time: the matching groups' summed durations
  kernel_share,      // kernel('…').share: their share of the wall time (attributed_ns)
  kernel_launches,   // kernel('…').launches
  range_time,        // range('…').time: the NVTX range's summed duration
  range_attribution, // range('…').overhead: a part or group of the range's attribution
  regime,            // the verdict's regime
  rule               // whether a rule fired
};

// In brrr diff, which value of a metric a condition means.
enum class DiffSuffix : uint8_t {
  none,    // brrr explain: the report's value
  before,  // the first report's value
  after,   // the second report's value
  delta,   // after − before, in the metric's unit (percentage points for shares)
  change,  // (after − before) / before, in %, for times and counts
  appeared // rules only: fires after, not before
};

// The attribution parts an attribution metric sums: one part, a regime's parts, all idle
// parts, or all busy parts.
struct PartSelector {
  enum class Kind : uint8_t { part, regime, idle, busy };
  Kind kind = Kind::part;
  Part part = Part::compute;
  Regime regime = Regime::unknown;
};

struct Metric {
  MetricSource source = MetricSource::wall;
  MetricKind kind = MetricKind::duration;
  PartSelector parts;
  // The attribution of the GPU-active span (`gpu_active.overhead`) instead of the whole run.
  bool gpu_active_span = false;
  // The kernel name substring of kernel('…'), the range name of range('…'), or the rule id of
  // rule(…).
  std::string argument;
  DiffSuffix suffix = DiffSuffix::none;
  std::string text; // as written, for messages
};

// The unit a threshold was given in, which is also the unit a metric is measured in.
enum class ThresholdUnit : uint8_t { none, percent, time };

struct Condition {
  Metric metric;
  std::optional<CompareOp> op; // empty for a flag
  // A fraction for percent (30% is 0.3), nanoseconds for a time, the number itself otherwise.
  double threshold = 0;
  ThresholdUnit unit = ThresholdUnit::none;
  Regime regime = Regime::unknown; // the value of a regime condition
  std::string threshold_text;      // as written, for messages
};

struct ConditionError {
  std::size_t column = 1; // 1-based, in characters (code points) of the condition
  std::string message;
};

// A condition, or why the text is not one.
struct ParsedCondition {
  std::optional<Condition> condition;
  ConditionError error; // meaningful only when condition is empty
};

// Parses one condition. Never throws: every problem comes back as an error.
[[nodiscard]] ParsedCondition parse_condition(std::string_view text, GateContext context) noexcept;

// brrr diff --fail-if-slower: "5%" is `wall.change > 5%`, "100ms" is `wall.delta > 100ms`.
[[nodiscard]] ParsedCondition parse_slower_threshold(std::string_view text) noexcept;

// "column 11: expected a number after '>', found 'x'".
[[nodiscard]] std::string describe(const ConditionError& error);

// The conditions that hold, each as one line: "overhead 62.1% > 30%". A gate fails when its
// condition holds. A kernel('…') that matches no kernel, or a range('…') that names no range,
// holds too, and says so, so that a misspelt name does not pass silently. The reports must be analysed.
[[nodiscard]] std::vector<std::string> check_gates(const std::vector<Condition>& conditions, const Report& report);
[[nodiscard]] std::vector<std::string> check_gates(const std::vector<Condition>& conditions, const Report& before,
                                                   const Report& after);

} // namespace brrr
