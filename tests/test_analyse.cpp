// The analysis: kernels on the roofline of a small profile with round numbers (fp32 CUDA
// cores 50 TFLOP/s, TF32 tensor 400, BF16 tensor 800, DRAM 2 TB/s, L2 8 TB/s, host link
// 50 GB/s), the attribution by part and regime, every rule of the table firing and not
// firing with its saving worked out by hand, and the verdict.

#include <doctest/doctest.h>

#include "trace_builder.hpp"

#include "analyse/analysis.hpp"
#include "analyse/rules.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace {

using namespace brrr;
using namespace brrr::testing;

FlopCounts flops(Precision p, Pipe u, double v) {
  FlopCounts f;
  f.set(p, u, v);
  return f;
}

// A kernel group whose launches all took the same time and whose whole time is its share.
KernelGroup group(const std::string& name, uint64_t launches, uint64_t total_ns, Dim3 grid = {264, 1, 1}) {
  KernelGroup k;
  k.name = name;
  k.symbol = name;
  k.grid = grid;
  k.launches = launches;
  k.total_ns = total_ns;
  k.attributed_ns = total_ns;
  k.min_ns = k.median_ns = k.max_ns = launches ? total_ns / launches : 0;
  k.counters_missing_reason = "counters were off for this run";
  return k;
}

KernelGroup measured(KernelGroup k, const FlopCounts& f, double read, double write, double l2 = 0) {
  KernelCounters c;
  c.measured_launches = k.launches;
  c.flops_per_launch = f;
  c.dram_read_bytes_per_launch = read;
  c.dram_write_bytes_per_launch = write;
  c.l2_bytes_per_launch = l2;
  k.counters = c;
  k.counters_missing_reason.clear();
  return k;
}

// By default the transfer ran with no kernel beside it (alone_ns = attributed_ns).
TransferGroup transfer(TransferKind kind, MemoryKind source, MemoryKind destination, uint64_t count, uint64_t bytes,
                       uint64_t total_ns, uint64_t attributed_ns, std::optional<uint64_t> alone_ns = std::nullopt) {
  TransferGroup t;
  t.kind = kind;
  t.source = source;
  t.destination = destination;
  t.count = count;
  t.bytes = bytes;
  t.total_ns = total_ns;
  t.attributed_ns = attributed_ns;
  t.alone_ns = alone_ns.value_or(attributed_ns);
  return t;
}

// Builds a consistent run by hand: what the parts do not cover of the wall time becomes
// teardown idle, and the GPU-active span runs from the end of startup to the teardown.
class RunMaker {
public:
  RunMaker() {
    run_.info.command = {"./program"};
    GpuInfo gpu;
    gpu.name = "Test GPU";
    gpu.compute_capability = "9.0";
    gpu.sm_count = 132;
    run_.gpus.push_back(gpu);
  }
  RunMaker& kernel(KernelGroup k) {
    k.first_start_ns = run_.kernels.size() * 1000;
    run_.kernels.push_back(std::move(k));
    return *this;
  }
  RunMaker& transfer(const TransferGroup& t) {
    run_.transfers.push_back(t);
    return *this;
  }
  RunMaker& idle(IdleCause cause, uint64_t total_ns, uint64_t gaps = 1, uint64_t median_ns = 0, uint64_t max_ns = 0) {
    IdleSummary s;
    s.cause = cause;
    s.total_ns = total_ns;
    s.gaps = gaps;
    s.median_ns = median_ns ? median_ns : total_ns / gaps;
    s.max_ns = max_ns ? max_ns : s.median_ns;
    run_.idle.push_back(s);
    return *this;
  }
  RunMaker& succession(uint32_t from, uint32_t to, uint64_t count) {
    run_.successions.push_back({from, to, count});
    return *this;
  }
  Run done(uint64_t wall_ns) {
    uint64_t used = 0;
    for (const auto& k : run_.kernels) used += k.attributed_ns;
    for (const auto& t : run_.transfers) used += t.attributed_ns;
    for (const auto& s : run_.idle) used += s.total_ns;
    REQUIRE(used <= wall_ns);
    if (used < wall_ns) idle(IdleCause::teardown, wall_ns - used);
    run_.timeline.wall_ns = wall_ns;
    run_.timeline.gpu_begin_ns = run_.idle_ns(IdleCause::startup);
    run_.timeline.gpu_end_ns = wall_ns - run_.idle_ns(IdleCause::teardown);
    if (run_.kernels.empty() && run_.transfers.empty()) run_.timeline.gpu_end_ns = run_.timeline.gpu_begin_ns;
    return run_;
  }

private:
  Run run_;
};

const Finding* find_finding(const Analysis& a, std::string_view id) {
  for (const auto& f : a.verdict.findings)
    if (f.rule_id == id) return &f;
  return nullptr;
}

int count_findings(const Analysis& a, std::string_view id) {
  return static_cast<int>(std::count_if(a.verdict.findings.begin(), a.verdict.findings.end(),
                                        [&](const Finding& f) { return f.rule_id == id; }));
}

const HardwareProfile profile = small_profile();

} // namespace

// ---------------------------------------------------------------------------------------
// The roofline

