// brrr profile on real CUDA programs: counts, bytes, timings, NVTX phases, exit statuses,
// crashes, process chains and PyTorch. The programs are the build's own (demo, launch loop,
// reference kernels, test target), found next to this test executable.

#include "profiled.hpp"

#include "../trace_events_check.hpp"
#include "analyse/analysis.hpp"
#include "analyse/rules.hpp"
#include "report/report.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace brrr::gpu_testing;

TEST_CASE("a launch loop gives exactly its kernels, and its exit status passes through") {
  auto p = profile("launch-loop", {program("brrr-launch-loop"), "5000"});
  CHECK(p.outcome.status == 0);
  const auto* tiny = find_kernel(p.report.run, "tiny_kernel");
  REQUIRE(tiny != nullptr);
  CHECK(tiny->launches == 5000 + 100); // the loop and its warm-up
  CHECK(p.report.run.info.complete);
  CHECK(p.report.run.processes.size() == 1);
  CHECK(p.report.run.collection.dropped_records == 0);
}

// Programs launch through the runtime, or, as Triton and CuPy do, through the driver's
// cuLaunchKernel. Either way every launch has its API call recorded, and the launch-bound gaps
// have their launch calls as evidence (the kernel carries the outermost call's correlation id).
TEST_CASE("launch calls are recorded through the runtime and through the driver") {
  for (const bool driver : {false, true}) {
    CAPTURE(driver);
    std::vector<std::string> target{program("brrr-launch-loop")};
    if (driver) target.push_back("--driver");
    target.push_back("3000");
    for (const char* counters : {"off", "first:1"}) {
      CAPTURE(counters);
      auto p = profile(driver ? "driver-loop" : "runtime-loop", target, {"--counters", counters});
      CHECK(p.outcome.status == 0);
      const auto* tiny = find_kernel(p.report.run, "tiny_kernel");
      REQUIRE(tiny != nullptr);
      CHECK(tiny->launches == 3000 + 100);
      // The loop, its warm-up and the fill kernel, each once or (a runtime launch) with the
      // driver launch it makes inside, and the loop's synchronizations.
      const uint64_t calls = p.report.run.collection.api_records;
      INFO("API records: " << calls);
      CHECK(calls >= 3000 + 100 + 1);
      CHECK(calls <= 2 * (3000 + 100 + 1) + 8);
      double launch_call_ns = 0;
      for (const auto& idle : p.report.run.idle)
        for (const auto& e : idle.evidence)
          if (e.key == "median_launch_call_ns") launch_call_ns = e.value;
      INFO("median launch call: " << launch_call_ns << " ns");
      CHECK(launch_call_ns > 0);
    }
  }
}

TEST_CASE("the demo's copies are recorded to the byte, with their memory kinds") {
  auto p = profile("copies", {program("brrr-demo"), "--phases", "copies"});
  CHECK(p.outcome.status == 0);
  const uint64_t expected = (256ULL + 1) << 20; // the phase's copy and the warm-up's 1 MiB
  std::map<std::string, uint64_t> bytes;
  for (const auto& t : p.report.run.transfers)
    bytes[std::string(brrr::to_string(t.kind)) + ":" + std::string(brrr::to_string(t.source)) + ">" +
          std::string(brrr::to_string(t.destination))] += t.bytes;
  INFO("transfers: " << nlohmann::json(bytes).dump());
  CHECK(bytes["htod:pageable>device"] == expected);
  CHECK(bytes["htod:pinned>device"] == expected);
  CHECK(bytes["dtoh:device>pageable"] >= expected); // plus the demo's checks
}

TEST_CASE("the demo's NVTX phases are in the report and each one sums to its duration") {
  auto p = profile("demo", {program("brrr-demo")});
  CHECK(p.outcome.status == 0);
  std::map<std::string, const brrr::RangeSummary*> ranges;
  for (const auto& r : p.report.run.ranges) ranges[r.name] = &r;
  for (const char* phase : {"warmup", "overhead", "sync", "copies", "unfused", "fused", "gemm"}) {
    CAPTURE(phase);
    REQUIRE(ranges.count(phase) == 1);
    CHECK(ranges[phase]->instances == 1);
  }
  const auto* tiny = find_kernel(p.report.run, "tiny_kernel");
  REQUIRE(tiny != nullptr);
  CHECK(tiny->launches == 1 + 20000 + 2000);
  const auto* cos = find_kernel(p.report.run, "cos_kernel");
  REQUIRE(cos != nullptr);
  CHECK(cos->launches == 1 + 2 * 20); // the warm-up's, then two per repetition
}

