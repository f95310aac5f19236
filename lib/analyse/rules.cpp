// The rules. Each states its condition on measured numbers, cites them as evidence, and
// estimates what acting on its suggestion would save at most, by the formula in the table.

#include "analyse/rules.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace brrr {

namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

Finding make_finding(const RuleContext& c, std::string_view id, double saving_ns, std::string message,
                     std::string suggestion, std::vector<Evidence> evidence) {
  Finding f;
  f.rule_id = id;
  f.saving_ns = static_cast<uint64_t>(std::max(0.0, saving_ns));
  f.saving_fraction = c.process.fraction(f.saving_ns);
  f.severity = severity_for(f.saving_fraction);
  f.message = std::move(message);
  f.suggestion = std::move(suggestion);
  f.evidence = std::move(evidence);
  return f;
}

bool worth_reporting(const RuleContext& c, double saving_ns) {
  return c.process.wall_ns > 0 && saving_ns / as_double(c.process.wall_ns) >= c.limits.min_saving_fraction;
}

const IdleSummary* idle_summary(const Run& run, IdleCause cause) {
  for (const auto& s : run.idle)
    if (s.cause == cause) return &s;
  return nullptr;
}

// Adds the evidence the model recorded for an idle cause to a finding's evidence.
void append_idle_evidence(const IdleSummary& s, std::vector<Evidence>& evidence) {
  evidence.push_back({"gaps", as_double(s.gaps)});
  evidence.push_back({"idle_ns", as_double(s.total_ns)});
  evidence.push_back({"median_gap_ns", as_double(s.median_ns)});
  evidence.insert(evidence.end(), s.evidence.begin(), s.evidence.end());
}

double mean_kernel_ns(const Run& run) {
  uint64_t launches = 0;
  uint64_t total = 0;
  for (const auto& k : run.kernels) {
    launches += k.launches;
    total += k.total_ns;
  }
  return launches ? as_double(total) / as_double(launches) : 0;
}

void launch_bound(const RuleContext& c, std::vector<Finding>& out) {
  const IdleSummary* s = idle_summary(c.run, IdleCause::launch);
  if (!s || !worth_reporting(c, as_double(s->total_ns))) return;
  std::vector<Evidence> evidence;
  append_idle_evidence(*s, evidence);
  evidence.push_back({"kernel_launches", as_double(c.run.kernel_launches())});
  evidence.push_back({"mean_kernel_ns", mean_kernel_ns(c.run)});
  out.push_back(make_finding(
      c, "overhead.launch-bound", as_double(s->total_ns),
      fmt::format("The GPU sat idle {} ({} of the run) in {} short gaps between kernels (median gap {}, mean kernel "
                  "{}): the host cannot issue kernels as fast as the GPU finishes them.",
                  format_duration(as_double(s->total_ns)), format_percent(c.process.fraction(s->total_ns)),
                  format_count(as_double(s->gaps)), format_duration(as_double(s->median_ns)),
                  format_duration(mean_kernel_ns(c.run))),
      "Launch fewer, larger kernels: capture the loop in a CUDA graph (torch.cuda.CUDAGraph, "
      "torch.compile(mode=\"reduce-overhead\")), fuse small operations (torch.compile), or raise the batch size so "
      "that each kernel does more work.",
      std::move(evidence)));
}

void synchronization(const RuleContext& c, std::vector<Finding>& out) {
  const IdleSummary* s = idle_summary(c.run, IdleCause::sync);
  if (!s || !worth_reporting(c, as_double(s->total_ns))) return;
  std::vector<Evidence> evidence;
  append_idle_evidence(*s, evidence);
  out.push_back(make_finding(
      c, "overhead.sync", as_double(s->total_ns),
      fmt::format("The host waited for the GPU to finish {} times (a synchronize call, .item(), a synchronous copy to "
                  "the host); each time the GPU then sat idle until the host queued more work: {} ({} of the run).",
                  format_count(as_double(s->gaps)), format_duration(as_double(s->total_ns)),
                  format_percent(c.process.fraction(s->total_ns))),
      "Take synchronizations out of the loop or defer them (log losses every N steps, copy with non_blocking=True, "
      "keep checks on the GPU instead of .item()), so that the host stays ahead of the GPU.",
      std::move(evidence)));
}