TEST_CASE("analyse_kernel: a BF16 GEMM on tensor cores is compute-bound") {
  // 10 launches of 6.4e11 FLOPs in 10 ms: 6.4e12 FLOPs take 8 ms at 800 TFLOP/s → 80%.
  const auto k = measured(group("gemm", 10, 10'000'000), flops(Precision::bf16, Pipe::tensor, 6.4e11), 1e8, 5e7, 4e8);
  const auto a = analyse_kernel(k, &profile, Ceilings::datasheet, 132);
  CHECK(a.has_counters);
  CHECK(a.bound == BoundClass::compute);
  CHECK(a.precision == Precision::bf16);
  CHECK(a.pipe == Pipe::tensor);
  CHECK(a.flops == doctest::Approx(6.4e12));
  CHECK(a.dram_bytes == doctest::Approx(1.5e9));
  CHECK(a.l2_bytes == doctest::Approx(4e9));
  REQUIRE(a.intensity);
  CHECK(*a.intensity == doctest::Approx(6.4e12 / 1.5e9));
  CHECK(a.achieved_flops_per_s == doctest::Approx(6.4e14));
  CHECK(a.achieved_dram_bytes_per_s == doctest::Approx(1.5e11));
  REQUIRE(a.compute_roof_fraction);
  CHECK(*a.compute_roof_fraction == doctest::Approx(0.8));
  REQUIRE(a.dram_roof_fraction);
  CHECK(*a.dram_roof_fraction == doctest::Approx(0.075)); // 1.5e9 B / 2e12 B/s = 0.75 ms of 10 ms
  REQUIRE(a.l2_roof_fraction);
  CHECK(*a.l2_roof_fraction == doctest::Approx(0.05)); // 4e9 B / 8e12 B/s = 0.5 ms of 10 ms
  CHECK(a.roof_fraction == doctest::Approx(0.8));
  CHECK_FALSE(a.grid_below_sm_count);
}

TEST_CASE("analyse_kernel: a copy kernel is memory-bound") {
  // 20 launches moving 1.6e9 B each in 20 ms: 3.2e10 B take 16 ms at 2 TB/s → 80%.
  const auto k = measured(group("copy", 20, 20'000'000), flops(Precision::fp32, Pipe::cuda_core, 1e8), 8e8, 8e8);
  const auto a = analyse_kernel(k, &profile, Ceilings::datasheet, 132);
  CHECK(a.bound == BoundClass::memory);
  REQUIRE(a.dram_roof_fraction);
  CHECK(*a.dram_roof_fraction == doctest::Approx(0.8));
  REQUIRE(a.compute_roof_fraction);
  CHECK(*a.compute_roof_fraction == doctest::Approx(0.002)); // 2e9 FLOPs at 50 TFLOP/s = 40 µs of 20 ms
  CHECK(a.roof_fraction == doctest::Approx(0.8));
  CHECK(a.achieved_dram_bytes_per_s == doctest::Approx(1.6e12));
  CHECK(*a.intensity == doctest::Approx(2e9 / 3.2e10));
}

TEST_CASE("analyse_kernel: a tiny kernel far from both roofs is latency-bound") {
  const auto k =
      measured(group("tiny", 1000, 3'000'000, {1, 1, 1}), flops(Precision::fp32, Pipe::cuda_core, 1e3), 512, 512);
  const auto a = analyse_kernel(k, &profile, Ceilings::datasheet, 132);
  CHECK(a.bound == BoundClass::latency);
  // 1.024e6 B at 2 TB/s = 0.512 µs of 3 ms.
  CHECK(a.roof_fraction == doctest::Approx(1.024e6 / 2e12 / 3e-3));
  CHECK(a.grid_below_sm_count);
}

TEST_CASE("analyse_kernel: the latency threshold is the classification limit") {
  // Exactly at 25% of the DRAM roof: memory-bound; just below: latency-bound.
  const auto at = measured(group("k", 1, 1'000'000), FlopCounts{}, 5e8, 0);
  CHECK(analyse_kernel(at, &profile, Ceilings::datasheet, 0).bound == BoundClass::memory);
  const auto below = measured(group("k", 1, 1'000'000), FlopCounts{}, 4.99e8, 0);
  CHECK(analyse_kernel(below, &profile, Ceilings::datasheet, 0).bound == BoundClass::latency);
  ClassifyLimits strict;
  strict.latency_roof_fraction = 0.3;
  CHECK(analyse_kernel(at, &profile, Ceilings::datasheet, 0, strict).bound == BoundClass::latency);
}

TEST_CASE("analyse_kernel: mixed precisions add their time floors") {
  FlopCounts f;
  f.set(Precision::bf16, Pipe::tensor, 4e11);    // 0.5 ms at 800 TFLOP/s
  f.set(Precision::fp32, Pipe::cuda_core, 1e10); // 0.2 ms at 50 TFLOP/s
  const auto k = measured(group("mixed", 1, 1'000'000), f, 1e6, 1e6);
  const auto a = analyse_kernel(k, &profile, Ceilings::datasheet, 132);
  REQUIRE(a.compute_roof_fraction);
  CHECK(*a.compute_roof_fraction == doctest::Approx(0.7));
  CHECK(a.bound == BoundClass::compute);
  CHECK(a.precision == Precision::bf16); // the precision that did most of the FLOPs
  CHECK(a.flops == doctest::Approx(4.1e11));
}

TEST_CASE("analyse_kernel: a precision the profile lacks leaves the compute fraction empty") {
  FlopCounts f;
  f.set(Precision::fp8, Pipe::tensor, 1e12);
  f.set(Precision::fp32, Pipe::cuda_core, 1e9);
  const auto k = measured(group("fp8", 1, 1'000'000), f, 1e9, 1e9);
  const auto a = analyse_kernel(k, &profile, Ceilings::datasheet, 132);
  CHECK_FALSE(a.compute_roof_fraction);
  REQUIRE(a.dram_roof_fraction);
  CHECK(*a.dram_roof_fraction == doctest::Approx(1.0));
  CHECK(a.bound == BoundClass::memory);
  CHECK(a.precision == Precision::fp8);
}