TEST_CASE("trace export: brrr profile --trace writes the demo's timeline, slice for slice with the report") {
  const fs::path trace = scratch() / "demo.trace.json";
  auto p = profile("demo-trace", {program("brrr-demo")}, {"--trace", trace.string()});
  CHECK(p.outcome.status == 0);
  CHECK(p.outcome.err.find("brrr: trace written to") != std::string::npos);
  std::ifstream in(trace);
  std::stringstream text;
  text << in.rdbuf();
  const auto parsed = brrr::testing::check_trace_events(text.str());
  uint64_t timed_launches = 0;
  for (const auto& k : p.report.run.kernels) timed_launches += k.launches - k.untimed_launches;
  uint64_t transfers = 0;
  for (const auto& t : p.report.run.transfers) transfers += t.count;
  CHECK(parsed.of("kernel").size() == timed_launches);
  CHECK(parsed.of("copy").size() + parsed.of("set").size() == transfers);
  brrr::testing::check_gaps_match_model(parsed, p.report.run);
  std::map<std::string, int> ranges;
  for (const auto* r : parsed.of("nvtx")) ranges[r->name]++;
  for (const char* phase : {"warmup", "overhead", "sync", "copies", "unfused", "fused", "gemm"}) {
    CAPTURE(phase);
    CHECK(ranges[phase] == 1);
  }
  // Every kernel, copy and set has the launch call it came from (the collector records them all).
  CHECK(parsed.flows == timed_launches + transfers);
  CHECK(parsed.other_data.at("wall_ns") == p.report.run.timeline.wall_ns);
}

// Each reference kernel runs twice: a warm-up, then the launch timed with CUDA events inside an
// NVTX range of the kernel's name. The traced time of that launch is its kernel time in the
// range. Counters are off: with the range profiler enabled on the context, the event-timed span
// around a 1 ms kernel grows by about 5% while the kernel's traced duration does not (measured
// on the H100), which is a cost of counters and not an error of the trace.
TEST_CASE("kernel time agrees with CUDA-event timing within 5%") {
  auto p = profile("refkernels", {program("brrr-refkernels")}, {"--counters", "off"});
  CHECK(p.outcome.status == 0);
  std::istringstream lines(p.outcome.out);
  std::map<std::string, double> event_ms;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("name") && j.contains("ms")) event_ms[j["name"]] = j["ms"];
  }
  for (const auto& [name, kernel] : std::map<std::string, std::string>{
           {"copy", "copy_kernel"}, {"fma_fp32", "fma_fp32_kernel"}, {"fma_fp64", "fma_fp64_kernel"}}) {
    CAPTURE(name);
    REQUIRE(event_ms.count(name) == 1);
    const auto* k = find_kernel(p.report.run, kernel);
    REQUIRE(k != nullptr);
    const auto index = static_cast<uint32_t>(k - p.report.run.kernels.data());
    double traced_ms = -1;
    for (const auto& r : p.report.run.ranges)
      if (r.name == name)
        for (const auto& [group, ns] : r.kernel_ns)
          if (group == index) traced_ms = static_cast<double>(ns) / 1e6;
    CAPTURE(traced_ms);
    CAPTURE(event_ms[name]);
    CHECK(std::fabs(traced_ms - event_ms[name]) <= 0.05 * event_ms[name]);
  }
}

TEST_CASE("exit statuses pass through: a code, and a signal") {
  auto exited = profile("exit3", {program("brrr-test-target"), "exit", "3"});
  CHECK(exited.outcome.status == 3);
  CHECK(exited.report.run.info.exit.code == 3);
  CHECK(exited.report.run.info.complete);
  const auto* k = find_kernel(exited.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == 10);

  auto killed = profile("killed", {"sh", "-c", program("brrr-test-target") + " exit 0; kill -9 $$"});
  CHECK(killed.outcome.status == 137);
  CHECK_FALSE(killed.report.run.info.complete);
}

