// brrr profile on real CUDA programs: counts, bytes, timings, NVTX phases, exit statuses,
// crashes, process chains and PyTorch. The programs are the build's own (demo, launch loop,
// reference kernels, test target), found next to this test executable.

#include "gpu_helpers.hpp"

#include "analyse/analysis.hpp"
#include "report/report.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <map>
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

TEST_CASE("kernel time agrees with CUDA-event timing within 5%") {
  auto p = profile("refkernels", {program("brrr-refkernels")});
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
    const double traced_ms = static_cast<double>(k->min_ns) / 1e6;
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
  for (const auto& f : analysis.verdict.findings) {
    if (f.rule_id != "memory.fusion") continue;
    CHECK(std::find(f.kernels.begin(), f.kernels.end(), index(cos_cos)) == f.kernels.end());
    if (std::find(f.kernels.begin(), f.kernels.end(), index(cos)) != f.kernels.end()) fusion = &f;
  }
  INFO("dataflow recorded: " << run.collection.dataflow);
  REQUIRE(fusion != nullptr);
  double predicted = 0;
  for (const auto& e : fusion->evidence)
    if (e.key == "predicted_fused_ns_per_iteration") predicted = e.value;
  const double measured = static_cast<double>(cos_cos->median_ns);
  MESSAGE("fused cos(cos(x)): predicted " << predicted << " ns, measured " << measured << " ns");
  CHECK(std::fabs(predicted - measured) <= 0.2 * measured);
}
