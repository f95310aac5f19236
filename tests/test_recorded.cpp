// The reports recorded by brrr profile on an H100 (examples/reports/*-h100.json) as fixtures:
// they read, their parts sum to their wall time, the analysis draws the conclusions the
// programs call for, from the measurements alone, every rule fires where the recorded program
// has its problem and nowhere else, with its saving worked out by hand from the report's own
// figures, and the eager-vs-compiled PyTorch pairs change the verdict the way the programs
// changed.

#include "trace_builder.hpp"

#include "analyse/analysis.hpp"
#include "analyse/rules.hpp"
#include "render/render.hpp"
#include "report/report.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

using namespace brrr;
using brrr::testing::evidence;
using brrr::testing::find_idle;
using brrr::testing::find_range;

namespace {

std::filesystem::path reports_dir() { return std::filesystem::path(BRRR_SOURCE_DIR) / "examples" / "reports"; }

Report analysed(const std::string& name) {
  Report r = read_report(reports_dir() / name);
  r.analysis = analyse(r.run, r.profile ? &*r.profile : nullptr);
  return r;
}

uint32_t kernel_index(const Run& run, const std::string& function) {
  for (uint32_t i = 0; i < run.kernels.size(); ++i)
    if (run.kernels[i].name.find("::" + function + "(") != std::string::npos) return i;
  FAIL("no kernel " << function);
  return 0;
}

// The attribution of a range of a recorded report, by name.
const Attribution& range_attribution(const Report& r, const std::string& name) {
  for (std::size_t i = 0; i < r.run.ranges.size(); ++i)
    if (r.run.ranges[i].name == name) return r.analysis.ranges.at(i);
  FAIL("no range " << name);
  return r.analysis.process;
}

double regime_share(const Report& r, const std::string& range, Regime regime) {
  const Attribution& a = range_attribution(r, range);
  return a.fraction(a.regime_ns(regime));
}

// The time a range spent in kernels, whatever their class.
uint64_t kernel_ns(const RangeSummary& range) {
  uint64_t sum = 0;
  for (const auto& [index, ns] : range.kernel_ns) sum += ns;
  return sum;
}

// An NVTX range of a recorded run as a run of its own, analysed again, so that the rules can
// be tested where the program has each problem: the demo puts one in each phase, but its
// whole run (2.60 s) is mostly startup and warm-up, so that a 13.6 ms GEMM is 0.5% of it.
// The derivation keeps what the report holds per range and nothing else:
// - the wall time is the range's time, all of it GPU-active;
// - the kernel and transfer groups are those that ran in the range, each taking the time the
//   range attributes to it; their per-launch figures (durations, counters, launches) stay the
//   whole run's, since the report does not split them by range;
// - a transfer ran alone for at most its time in the range (in the demo every copy ran alone);
// - each idle cause takes the range's idle time; gap counts, medians and maxima are not kept
//   per range, so they are 0 here;
// - successions between the kept groups keep their whole-run counts.
Report range_as_run(const Report& r, const std::string& name) {
  const RangeSummary* range = find_range(r.run, name);
  REQUIRE_MESSAGE(range != nullptr, "no range " << name);
  Report out;
  out.profile = r.profile;
  Run& run = out.run;
  run.info = r.run.info;
  run.gpus = r.run.gpus;
  run.processes = r.run.processes;
  run.collection = r.run.collection;
  run.collection.tool_ns = 0;
  std::map<uint32_t, uint32_t> kept;
  for (const auto& [index, ns] : range->kernel_ns) {
    kept[index] = static_cast<uint32_t>(run.kernels.size());
    run.kernels.push_back(r.run.kernels.at(index));
    run.kernels.back().attributed_ns = ns;
  }
  for (const auto& [index, ns] : range->transfer_ns) {
    run.transfers.push_back(r.run.transfers.at(index));
    run.transfers.back().attributed_ns = ns;
    run.transfers.back().alone_ns = std::min(r.run.transfers.at(index).alone_ns, ns);
  }
  for (std::size_t c = 0; c < all_idle_causes.size(); ++c)
    if (range->idle_ns[c] > 0) {
      IdleSummary s;
      s.cause = all_idle_causes[c];
      s.total_ns = range->idle_ns[c];
      run.idle.push_back(s);
    }
  for (const auto& s : r.run.successions)
    if (kept.count(s.from) && kept.count(s.to))
      run.successions.push_back({kept[s.from], kept[s.to], s.count, s.linked});
  run.timeline = {range->total_ns, 0, range->total_ns};
  out.analysis = analyse(out.run, out.profile ? &*out.profile : nullptr);
  REQUIRE(out.analysis.process.sum() == range->total_ns);
  return out;
}

// The dataflow evidence the collector records since session 2 (docs/counters.md), given to a
// recording made before it: every succession of `kernel` to itself passed data along. The GPU
// test of the demo checks that a fresh recording has these links (tests/gpu/test_profile_gpu.cpp).
void link_to_itself(Report& r, uint32_t kernel) {
  r.run.collection.dataflow = true;
  for (auto& s : r.run.successions) s.linked = s.from == kernel && s.to == kernel ? s.count : 0;
  r.analysis = analyse(r.run, r.profile ? &*r.profile : nullptr);
}

// The findings of the verdict from one rule.
std::vector<const Finding*> findings(const Report& r, std::string_view id) {
  std::vector<const Finding*> out;
  for (const auto& f : r.analysis.verdict.findings)
    if (f.rule_id == id) out.push_back(&f);
  return out;
}

// The one finding of a rule in the verdict.
const Finding& the_finding(const Report& r, std::string_view id) {
  const auto f = findings(r, id);
  REQUIRE(f.size() == 1);
  return *f.front();
}

// What a rule computes without the 1% reporting threshold, so that a test can tell a rule whose
// condition does not hold from one whose saving is too small to report.
std::vector<Finding> unthresholded(const Report& r, std::string_view id) {
  RuleLimits limits;
  limits.min_saving_fraction = 0;
  std::vector<Finding> out;
  for (auto& f : evaluate_rules({r.run,
                                 r.profile ? &*r.profile : nullptr,
                                 Ceilings::datasheet,
                                 r.analysis.kernels,
                                 r.analysis.process,
                                 limits,
                                 {}}))
    if (f.rule_id == id) out.push_back(std::move(f));
  return out;
}

// A rule that computes a saving on a report, but under the reporting threshold: the verdict
// does not list it.
void check_under_threshold(const Report& r, std::string_view id, uint64_t saving_ns) {
  CHECK(findings(r, id).empty());
  const auto all = unthresholded(r, id);
  REQUIRE(all.size() == 1);
  CHECK(all[0].saving_ns == saving_ns);
  CHECK(all[0].saving_fraction < RuleLimits{}.min_saving_fraction);
}

// A roof.* rule that names one kernel, at roof_fraction of its roof, with its saving.
void check_at_roof(const Report& r, std::string_view id, double roof_fraction, double saving_ns) {
  const Finding& f = the_finding(r, id);
  CHECK(f.kernels.size() == 1);
  CHECK(evidence(f.evidence, "roof_fraction") == doctest::Approx(roof_fraction).epsilon(1e-6));
  CHECK(static_cast<double>(f.saving_ns) == doctest::Approx(saving_ns).epsilon(1e-6));
}

bool has_note(const Report& r, const std::string& note) {
  const auto& notes = r.analysis.verdict.notes;
  return std::find(notes.begin(), notes.end(), note) != notes.end();
}

} // namespace