TEST_CASE("counters reach a kernel first launched after 12 000 launches of another") {
  // The sampled kernel's launches take the fast path (already sampled enough); the late kernel
  // must still be noticed and measured.
  auto p = profile("late-kernel", {program("brrr-test-target"), "late-kernel"});
  CHECK(p.outcome.status == 0);
  CHECK(p.report.run.info.complete);
  const auto* spin = find_kernel(p.report.run, "spin_kernel");
  const auto* late = find_kernel(p.report.run, "late_kernel");
  REQUIRE(spin != nullptr);
  REQUIRE(late != nullptr);
  CHECK(spin->launches == 12000);
  CHECK(late->launches == 10);
  REQUIRE(spin->counters.has_value());
  REQUIRE(late->counters.has_value());
  CHECK(spin->counters->measured_launches == 1);
  CHECK(late->counters->measured_launches == 1);
  // It writes 128 floats, so its measured L2 traffic cannot be zero.
  CHECK(late->counters->l2_bytes_per_launch > 0);
  CHECK(p.report.run.collection.tool_ns > 0);
}

// cudaDeviceReset destroys the context and its range profiler; the program goes on in a new
// context, often at the same address. Before brrr followed context destruction, the target
// crashed (SIGSEGV) at its second round with --counters all.
TEST_CASE("a program that resets its device and launches again runs on, measured in each context") {
  for (const char* counters : {"all", "first:1"}) {
    CAPTURE(counters);
    auto p = profile("device-reset", {program("brrr-test-target"), "device-reset", "3"}, {"--counters", counters});
    CHECK(p.outcome.status == 0);
    CHECK(p.report.run.info.complete);
    const auto [launches, measured] = launch_totals(p.report.run);
    CHECK(launches == 60);
    if (std::string(counters) == "all")
      CHECK(measured == 60);
    else
      CHECK(measured >= 2);
  }
}

// Launch callbacks run inside the program's launch calls, where the driver may hold its locks;
// before the counters stopped calling CUDA and CUPTI under their own lock, eight threads
// launching at once hung the program in several runs of three (counters first:1 and all).
TEST_CASE("eight threads launching at once run to the end with counters on, every launch traced") {
  for (const char* counters : {"first:1", "all"}) {
    CAPTURE(counters);
    auto p = profile("threads", {program("brrr-test-target"), "threads", "8"}, {"--counters", counters});
    CHECK(p.outcome.status == 0);
    CHECK(p.report.run.info.complete);
    const auto [launches, measured] = launch_totals(p.report.run);
    CHECK(launches == 1600);
    // One launch is measured at a time: the others' launches meanwhile run unmeasured.
    CHECK(measured >= 2);
  }
}

TEST_CASE("kernels replayed from a CUDA graph are traced one by one (counters off and on)") {
  // brrr leaves CUPTI's GRAPH_TRACE off, which would fold a replay into one record: each node
  // of each replay is a kernel of its own, so a graph's kernels (NCCL's, captured by PyTorch)
  // count in the time as launched ones do. With counters on, the launches seen while the
  // graph is captured run nothing, and the capture must survive brrr's sampling of them.
  for (const std::string counters : {"off", "first:1"}) {
    CAPTURE(counters);
    auto p = profile("graph-" + counters, {program("brrr-test-target"), "graph", "5"}, {"--counters", counters});
    CHECK(p.outcome.status == 0);
    CHECK(p.report.run.info.complete);
    const auto* spin = find_kernel(p.report.run, "spin_kernel");
    REQUIRE(spin != nullptr);
    CHECK(spin->launches == 50);
    CHECK(spin->graph_launches == 50);
    CHECK(spin->untimed_launches == 0);
    CHECK(spin->median_ns > 0);
  }
}

TEST_CASE("exit() with kernels in flight loses none of them") {
  auto p = profile("in-flight", {program("brrr-test-target"), "exit-in-flight"});
  CHECK(p.outcome.status == 0);
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == 1000);
}

