// The whole analysis of a run: kernels on the roofline, the attribution, and the verdict.
// The regime is judged on the GPU-active span, so that a long start (imports, CUDA context,
// loading data) does not hide the steady state; savings are fractions of the whole run.

#include "analyse/analysis.hpp"
#include "analyse/rules.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brrr {

namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

// The kernel group that took the most time in a class, if any.
std::optional<uint32_t> top_kernel(const Run& run, const std::vector<KernelAnalysis>& kernels, BoundClass bound) {
  std::optional<uint32_t> best;
  for (uint32_t i = 0; i < run.kernels.size() && i < kernels.size(); ++i)
    if (kernels[i].bound == bound && (!best || run.kernels[i].attributed_ns > run.kernels[*best].attributed_ns))
      best = i;
  return best;
}

// The overhead part that weighs most, so that the headline names the cause, not the regime.
Part dominant_overhead_part(const Attribution& a) {
  Part best = Part::idle_launch;
  for (auto p : {Part::latency, Part::transfer, Part::idle_launch, Part::idle_sync, Part::idle_copy, Part::idle_host})
    if (a.get(p) > a.get(best)) best = p;
  return best;
}

std::string overhead_headline(const Run& run, const Attribution& a, const std::vector<KernelAnalysis>& kernels) {
  const std::string share = format_percent(a.fraction(a.regime_ns(Regime::overhead)));
  uint64_t launches = 0;
  uint64_t kernel_ns = 0;
  for (const auto& k : run.kernels) {
    launches += k.launches;
    kernel_ns += k.total_ns;
  }
  const double mean_ns = launches ? as_double(kernel_ns) / as_double(launches) : 0;
  switch (dominant_overhead_part(a)) {
  case Part::latency: {
    uint64_t small = 0;
    for (uint32_t i = 0; i < run.kernels.size() && i < kernels.size(); ++i)
      if (kernels[i].bound == BoundClass::latency) small += run.kernels[i].launches;
    return fmt::format("{} of the GPU-active time is overhead: {} launches of kernels too small to use the GPU, "
                       "far from both its compute and memory roofs.",
                       share, format_count(as_double(small)));
  }
  case Part::transfer:
  case Part::idle_copy:
    return fmt::format("{} of the GPU-active time is overhead: the GPU waited on copies between host and device.",
                       share);
  case Part::idle_sync: {
    uint64_t gaps = 0;
    for (const auto& s : run.idle)
      if (s.cause == IdleCause::sync) gaps = s.gaps;
    return fmt::format("{} of the GPU-active time is overhead: the GPU sat idle after the host synchronized with it "
                       "(idle {} in {} gaps).",
                       share, format_duration(as_double(a.get(Part::idle_sync))), format_count(as_double(gaps)));
  }
  case Part::idle_host:
    return fmt::format("{} of the GPU-active time is overhead: the GPU sat idle {} while the host did other work.",
                       share, format_duration(as_double(a.get(Part::idle_host))));
  default:
    return fmt::format("{} of the GPU-active time is overhead: the GPU sat idle between {} kernels averaging {}.",
                       share, format_count(as_double(launches)), format_duration(mean_ns));
  }
}

std::string headline(const Run& run, const Attribution& a, const std::vector<KernelAnalysis>& kernels, Regime regime) {
  const std::string share = format_percent(a.fraction(a.regime_ns(regime)));
  switch (regime) {
  case Regime::overhead:
    return overhead_headline(run, a, kernels);
  case Regime::memory: {
    auto top = top_kernel(run, kernels, BoundClass::memory);
    if (!top) return fmt::format("{} of the GPU-active time is memory-bound.", share);
    const auto& k = kernels[*top];
    return fmt::format("{} of the GPU-active time is memory-bound: the largest, {}, moves data at {} ({} of the "
                       "memory roof).",
                       share, run.kernels[*top].name.substr(0, 60), format_bandwidth(k.achieved_dram_bytes_per_s),
                       format_percent(k.roof_fraction));
  }
  case Regime::compute: {
    auto top = top_kernel(run, kernels, BoundClass::compute);
    if (!top) return fmt::format("{} of the GPU-active time is compute-bound.", share);
    const auto& k = kernels[*top];
    return fmt::format("{} of the GPU-active time is compute-bound: the largest, {}, reaches {} in {} ({} of peak).",
                       share, run.kernels[*top].name.substr(0, 60), format_flop_rate(k.achieved_flops_per_s),
                       to_string(k.precision), format_percent(k.roof_fraction));
  }
  case Regime::communication:
    return fmt::format("{} of the GPU-active time is communication: collectives (NCCL) moving data between ranks, or "
                       "waiting in them for the other ranks; brrr merge of every rank's report tells the two apart.",
                       share);
  case Regime::unknown:
    break;
  }
  return fmt::format("{} of the GPU-active time is in kernels without counters, so their regime is unknown; {} is "
                     "overhead.",
                     share, format_percent(a.fraction(a.regime_ns(Regime::overhead))));
}