TEST_CASE("analyse_kernel: without a profile or counters the class is unknown") {
  const auto k = measured(group("gemm", 10, 10'000'000), flops(Precision::bf16, Pipe::tensor, 6.4e11), 1e8, 5e7);
  const auto no_profile = analyse_kernel(k, nullptr, Ceilings::datasheet, 132);
  CHECK(no_profile.bound == BoundClass::unknown);
  CHECK(no_profile.has_counters);
  CHECK(no_profile.achieved_flops_per_s == doctest::Approx(6.4e14));
  CHECK_FALSE(no_profile.compute_roof_fraction);
  CHECK_FALSE(no_profile.dram_roof_fraction);
  CHECK(no_profile.roof_fraction == 0);

  const auto no_counters = analyse_kernel(group("k", 10, 1000), &profile, Ceilings::datasheet, 132);
  CHECK_FALSE(no_counters.has_counters);
  CHECK(no_counters.bound == BoundClass::unknown);
  CHECK(no_counters.flops == 0);
}

TEST_CASE("analyse_kernel: measured ceilings replace the datasheet's when asked") {
  HardwareProfile p = profile;
  p.dram_bytes_per_s->measured = 1.6e12;
  const auto k = measured(group("copy", 20, 20'000'000), FlopCounts{}, 8e8, 8e8);
  CHECK(*analyse_kernel(k, &p, Ceilings::datasheet, 0).dram_roof_fraction == doctest::Approx(0.8));
  CHECK(*analyse_kernel(k, &p, Ceilings::measured, 0).dram_roof_fraction == doctest::Approx(1.0));
  CHECK(p.has_measured());
  CHECK_FALSE(profile.has_measured());
}

TEST_CASE("analyse_kernel: grid below the SM count") {
  CHECK(analyse_kernel(group("k", 1, 10, {100, 1, 1}), &profile, Ceilings::datasheet, 132).grid_below_sm_count);
  CHECK_FALSE(analyse_kernel(group("k", 1, 10, {66, 2, 1}), &profile, Ceilings::datasheet, 132).grid_below_sm_count);
  CHECK_FALSE(analyse_kernel(group("k", 1, 10, {1, 1, 1}), &profile, Ceilings::datasheet, 0).grid_below_sm_count);
}

// ---------------------------------------------------------------------------------------
// The attribution

TEST_CASE("attribution: the part of each kernel class, transfer kind and idle cause") {
  CHECK(kernel_part(BoundClass::compute) == Part::compute);
  CHECK(kernel_part(BoundClass::memory) == Part::memory);
  CHECK(kernel_part(BoundClass::latency) == Part::latency);
  CHECK(kernel_part(BoundClass::unknown) == Part::unclassified);

  CHECK(transfer_part(TransferKind::device_to_device) == Part::memory);
  CHECK(transfer_part(TransferKind::memset) == Part::memory);
  for (auto k : {TransferKind::host_to_device, TransferKind::device_to_host, TransferKind::host_to_host,
                 TransferKind::peer, TransferKind::unknown})
    CHECK(transfer_part(k) == Part::transfer);

  CHECK(idle_part(IdleCause::startup) == Part::idle_startup);
  CHECK(idle_part(IdleCause::launch) == Part::idle_launch);
  CHECK(idle_part(IdleCause::sync) == Part::idle_sync);
  CHECK(idle_part(IdleCause::copy) == Part::idle_copy);
  CHECK(idle_part(IdleCause::host) == Part::idle_host);
  CHECK(idle_part(IdleCause::teardown) == Part::idle_teardown);

  CHECK(regime_of(Part::compute) == Regime::compute);
  CHECK(regime_of(Part::memory) == Regime::memory);
  CHECK(regime_of(Part::unclassified) == Regime::unknown);
  for (auto p : {Part::latency, Part::transfer, Part::idle_startup, Part::idle_launch, Part::idle_sync, Part::idle_copy,
                 Part::idle_host, Part::idle_teardown})
    CHECK(regime_of(p) == Regime::overhead);

  // The stable report keys.
  CHECK(to_string(Part::idle_launch) == "idle.launch");
  CHECK(to_string(Part::unclassified) == "unclassified");
  CHECK(to_string(Regime::overhead) == "overhead");
  CHECK(to_string(BoundClass::latency) == "latency");
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < part_count; ++i) names.insert(to_string(static_cast<Part>(i)));
  CHECK(names.size() == part_count);
}

