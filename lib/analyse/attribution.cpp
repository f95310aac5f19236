// Turns the measured split of the wall time (each kernel group's and transfer group's share,
// idle time by cause) into the attribution by part and regime. The measured shares already
// sum to the wall time (model/build.cpp guarantees it); this step only decides which part
// each share belongs to, so the invariant carries over unchanged.

#include "analyse/analysis.hpp"

namespace brrr {

namespace {

constexpr std::array<std::string_view, part_count> part_names{
    "compute",      "memory",      "latency",   "transfer",  "unclassified", "communication", "communication.wait",
    "idle.startup", "idle.launch", "idle.sync", "idle.copy", "idle.host",    "idle.teardown"};

void add_measured_busy(Attribution& a, const Run& run, const std::vector<KernelAnalysis>& kernels) {
  for (std::size_t i = 0; i < run.kernels.size(); ++i) {
    const auto bound = i < kernels.size() ? kernels[i].bound : BoundClass::unknown;
    a.add(kernel_part(bound), run.kernels[i].attributed_ns);
  }
  for (const auto& t : run.transfers) a.add(transfer_part(t.kind), t.attributed_ns);
}

} // namespace

std::string_view to_string(Part p) { return part_names[static_cast<std::size_t>(p)]; }

Part idle_part(IdleCause c) {
  switch (c) {
  case IdleCause::startup:
    return Part::idle_startup;
  case IdleCause::launch:
    return Part::idle_launch;
  case IdleCause::sync:
    return Part::idle_sync;
  case IdleCause::copy:
    return Part::idle_copy;
  case IdleCause::host:
    return Part::idle_host;
  case IdleCause::teardown:
    break;
  }
  return Part::idle_teardown;
}

std::string_view to_string(Regime r) {
  switch (r) {
  case Regime::compute:
    return "compute";
  case Regime::memory:
    return "memory";
  case Regime::overhead:
    return "overhead";
  case Regime::communication:
    return "communication";
  case Regime::unknown:
    break;
  }
  return "unknown";
}

// Latency-bound kernels and host<->device transfers count as overhead: the GPU is busy,
// but neither its arithmetic nor its memory bandwidth is what limits the run, and neither
// a faster GPU nor faster memory would shorten it.
Regime regime_of(Part p) {
  switch (p) {
  case Part::compute:
    return Regime::compute;
  case Part::memory:
    return Regime::memory;
  case Part::unclassified:
    return Regime::unknown;
  case Part::communication:
  case Part::communication_wait:
    return Regime::communication;
  default:
    return Regime::overhead;
  }
}

Part kernel_part(BoundClass c) {
  switch (c) {
  case BoundClass::compute:
    return Part::compute;
  case BoundClass::memory:
    return Part::memory;
  case BoundClass::latency:
    return Part::latency;
  case BoundClass::communication:
    return Part::communication;
  case BoundClass::unknown:
    break;
  }
  return Part::unclassified;
}

// Device-to-device copies and sets run at the GPU's memory bandwidth; the others cross the
// host link, where the SMs only wait.
Part transfer_part(TransferKind k) {
  return k == TransferKind::device_to_device || k == TransferKind::memset ? Part::memory : Part::transfer;
}

uint64_t Attribution::sum() const {
  uint64_t s = 0;
  for (auto v : ns) s += v;
  return s;
}

uint64_t Attribution::regime_ns(Regime r) const {
  uint64_t s = 0;
  for (std::size_t i = 0; i < part_count; ++i)
    if (regime_of(static_cast<Part>(i)) == r) s += ns[i];
  return s;
}

uint64_t Attribution::gpu_busy_ns() const {
  return get(Part::compute) + get(Part::memory) + get(Part::latency) + get(Part::transfer) + get(Part::unclassified) +
         get(Part::communication) + get(Part::communication_wait);
}

uint64_t Attribution::gpu_idle_ns() const { return sum() - gpu_busy_ns(); }

Attribution attribute_process(const Run& run, const std::vector<KernelAnalysis>& kernels) {
  Attribution a;
  a.wall_ns = run.timeline.wall_ns;
  add_measured_busy(a, run, kernels);
  for (const auto& s : run.idle) a.add(idle_part(s.cause), s.total_ns);
  return a;
}

Attribution attribute_gpu_active(const Run& run, const std::vector<KernelAnalysis>& kernels) {
  Attribution a;
  a.wall_ns = run.timeline.gpu_end_ns - run.timeline.gpu_begin_ns;
  add_measured_busy(a, run, kernels);
  for (const auto& s : run.idle)
    if (s.cause != IdleCause::startup && s.cause != IdleCause::teardown) a.add(idle_part(s.cause), s.total_ns);
  return a;
}

Attribution attribute_range(const Run& run, const RangeSummary& range, const std::vector<KernelAnalysis>& kernels) {
  Attribution a;
  a.wall_ns = range.total_ns;
  for (const auto& [index, ns] : range.kernel_ns) {
    const auto bound = index < kernels.size() ? kernels[index].bound : BoundClass::unknown;
    a.add(kernel_part(bound), ns);
  }
  for (const auto& [index, ns] : range.transfer_ns)
    if (index < run.transfers.size()) a.add(transfer_part(run.transfers[index].kind), ns);
  for (std::size_t c = 0; c < all_idle_causes.size(); ++c) a.add(idle_part(all_idle_causes[c]), range.idle_ns[c]);
  return a;
}

} // namespace brrr