// What cannot pay off in the dominant regime, each with the most it could save: the share
// of the time it could act on at all.
std::vector<std::string> will_not_help(const Attribution& a, Regime regime) {
  const double compute = a.fraction(a.regime_ns(Regime::compute));
  const double memory = a.fraction(a.regime_ns(Regime::memory));
  const double busy = a.fraction(a.get(Part::compute) + a.get(Part::memory));
  const double idle = a.fraction(a.gpu_idle_ns());
  std::vector<std::string> out;
  switch (regime) {
  case Regime::memory:
    out.push_back(fmt::format("More FLOP/s (a faster GPU's arithmetic, tensor cores, faster math): compute-bound "
                              "kernels are {} of the time, the most it could save.",
                              format_percent(compute)));
    break;
  case Regime::overhead:
    out.push_back(fmt::format("Faster kernels: kernels limited by compute or memory run {} of the time; even "
                              "infinitely fast ones would save at most that.",
                              format_percent(busy)));
    out.push_back(
        fmt::format("A faster GPU: it already sits idle {} of the time, waiting for the host.", format_percent(idle)));
    break;
  case Regime::compute:
    out.push_back(fmt::format("Fewer launches or CUDA graphs: the GPU is idle {} of the time, the most they could "
                              "save.",
                              format_percent(idle)));
    out.push_back(
        fmt::format("More memory bandwidth: memory-bound kernels are {} of the time.", format_percent(memory)));
    break;
  case Regime::communication:
    out.push_back(fmt::format("Faster kernels or a faster GPU: kernels limited by compute or memory run {} of the "
                              "time; the collectives wait on the links and the other ranks, not on this GPU.",
                              format_percent(busy)));
    break;
  case Regime::unknown:
    break;
  }
  return out;
}

// The best dense peak of the profile: what the GPU could have done while it sat idle.
std::optional<std::pair<double, std::string>> best_peak(const HardwareProfile& profile, Ceilings ceilings) {
  for (auto [p, u] : {std::pair{Precision::bf16, Pipe::tensor}, std::pair{Precision::fp16, Pipe::tensor},
                      std::pair{Precision::fp32, Pipe::cuda_core}})
    if (auto peak = profile.peak(p, u, ceilings))
      return std::pair(*peak, fmt::format("{} {}", to_string(p), u == Pipe::tensor ? "tensor" : "CUDA-core"));
  return std::nullopt;
}