TEST_CASE("attribution: process, GPU-active span and range views sum to their wall time") {
  RunMaker m;
  m.kernel(measured(group("gemm", 1, 100), flops(Precision::bf16, Pipe::tensor, 6.4e7), 0, 0))
      .kernel(measured(group("copy", 1, 200), FlopCounts{}, 4e5, 0))
      .kernel(measured(group("tiny", 1, 50), FlopCounts{}, 1, 0))
      .kernel(group("unmeasured", 1, 25))
      .transfer(transfer(TransferKind::host_to_device, MemoryKind::pinned, MemoryKind::device, 1, 10, 30, 30))
      .transfer(transfer(TransferKind::device_to_device, MemoryKind::device, MemoryKind::device, 1, 10, 20, 20))
      .transfer(transfer(TransferKind::memset, MemoryKind::device, MemoryKind::device, 1, 10, 10, 10))
      .idle(IdleCause::startup, 5)
      .idle(IdleCause::launch, 7)
      .idle(IdleCause::sync, 11)
      .idle(IdleCause::copy, 13)
      .idle(IdleCause::host, 17)
      .idle(IdleCause::teardown, 19);
  const Run run = m.done(507);
  const Analysis a = analyse(run, &profile);
  REQUIRE(a.kernels[0].bound == BoundClass::compute);
  REQUIRE(a.kernels[1].bound == BoundClass::memory);
  REQUIRE(a.kernels[2].bound == BoundClass::latency);
  REQUIRE(a.kernels[3].bound == BoundClass::unknown);

  const Attribution& p = a.process;
  CHECK(p.wall_ns == 507);
  CHECK(p.sum() == 507);
  CHECK(p.get(Part::compute) == 100);
  CHECK(p.get(Part::memory) == 230);
  CHECK(p.get(Part::latency) == 50);
  CHECK(p.get(Part::transfer) == 30);
  CHECK(p.get(Part::unclassified) == 25);
  CHECK(p.get(Part::idle_startup) == 5);
  CHECK(p.get(Part::idle_teardown) == 19);
  CHECK(p.regime_ns(Regime::compute) == 100);
  CHECK(p.regime_ns(Regime::memory) == 230);
  CHECK(p.regime_ns(Regime::overhead) == 50 + 30 + 5 + 7 + 11 + 13 + 17 + 19);
  CHECK(p.regime_ns(Regime::unknown) == 25);
  CHECK(p.gpu_busy_ns() == 435);
  CHECK(p.gpu_idle_ns() == 72);
  CHECK(p.fraction(p.get(Part::compute)) == doctest::Approx(100.0 / 507));

  const Attribution& g = a.gpu_active;
  CHECK(g.wall_ns == 507 - 5 - 19);
  CHECK(g.sum() == g.wall_ns);
  CHECK(g.get(Part::idle_startup) == 0);
  CHECK(g.get(Part::idle_teardown) == 0);
  CHECK(g.get(Part::idle_host) == 17);

  RangeSummary r;
  r.name = "step";
  r.instances = 1;
  r.kernel_ns = {{0, 10}, {3, 4}};
  r.transfer_ns = {{1, 6}, {0, 2}};
  r.idle_ns[static_cast<std::size_t>(IdleCause::launch)] = 3;
  r.total_ns = 25;
  const Attribution ra = attribute_range(run, r, a.kernels);
  CHECK(ra.wall_ns == 25);
  CHECK(ra.sum() == 25);
  CHECK(ra.get(Part::compute) == 10);
  CHECK(ra.get(Part::unclassified) == 4);
  CHECK(ra.get(Part::memory) == 6);
  CHECK(ra.get(Part::transfer) == 2);
  CHECK(ra.get(Part::idle_launch) == 3);
}

// ---------------------------------------------------------------------------------------
// The rules

TEST_CASE("rules: the table has every documented rule, each with a formula") {
  const std::vector<std::string_view> expected{"overhead.launch-bound",
                                               "overhead.sync",
                                               "overhead.host-work",
                                               "transfer.pageable",
                                               "transfer.not-overlapped",
                                               "memory.fusion",
                                               "compute.tensor-cores",
                                               "latency.small-kernels",
                                               "roof.compute",
                                               "roof.memory"};
  std::vector<std::string_view> ids;
  for (const auto& r : rules()) {
    ids.push_back(r.id);
    CHECK_FALSE(r.title.empty());
    CHECK_FALSE(r.saving_formula.empty());
    CHECK(static_cast<bool>(r.evaluate));
  }
  CHECK(ids == expected);
  CHECK(severity_for(0.2) == Severity::high);
  CHECK(severity_for(0.19) == Severity::medium);
  CHECK(severity_for(0.05) == Severity::medium);
  CHECK(severity_for(0.049) == Severity::low);
}