TEST_CASE("recorded: every H100 report reads, sums to its wall time and renders within 100 columns") {
  int reports = 0;
  for (const auto& entry : std::filesystem::directory_iterator(reports_dir())) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().filename().string());
    const Report r = analysed(entry.path().filename().string());
    ++reports;
    CHECK(r.run.gpus.at(0).name == "NVIDIA H100 80GB HBM3");
    CHECK(r.analysis.process.sum() == r.run.timeline.wall_ns);
    CHECK(r.analysis.gpu_active.sum() == r.run.timeline.gpu_end_ns - r.run.timeline.gpu_begin_ns);
    for (std::size_t i = 0; i < r.run.ranges.size(); ++i) CHECK(r.analysis.ranges[i].sum() == r.run.ranges[i].total_ns);
    std::istringstream text(render_text(r, {}));
    for (std::string line; std::getline(text, line);) {
      const auto columns = std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; });
      CHECK(columns <= 100);
    }
  }
  CHECK(reports >= 6);
}

TEST_CASE("recorded: the demo's phases are classified from their measurements") {
  const Report r = analysed("demo-h100.json");
  CHECK(r.run.collection.counters_available);
  // Thousands of tiny kernels, launch+sync pairs and host-device copies: overhead.
  CHECK(regime_share(r, "overhead", Regime::overhead) > 0.9);
  CHECK(regime_share(r, "sync", Regime::overhead) > 0.9);
  CHECK(regime_share(r, "copies", Regime::overhead) > 0.9);
  // cos then cos, and cos(cos(x)): memory bandwidth.
  CHECK(regime_share(r, "unfused", Regime::memory) > 0.9);
  CHECK(regime_share(r, "fused", Regime::memory) > 0.9);
  // A bf16 GEMM of 8192³: compute, on tensor cores.
  CHECK(regime_share(r, "gemm", Regime::compute) > 0.9);

  const auto& kernels = r.analysis.kernels;
  const auto& tiny = kernels[kernel_index(r.run, "tiny_kernel")];
  CHECK(tiny.bound == BoundClass::latency);
  CHECK(tiny.grid_below_sm_count);
  const auto& cos = kernels[kernel_index(r.run, "cos_kernel")];
  CHECK(cos.bound == BoundClass::memory);
  CHECK(cos.dram_roof_fraction.value_or(0) > 0.7);
  CHECK(cos.dram_roof_fraction.value_or(0) < 1.0);
  bool gemm = false;
  for (const auto& k : kernels)
    if (k.bound == BoundClass::compute && k.precision == Precision::bf16 && k.pipe == Pipe::tensor) {
      gemm = true;
      CHECK(k.compute_roof_fraction.value_or(0) > 0.7);
      CHECK(k.compute_roof_fraction.value_or(0) <= 1.0);
    }
  CHECK(gemm);

  std::map<std::string, const Finding*> findings;
  for (const auto& f : r.analysis.verdict.findings) findings[f.rule_id] = &f;
  REQUIRE(findings.count("overhead.launch-bound"));
  REQUIRE(findings.count("overhead.sync"));
  REQUIRE(findings.count("transfer.pageable"));
  CHECK(findings.count("memory.fusion") == 0); // no dataflow evidence for the same kernel twice
}

// The fusion rule's prediction, on the recorded cos kernel: given the evidence that each second
// launch reads what the first wrote (which the collector records since session 2, from launch arguments),
// the predicted time of the fused pass must come within 20% of the fused kernel's measured time.
TEST_CASE("recorded: the fused-cos prediction from the unfused kernel's counters matches the fused kernel") {
  Report r = analysed("demo-h100.json");
  const uint32_t cos = kernel_index(r.run, "cos_kernel");
  const uint32_t cos_cos = kernel_index(r.run, "cos_cos_kernel");
  link_to_itself(r, cos);
  // The demo's cos phases are a small part of its run: look at the formula, not the threshold.
  const auto fusion = unthresholded(r, "memory.fusion");
  REQUIRE(fusion.size() == 1);
  CHECK(fusion[0].kernels == std::vector<uint32_t>{cos, cos});
  const double predicted = evidence(fusion[0].evidence, "predicted_fused_ns_per_iteration").value_or(0);
  const double measured = static_cast<double>(r.run.kernels[cos_cos].median_ns);
  MESSAGE("fused cos(cos(x)), 64 Mi floats on the H100: predicted " << predicted / 1e3 << " µs, measured "
                                                                    << measured / 1e3 << " µs");
  CHECK(std::fabs(predicted - measured) <= 0.2 * measured);
}