TEST_CASE("a crashing target still gets a report, marked incomplete with the cause") {
  for (const auto& [mode, signal] : std::vector<std::pair<std::string, int>>{{"segv", SIGSEGV}, {"abort", SIGABRT}}) {
    CAPTURE(mode);
    auto p = profile("crash-" + mode, {program("brrr-test-target"), mode});
    CHECK(p.outcome.status == 128 + signal);
    CHECK_FALSE(p.report.run.info.complete);
    CHECK(p.report.run.info.exit.signal == signal);
    const auto* k = find_kernel(p.report.run, "spin_kernel");
    REQUIRE(k != nullptr); // records flushed periodically before the crash
    CHECK(k->launches > 0);
  }
}

TEST_CASE("a shell script that runs two CUDA programs is followed into both") {
  const std::string loop = program("brrr-launch-loop");
  auto p = profile("chain", {"sh", "-c", loop + " 200 && " + loop + " 300"});
  CHECK(p.outcome.status == 0);
  REQUIRE(p.report.run.processes.size() == 2);
  const auto* tiny = find_kernel(p.report.run, "tiny_kernel");
  REQUIRE(tiny != nullptr);
  CHECK(tiny->launches == 200 + 300 + 2 * 100);
}

TEST_CASE("a PyTorch training loop is profiled unchanged") {
  if (run({"python3", "-c", "import torch; assert torch.cuda.is_available()"}).status != 0) {
    MESSAGE("PyTorch with CUDA is not available here: skipped");
    return;
  }
  const fs::path script = source_dir() / "examples" / "pytorch" / "mlp_train.py";
  auto p = profile("mlp", {"python3", script.string(), "--steps", "20"});
  CHECK(p.outcome.status == 0);
  CHECK(p.report.run.kernel_launches() > 20 * 10);
  bool step_range = false;
  for (const auto& r : p.report.run.ranges) step_range = step_range || (r.name == "step" && r.instances == 20);
  CHECK(step_range);
}

TEST_CASE("hardware counters match the reference kernels' analytic work") {
  auto p = profile("counters", {program("brrr-refkernels")});
  CHECK(p.outcome.status == 0);
  INFO("collection: counters " << p.report.run.collection.counters_mode << ", available "
                               << p.report.run.collection.counters_available << ", reason '"
                               << p.report.run.collection.counters_unavailable_reason << "'");
  REQUIRE(p.report.run.collection.counters_available);
  std::istringstream lines(p.outcome.out);
  std::map<std::string, nlohmann::json> expected;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("name")) expected[j["name"]] = j;
  }
  const std::map<std::string, std::string> kernels{{"copy", "copy_kernel"},
                                                   {"cos_cos", "cos_cos_kernel"},
                                                   {"fma_fp32", "fma_fp32_kernel"},
                                                   {"fma_fp64", "fma_fp64_kernel"},
                                                   {"hadd_fp16", "hfma_kernel"}};
  for (const auto& [name, kernel] : kernels) {
    CAPTURE(name);
    const auto* k = find_kernel(p.report.run, kernel);
    REQUIRE(k != nullptr);
    REQUIRE(k->counters.has_value());
    const auto& c = *k->counters;
    const double flops = c.flops_per_launch.total();
    const double dram = c.dram_read_bytes_per_launch + c.dram_write_bytes_per_launch;
    MESSAGE(name << ": flops " << flops << " (fp32 "
                 << c.flops_per_launch.get(brrr::Precision::fp32, brrr::Pipe::cuda_core) << ", fp64 "
                 << c.flops_per_launch.get(brrr::Precision::fp64, brrr::Pipe::cuda_core) << ", fp16 "
                 << c.flops_per_launch.get(brrr::Precision::fp16, brrr::Pipe::cuda_core) << "), dram " << dram
                 << ", l2 " << c.l2_bytes_per_launch << ", analytic " << expected[name].dump());
    const auto& e = expected[name];
    if (e.contains("analytic_dram_bytes") && !e.value("analytic_dram_bytes_lower_bound", false) &&
        e["analytic_dram_bytes"].get<double>() > 64e6)
      CHECK(std::fabs(dram - e["analytic_dram_bytes"].get<double>()) <= 0.05 * e["analytic_dram_bytes"].get<double>());
    if (e.contains("analytic_flops") && e["analytic_flops"].is_number() && e["analytic_flops"].get<double>() > 0) {
      const double analytic = e["analytic_flops"];
      CHECK(std::fabs(flops - analytic) <= 0.02 * analytic);
      const auto precision = brrr::parse_precision(e["analytic_flops_precision"].get<std::string>());
      REQUIRE(precision.has_value());
      const double in_precision = c.flops_per_launch.get(*precision, brrr::Pipe::cuda_core) +
                                  c.flops_per_launch.get(*precision, brrr::Pipe::tensor);
      CHECK(in_precision >= 0.98 * flops);
    }
  }
  for (const auto& [name, kernel_prefix] : std::map<std::string, std::string>{{"gemm_bf16", ""}, {"gemm_tf32", ""}}) {
    CAPTURE(name);
    const double analytic = expected[name]["analytic_flops"];
    const auto precision = *brrr::parse_precision(expected[name]["analytic_flops_precision"].get<std::string>());
    // cuBLAS picks its kernels; the range's kernels together did the GEMM's work.
    double tensor = 0;
    for (const auto& k : p.report.run.kernels)
      if (k.counters) tensor = std::max(tensor, k.counters->flops_per_launch.get(precision, brrr::Pipe::tensor));
    MESSAGE(name << ": largest " << brrr::to_string(precision) << " tensor flops per launch " << tensor << ", analytic "
                 << analytic);
    CHECK(tensor >= 0.98 * analytic);
    CHECK(tensor <= 1.05 * analytic);
  }
}

