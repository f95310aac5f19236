#pragma once
// What brrr concludes from a run and a hardware profile: each kernel's place on the
// roofline, where the wall time went, and the verdict. Everything here is derived; nothing
// is measured, so `brrr explain` can derive it again from a saved report (with other
// ceilings, another profile, or newer rules).

#include "model/hardware.hpp"
#include "model/run.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

// Stable ids, used as report keys. A communication library's kernel (model/communication.hpp)
// is not placed on the roofline: its time is set by the links between GPUs and by the other
// ranks, not by this GPU's arithmetic or memory.
enum class BoundClass : uint8_t { compute, memory, latency, communication, unknown };
[[nodiscard]] std::string_view to_string(BoundClass c);
// Whether the class places the kernel on the roofline (compute, memory or latency), so that its
// roof fraction means something.
[[nodiscard]] bool on_roofline(BoundClass c);

struct KernelAnalysis {
  bool has_counters = false;
  // Totals over all launches of the group (measured launches scaled to all launches).
  double flops = 0;
  double dram_bytes = 0;
  double l2_bytes = 0;
  // FLOPs per DRAM byte; empty when no DRAM traffic was measured.
  std::optional<double> intensity;
  double achieved_flops_per_s = 0;
  double achieved_dram_bytes_per_s = 0;
  // The precision and pipe that did most of the FLOPs: the compute roof drawn for it.
  Precision precision = Precision::fp32;
  Pipe pipe = Pipe::cuda_core;
  // Fraction of each roof reached: the time the work would take at the roof's rate, over
  // the time it took. Empty when the profile lacks the roof.
  std::optional<double> compute_roof_fraction;
  std::optional<double> dram_roof_fraction;
  std::optional<double> l2_roof_fraction;
  // The largest of the three: how close the kernel came to the roof that binds it.
  double roof_fraction = 0;
  BoundClass bound = BoundClass::unknown;
  // Fewer thread blocks than the GPU has SMs: some SMs had nothing to run.
  bool grid_below_sm_count = false;
};

// Parts of the wall time. Every nanosecond goes to exactly one. Stable ids: report keys.
enum class Part : uint8_t {
  compute,      // GPU busy in compute-bound kernels
  memory,       // GPU busy in memory-bound kernels, device-side copies and sets
  latency,      // GPU busy in latency-bound kernels (far from both roofs)
  transfer,     // GPU busy only with host<->device transfers
  unclassified, // GPU busy in kernels without counters (class unknown)
  // GPU busy in communication kernels (collectives), moving data between ranks.
  communication,
  // Of the communication kernels' time, what they spent waiting for other ranks to arrive. Known
  // only by comparing the ranks of a job (analyse/merge.hpp); 0 in one rank's own report.
  communication_wait,
  idle_startup, // GPU idle before its first activity
  idle_launch,  // GPU idle waiting for the host's next launch
  idle_sync,    // GPU idle after the host synchronized
  idle_copy,    // GPU idle while the host staged a copy
  idle_host,    // GPU idle while the host did other work
  idle_teardown // GPU idle after its last activity
};
inline constexpr std::size_t part_count = 13;
[[nodiscard]] std::string_view to_string(Part p);
[[nodiscard]] Part idle_part(IdleCause c);

// The three regimes of "Making Deep Learning Go Brrrr": compute, memory bandwidth,
// overhead; and for a job of several ranks, communication between them. Unknown holds kernel
// time that could not be classified (no counters).
enum class Regime : uint8_t { compute, memory, overhead, communication, unknown };
inline constexpr std::array all_regimes{Regime::compute, Regime::memory, Regime::overhead, Regime::communication,
                                        Regime::unknown};
[[nodiscard]] std::string_view to_string(Regime r);
[[nodiscard]] Regime regime_of(Part p);

struct Attribution {
  uint64_t wall_ns = 0;
  std::array<uint64_t, part_count> ns{};

  [[nodiscard]] uint64_t get(Part p) const { return ns[static_cast<std::size_t>(p)]; }
  void add(Part p, uint64_t v) { ns[static_cast<std::size_t>(p)] += v; }
  [[nodiscard]] uint64_t sum() const;
  [[nodiscard]] uint64_t regime_ns(Regime r) const;
  [[nodiscard]] uint64_t gpu_busy_ns() const;
  [[nodiscard]] uint64_t gpu_idle_ns() const;
  [[nodiscard]] double fraction(uint64_t v) const {
    return wall_ns ? static_cast<double>(v) / static_cast<double>(wall_ns) : 0;
  }
};

enum class Severity : uint8_t { low, medium, high };
[[nodiscard]] std::string_view to_string(Severity s);

// One conclusion of a rule.
struct Finding {
  std::string rule_id;
  Severity severity = Severity::low;
  std::string message;    // what was found, with its numbers
  std::string suggestion; // what to do
  std::vector<Evidence> evidence;
  // What acting on the suggestion would save at most, by the rule's documented formula.
  uint64_t saving_ns = 0;
  double saving_fraction = 0;    // of the wall time
  std::vector<uint32_t> kernels; // kernel groups the finding is about
};

struct Verdict {
  Regime regime = Regime::unknown;
  double regime_fraction = 0;
  std::string headline;
  std::vector<Finding> findings;          // ranked by saving, largest first
  std::vector<std::string> will_not_help; // optimizations that cannot pay off, with their bound
  std::vector<std::string> notes;         // context: startup share, missing counters, data lost
};

struct Analysis {
  Ceilings ceilings = Ceilings::datasheet;
  bool has_profile = false;
  std::vector<KernelAnalysis> kernels; // parallel to Run::kernels
  Attribution process;                 // the whole wall time of the run
  Attribution gpu_active;              // the GPU-active span only
  std::vector<Attribution> ranges;     // parallel to Run::ranges
  Verdict verdict;
};

// Thresholds of the classification, named so that docs and tests cite them.
struct ClassifyLimits {
  // Below this fraction of every roof a kernel is latency-bound: neither compute nor
  // memory bandwidth limits it, so a faster unit would not make it faster.
  double latency_roof_fraction = 0.25;
};

[[nodiscard]] KernelAnalysis analyse_kernel(const KernelGroup& k, const HardwareProfile* profile, Ceilings ceilings,
                                            uint32_t sm_count, const ClassifyLimits& limits = {});

// The part of the wall time a kernel group's time goes to, given its class.
[[nodiscard]] Part kernel_part(BoundClass c);
// The part a transfer group's time goes to.
[[nodiscard]] Part transfer_part(TransferKind k);

[[nodiscard]] Attribution attribute_process(const Run& run, const std::vector<KernelAnalysis>& kernels);
[[nodiscard]] Attribution attribute_gpu_active(const Run& run, const std::vector<KernelAnalysis>& kernels);
[[nodiscard]] Attribution attribute_range(const Run& run, const RangeSummary& range,
                                          const std::vector<KernelAnalysis>& kernels);

// The regime with the most time in an attribution (ties go to the first in all_regimes);
// unknown when nothing was attributed.
[[nodiscard]] Regime dominant_regime(const Attribution& a);

struct AnalyseOptions {
  Ceilings ceilings = Ceilings::datasheet;
  ClassifyLimits limits;
};

// The whole analysis: kernels, attributions, verdict.
[[nodiscard]] Analysis analyse(const Run& run, const HardwareProfile* profile, const AnalyseOptions& options = {});

} // namespace brrr