TEST_CASE("recorded: torch.compile fuses x.cos().cos(): one pass over memory where eager made two") {
  const Report eager = analysed("cos-eager-h100.json");
  const Report compiled = analysed("cos-compiled-h100.json");
  // The dominant kernel of each run, by time, is memory-bound near the DRAM roof.
  for (const Report* r : {&eager, &compiled}) {
    const auto& top = r->analysis.kernels.at(0);
    CHECK(top.bound == BoundClass::memory);
    CHECK(top.dram_roof_fraction.value_or(0) > 0.7);
  }
  // Eager runs its cos kernel twice per x.cos().cos() (x→t, t→y), each moving 2 × 256 MiB; the
  // compiled kernel moves the same per launch, but there is one launch per x.cos().cos().
  const auto& e = eager.run.kernels.at(0);
  const auto& c = compiled.run.kernels.at(0);
  REQUIRE(e.counters.has_value());
  REQUIRE(c.counters.has_value());
  const double eager_bytes = e.counters->dram_read_bytes_per_launch + e.counters->dram_write_bytes_per_launch;
  const double compiled_bytes = c.counters->dram_read_bytes_per_launch + c.counters->dram_write_bytes_per_launch;
  CHECK(compiled_bytes == doctest::Approx(eager_bytes).epsilon(0.05));
  CHECK(e.name.find("cos") != std::string::npos);
  CHECK(c.name.find("fused_cos") != std::string::npos);
  // The same traffic carries both cos: 2 597 586 200 FLOPs a launch against 1 233 085 418
  // (2.1×), so the intensity doubles, 2.3 → 4.9 FLOPs per byte.
  CHECK(c.counters->flops_per_launch.total() / e.counters->flops_per_launch.total() == doctest::Approx(2).epsilon(0.1));
  // 3 warm-up and 100 timed calls: eager launches its cos 206 times, one after the other; the
  // compiled kernel's winning configuration ran 103 launches back to back (102 successions to
  // itself), besides its autotuning runs.
  CHECK(e.launches == 206);
  auto self_successions = [](const Run& run) {
    for (const auto& s : run.successions)
      if (s.from == 0 && s.to == 0) return s.count;
    return uint64_t{0};
  };
  CHECK(self_successions(eager.run) == 205);
  CHECK(self_successions(compiled.run) == 102);
}