void host_work(const RuleContext& c, std::vector<Finding>& out) {
  const IdleSummary* s = idle_summary(c.run, IdleCause::host);
  if (!s || !worth_reporting(c, as_double(s->total_ns))) return;
  std::vector<Evidence> evidence;
  append_idle_evidence(*s, evidence);
  evidence.push_back({"max_gap_ns", as_double(s->max_ns)});
  out.push_back(make_finding(
      c, "overhead.host-work", as_double(s->total_ns),
      fmt::format("The GPU sat idle {} ({} of the run) in {} gaps of over 100 µs while the host did other work "
                  "(loading data, preprocessing, Python code between phases); the longest lasted {}.",
                  format_duration(as_double(s->total_ns)), format_percent(c.process.fraction(s->total_ns)),
                  format_count(as_double(s->gaps)), format_duration(as_double(s->max_ns))),
      "Overlap host work with GPU work: load and preprocess the next batch in background workers (DataLoader "
      "num_workers, pin_memory=True), move preprocessing to the GPU, and profile the host (e.g. py-spy) to see what "
      "fills the gaps.",
      std::move(evidence)));
}

bool crosses_host_link(TransferKind k) {
  return k == TransferKind::host_to_device || k == TransferKind::device_to_host;
}

void pageable_copies(const RuleContext& c, std::vector<Finding>& out) {
  for (auto kind : {TransferKind::host_to_device, TransferKind::device_to_host}) {
    uint64_t pageable_bytes = 0;
    uint64_t pageable_ns = 0;
    uint64_t pageable_attributed = 0;
    uint64_t pinned_bytes = 0;
    uint64_t pinned_ns = 0;
    for (const auto& t : c.run.transfers) {
      if (t.kind != kind) continue;
      const bool pageable = t.source == MemoryKind::pageable || t.destination == MemoryKind::pageable;
      (pageable ? pageable_bytes : pinned_bytes) += t.bytes;
      (pageable ? pageable_ns : pinned_ns) += t.total_ns;
      if (pageable) pageable_attributed += t.attributed_ns;
    }
    if (pageable_ns == 0) continue;
    // The rate pinned memory would reach: measured in this run when it has pinned copies
    // in the same direction, else the hardware profile's host link.
    double pinned_rate = 0;
    if (pinned_ns > 0 && pinned_bytes > 0)
      pinned_rate = as_double(pinned_bytes) / (as_double(pinned_ns) * 1e-9);
    else if (c.profile && c.profile->host_link_bytes_per_s)
      pinned_rate = HardwareProfile::pick(*c.profile->host_link_bytes_per_s, c.ceilings);
    if (pinned_rate <= 0) continue;
    const double pageable_rate = as_double(pageable_bytes) / (as_double(pageable_ns) * 1e-9);
    if (pageable_rate >= pinned_rate) continue;
    const double pinned_time_ns = as_double(pageable_bytes) / pinned_rate * 1e9;
    const double idle_copy = as_double(c.process.get(Part::idle_copy));
    const double saving = std::min(as_double(pageable_ns) - pinned_time_ns, as_double(pageable_attributed) + idle_copy);
    if (!worth_reporting(c, saving)) continue;
    out.push_back(make_finding(
        c, "transfer.pageable", saving,
        fmt::format("{} of {} copies came from pageable host memory and ran at {}, against {} for pinned memory; "
                    "they took {}.",
                    format_bytes(as_double(pageable_bytes)),
                    kind == TransferKind::host_to_device ? "host-to-device" : "device-to-host",
                    format_bandwidth(pageable_rate), format_bandwidth(pinned_rate),
                    format_duration(as_double(pageable_ns))),
        "Allocate the host buffers as pinned memory (cudaMallocHost / cudaHostAlloc, tensor.pin_memory(), "
        "DataLoader(pin_memory=True)), so that copies run at the link's speed and can be asynchronous.",
        {{"pageable_bytes", as_double(pageable_bytes)},
         {"pageable_copy_ns", as_double(pageable_ns)},
         {"pageable_bytes_per_s", pageable_rate},
         {"pinned_bytes_per_s", pinned_rate}}));
  }
}