TEST_CASE("rule overhead.launch-bound: saving = idle time in launch gaps") {
  SUBCASE("fires") {
    const Run run =
        RunMaker().kernel(group("tiny", 100, 100'000)).idle(IdleCause::launch, 300'000, 99, 3000).done(1'000'000);
    const Analysis a = analyse(run, &profile);
    const Finding* f = find_finding(a, "overhead.launch-bound");
    REQUIRE(f);
    CHECK(f->saving_ns == 300'000);
    CHECK(f->saving_fraction == doctest::Approx(0.3));
    CHECK(f->severity == Severity::high);
    CHECK(evidence(f->evidence, "gaps") == 99.0);
    CHECK(evidence(f->evidence, "idle_ns") == 300'000.0);
    CHECK(evidence(f->evidence, "median_gap_ns") == 3000.0);
    CHECK(evidence(f->evidence, "kernel_launches") == 100.0);
    CHECK(evidence(f->evidence, "mean_kernel_ns") == 1000.0);
    CHECK(f->message.find("99 short gaps") != std::string::npos);
  }
  SUBCASE("the limit is 1% of the wall time") {
    const Run at = RunMaker().kernel(group("tiny", 10, 10'000)).idle(IdleCause::launch, 10'000, 9).done(1'000'000);
    CHECK(find_finding(analyse(at, &profile), "overhead.launch-bound"));
    const Run below = RunMaker().kernel(group("tiny", 10, 10'000)).idle(IdleCause::launch, 9'999, 9).done(1'000'000);
    CHECK_FALSE(find_finding(analyse(below, &profile), "overhead.launch-bound"));
  }
}

TEST_CASE("rule overhead.sync: saving = idle time after syncs") {
  const Run run = RunMaker().kernel(group("k", 10, 500'000)).idle(IdleCause::sync, 100'000, 10).done(1'000'000);
  const Analysis analysis = analyse(run, &profile);
  const Finding* f = find_finding(analysis, "overhead.sync");
  REQUIRE(f);
  CHECK(f->saving_ns == 100'000);
  CHECK(f->severity == Severity::medium);
  CHECK(evidence(f->evidence, "gaps") == 10.0);

  const Run none = RunMaker().kernel(group("k", 10, 500'000)).idle(IdleCause::launch, 100'000, 10).done(1'000'000);
  CHECK_FALSE(find_finding(analyse(none, &profile), "overhead.sync"));
}

TEST_CASE("rule overhead.host-work: saving = idle time in gaps over 100 µs") {
  const Run run =
      RunMaker().kernel(group("k", 10, 500'000)).idle(IdleCause::host, 50'000, 2, 20'000, 30'000).done(1'000'000);
  const Analysis analysis = analyse(run, &profile);
  const Finding* f = find_finding(analysis, "overhead.host-work");
  REQUIRE(f);
  CHECK(f->saving_ns == 50'000);
  CHECK(f->saving_fraction == doctest::Approx(0.05));
  CHECK(f->severity == Severity::medium);
  CHECK(evidence(f->evidence, "max_gap_ns") == 30'000.0);

  const Run small = RunMaker().kernel(group("k", 10, 500'000)).idle(IdleCause::host, 9'000, 1).done(1'000'000);
  CHECK_FALSE(find_finding(analyse(small, &profile), "overhead.host-work"));
}

TEST_CASE("rule transfer.pageable: saving = min(pageable time − bytes / pinned rate, their wall time + staging idle)") {
  const auto pageable = transfer(TransferKind::host_to_device, MemoryKind::pageable, MemoryKind::device, 10,
                                 1'000'000'000, 100'000'000, 100'000'000); // 10 GB/s
  const auto pinned = transfer(TransferKind::host_to_device, MemoryKind::pinned, MemoryKind::device, 10, 1'000'000'000,
                               40'000'000, 40'000'000); // 25 GB/s
  SUBCASE("against the pinned copies of the same run") {
    const Run run = RunMaker().transfer(pageable).transfer(pinned).done(1'000'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "transfer.pageable");
    REQUIRE(f);
    // 1e9 B at 25 GB/s = 40 ms instead of 100 ms.
    CHECK(f->saving_ns == 60'000'000);
    CHECK(evidence(f->evidence, "pinned_bytes_per_s") == doctest::Approx(25e9));
    CHECK(evidence(f->evidence, "pageable_bytes_per_s") == doctest::Approx(10e9));
    CHECK(evidence(f->evidence, "pageable_bytes") == 1e9);
  }
  SUBCASE("against the profile's host link when the run has no pinned copies") {
    const Run run = RunMaker().transfer(pageable).done(1'000'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "transfer.pageable");
    REQUIRE(f);
    CHECK(f->saving_ns == 80'000'000); // 1e9 B at 50 GB/s = 20 ms
    CHECK_FALSE(find_finding(analyse(run, nullptr), "transfer.pageable"));
  }
  SUBCASE("capped by the copies' share of the wall time and the staging idle time") {
    auto overlapped = pageable;
    overlapped.attributed_ns = 10'000'000;
    const Run run =
        RunMaker().transfer(overlapped).transfer(pinned).idle(IdleCause::copy, 20'000'000, 10).done(1'000'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "transfer.pageable");
    REQUIRE(f);
    CHECK(f->saving_ns == 30'000'000);
  }
  SUBCASE("does not fire when pageable copies are as fast as pinned ones") {
    auto fast = pageable;
    fast.total_ns = 40'000'000;
    fast.attributed_ns = 40'000'000;
    const Run run = RunMaker().transfer(fast).transfer(pinned).done(1'000'000'000);
    CHECK_FALSE(find_finding(analyse(run, &profile), "transfer.pageable"));
  }
}

TEST_CASE("rule transfer.not-overlapped: saving = min(time copies ran alone, time kernels ran)") {
  const auto copies = transfer(TransferKind::host_to_device, MemoryKind::pinned, MemoryKind::device, 10, 1'000'000'000,
                               200'000'000, 200'000'000);
  SUBCASE("fires") {
    const Run run = RunMaker().kernel(group("k", 10, 500'000'000)).transfer(copies).done(1'000'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "transfer.not-overlapped");
    REQUIRE(f);
    CHECK(f->saving_ns == 200'000'000);
    CHECK(f->severity == Severity::high);
    CHECK(evidence(f->evidence, "copy_alone_ns") == 2e8);
    CHECK(evidence(f->evidence, "kernel_busy_ns") == 5e8);
    CHECK(evidence(f->evidence, "copies") == 10.0);
    CHECK(evidence(f->evidence, "bytes") == 1e9);
  }
  SUBCASE("capped by the kernel time") {
    const Run run = RunMaker().kernel(group("k", 10, 100'000'000)).transfer(copies).done(1'000'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "transfer.not-overlapped");
    REQUIRE(f);
    CHECK(f->saving_ns == 100'000'000);
  }
  SUBCASE("counts only the time no kernel ran beside the copies") {
    auto partly = copies;
    partly.alone_ns = 50'000'000;
    const Run run = RunMaker().kernel(group("k", 10, 500'000'000)).transfer(partly).done(1'000'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "transfer.not-overlapped");
    REQUIRE(f);
    CHECK(f->saving_ns == 50'000'000);
  }
  SUBCASE("does not fire for copies that already overlap kernels") {
    // A copy running wholly beside a kernel gets half the shared time, none of it alone.
    TraceBuilder b(100'000'000);
    b.kernel("k", 0, 100'000'000, {.stream = 0});
    b.copy(0, 100'000'000, 1'000'000'000, {.stream = 1});
    const Run run = b.build();
    REQUIRE(run.transfers.at(0).attributed_ns == 50'000'000);
    REQUIRE(run.transfers.at(0).alone_ns == 0);
    CHECK_FALSE(find_finding(analyse(run, &profile), "transfer.not-overlapped"));
  }
  SUBCASE("does not fire without kernels to hide behind, nor for device-side copies") {
    const Run alone = RunMaker().transfer(copies).done(1'000'000'000);
    CHECK_FALSE(find_finding(analyse(alone, &profile), "transfer.not-overlapped"));
    const auto d2d = transfer(TransferKind::device_to_device, MemoryKind::device, MemoryKind::device, 10, 1'000'000'000,
                              200'000'000, 200'000'000);
    const Run device = RunMaker().kernel(group("k", 10, 500'000'000)).transfer(d2d).done(1'000'000'000);
    CHECK_FALSE(find_finding(analyse(device, &profile), "transfer.not-overlapped"));
  }
}

namespace {

// Two memory-bound kernels of a cos→cos chain: each reads and writes 256 MiB per launch, 20
// launches of 400 µs (1.34 TB/s, 67% of the DRAM roof).
constexpr double MiB = 1024.0 * 1024.0;
KernelGroup cos_kernel(const std::string& name) {
  return measured(group(name, 20, 8'000'000), flops(Precision::fp32, Pipe::cuda_core, 1e8), 256 * MiB, 256 * MiB);
}

} // namespace

TEST_CASE("rule memory.fusion: one finding for the chain A→B, saving by the chain's bandwidth") {
  SUBCASE("fires once for A→B, not again for B→A") {
    const Run run = RunMaker()
                        .kernel(cos_kernel("cos_a"))
                        .kernel(cos_kernel("cos_b"))
                        .succession(0, 1, 20)
                        .succession(1, 0, 19)
                        .idle(IdleCause::launch, 39'000, 39)
                        .done(20'000'000);
    const Analysis a = analyse(run, &profile);
    REQUIRE(a.kernels[0].bound == BoundClass::memory);
    REQUIRE(a.kernels[1].bound == BoundClass::memory);
    CHECK(count_findings(a, "memory.fusion") == 1);
    const Finding* f = find_finding(a, "memory.fusion");
    REQUIRE(f);
    CHECK(f->kernels == std::vector<uint32_t>{0, 1});
    // Per iteration the chain moves 1024 MiB in 800 µs; fused it would move 1024 − 2×256 =
    // 512 MiB at the same rate: 400 µs. Twenty iterations save 8 ms.
    const double rate = 1024 * MiB / 800'000; // bytes per ns
    CHECK(evidence(f->evidence, "predicted_fused_ns_per_iteration") == doctest::Approx((1024 - 512) * MiB / rate));
    CHECK(evidence(f->evidence, "predicted_fused_ns_per_iteration") == doctest::Approx(400'000));
    CHECK(evidence(f->evidence, "chain_ns_per_iteration") == doctest::Approx(800'000));
    CHECK(evidence(f->evidence, "bytes_per_iteration") == doctest::Approx(1024 * MiB));
    CHECK(evidence(f->evidence, "intermediate_bytes_per_iteration") == doctest::Approx(256 * MiB));
    CHECK(evidence(f->evidence, "iterations") == 20.0);
    CHECK(evidence(f->evidence, "chain_kernels") == 2.0);
    CHECK(evidence(f->evidence, "achieved_bytes_per_s") == doctest::Approx(rate * 1e9));
    CHECK(static_cast<double>(f->saving_ns) == doctest::Approx(8'000'000).epsilon(1e-6));
    CHECK(f->saving_fraction == doctest::Approx(0.4));
    CHECK(f->message.find("cos_a → cos_b") != std::string::npos);
  }
  SUBCASE("no finding when one of them is compute-bound") {
    // 2e10 FLOPs per launch at 50 TFLOP/s take the whole 400 µs: 100% of the compute roof.
    const auto compute =
        measured(group("cos_b", 20, 8'000'000), flops(Precision::fp32, Pipe::cuda_core, 2e10), 256 * MiB, 256 * MiB);
    const Run run = RunMaker()
                        .kernel(cos_kernel("cos_a"))
                        .kernel(compute)
                        .succession(0, 1, 20)
                        .succession(1, 0, 19)
                        .done(20'000'000);
    const Analysis a = analyse(run, &profile);
    REQUIRE(a.kernels[1].bound == BoundClass::compute);
    CHECK(count_findings(a, "memory.fusion") == 0);
  }
  SUBCASE("no finding when the link follows under half of the first kernel's launches") {
    const Run run =
        RunMaker().kernel(cos_kernel("cos_a")).kernel(cos_kernel("cos_b")).succession(0, 1, 9).done(20'000'000);
    CHECK(count_findings(analyse(run, &profile), "memory.fusion") == 0);
  }
}

TEST_CASE("rule compute.tensor-cores: saving = time × (1 − max(FLOPs / TF32 peak, bytes / DRAM) / time)") {
  // 4e10 FP32 FLOPs in 1 ms (80% of 50 TFLOP/s) with 400 FLOPs per DRAM byte. At TF32 they
  // would take 0.1 ms (the bytes 0.05 ms): 90% of the kernel's time saved.
  const auto sgemm = measured(group("sgemm", 1, 1'000'000), flops(Precision::fp32, Pipe::cuda_core, 4e10), 1e8, 0);
  SUBCASE("fires") {
    const Run run = RunMaker().kernel(sgemm).done(2'000'000);
    const Analysis a = analyse(run, &profile);
    REQUIRE(a.kernels[0].bound == BoundClass::compute);
    const Finding* f = find_finding(a, "compute.tensor-cores");
    REQUIRE(f);
    CHECK(static_cast<double>(f->saving_ns) == doctest::Approx(900'000).epsilon(1e-6));
    CHECK(f->kernels == std::vector<uint32_t>{0});
    CHECK(evidence(f->evidence, "arithmetic_intensity") == doctest::Approx(400));
    CHECK(evidence(f->evidence, "tf32_peak_flops_per_s") == 400e12);
  }
  SUBCASE("does not fire for elementwise-like intensity, without a TF32 roof, or for BF16 work") {
    const auto streaming =
        measured(group("saxpy", 1, 1'000'000), flops(Precision::fp32, Pipe::cuda_core, 4e10), 1.25e9, 0);
    const Run low = RunMaker().kernel(streaming).done(2'000'000);
    const Analysis a = analyse(low, &profile);
    REQUIRE(a.kernels[0].bound == BoundClass::compute);
    REQUIRE(*a.kernels[0].intensity == doctest::Approx(32));
    CHECK_FALSE(find_finding(a, "compute.tensor-cores"));

    HardwareProfile no_tf32 = profile;
    no_tf32.peak_flops_per_s.erase({Precision::tf32, Pipe::tensor});
    CHECK_FALSE(find_finding(analyse(RunMaker().kernel(sgemm).done(2'000'000), &no_tf32), "compute.tensor-cores"));

    const auto bf16 = measured(group("hgemm", 1, 1'000'000), flops(Precision::bf16, Pipe::tensor, 6.4e11), 1e8, 0);
    CHECK_FALSE(find_finding(analyse(RunMaker().kernel(bf16).done(2'000'000), &profile), "compute.tensor-cores"));
  }
}

TEST_CASE("rule latency.small-kernels: saving = Σ kernel time × (1 − fraction of roof reached)") {
  const auto tiny =
      measured(group("tiny", 1000, 3'000'000, {1, 1, 1}), flops(Precision::fp32, Pipe::cuda_core, 1e3), 512, 512);
  SUBCASE("fires") {
    const Run run = RunMaker().kernel(tiny).idle(IdleCause::launch, 4'000'000, 999).done(10'000'000);
    const Analysis a = analyse(run, &profile);
    REQUIRE(a.kernels[0].bound == BoundClass::latency);
    const Finding* f = find_finding(a, "latency.small-kernels");
    REQUIRE(f);
    const double roof = 1.024e6 / 2e12 / 3e-3;
    CHECK(static_cast<double>(f->saving_ns) == doctest::Approx(3e6 * (1 - roof)).epsilon(1e-6));
    CHECK(evidence(f->evidence, "launches") == 1000.0);
    CHECK(evidence(f->evidence, "small_grid_launches") == 1000.0);
    CHECK(evidence(f->evidence, "sm_count") == 132.0);
    CHECK(f->kernels == std::vector<uint32_t>{0});
  }
  SUBCASE("does not fire for a negligible share") {
    auto small = tiny;
    small.total_ns = small.attributed_ns = 50'000;
    const Run run = RunMaker().kernel(small).done(10'000'000);
    CHECK_FALSE(find_finding(analyse(run, &profile), "latency.small-kernels"));
  }
}

TEST_CASE("rule roof.compute: saving = kernel time × (1 − fraction of roof reached)") {
  const auto gemm = measured(group("gemm", 10, 10'000'000), flops(Precision::bf16, Pipe::tensor, 6.4e11), 1e8, 5e7);
  SUBCASE("fires at 80% of the roof") {
    const Run run = RunMaker().kernel(gemm).done(12'000'000);
    const Analysis analysis = analyse(run, &profile);
    const Finding* f = find_finding(analysis, "roof.compute");
    REQUIRE(f);
    // 10 ms at 80% of the bf16 roof: 10 ms × (1 − 0.8) = 2 ms of headroom.
    CHECK(static_cast<double>(f->saving_ns) == doctest::Approx(2'000'000).epsilon(1e-6));
    CHECK(evidence(f->evidence, "roof_fraction") == doctest::Approx(0.8));
    CHECK(f->kernels == std::vector<uint32_t>{0});
    CHECK_FALSE(find_finding(analyse(run, &profile), "roof.memory"));
  }
  SUBCASE("does not fire below 70% of the roof, nor for a kernel under 5% of the run") {
    const auto slower = measured(group("gemm", 10, 10'000'000), flops(Precision::bf16, Pipe::tensor, 4.8e11), 1e8, 5e7);
    CHECK_FALSE(find_finding(analyse(RunMaker().kernel(slower).done(12'000'000), &profile), "roof.compute"));
    CHECK_FALSE(find_finding(analyse(RunMaker().kernel(gemm).done(250'000'000), &profile), "roof.compute"));
  }
}

TEST_CASE("rule roof.memory: saving = kernel time × (1 − fraction of roof reached)") {
  const auto copy = measured(group("copy", 20, 20'000'000), FlopCounts{}, 8e8, 8e8);
  const Run run = RunMaker().kernel(copy).done(40'000'000);
  const Analysis analysis = analyse(run, &profile);
  const Finding* f = find_finding(analysis, "roof.memory");
  REQUIRE(f);
  // 3.2e10 B in 20 ms is 80% of 2 TB/s: 20 ms × (1 − 0.8) = 4 ms, 10% of the 40 ms run.
  CHECK(static_cast<double>(f->saving_ns) == doctest::Approx(4'000'000).epsilon(1e-6));
  CHECK(f->saving_fraction == doctest::Approx(0.1));
  CHECK_FALSE(find_finding(analyse(run, &profile), "roof.compute"));
  CHECK_FALSE(find_finding(analyse(RunMaker().kernel(copy).done(500'000'000), &profile), "roof.memory"));
}

// ---------------------------------------------------------------------------------------
// The verdict

TEST_CASE("verdict: an overhead-dominated run") {
  auto tiny = group("tiny", 100, 100'000);
  tiny.counters_missing_reason = "counters were off for this run";
  const Run run = RunMaker().kernel(tiny).idle(IdleCause::launch, 300'000, 99, 3000).done(1'000'000);
  const Analysis a = analyse(run, &profile);
  const Verdict& v = a.verdict;
  CHECK(v.regime == Regime::overhead);
  CHECK(v.regime_fraction == doctest::Approx(0.75));
  CHECK(v.headline ==
        "75% of the GPU-active time is overhead: the GPU sat idle between 100 kernels averaging 1.00 µs.");
  CHECK(v.will_not_help.size() == 2);
  REQUIRE_FALSE(v.findings.empty());
  CHECK(v.findings[0].rule_id == "overhead.launch-bound");
  CHECK(
      std::find(v.notes.begin(), v.notes.end(),
                "In the 300 µs the GPU sat idle it could have done 240 GFLOP at its bf16 tensor peak (800 TFLOP/s).") !=
      v.notes.end());
  bool unclassified_note = false;
  for (const auto& n : v.notes)
    unclassified_note |= n.find("without hardware counters (counters were off for this run)") != std::string::npos;
  CHECK(unclassified_note);
}

TEST_CASE("verdict: the sync headline counts the sync gaps") {
  const Run run = RunMaker()
                      .kernel(group("tiny", 10, 100'000))
                      .idle(IdleCause::launch, 1'000, 2)
                      .idle(IdleCause::host, 2'000, 1)
                      .idle(IdleCause::sync, 300'000, 10)
                      .done(1'000'000);
  const Analysis a = analyse(run, &profile);
  CHECK(a.verdict.regime == Regime::overhead);
  CHECK(a.verdict.headline.find("after the host synchronized with it (idle 300 µs in 10 gaps)") != std::string::npos);
}

TEST_CASE("verdict: a memory-dominated run") {
  const auto copy = measured(group("copy", 20, 20'000'000), FlopCounts{}, 8e8, 8e8);
  const Run run = RunMaker().kernel(copy).idle(IdleCause::launch, 1'000'000, 19).done(21'000'000);
  const Analysis a = analyse(run, &profile);
  CHECK(a.verdict.regime == Regime::memory);
  CHECK(a.verdict.regime_fraction == doctest::Approx(20.0 / 21));
  CHECK(a.verdict.headline ==
        "95% of the GPU-active time is memory-bound: the largest, copy, moves data at 1.60 TB/s (80% of the memory "
        "roof).");
  REQUIRE(a.verdict.will_not_help.size() == 1);
  CHECK(a.verdict.will_not_help[0].find("More FLOP/s") == 0);
}

TEST_CASE("verdict: a compute-dominated run") {
  const auto gemm = measured(group("gemm", 10, 10'000'000), flops(Precision::bf16, Pipe::tensor, 6.4e11), 1e8, 5e7);
  const Run run = RunMaker().kernel(gemm).idle(IdleCause::launch, 100'000, 9).done(12'000'000);
  const Analysis a = analyse(run, &profile);
  CHECK(a.verdict.regime == Regime::compute);
  CHECK(a.verdict.headline ==
        "99% of the GPU-active time is compute-bound: the largest, gemm, reaches 640 TFLOP/s in bf16 (80% of peak).");
  CHECK(a.verdict.will_not_help.size() == 2);
  CHECK(a.verdict.will_not_help[0].find("Fewer launches or CUDA graphs: the GPU is idle 1.0% of the time") == 0);
}

TEST_CASE("verdict: findings are ranked by saving, largest first") {
  const auto gemm = measured(group("gemm", 10, 10'000'000), flops(Precision::bf16, Pipe::tensor, 6.4e11), 1e8, 5e7);
  const Run run = RunMaker()
                      .kernel(gemm)
                      .idle(IdleCause::launch, 1'000'000, 100)
                      .idle(IdleCause::sync, 3'000'000, 10)
                      .idle(IdleCause::host, 500'000, 2)
                      .done(20'000'000);
  const Analysis a = analyse(run, &profile);
  std::vector<std::string> ids;
  for (const auto& f : a.verdict.findings) ids.push_back(f.rule_id);
  CHECK(ids ==
        std::vector<std::string>{"overhead.sync", "roof.compute", "overhead.launch-bound", "overhead.host-work"});
  for (std::size_t i = 1; i < a.verdict.findings.size(); ++i)
    CHECK(a.verdict.findings[i - 1].saving_ns >= a.verdict.findings[i].saving_ns);
}

TEST_CASE("verdict: a run with no GPU activity") {
  SUBCASE("CUDA never initialised") {
    Run run = RunMaker().done(5'000'000);
    run.info.complete = false;
    run.info.incomplete_reasons = {"the target was killed by signal 9 (SIGKILL)"};
    const Analysis a = analyse(run, &profile);
    CHECK(a.verdict.regime == Regime::unknown);
    CHECK(a.verdict.headline.find("No CUDA activity was recorded") == 0);
    CHECK(a.verdict.findings.empty());
    CHECK(a.verdict.will_not_help.empty());
    CHECK(a.verdict.notes == std::vector<std::string>{"Incomplete: the target was killed by signal 9 (SIGKILL)."});
    CHECK(a.process.sum() == 5'000'000);
    CHECK(a.gpu_active.wall_ns == 0);
  }
  SUBCASE("CUDA initialised, nothing ran") {
    Run run = RunMaker().done(5'000'000);
    run.processes.push_back({});
    const Analysis a = analyse(run, nullptr);
    CHECK(a.verdict.headline == "The program initialised CUDA but ran no kernel, copy or set on the GPU.");
    CHECK(a.verdict.findings.empty());
  }
}

TEST_CASE("verdict: notes on startup, tool time and a missing profile") {
  Run run = RunMaker().kernel(group("k", 10, 1'000'000)).idle(IdleCause::startup, 3'000'000).done(5'000'000);
  run.collection.tool_ns = 7'000;
  const Analysis a = analyse(run, nullptr);
  CHECK_FALSE(a.has_profile);
  auto has_note = [&](std::string_view start) {
    return std::any_of(a.verdict.notes.begin(), a.verdict.notes.end(),
                       [&](const std::string& n) { return n.rfind(start, 0) == 0; });
  };
  CHECK(has_note("60% of the 5.00 ms run (3.00 ms) passed before the GPU's first work"));
  CHECK(has_note("brrr held the program up for 7.00 µs"));
  CHECK(has_note("No hardware profile"));
  CHECK(a.verdict.regime == Regime::unknown);
  CHECK(a.verdict.headline.find("kernels without counters") != std::string::npos);
}
