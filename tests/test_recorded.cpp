// The reports recorded by brrr profile on an H100 (examples/reports/*-h100.json) as fixtures:
// they read, their parts sum to their wall time, and the analysis draws the conclusions the
// programs call for, from the measurements alone.

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

double regime_share(const Report& r, const std::string& range, Regime regime) {
  for (std::size_t i = 0; i < r.run.ranges.size(); ++i)
    if (r.run.ranges[i].name == range) {
      const Attribution& a = r.analysis.ranges[i];
      return a.fraction(a.regime_ns(regime));
    }
  FAIL("no range " << range);
  return 0;
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
  r.run.collection.dataflow = true;
  for (auto& s : r.run.successions) s.linked = s.from == cos && s.to == cos ? s.count : 0;
  r.analysis = analyse(r.run, &*r.profile);
  // The demo's cos phases are a small part of its run: look at the formula, not the threshold.
  RuleLimits limits;
  limits.min_saving_fraction = 0;
  const auto findings =
      evaluate_rules({r.run, &*r.profile, Ceilings::datasheet, r.analysis.kernels, r.analysis.process, limits, {}});
  const Finding* fusion = nullptr;
  for (const auto& f : findings)
    if (f.rule_id == "memory.fusion") fusion = &f;
  REQUIRE(fusion != nullptr);
  CHECK(fusion->kernels == std::vector<uint32_t>{cos, cos});
  double predicted = 0;
  for (const auto& e : fusion->evidence)
    if (e.key == "predicted_fused_ns_per_iteration") predicted = e.value;
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
}