void serialized_copies(const RuleContext& c, std::vector<Finding>& out) {
  // Only the time no kernel ran beside them: attributed time also holds shares of overlap.
  uint64_t alone_ns = 0;
  for (const auto& t : c.run.transfers)
    if (transfer_part(t.kind) == Part::transfer) alone_ns += t.alone_ns;
  const double alone = as_double(alone_ns);
  const double kernels = as_double(c.process.get(Part::compute) + c.process.get(Part::memory) +
                                   c.process.get(Part::latency) + c.process.get(Part::unclassified));
  // Copies can hide only behind kernel time that exists.
  const double saving = std::min(alone, kernels);
  if (!worth_reporting(c, saving)) return;
  uint64_t copies = 0;
  uint64_t bytes = 0;
  for (const auto& t : c.run.transfers)
    if (crosses_host_link(t.kind)) {
      copies += t.count;
      bytes += t.bytes;
    }
  out.push_back(make_finding(
      c, "transfer.not-overlapped", saving,
      fmt::format("Host-device copies ({} copies, {}) kept the GPU busy for {} ({} of the run) with no kernel running "
                  "beside them.",
                  format_count(as_double(copies)), format_bytes(as_double(bytes)), format_duration(alone),
                  format_percent(c.process.fraction(static_cast<uint64_t>(alone)))),
      "Overlap copies with computation: cudaMemcpyAsync from pinned memory on a second stream, copying the next batch "
      "while the current one computes (non_blocking=True in PyTorch).",
      {{"copy_alone_ns", alone},
       {"kernel_busy_ns", kernels},
       {"copies", as_double(copies)},
       {"bytes", as_double(bytes)}}));
}

struct PerLaunch {
  double read_bytes = 0;
  double write_bytes = 0;
  double ns = 0;
};

PerLaunch per_launch(const KernelGroup& k) {
  return {k.counters->dram_read_bytes_per_launch, k.counters->dram_write_bytes_per_launch,
          as_double(k.total_ns) / as_double(k.launches)};
}

// How many times a succession passed data along: its linked launches when the collector
// compared arguments, else all of them for two different kernels (a kernel repeating itself
// without that evidence is as likely a loop over the same input).
uint64_t link_count(const Run& run, const Succession& s) {
  if (run.collection.dataflow) return s.linked;
  return s.from == s.to ? 0 : s.count;
}

uint64_t link_count(const Run& run, uint32_t from, uint32_t to) {
  for (const auto& s : run.successions)
    if (s.from == from && s.to == to) return link_count(run, s);
  return 0;
}

// Chains of memory-bound kernels that follow one another on a stream, each link taken at
// least chain_link_fraction of the first kernel's launches. When the collector compared
// kernel arguments (dataflow), a link is a succession that passed data along, and a kernel may
// follow itself (x.cos().cos() runs one kernel twice); without that evidence, any succession
// of two different kernels counts. Chains start at the earliest kernel, so a loop [A B][A B]
// gives the chain A→B and not B→A.
std::vector<std::vector<uint32_t>> memory_chains(const RuleContext& c) {
  const auto n = c.run.kernels.size();
  auto memory_bound = [&](uint32_t i) {
    return i < c.kernels.size() && c.kernels[i].bound == BoundClass::memory && c.run.kernels[i].counters &&
           c.run.kernels[i].launches > 0;
  };
  std::vector<std::optional<std::pair<uint32_t, uint64_t>>> next(n);
  for (const auto& s : c.run.successions) {
    if (!memory_bound(s.from) || !memory_bound(s.to)) continue;
    const uint64_t links = link_count(c.run, s);
    if (links == 0 || as_double(links) < c.limits.chain_link_fraction * as_double(c.run.kernels[s.from].launches) /
                                             (s.from == s.to ? 2 : 1))
      continue;
    auto& best = next[s.from];
    if (!best || links > best->second) best = std::pair(s.to, links);
  }
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < n; ++i)
    if (memory_bound(i)) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return c.run.kernels[a].first_start_ns < c.run.kernels[b].first_start_ns; });
  std::vector<bool> visited(n, false);
  std::vector<std::vector<uint32_t>> chains;
  for (uint32_t start : order) {
    if (visited[start]) continue;
    std::vector<uint32_t> chain{start};
    visited[start] = true;
    // A kernel that feeds itself is a chain of two launches of it.
    if (next[start] && next[start]->first == start) {
      chains.push_back({start, start});
      continue;
    }
    while (next[chain.back()] && !visited[next[chain.back()]->first]) {
      chain.push_back(next[chain.back()]->first);
      visited[chain.back()] = true;
    }
    if (chain.size() >= 2) chains.push_back(std::move(chain));
  }
  return chains;
}

