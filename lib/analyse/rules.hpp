#pragma once
// The rules behind the verdict: one table, one entry per rule, each with a stable id, the
// formula of its estimated saving (docs/rules.md repeats them), and the function that
// evaluates it on an analysed run. Rules judge measured numbers only, never kernel names.

#include "analyse/analysis.hpp"

#include <span>
#include <string_view>
#include <vector>

namespace brrr {

struct RuleLimits {
  // Most findings are reported only when their saving reaches this fraction of the wall time.
  double min_saving_fraction = 0.01;
  // A kernel at or above this fraction of its binding roof is "at the roof".
  double near_roof_fraction = 0.7;
  // FP32 work with at least this many FLOPs per DRAM byte reuses its data like a matrix
  // product (an elementwise kernel does a few FLOPs per byte), so tensor cores can run it.
  double gemm_like_intensity = 64;
  // A succession counts as a chain link when it follows at least this fraction of the
  // launches of its first kernel.
  double chain_link_fraction = 0.5;
};

struct RuleContext {
  const Run& run;
  const HardwareProfile* profile;
  Ceilings ceilings;
  const std::vector<KernelAnalysis>& kernels;
  const Attribution& process;
  RuleLimits limits;
  ClassifyLimits classify;
};

struct Rule {
  std::string_view id;
  std::string_view title;
  std::string_view saving_formula;
  void (*evaluate)(const RuleContext&, std::vector<Finding>&);
};

[[nodiscard]] std::span<const Rule> rules();

// Every rule's findings, ranked by saving, largest first. Each rule applies its own threshold:
// most report a finding only when its saving reaches min_saving_fraction; the roof rules, whose
// saving is only the headroom left under a roof, when the kernel takes 5 × that share of the run.
[[nodiscard]] std::vector<Finding> evaluate_rules(const RuleContext& context);

[[nodiscard]] Severity severity_for(double saving_fraction);

} // namespace brrr