TEST_CASE("the demo's phases are classified by measurement, and the fused-cos prediction holds") {
  auto p = profile("demo-verdict", {program("brrr-demo")});
  CHECK(p.outcome.status == 0);
  REQUIRE(p.report.profile.has_value());
  const auto analysis = brrr::analyse(p.report.run, &*p.report.profile);
  const auto& run = p.report.run;
  std::map<std::string, brrr::Attribution> phases;
  for (std::size_t i = 0; i < run.ranges.size(); ++i) phases[run.ranges[i].name] = analysis.ranges[i];
  auto share = [&](const std::string& phase, brrr::Regime r) {
    const auto& a = phases.at(phase);
    return a.fraction(a.regime_ns(r));
  };
  CAPTURE(share("overhead", brrr::Regime::overhead));
  CAPTURE(share("unfused", brrr::Regime::memory));
  CAPTURE(share("fused", brrr::Regime::memory));
  CAPTURE(share("gemm", brrr::Regime::compute));
  CHECK(share("overhead", brrr::Regime::overhead) > 0.5);
  CHECK(share("unfused", brrr::Regime::memory) > 0.5);
  CHECK(share("fused", brrr::Regime::memory) > 0.5);
  CHECK(share("gemm", brrr::Regime::compute) > 0.5);

  const auto* cos = find_kernel(run, "cos_kernel");
  const auto* cos_cos = find_kernel(run, "cos_cos_kernel");
  REQUIRE(cos != nullptr);
  REQUIRE(cos_cos != nullptr);
  const auto index = [&](const brrr::KernelGroup* k) { return static_cast<uint32_t>(k - run.kernels.data()); };
  const brrr::Finding* fusion = nullptr;
  for (const auto& f : analysis.verdict.findings)
    if (f.rule_id == "memory.fusion")
      CHECK(std::find(f.kernels.begin(), f.kernels.end(), index(cos_cos)) == f.kernels.end());
  INFO("dataflow recorded: " << run.collection.dataflow);
  // The cos phases are a small part of the demo's whole run, under the verdict's threshold:
  // look at the rule's formula on the recorded dataflow, without the threshold.
  REQUIRE(run.collection.dataflow);
  brrr::RuleLimits limits;
  limits.min_saving_fraction = 0;
  const auto findings = brrr::evaluate_rules(
      {run, &*p.report.profile, brrr::Ceilings::datasheet, analysis.kernels, analysis.process, limits, {}});
  for (const auto& f : findings)
    if (f.rule_id == "memory.fusion" && std::find(f.kernels.begin(), f.kernels.end(), index(cos)) != f.kernels.end())
      fusion = &f;
  REQUIRE(fusion != nullptr);
  CHECK(fusion->kernels == std::vector<uint32_t>{index(cos), index(cos)});
  double predicted = 0;
  for (const auto& e : fusion->evidence)
    if (e.key == "predicted_fused_ns_per_iteration") predicted = e.value;
  const double measured = static_cast<double>(cos_cos->median_ns);
  MESSAGE("fused cos(cos(x)): predicted " << predicted << " ns, measured " << measured << " ns");
  CHECK(std::fabs(predicted - measured) <= 0.2 * measured);
}