void fusion(const RuleContext& c, std::vector<Finding>& out) {
  for (const auto& chain : memory_chains(c)) {
    uint64_t iterations = UINT64_MAX;
    double chain_ns = 0;
    double chain_bytes = 0;
    double saved_bytes = 0;
    double attributed = 0;
    std::string names;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const auto& k = c.run.kernels[chain[i]];
      const PerLaunch p = per_launch(k);
      chain_ns += p.ns;
      chain_bytes += p.read_bytes + p.write_bytes;
      // A kernel that appears twice in the chain has its time counted once.
      if (std::find(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(i), chain[i]) ==
          chain.begin() + static_cast<std::ptrdiff_t>(i))
        attributed += as_double(k.attributed_ns);
      names += (i ? " → " : "") + k.name.substr(0, 40);
      if (i + 1 < chain.size()) {
        const auto& next = c.run.kernels[chain[i + 1]];
        // What the first writes and the second reads back can stay on chip once fused;
        // neither kernel can pass on more than it wrote or read.
        saved_bytes += 2 * std::min(p.write_bytes, next.counters->dram_read_bytes_per_launch);
        iterations = std::min(iterations, link_count(c.run, chain[i], chain[i + 1]));
      }
    }
    // A pass through the chain takes one launch of each kernel in it: a kernel that appears
    // twice (x.cos().cos() runs one kernel twice) allows at most half its launches as passes.
    for (uint32_t k : chain) {
      const auto occurrences = static_cast<uint64_t>(std::count(chain.begin(), chain.end(), k));
      iterations = std::min(iterations, c.run.kernels[k].launches / occurrences);
    }
    if (chain_ns <= 0 || chain_bytes <= 0 || iterations == 0) continue;
    const double rate = chain_bytes / chain_ns; // bytes per ns, as achieved by the chain
    const double fused_bytes = chain_bytes - saved_bytes;
    const double fused_ns = fused_bytes / rate;
    const double saving = std::min((chain_ns - fused_ns) * as_double(iterations), attributed);
    if (!worth_reporting(c, saving)) continue;
    Finding f = make_finding(
        c, "memory.fusion", saving,
        fmt::format("{} memory-bound kernels run back to back {} times ({}). Each pass moves {} through DRAM, of which "
                    "{} is an intermediate written by one kernel and read back by the next. Fused, a pass would move "
                    "{}: about {} instead of {} at the {} these kernels reach.",
                    chain.size(), format_count(as_double(iterations)), names, format_bytes(chain_bytes),
                    format_bytes(saved_bytes), format_bytes(fused_bytes), format_duration(fused_ns),
                    format_duration(chain_ns), format_bandwidth(rate * 1e9)),
        "Fuse the chain into one kernel (torch.compile, a Triton or hand-written kernel, a library epilogue) so that "
        "intermediates stay in registers instead of making a round trip through DRAM.",
        {{"chain_kernels", as_double(chain.size())},
         {"iterations", as_double(iterations)},
         {"bytes_per_iteration", chain_bytes},
         {"intermediate_bytes_per_iteration", saved_bytes / 2},
         {"achieved_bytes_per_s", rate * 1e9},
         {"chain_ns_per_iteration", chain_ns},
         {"predicted_fused_ns_per_iteration", fused_ns}});
    f.kernels = chain;
    out.push_back(std::move(f));
  }
}