std::vector<std::string> notes(const Run& run, const HardwareProfile* profile, const Analysis& analysis,
                               Regime regime) {
  std::vector<std::string> out;
  const auto& p = analysis.process;
  if (!run.info.complete)
    for (const auto& reason : run.info.incomplete_reasons) out.push_back("Incomplete: " + reason + ".");
  // Without GPU activity there is nothing to place on a roofline or to split.
  if (run.timeline.gpu_end_ns == run.timeline.gpu_begin_ns) return out;
  if (regime == Regime::overhead && profile) {
    if (auto peak = best_peak(*profile, analysis.ceilings)) {
      const double idle_s = as_double(analysis.gpu_active.gpu_idle_ns()) * 1e-9;
      out.push_back(fmt::format("In the {} the GPU sat idle it could have done {} at its {} peak ({}).",
                                format_duration(idle_s * 1e9), format_flops(idle_s * peak->first), peak->second,
                                format_flop_rate(peak->first)));
    }
  }
  const uint64_t startup = p.get(Part::idle_startup);
  if (p.fraction(startup) >= 0.2)
    out.push_back(fmt::format("{} of the {} run ({}) passed before the GPU's first work: process start, imports, "
                              "CUDA initialisation, loading. The verdict covers the GPU-active {}.",
                              format_percent(p.fraction(startup)), format_duration(as_double(p.wall_ns)),
                              format_duration(as_double(startup)),
                              format_duration(as_double(analysis.gpu_active.wall_ns))));
  const uint64_t unclassified = p.get(Part::unclassified);
  if (unclassified > 0) {
    std::string reason = run.collection.counters_unavailable_reason;
    if (reason.empty())
      for (const auto& k : run.kernels)
        if (!k.counters && !k.counters_missing_reason.empty()) {
          reason = k.counters_missing_reason;
          break;
        }
    out.push_back(
        fmt::format("{} of the GPU-busy time is in kernels without hardware counters ({}); their class is "
                    "unknown and the verdict rests on timing alone there.",
                    format_percent(as_double(unclassified) / as_double(std::max<uint64_t>(1, p.gpu_busy_ns()))),
                    reason.empty() ? "not collected" : reason));
  }
  // One rank's report cannot tell a collective's transfer from its wait for the other ranks.
  if (const uint64_t communication = p.get(Part::communication);
      communication > 0 && p.get(Part::communication_wait) == 0)
    out.push_back(
        fmt::format("Communication kernels (NCCL collectives) ran {} ({} of the GPU-active time). Part of it "
                    "may be waiting for slower ranks: brrr merge of every rank's report measures how much.",
                    format_duration(as_double(communication)),
                    format_percent(analysis.gpu_active.fraction(analysis.gpu_active.get(Part::communication)))));
  if (run.collection.tool_ns > 0)
    out.push_back(fmt::format("brrr held the program up for {} (kernel replay for counters); that time is cut out of "
                              "every figure.",
                              format_duration(as_double(run.collection.tool_ns))));
  if (!profile) out.push_back("No hardware profile: kernels cannot be placed on a roofline (pass --profile FILE).");
  return out;
}

} // namespace

Regime dominant_regime(const Attribution& a) {
  Regime best = Regime::unknown;
  uint64_t best_ns = 0;
  for (auto r : all_regimes)
    if (a.regime_ns(r) > best_ns) {
      best = r;
      best_ns = a.regime_ns(r);
    }
  return best;
}

Analysis analyse(const Run& run, const HardwareProfile* profile, const AnalyseOptions& options) {
  Analysis a;
  a.ceilings = options.ceilings;
  a.has_profile = profile != nullptr;
  const uint32_t sm_count = run.gpus.empty() ? 0 : run.gpus.front().sm_count;
  a.kernels.reserve(run.kernels.size());
  for (const auto& k : run.kernels)
    a.kernels.push_back(analyse_kernel(k, profile, options.ceilings, sm_count, options.limits));
  a.process = attribute_process(run, a.kernels);
  a.gpu_active = attribute_gpu_active(run, a.kernels);
  for (const auto& r : run.ranges) a.ranges.push_back(attribute_range(run, r, a.kernels));

  Verdict& v = a.verdict;
  if (run.timeline.gpu_end_ns == run.timeline.gpu_begin_ns) {
    v.regime = Regime::unknown;
    v.headline = run.processes.empty()
                     ? "No CUDA activity was recorded: the program never initialised CUDA (or this machine has no GPU "
                       "or driver)."
                     : "The program initialised CUDA but ran no kernel, copy or set on the GPU.";
  } else {
    v.regime = dominant_regime(a.gpu_active);
    v.regime_fraction = a.gpu_active.fraction(a.gpu_active.regime_ns(v.regime));
    v.headline = headline(run, a.gpu_active, a.kernels, v.regime);
    v.will_not_help = will_not_help(a.gpu_active, v.regime);
    v.findings = evaluate_rules({run, profile, options.ceilings, a.kernels, a.process, {}, options.limits});
  }
  v.notes = notes(run, profile, a, v.regime);
  return a;
}

} // namespace brrr