// The fire case of compute.tensor-cores on real hardware: the demo's optional sgemm phase runs an
// 8192³ FP32 GEMM on the CUDA cores (cuBLAS without TF32). brrr must find, by its counters alone,
// a compute-bound FP32 CUDA-core kernel with a matrix product's data reuse, and suggest TF32 with
// the saving its formula gives (docs/rules.md).
TEST_CASE("an FP32 GEMM on CUDA cores gets the tensor-core suggestion, with its saving") {
  auto p = profile("demo-sgemm", {program("brrr-demo"), "--phases", "sgemm"});
  CHECK(p.outcome.status == 0);
  REQUIRE(p.report.profile.has_value());
  const auto& run = p.report.run;
  const auto& profile = *p.report.profile;
  const auto analysis = brrr::analyse(run, &profile);
  // cuBLAS picks the kernel: the one that did the most FP32 CUDA-core FLOPs is the GEMM.
  std::optional<uint32_t> gemm;
  for (uint32_t i = 0; i < run.kernels.size(); ++i) {
    const auto& k = run.kernels[i];
    if (!k.counters) continue;
    const double flops = k.counters->flops_per_launch.get(brrr::Precision::fp32, brrr::Pipe::cuda_core);
    if (!gemm ||
        flops > run.kernels[*gemm].counters->flops_per_launch.get(brrr::Precision::fp32, brrr::Pipe::cuda_core))
      gemm = i;
  }
  REQUIRE(gemm.has_value());
  const auto& k = run.kernels[*gemm];
  const auto& a = analysis.kernels[*gemm];
  const double analytic = 2.0 * 8192 * 8192 * 8192.0;
  MESSAGE("sgemm: " << k.name << ", " << k.launches << " launches, median " << k.median_ns << " ns, "
                    << a.achieved_flops_per_s / 1e12 << " TFLOP/s, " << a.roof_fraction * 100 << "% of roof, "
                    << a.intensity.value_or(0) << " FLOPs per DRAM byte");
  CHECK(k.counters->flops_per_launch.get(brrr::Precision::fp32, brrr::Pipe::cuda_core) >= 0.98 * analytic);
  CHECK(k.counters->flops_per_launch.get(brrr::Precision::fp32, brrr::Pipe::cuda_core) <= 1.05 * analytic);
  CHECK(a.bound == brrr::BoundClass::compute);
  CHECK(a.precision == brrr::Precision::fp32);
  CHECK(a.pipe == brrr::Pipe::cuda_core);
  CHECK(a.intensity.value_or(0) >= brrr::RuleLimits{}.gemm_like_intensity);
  const brrr::Finding* finding = nullptr;
  for (const auto& f : analysis.verdict.findings)
    if (f.rule_id == "compute.tensor-cores" && f.kernels == std::vector<uint32_t>{*gemm}) finding = &f;
  REQUIRE(finding != nullptr);
  // The formula, from the report's own figures: the kernel at the TF32 roof or its DRAM traffic.
  const double tf32 = *profile.peak(brrr::Precision::tf32, brrr::Pipe::tensor, brrr::Ceilings::datasheet);
  const double bandwidth = *profile.dram_bandwidth(brrr::Ceilings::datasheet);
  const double ratio =
      std::min(1.0, std::max(a.flops / tf32, a.dram_bytes / bandwidth) / (static_cast<double>(k.total_ns) * 1e-9));
  MESSAGE("compute.tensor-cores saves " << finding->saving_ns << " ns (" << finding->saving_fraction * 100
                                        << "% of the run); at TF32 the GEMM would take " << ratio * 100
                                        << "% of its time");
  CHECK(static_cast<double>(finding->saving_ns) ==
        doctest::Approx(static_cast<double>(k.attributed_ns) * (1 - ratio)).epsilon(1e-6));
  CHECK(ratio < 0.5);
}