void tensor_cores(const RuleContext& c, std::vector<Finding>& out) {
  if (!c.profile) return;
  const auto tf32 = c.profile->peak(Precision::tf32, Pipe::tensor, c.ceilings);
  const auto fp32 = c.profile->peak(Precision::fp32, Pipe::cuda_core, c.ceilings);
  if (!tf32 || !fp32 || *tf32 <= *fp32) return;
  const auto bw = c.profile->dram_bandwidth(c.ceilings);
  for (uint32_t i = 0; i < c.run.kernels.size() && i < c.kernels.size(); ++i) {
    const auto& a = c.kernels[i];
    const auto& k = c.run.kernels[i];
    if (a.bound != BoundClass::compute || a.precision != Precision::fp32 || a.pipe != Pipe::cuda_core) continue;
    if (!a.intensity || *a.intensity < c.limits.gemm_like_intensity || k.total_ns == 0) continue;
    // At TF32 the kernel would be bound by the slower of the tensor roof and its traffic.
    double new_s = a.flops / *tf32;
    if (bw && *bw > 0) new_s = std::max(new_s, a.dram_bytes / *bw);
    const double ratio = std::min(1.0, new_s / (as_double(k.total_ns) * 1e-9));
    const double saving = as_double(k.attributed_ns) * (1 - ratio);
    if (!worth_reporting(c, saving)) continue;
    Finding f = make_finding(
        c, "compute.tensor-cores", saving,
        fmt::format("{} does {} of FP32 work on CUDA cores at {} ({} of their peak) with {:.0f} FLOPs per DRAM byte: "
                    "matrix-product-like work, which tensor cores run up to {:.1f}× faster in TF32.",
                    k.name.substr(0, 60), format_flops(a.flops), format_flop_rate(a.achieved_flops_per_s),
                    format_percent(a.compute_roof_fraction.value_or(0)), *a.intensity, *tf32 / *fp32),
        "Use tensor cores: allow TF32 (torch.set_float32_matmul_precision(\"high\"), "
        "cublasSetMathMode(CUBLAS_TF32_TENSOR_OP_MATH)) or compute in BF16 (torch.autocast).",
        {{"flops", a.flops},
         {"achieved_flops_per_s", a.achieved_flops_per_s},
         {"arithmetic_intensity", *a.intensity},
         {"fp32_peak_flops_per_s", *fp32},
         {"tf32_peak_flops_per_s", *tf32}});
    f.kernels = {i};
    out.push_back(std::move(f));
  }
}

void latency_bound(const RuleContext& c, std::vector<Finding>& out) {
  double saving = 0;
  double attributed = 0;
  uint64_t launches = 0;
  uint64_t small_grid_launches = 0;
  std::vector<uint32_t> kernels;
  for (uint32_t i = 0; i < c.run.kernels.size() && i < c.kernels.size(); ++i) {
    if (c.kernels[i].bound != BoundClass::latency) continue;
    const auto& k = c.run.kernels[i];
    // Upper bound: the time these kernels would save running at their binding roof.
    saving += as_double(k.attributed_ns) * (1 - c.kernels[i].roof_fraction);
    attributed += as_double(k.attributed_ns);
    launches += k.launches;
    if (c.kernels[i].grid_below_sm_count) small_grid_launches += k.launches;
    kernels.push_back(i);
  }
  if (!worth_reporting(c, saving)) return;
  const uint32_t sm_count = c.run.gpus.empty() ? 0 : c.run.gpus.front().sm_count;
  Finding f = make_finding(
      c, "latency.small-kernels", saving,
      fmt::format(
          "{} launches of {} latency-bound kernel{} took {} ({} of the run) while reaching under {} of any roof; "
          "{} of those launches had fewer thread blocks than the GPU has SMs ({}).",
          format_count(as_double(launches)), kernels.size(), kernels.size() == 1 ? "" : "s",
          format_duration(attributed), format_percent(c.process.fraction(static_cast<uint64_t>(attributed))),
          format_percent(c.classify.latency_roof_fraction), format_count(as_double(small_grid_launches)), sm_count),
      "Give each launch more parallel work: batch independent operations, fuse small kernels, use more thread blocks "
      "than SMs; when kernels must stay small, replay them from a CUDA graph.",
      {{"launches", as_double(launches)},
       {"kernel_groups", as_double(kernels.size())},
       {"attributed_ns", attributed},
       {"small_grid_launches", as_double(small_grid_launches)},
       {"sm_count", as_double(sm_count)}});
  f.kernels = std::move(kernels);
  out.push_back(std::move(f));
}

