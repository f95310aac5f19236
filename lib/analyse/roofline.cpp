// Places one kernel group on the roofline of a hardware profile.
//
// A kernel that mixes precisions (a GEMM in bf16 on tensor cores with an fp32 epilogue) has
// no single compute roof, so brrr compares times instead of rates: the time its FLOPs would
// take if every pipe ran at its peak (the sum over precisions and pipes of FLOPs / peak),
// the time its DRAM bytes would take at DRAM bandwidth, and the same for L2. Each time over
// the kernel's measured time is the fraction of that roof it reached; the largest fraction
// names the roof that binds it. For a kernel of one precision this is exactly the classic
// roofline comparison of arithmetic intensity against the ridge point.

#include "analyse/analysis.hpp"

#include "model/communication.hpp"

#include <algorithm>

namespace brrr {

std::string_view to_string(BoundClass c) {
  switch (c) {
  case BoundClass::compute:
    return "compute";
  case BoundClass::memory:
    return "memory";
  case BoundClass::latency:
    return "latency";
  case BoundClass::communication:
    return "communication";
  case BoundClass::unknown:
    break;
  }
  return "unknown";
}

bool on_roofline(BoundClass c) {
  return c == BoundClass::compute || c == BoundClass::memory || c == BoundClass::latency;
}

KernelAnalysis analyse_kernel(const KernelGroup& k, const HardwareProfile* profile, Ceilings ceilings,
                              uint32_t sm_count, const ClassifyLimits& limits) {
  KernelAnalysis a;
  a.grid_below_sm_count = sm_count > 0 && k.grid.count() < sm_count;
  // Known from the kernel's library, with or without counters (model/communication.hpp).
  if (is_communication_kernel(k.symbol)) a.bound = BoundClass::communication;
  if (!k.counters || k.launches == 0) return a;

  a.has_counters = true;
  const auto launches = static_cast<double>(k.launches);
  const FlopCounts flops = k.counters->flops_per_launch.scaled(launches);
  a.flops = flops.total();
  a.dram_bytes = (k.counters->dram_read_bytes_per_launch + k.counters->dram_write_bytes_per_launch) * launches;
  a.l2_bytes = k.counters->l2_bytes_per_launch * launches;
  if (a.dram_bytes > 0) a.intensity = a.flops / a.dram_bytes;

  // The precision drawn for a kernel without FLOPs stays fp32 on CUDA cores.
  double best = 0;
  for (auto p : all_precisions)
    for (auto u : all_pipes)
      if (flops.get(p, u) > best) {
        best = flops.get(p, u);
        a.precision = p;
        a.pipe = u;
      }

  const double seconds = static_cast<double>(k.total_ns) * 1e-9;
  if (seconds <= 0) return a;
  a.achieved_flops_per_s = a.flops / seconds;
  a.achieved_dram_bytes_per_s = a.dram_bytes / seconds;
  if (!profile) return a;

  // The compute floor is known only when the profile has a peak for every precision and pipe
  // that did work; a kernel doing fp8 on a profile without fp8 gets no compute fraction
  // rather than a wrong one.
  double compute_floor_s = 0;
  bool compute_known = true;
  for (auto p : all_precisions)
    for (auto u : all_pipes) {
      const double f = flops.get(p, u);
      if (f <= 0) continue;
      const auto peak = profile->peak(p, u, ceilings);
      if (!peak || *peak <= 0) {
        compute_known = false;
        continue;
      }
      compute_floor_s += f / *peak;
    }
  if (compute_known) a.compute_roof_fraction = compute_floor_s / seconds;
  if (auto bw = profile->dram_bandwidth(ceilings); bw && *bw > 0) a.dram_roof_fraction = a.dram_bytes / *bw / seconds;
  if (auto bw = profile->l2_bandwidth(ceilings); bw && *bw > 0) a.l2_roof_fraction = a.l2_bytes / *bw / seconds;

  const double compute = a.compute_roof_fraction.value_or(0);
  const double memory = std::max(a.dram_roof_fraction.value_or(0), a.l2_roof_fraction.value_or(0));
  a.roof_fraction = std::max(compute, memory);
  if (a.bound == BoundClass::communication) return a;
  if (!a.compute_roof_fraction && !a.dram_roof_fraction && !a.l2_roof_fraction) return a;
  if (a.roof_fraction < limits.latency_roof_fraction)
    a.bound = BoundClass::latency;
  else
    a.bound = compute >= memory ? BoundClass::compute : BoundClass::memory;
  return a;
}

} // namespace brrr