// The PyTorch counterpart of the demo's fused-cos check: the fusion rule, given the eager
// kernel's cos → cos link (what the collector records since session 2), predicts the time of the
// kernel torch.compile generated, from the eager run's counters alone.
TEST_CASE("recorded: the fusion rule on eager x.cos().cos() predicts the kernel torch.compile made") {
  Report eager = analysed("cos-eager-h100.json");
  const Report compiled = analysed("cos-compiled-h100.json");
  link_to_itself(eager, 0);
  const auto fusion = unthresholded(eager, "memory.fusion");
  REQUIRE(fusion.size() == 1);
  CHECK(fusion[0].kernels == std::vector<uint32_t>{0, 0});
  // Per x.cos().cos(): 2 × 37 063 413 / 206 = 359 838.96 ns; 1 069 853 696 B of which the
  // intermediate's write and read, 2 × 266 422 272 B, would go: 359 838.96 × 537 009 152 /
  // 1 069 853 696 = 180 619.85 ns predicted. torch.compile's kernel: median 179 940 ns (+0.4%).
  const double predicted = evidence(fusion[0].evidence, "predicted_fused_ns_per_iteration").value_or(0);
  CHECK(predicted == doctest::Approx(180'619.85));
  const double measured = static_cast<double>(compiled.run.kernels.at(0).median_ns);
  MESSAGE("fused x.cos().cos() in PyTorch on the H100: predicted " << predicted / 1e3 << " µs, torch.compile's kernel "
                                                                   << measured / 1e3 << " µs");
  CHECK(std::fabs(predicted - measured) <= 0.2 * measured);
  // 103 calls × (359 838.96 − 180 619.85) = 18 459 568 ns: 0.32% of a 5.80 s run that is 83%
  // Python start-up, so the verdict does not list it (savings count against the whole run).
  CHECK(evidence(fusion[0].evidence, "iterations") == 103.0);
  CHECK(static_cast<double>(fusion[0].saving_ns) == doctest::Approx(18'459'568).epsilon(1e-6));
  CHECK(findings(eager, "memory.fusion").empty());
  // Both verdicts stay "overhead: host work": the timed loop is 100 × 0.2-0.4 ms of GPU work
  // inside seconds of set-up, and these recordings have no NVTX ranges to isolate it.
  for (const Report* r : {static_cast<const Report*>(&eager), &compiled}) {
    CHECK(r->analysis.verdict.regime == Regime::overhead);
    CHECK(r->analysis.verdict.headline.find("while the host did other work") != std::string::npos);
    CHECK(r->run.ranges.empty());
  }
}

// torch.compile of the MLP fuses its elementwise work into Triton kernels (bias + ReLU, the ReLU
// gradient with the bias gradient's sum): fewer, larger launches per step. The verdict follows:
// less launch-gap idle, less time in latency-bound kernels, and the step's main overhead moves
// from launch gaps to the host, whose own work per step grows more than the launches shrink, so
// the compiled step is slower on this small model. (The recording cannot say what the host did;
// the compiled module's Python wrappers and guards are the likely cost.)
TEST_CASE("recorded: torch.compile of the MLP step trades launch gaps for host work, and the verdict says so") {
  const Report eager = analysed("mlp-eager-h100.json");
  const Report compiled = analysed("mlp-compiled-h100.json");
  const RangeSummary* eager_step = find_range(eager.run, "step");
  const RangeSummary* compiled_step = find_range(compiled.run, "step");
  REQUIRE(eager_step);
  REQUIRE(compiled_step);
  REQUIRE(eager_step->instances == 200);
  REQUIRE(compiled_step->instances == 200);
  const Attribution& e = range_attribution(eager, "step");
  const Attribution& c = range_attribution(compiled, "step");

  // Fewer launches in the whole run (9886 → 9099, autotuning launches included), less kernel
  // time in the 200 steps (73 753 655 → 63 607 590 ns, −14%).
  CHECK(eager.run.kernel_launches() == 9886);
  CHECK(compiled.run.kernel_launches() == 9099);
  CHECK(kernel_ns(*eager_step) == 73'753'655);
  CHECK(kernel_ns(*compiled_step) == 63'607'590);
  // Launch-gap idle in the steps: 259 976 792 → 194 316 916 ns (−25%); latency-bound kernels:
  // 24 145 303 → 11 194 479 ns (−54%).
  CHECK(e.get(Part::idle_launch) == 259'976'792);
  CHECK(c.get(Part::idle_launch) == 194'316'916);
  CHECK(e.get(Part::latency) == 24'145'303);
  CHECK(c.get(Part::latency) == 11'194'479);
  // Host-work idle doubles, 228 980 054 → 456 926 442 ns, and the 200 steps take 563 390 713 →
  // 715 018 815 ns (2.82 → 3.58 ms a step).
  CHECK(e.get(Part::idle_host) == 228'980'054);
  CHECK(c.get(Part::idle_host) == 456'926'442);
  CHECK(eager_step->total_ns == 563'390'713);
  CHECK(compiled_step->total_ns == 715'018'815);

  // The verdict on the step: launch gaps first in eager, host work first once compiled.
  const Report eager_phase = range_as_run(eager, "step");
  const Report compiled_phase = range_as_run(compiled, "step");
  REQUIRE_FALSE(eager_phase.analysis.verdict.findings.empty());
  REQUIRE_FALSE(compiled_phase.analysis.verdict.findings.empty());
  CHECK(eager_phase.analysis.verdict.findings[0].rule_id == "overhead.launch-bound");
  CHECK(eager_phase.analysis.verdict.findings[0].saving_fraction == doctest::Approx(259'976'792.0 / 563'390'713.0));
  CHECK(compiled_phase.analysis.verdict.findings[0].rule_id == "overhead.host-work");
  CHECK(compiled_phase.analysis.verdict.findings[1].rule_id == "overhead.launch-bound");
  CHECK(compiled_phase.analysis.verdict.findings[1].saving_fraction == doctest::Approx(194'316'916.0 / 715'018'815.0));

  // On the whole run, overhead.launch-bound goes: 272 647 143 ns (1.65% of 16.5 s) becomes
  // 214 341 849 ns (0.71% of 30.1 s). The launch gaps fell 21%, but most of the drop in share
  // comes from the compiled run's longer wall time (compilation, workers shutting down).
  CHECK(findings(eager, "overhead.launch-bound").size() == 1);
  CHECK(findings(compiled, "overhead.launch-bound").empty());
  CHECK(find_idle(eager.run, IdleCause::launch)->total_ns == 272'647'143);
  CHECK(find_idle(compiled.run, IdleCause::launch)->total_ns == 214'341'849);
  // The headline of both whole runs is the host work before and between the steps (set-up,
  // warm-up, compilation), which is most of the GPU-active span.
  for (const Report* r : {&eager, &compiled}) {
    CHECK(r->analysis.verdict.regime == Regime::overhead);
    CHECK(r->analysis.verdict.findings.at(0).rule_id == "overhead.host-work");
  }
}

// The GPT block (eager, bf16 autocast): its GEMMs with counters run near the tensor-core roof,
// yet the step is half overhead; two thirds of the kernel time has no counters in this recording.
TEST_CASE("recorded: the GPT block's step is half overhead, with its measured GEMM at 72% of the bf16 peak") {
  const Report r = analysed("gpt-block-h100.json");
  const Attribution& step = range_attribution(r, "step");
  // 50 steps, 226 307 210 ns: compute 17 442 127 (7.7%), memory 17 427 786 (7.7%), overhead
  // 334 382 + 49 082 020 + 291 278 + 56 928 883 = 106 636 563 (47.1%), no counters 84 800 734 (37.5%).
  CHECK(step.wall_ns == 226'307'210);
  CHECK(step.regime_ns(Regime::compute) == 17'442'127);
  CHECK(step.regime_ns(Regime::memory) == 17'427'786);
  CHECK(step.regime_ns(Regime::overhead) == 106'636'563);
  CHECK(step.regime_ns(Regime::unknown) == 84'800'734);
  const auto& gemm = r.analysis.kernels.at(0);
  CHECK(gemm.bound == BoundClass::compute);
  CHECK(gemm.precision == Precision::bf16);
  CHECK(gemm.pipe == Pipe::tensor);
  CHECK(gemm.roof_fraction == doctest::Approx(0.7204587).epsilon(1e-6));
  // In the step, roof.compute names it: 14 549 715 ns × (1 − 0.7204587) = 4 067 246 ns.
  const Report phase = range_as_run(r, "step");
  check_at_roof(phase, "roof.compute", 0.7204587, 4'067'246);
  CHECK(phase.analysis.verdict.findings.at(0).rule_id == "overhead.host-work");
  CHECK(phase.analysis.verdict.findings.at(1).rule_id == "overhead.launch-bound");
  CHECK(std::any_of(r.analysis.verdict.notes.begin(), r.analysis.verdict.notes.end(), [](const std::string& n) {
    return n.rfind("67% of the GPU-busy time is in kernels without hardware counters", 0) == 0;
  }));
}

// ---------------------------------------------------------------------------------------
// Every rule on the recorded reports: where it fires, where it does not, and its saving worked
// out by hand from the report's figures (docs/rules.md, "How each rule is tested"). Whole runs
// are the six recordings; "phase" means the demo's NVTX phase as a run of its own
// (range_as_run). Savings under 1% of a run are not reported: `unthresholded` shows that such
// a rule did compute its saving, and that the threshold, not the condition, kept it out.

TEST_CASE("recorded rule overhead.launch-bound: the demo and the eager MLP, not the cos runs, compiled MLP, GPT") {
  SUBCASE("fires on the demo: saving = its launch gaps") {
    const Report r = analysed("demo-h100.json");
    const Finding& f = the_finding(r, "overhead.launch-bound");
    // 20 078 launch gaps, 162 679 038 ns in all; / 2 602 313 208 ns of run = 6.25%: medium.
    CHECK(f.saving_ns == 162'679'038);
    CHECK(f.saving_ns == find_idle(r.run, IdleCause::launch)->total_ns);
    CHECK(evidence(f.evidence, "gaps") == 20'078.0);
    CHECK(f.saving_fraction == doctest::Approx(162'679'038.0 / 2'602'313'208.0));
    CHECK(f.severity == Severity::medium);
  }
  SUBCASE("fires on the eager MLP training loop") {
    const Report r = analysed("mlp-eager-h100.json");
    const Finding& f = the_finding(r, "overhead.launch-bound");
    // 9491 gaps, 272 647 143 ns; / 16 505 249 950 ns = 1.65%: low.
    CHECK(f.saving_ns == 272'647'143);
    CHECK(f.saving_fraction == doctest::Approx(0.016519).epsilon(1e-4));
    CHECK(f.severity == Severity::low);
  }
  SUBCASE("fires on the demo's overhead phase: 20 000 tiny kernels") {
    const Report phase = range_as_run(analysed("demo-h100.json"), "overhead");
    const Finding& f = the_finding(phase, "overhead.launch-bound");
    // 161 979 529 ns of launch gaps in the 182 352 225 ns phase: 88.8%, high.
    CHECK(f.saving_ns == 161'979'529);
    CHECK(f.saving_fraction == doctest::Approx(161'979'529.0 / 182'352'225.0));
    CHECK(f.severity == Severity::high);
    CHECK(phase.analysis.verdict.findings.at(0).rule_id == "overhead.launch-bound");
  }
  SUBCASE("does not fire where launch gaps are under 1% of the run") {
    // Launch-gap idle / wall: cos eager 737 567 / 5 797 941 403 = 0.013%; cos compiled
    // 5 073 767 / 27 051 583 766 = 0.019%; compiled MLP 214 341 849 / 30 090 433 290 = 0.71%;
    // GPT block 54 974 507 / 15 169 463 434 = 0.36%; the demo's GEMM phase 73 891 / 13 645 246 = 0.54%.
    const std::vector<std::pair<Report, uint64_t>> cases{{analysed("cos-eager-h100.json"), 737'567},
                                                         {analysed("cos-compiled-h100.json"), 5'073'767},
                                                         {analysed("mlp-compiled-h100.json"), 214'341'849},
                                                         {analysed("gpt-block-h100.json"), 54'974'507},
                                                         {range_as_run(analysed("demo-h100.json"), "gemm"), 73'891}};
    for (const auto& [report, launch_idle_ns] : cases) {
      // CAPTURE is a lambda, and clang before 16 cannot capture a structured binding in one.
      const Report& r = report;
      CAPTURE(r.run.info.command);
      check_under_threshold(r, "overhead.launch-bound", launch_idle_ns);
    }
  }
}

TEST_CASE("recorded rule overhead.sync: the demo and its sync phase, not the PyTorch runs") {
  const Report demo = analysed("demo-h100.json");
  SUBCASE("fires on the demo: saving = idle time after its 2020 syncs") {
    const Finding& f = the_finding(demo, "overhead.sync");
    // 35 513 534 ns / 2 602 313 208 ns = 1.36%: low.
    CHECK(f.saving_ns == 35'513'534);
    CHECK(evidence(f.evidence, "gaps") == 2020.0);
    CHECK(f.severity == Severity::low);
  }
  SUBCASE("fires on the sync phase: 2000 kernel + cudaDeviceSynchronize pairs") {
    const Report phase = range_as_run(demo, "sync");
    const Finding& f = the_finding(phase, "overhead.sync");
    // 27 675 451 ns of the 29 946 331 ns phase: 92.4%, high; the largest finding.
    CHECK(f.saving_ns == 27'675'451);
    CHECK(f.severity == Severity::high);
    CHECK(phase.analysis.verdict.findings.at(0).rule_id == "overhead.sync");
  }
  SUBCASE("does not fire without syncs in the loop") {
    // The overhead phase has no sync idle at all; the MLP runs none; the other PyTorch runs
    // synchronize once or twice: cos eager 48 961 ns, GPT block 128 739 ns, cos compiled
    // 201 252 ns, all far under 1%.
    CHECK(unthresholded(range_as_run(demo, "overhead"), "overhead.sync").empty());
    CHECK(unthresholded(analysed("mlp-eager-h100.json"), "overhead.sync").empty());
    CHECK(unthresholded(analysed("mlp-compiled-h100.json"), "overhead.sync").empty());
    for (const auto& [file, sync_ns] : std::vector<std::pair<std::string, uint64_t>>{
             {"cos-eager-h100.json", 48'961}, {"gpt-block-h100.json", 128'739}, {"cos-compiled-h100.json", 201'252}}) {
      const std::string& name = file;
      CAPTURE(name);
      check_under_threshold(analysed(name), "overhead.sync", sync_ns);
    }
  }
}

TEST_CASE("recorded rule overhead.host-work: every whole run, not the demo's busy phases") {
  SUBCASE("fires on every recording: saving = idle time in gaps over 100 µs") {
    // Host-gap idle / wall: demo 941 239 082 / 2 602 313 208 = 36.2% (its longest gap, 765 ms,
    // is in the warm-up); cos eager 98 365 900 / 5 797 941 403 = 1.70%; cos
    // compiled 2 242 185 231 / 27 051 583 766 = 8.3%; eager MLP 8 174 430 582 / 16 505 249 950 =
    // 49.5%; compiled MLP 14 484 791 410 / 30 090 433 290 = 48.1%; GPT block 8 183 425 007 /
    // 15 169 463 434 = 53.9%.
    const std::vector<std::pair<std::string, uint64_t>> cases{{"demo-h100.json", 941'239'082},
                                                              {"cos-eager-h100.json", 98'365'900},
                                                              {"cos-compiled-h100.json", 2'242'185'231},
                                                              {"mlp-eager-h100.json", 8'174'430'582},
                                                              {"mlp-compiled-h100.json", 14'484'791'410},
                                                              {"gpt-block-h100.json", 8'183'425'007}};
    for (const auto& [file, host_ns] : cases) {
      const std::string& name = file;
      CAPTURE(name);
      const Report r = analysed(name);
      const Finding& f = the_finding(r, "overhead.host-work");
      CHECK(f.saving_ns == host_ns);
      CHECK(f.saving_fraction ==
            doctest::Approx(static_cast<double>(host_ns) / static_cast<double>(r.run.timeline.wall_ns)));
    }
    const Report demo = analysed("demo-h100.json");
    const Finding& f = the_finding(demo, "overhead.host-work");
    CHECK(evidence(f.evidence, "max_gap_ns") == 764'961'149.0);
    CHECK(f.severity == Severity::high);
  }
  SUBCASE("does not fire in phases that keep the GPU fed") {
    // Host-gap idle / phase: overhead 389 092 / 182 352 225 = 0.21%; copies 403 781 /
    // 88 055 063 = 0.46%; unfused 24 356 / 7 962 169 = 0.31%.
    const Report demo = analysed("demo-h100.json");
    for (const auto& [file, host_ns] : std::vector<std::pair<std::string, uint64_t>>{
             {"overhead", 389'092}, {"copies", 403'781}, {"unfused", 24'356}}) {
      const std::string& name = file;
      CAPTURE(name);
      check_under_threshold(range_as_run(demo, name), "overhead.host-work", host_ns);
    }
  }
}

TEST_CASE("recorded rule transfer.pageable: the demo's pageable copies, both ways; not the PyTorch uploads") {
  SUBCASE("fires on the demo, once per direction") {
    const Report r = analysed("demo-h100.json");
    const auto f = findings(r, "transfer.pageable");
    REQUIRE(f.size() == 2);
    // Host to device, against the run's own pinned copies of the same 269 484 032 B, which took
    // 4 943 653 ns (54.5 GB/s): 44 132 400 − 269 484 032 / (269 484 032 / 4 943 653) =
    // 44 132 400 − 4 943 653 = 39 188 747 ns, under the cap of the copies' 44 132 400 ns + 23 810 ns
    // of copy staging.
    CHECK(f[0]->saving_ns == 39'188'747);
    CHECK(evidence(f[0]->evidence, "pinned_bytes_per_s") == doctest::Approx(269'484'032.0 / 4'943'653e-9));
    // Device to host: no pinned copies that way, so the profile's host link, 64 GB/s:
    // 38 691 998 − 270 008 336 / 64 = 38 691 998 − 4 218 880.25 = 34 473 117.75 → 34 473 117 ns.
    CHECK(f[1]->saving_ns == 34'473'117);
    CHECK(evidence(f[1]->evidence, "pinned_bytes_per_s") == 64e9);
    CHECK(evidence(f[1]->evidence, "pageable_bytes_per_s") == doctest::Approx(270'008'336.0 / 38'691'998e-9));
  }
  SUBCASE("fires on the copies phase, where the copies are most of the time") {
    const Report phase = range_as_run(analysed("demo-h100.json"), "copies");
    const auto f = findings(phase, "transfer.pageable");
    REQUIRE(f.size() == 2);
    // The same savings, over the 88 055 063 ns phase: 44.5% and 39.1%.
    CHECK(f[0]->saving_ns == 39'188'747);
    CHECK(f[0]->saving_fraction == doctest::Approx(39'188'747.0 / 88'055'063.0));
    CHECK(f[1]->saving_ns == 34'473'117);
  }
  SUBCASE("does not fire for the PyTorch parameter uploads") {
    // The eager MLP uploads 16 793 600 B from pageable memory in 2 030 154 ns (8.3 GB/s): at
    // 64 GB/s they would take 262 400 ns, a saving of 1 767 754 ns, 0.011% of the run. The
    // others likewise: the compiled MLP 1 672 932 − 16 793 670 / 64 = 1 410 530 ns, the GPT block
    // 6 491 460 − 50 384 896 / 64 = 5 704 196 ns, the compiled cos 17 217 − 70 / 64 = 17 215 ns.
    for (const auto& [file, saving_ns] :
         std::vector<std::pair<std::string, uint64_t>>{{"mlp-eager-h100.json", 1'767'754},
                                                       {"mlp-compiled-h100.json", 1'410'530},
                                                       {"gpt-block-h100.json", 5'704'196},
                                                       {"cos-compiled-h100.json", 17'215}}) {
      const std::string& name = file;
      CAPTURE(name);
      check_under_threshold(analysed(name), "transfer.pageable", saving_ns);
    }
    // The eager cos run copies nothing from pageable memory.
    CHECK(unthresholded(analysed("cos-eager-h100.json"), "transfer.pageable").empty());
  }
}

TEST_CASE("recorded rule transfer.not-overlapped: the demo's copies, capped by its kernel time") {
  SUBCASE("fires on the demo: saving = min(time copies ran alone, time kernels ran)") {
    const Report r = analysed("demo-h100.json");
    const Finding& f = the_finding(r, "transfer.not-overlapped");
    // Alone: 44 132 400 + 4 943 653 + 38 691 998 = 87 768 051 ns (the memsets are device-side).
    // Kernels: compute 14 716 659 + memory 12 759 040 + latency 22 040 254 = 49 515 953 ns.
    // min(87 768 051, 49 515 953) = 49 515 953 ns: copies can hide only behind kernels that ran.
    CHECK(evidence(f.evidence, "copy_alone_ns") == 87'768'051.0);
    CHECK(evidence(f.evidence, "kernel_busy_ns") == 49'515'953.0);
    CHECK(f.saving_ns == 49'515'953);
    CHECK(evidence(f.evidence, "copies") == 34.0);
  }
  SUBCASE("does not fire on the copies phase: no kernel ran there to hide them behind") {
    const Report phase = range_as_run(analysed("demo-h100.json"), "copies");
    CHECK(findings(phase, "transfer.not-overlapped").empty());
    const auto all = unthresholded(phase, "transfer.not-overlapped");
    REQUIRE(all.size() == 1);
    CHECK(all[0].saving_ns == 0);
    CHECK(evidence(all[0].evidence, "copy_alone_ns") == 87'552'271.0); // 44 109 839 + 4 920 613 + 38 521 819
  }
  SUBCASE("does not fire on the PyTorch runs, whose copies are a few small uploads") {
    // Time the host copies ran alone, each far under the kernel time: the eager MLP's 9 copies
    // 2 032 969 ns (0.012% of the run), the compiled MLP's 1 680 741 ns, the GPT block's
    // 6 493 636 ns, the cos runs' 2 880 and 20 417 ns.
    for (const auto& [file, saving_ns] :
         std::vector<std::pair<std::string, uint64_t>>{{"mlp-eager-h100.json", 2'032'969},
                                                       {"mlp-compiled-h100.json", 1'680'741},
                                                       {"gpt-block-h100.json", 6'493'636},
                                                       {"cos-eager-h100.json", 2'880},
                                                       {"cos-compiled-h100.json", 20'417}}) {
      const std::string& name = file;
      CAPTURE(name);
      check_under_threshold(analysed(name), "transfer.not-overlapped", saving_ns);
    }
  }
}

TEST_CASE("recorded rule memory.fusion: the unfused cos pair with its data passed along, nothing without it") {
  const Report demo = analysed("demo-h100.json");
  const uint32_t cos = kernel_index(demo.run, "cos_kernel");
  SUBCASE("fires on the unfused phase once its cos → cos link is known") {
    Report linked = demo;
    link_to_itself(linked, cos);
    const Report phase = range_as_run(linked, "unfused");
    const Finding& f = the_finding(phase, "memory.fusion");
    CHECK(f.kernels == std::vector<uint32_t>{0, 0}); // the phase's only kernel, twice
    // Per pass: 2 launches of 7 965 445 / 41 = 194 279.15 ns → 388 558.29 ns; bytes
    // 2 × (268 459 520 + 268 917 248) = 1 074 753 536; the intermediate is min(268 917 248
    // written, 268 459 520 read) = 268 459 520 B, a write and a read saved. Fused:
    // 388 558.29 × (1 074 753 536 − 2 × 268 459 520) / 1 074 753 536 = 194 444.63 ns.
    // Iterations: min(39 links, 41 launches / 2) = 20. Saving: (388 558.29 − 194 444.63) × 20 =
    // 3 882 273 ns, 48.8% of the 7 962 169 ns phase (under the cap of cos's 7 775 749 ns there).
    CHECK(evidence(f.evidence, "chain_ns_per_iteration") == doctest::Approx(388'558.29));
    CHECK(evidence(f.evidence, "bytes_per_iteration") == 1'074'753'536.0);
    CHECK(evidence(f.evidence, "intermediate_bytes_per_iteration") == 268'459'520.0);
    CHECK(evidence(f.evidence, "predicted_fused_ns_per_iteration") == doctest::Approx(194'444.63));
    CHECK(evidence(f.evidence, "iterations") == 20.0);
    CHECK(static_cast<double>(f.saving_ns) == doctest::Approx(3'882'273).epsilon(1e-6));
    CHECK(f.severity == Severity::high);
  }
  SUBCASE("does not fire without dataflow evidence, nor on the already fused kernel") {
    // As recorded (before the collector compared arguments): a kernel that follows itself may
    // as well be a loop over the same input, so the unfused phase has no chain.
    CHECK(unthresholded(demo, "memory.fusion").empty());
    CHECK(unthresholded(range_as_run(demo, "unfused"), "memory.fusion").empty());
    // With the link: cos_cos reads x and writes z at every launch, passing nothing on.
    Report linked = demo;
    link_to_itself(linked, cos);
    CHECK(unthresholded(range_as_run(linked, "fused"), "memory.fusion").empty());
    CHECK(unthresholded(range_as_run(linked, "gemm"), "memory.fusion").empty());
  }
}

TEST_CASE("recorded rule compute.tensor-cores: no recorded kernel is FP32 matrix work bound by the CUDA cores") {
  // No recording has a fire case: the synthetic test "rule compute.tensor-cores" (test_analyse.cpp)
  // covers it, and docs/rules.md says so. The recordings give the don't-fire cases: the demo's
  // GEMM runs in bf16 on tensor cores already, and the MLPs' FP32 GEMMs on CUDA cores (batch 64)
  // are far from every roof, latency-bound, so TF32 would not speed them up.
  const Report gemm = range_as_run(analysed("demo-h100.json"), "gemm");
  REQUIRE(gemm.analysis.kernels.size() == 1);
  CHECK(gemm.analysis.kernels[0].bound == BoundClass::compute);
  CHECK(gemm.analysis.kernels[0].precision == Precision::bf16);
  CHECK(gemm.analysis.kernels[0].pipe == Pipe::tensor);
  CHECK(unthresholded(gemm, "compute.tensor-cores").empty());
  int fp32_gemms = 0;
  for (const char* name : {"demo-h100.json", "cos-eager-h100.json", "cos-compiled-h100.json", "mlp-eager-h100.json",
                           "mlp-compiled-h100.json", "gpt-block-h100.json"}) {
    CAPTURE(name);
    const Report r = analysed(name);
    CHECK(unthresholded(r, "compute.tensor-cores").empty());
    for (std::size_t i = 0; i < r.analysis.kernels.size(); ++i) {
      const auto& k = r.analysis.kernels[i];
      if (k.precision != Precision::fp32 || k.pipe != Pipe::cuda_core || k.intensity.value_or(0) < 10) continue;
      // FP32 work on CUDA cores with some data reuse: in these runs, always small GEMMs far
      // from every roof (sgemm_largek at 10-12%, 15-79 FLOPs per byte).
      CAPTURE(r.run.kernels[i].name);
      CHECK(k.bound != BoundClass::compute);
      ++fp32_gemms;
    }
  }
  CHECK(fp32_gemms >= 2); // one in each MLP run
}

TEST_CASE("recorded rule latency.small-kernels: the demo's one-block kernels, not its large ones") {
  const Report demo = analysed("demo-h100.json");
  const uint32_t tiny = kernel_index(demo.run, "tiny_kernel");
  // tiny_kernel: 1 block on 132 SMs; its binding roof is L2: 1 402 368 B × 22 001 launches =
  // 30 853 498 368 B, 3.148 ms at 9.8 TB/s, of its 21 982 495 ns: 14.32% of the roof.
  REQUIRE(demo.analysis.kernels[tiny].roof_fraction == doctest::Approx(0.143219).epsilon(1e-5));
  SUBCASE("fires on the overhead and sync phases") {
    const Report overhead = range_as_run(demo, "overhead");
    const Finding& f = the_finding(overhead, "latency.small-kernels");
    // 19 983 604 ns × (1 − 0.1432192) = 17 121 567 ns, 9.4% of the 182 352 225 ns phase.
    CHECK(static_cast<double>(f.saving_ns) == doctest::Approx(17'121'567).epsilon(1e-6));
    CHECK(evidence(f.evidence, "small_grid_launches") == 22'001.0);
    CHECK(evidence(f.evidence, "sm_count") == 132.0);
    const Report sync = range_as_run(demo, "sync");
    // 1 996 523 ns × (1 − 0.1432192) = 1 710 582 ns, 5.7% of the 29 946 331 ns phase.
    REQUIRE(findings(sync, "latency.small-kernels").size() == 1);
    CHECK(static_cast<double>(findings(sync, "latency.small-kernels")[0]->saving_ns) ==
          doctest::Approx(1'710'582).epsilon(1e-6));
  }
  SUBCASE("does not fire where no kernel is latency-bound, nor for a negligible share") {
    CHECK(unthresholded(range_as_run(demo, "gemm"), "latency.small-kernels").at(0).saving_ns == 0);
    CHECK(unthresholded(range_as_run(demo, "unfused"), "latency.small-kernels").at(0).saving_ns == 0);
    CHECK(unthresholded(analysed("cos-eager-h100.json"), "latency.small-kernels").at(0).saving_ns == 0);
    // On the whole demo: 21 982 495 × (1 − 0.1432192) + 57 759 × (1 − 0.0030549) (a one-off
    // fill) = 18 891 761 ns, 0.73% of the 2.60 s run.
    CHECK(findings(demo, "latency.small-kernels").empty());
    CHECK(static_cast<double>(unthresholded(demo, "latency.small-kernels").at(0).saving_ns) ==
          doctest::Approx(18'891'761).epsilon(1e-6));
  }
}

TEST_CASE("recorded rule roof.compute: the demo's bf16 GEMM in its phase") {
  const Report demo = analysed("demo-h100.json");
  SUBCASE("fires on the GEMM phase: saving = its time × (1 − fraction of the roof)") {
    const Report phase = range_as_run(demo, "gemm");
    // 1.1167e12 bf16 FLOPs × 11 launches at 989.5 TFLOP/s = 12.414 ms of 14 716 659 ns: 84.35%.
    // 13 378 515 ns × (1 − 0.8435307) = 2 093 327 ns.
    check_at_roof(phase, "roof.compute", 0.8435307, 2'093'327);
    CHECK(findings(phase, "roof.memory").empty());
  }
  SUBCASE("does not fire where the GEMM is a sliver of the run, nor where nothing is compute-bound") {
    // 14 716 659 ns of 2 602 313 208 ns = 0.57%, under the 5% a kernel needs to be worth naming.
    CHECK(findings(demo, "roof.compute").empty());
    CHECK(unthresholded(range_as_run(demo, "unfused"), "roof.compute").empty());
    CHECK(unthresholded(range_as_run(demo, "overhead"), "roof.compute").empty());
  }
}

TEST_CASE("recorded rule roof.memory: the demo's cos kernels in their phases") {
  const Report demo = analysed("demo-h100.json");
  SUBCASE("fires on the unfused and fused phases") {
    // cos_kernel: 7 775 749 ns × (1 − 0.8256726) = 1 355 525 ns; cos_cos_kernel: 4 265 945 ns ×
    // (1 − 0.7547180) = 1 046 359 ns.
    check_at_roof(range_as_run(demo, "unfused"), "roof.memory", 0.8256726, 1'355'525);
    check_at_roof(range_as_run(demo, "fused"), "roof.memory", 0.7547180, 1'046'359);
  }
  SUBCASE("does not fire on the GEMM phase, nor on the whole demo") {
    CHECK(unthresholded(range_as_run(demo, "gemm"), "roof.memory").empty());
    // cos_kernel is 7 927 297 ns of the 2.60 s run: 0.30%, under 5%.
    CHECK(findings(demo, "roof.memory").empty());
  }
}

// ---------------------------------------------------------------------------------------
// What will not help, and the idle time in the GPU's own currency, on the recordings.

TEST_CASE("recorded: what will not help, bounded by the attribution, in each regime") {
  const Report demo = analysed("demo-h100.json");
  struct Case {
    std::string what;
    Report report;
    Regime regime;
    std::vector<std::string> will_not_help;
  };
  const std::vector<Case> cases{
      // GPU-active span 1 276 739 468 ns; compute + memory = 14 716 659 + 12 759 040 =
      // 27 475 699 ns (2.2%); idle = 162 679 038 + 35 513 534 + 23 810 + 941 239 082 =
      // 1 139 455 464 ns (89.2%).
      {"the whole demo",
       demo,
       Regime::overhead,
       {"Faster kernels: kernels limited by compute or memory run 2% of the time; even infinitely fast ones would "
        "save at most that.",
        "A faster GPU: it already sits idle 89% of the time, waiting for the host."}},
      // Idle: 73 891 + 12 513 + 172 295 = 258 699 ns of 13 645 246 ns (1.9%); memory-bound: the
      // 8 032 ns memset (0.06%).
      {"the GEMM phase",
       range_as_run(demo, "gemm"),
       Regime::compute,
       {"Fewer launches or CUDA graphs: the GPU is idle 2% of the time, the most they could save.",
        "More memory bandwidth: memory-bound kernels are 0.1% of the time."}},
      // No compute-bound kernel ran in the phase.
      {"the unfused phase",
       range_as_run(demo, "unfused"),
       Regime::memory,
       {"More FLOP/s (a faster GPU's arithmetic, tensor cores, faster math): compute-bound kernels are 0% of the "
        "time, the most it could save."}}};
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(c.report.analysis.verdict.regime == c.regime);
    CHECK(c.report.analysis.verdict.will_not_help == c.will_not_help);
  }
}

TEST_CASE("recorded: an overhead-bound verdict counts the idle time in FLOPs at the GPU's peak") {
  // The demo's GPU sat idle 1 139 455 464 ns of its active span; at the H100's bf16 tensor peak,
  // 989.5 TFLOP/s, that is 1.139455 s × 989.5e12 = 1.1275e15 FLOPs.
  const Report demo = analysed("demo-h100.json");
  REQUIRE(demo.profile->peak(Precision::bf16, Pipe::tensor, Ceilings::datasheet) == 989.5e12);
  CHECK(demo.analysis.gpu_active.gpu_idle_ns() == 1'139'455'464);
  CHECK(has_note(demo, "In the 1.14 s the GPU sat idle it could have done 1.13 PFLOP at its bf16 tensor peak (990 "
                       "TFLOP/s)."));
  // The overhead phase alone: 161 979 529 + 389 092 = 162 368 621 ns × 989.5e12 = 1.607e14.
  CHECK(has_note(range_as_run(demo, "overhead"),
                 "In the 162 ms the GPU sat idle it could have done 161 TFLOP at its bf16 tensor peak (990 TFLOP/s)."));
  // Not in the compute or memory regime, where the GPU is not what waits.
  for (const char* phase : {"gemm", "unfused"}) {
    CAPTURE(phase);
    const auto& notes = range_as_run(demo, phase).analysis.verdict.notes;
    CHECK(std::none_of(notes.begin(), notes.end(),
                       [](const std::string& n) { return n.find("could have done") != std::string::npos; }));
  }
}