// Kernels of one class (compute or memory) that run near their roof.
void at_roof(const RuleContext& c, std::vector<Finding>& out, BoundClass bound) {
  for (uint32_t i = 0; i < c.run.kernels.size() && i < c.kernels.size(); ++i) {
    const auto& a = c.kernels[i];
    const auto& k = c.run.kernels[i];
    if (a.bound != bound || a.roof_fraction < c.limits.near_roof_fraction) continue;
    // The headroom left under the roof bounds what tuning this kernel can save.
    const double saving = as_double(k.attributed_ns) * std::max(0.0, 1 - a.roof_fraction);
    if (c.process.fraction(k.attributed_ns) < 5 * c.limits.min_saving_fraction) continue;
    const bool compute = a.bound == BoundClass::compute;
    Finding f = make_finding(
        c, compute ? "roof.compute" : "roof.memory", saving,
        compute ? fmt::format("{} runs at {} of its {} {} peak ({}): tuning it can save at most {}; only less work or "
                              "lower precision makes it faster.",
                              k.name.substr(0, 60), format_percent(a.roof_fraction), to_string(a.precision),
                              a.pipe == Pipe::tensor ? "tensor-core" : "CUDA-core",
                              format_flop_rate(a.achieved_flops_per_s), format_duration(saving))
                : fmt::format("{} moves data at {} ({} of the memory roof): tuning it can save at most {}; only fewer "
                              "bytes make it faster.",
                              k.name.substr(0, 60), format_bandwidth(a.achieved_dram_bytes_per_s),
                              format_percent(a.roof_fraction), format_duration(saving)),
        compute ? "Do less work (skip or prune computation) or use a lower precision with a higher peak (BF16 or FP8 "
                  "on tensor cores); a faster memory system would not help."
                : "Move fewer bytes: fuse with the kernels before and after it, store in a narrower type (BF16, FP8), "
                  "avoid reading the same data twice; more FLOP/s would not help.",
        {{"roof_fraction", a.roof_fraction}, {"attributed_ns", as_double(k.attributed_ns)}});
    f.kernels = {i};
    out.push_back(std::move(f));
  }
}

void compute_roof(const RuleContext& c, std::vector<Finding>& out) { at_roof(c, out, BoundClass::compute); }
void memory_roof(const RuleContext& c, std::vector<Finding>& out) { at_roof(c, out, BoundClass::memory); }

constexpr std::array<Rule, 10> rule_table{{
    {"overhead.launch-bound", "GPU idle between short kernels", "idle time in launch gaps", launch_bound},
    {"overhead.sync", "GPU idle after host synchronizations", "idle time from a sync's return to the next GPU work",
     synchronization},
    {"overhead.host-work", "GPU idle while the host works", "idle time in gaps over 100 µs", host_work},
    {"transfer.pageable", "copies from pageable memory",
     "min(pageable copy time − bytes / pinned bandwidth, their wall time + copy-staging idle time)", pageable_copies},
    {"transfer.not-overlapped", "copies not overlapped with kernels", "min(time copies ran alone, time kernels ran)",
     serialized_copies},
    {"memory.fusion", "chains of memory-bound kernels",
     "(chain time − (chain bytes − 2 × intermediate bytes) / chain bandwidth) × iterations", fusion},
    {"compute.tensor-cores", "FP32 matrix work on CUDA cores",
     "kernel time × (1 − max(FLOPs / TF32 peak, bytes / DRAM bandwidth) / kernel time)", tensor_cores},
    {"latency.small-kernels", "kernels too small to fill the GPU", "Σ kernel time × (1 − fraction of roof reached)",
     latency_bound},
    {"roof.compute", "a kernel at its compute roof", "kernel time × (1 − fraction of roof reached)", compute_roof},
    {"roof.memory", "a kernel at its memory roof", "kernel time × (1 − fraction of roof reached)", memory_roof},
}};

} // namespace

std::span<const Rule> rules() { return rule_table; }

Severity severity_for(double saving_fraction) {
  if (saving_fraction >= 0.2) return Severity::high;
  if (saving_fraction >= 0.05) return Severity::medium;
  return Severity::low;
}

std::string_view to_string(Severity s) {
  switch (s) {
  case Severity::high:
    return "high";
  case Severity::medium:
    return "medium";
  case Severity::low:
    break;
  }
  return "low";
}

std::vector<Finding> evaluate_rules(const RuleContext& context) {
  std::vector<Finding> findings;
  for (const auto& rule : rule_table) rule.evaluate(context, findings);
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.saving_ns > b.saving_ns; });
  return findings;
}

} // namespace brrr
