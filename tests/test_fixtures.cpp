// Fixture reports and golden output.
//
// tests/fixtures/synthetic-demo.json is what build_run and analyse make of a synthetic trace
// shaped like the bundled demo (examples/demo/demo.cu) on an H100 SXM: one NVTX range per
// phase ("overhead": 2000 tiny kernels with 4 µs launch gaps, "sync": launch + synchronize,
// "unfused": cos→cos passes over 256 MiB buffers, "fused": the fused cos_cos kernel, "gemm":
// BF16 cuBLAS GEMMs on tensor cores), with counters on the first launches of each kernel and
// the replay time of those counters cut out. Real H100 recordings of the demo will be added
// beside it as fixtures (tests/fixtures/*.json), each with its golden text.
//
// BRRR_REGENERATE_FIXTURES=1 rewrites the synthetic fixture from the trace below; otherwise
// the committed file must still read, analyse, and match what build_run makes of the trace.
// tests/golden/synthetic-demo.txt is `brrr explain` of the fixture (text, no color, UTF-8),
// compared byte for byte; BRRR_UPDATE_GOLDEN=1 rewrites it.

#include <doctest/doctest.h>

#include "golden.hpp"
#include "process_runner.hpp"
#include "trace_builder.hpp"

#include "report/profiles.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

namespace {

using namespace brrr;
using namespace brrr::testing;

constexpr int64_t us = 1'000;
constexpr int64_t ms = 1'000'000;
constexpr double MiB = 1024.0 * 1024.0;

const std::string tiny_symbol = "_Z11tiny_kernelPf";
const std::string cos_symbol = "_Z10cos_kernelPK6float4PS_m";
const std::string cos_cos_symbol = "_Z14cos_cos_kernelPK6float4PS_m";
const std::string gemm_symbol =
    "sm90_xmma_gemm_bf16bf16_bf16f32_f32_nn_n_tilesize128x256x64_warpgroupsize2x1x1_execute_segment_k_off_kernel__5x_"
    "cublas";

using Values = std::vector<std::pair<std::string, double>>;

// The synthetic demo, written in the program's own time; counter replays are inserted at the
// end, pushing everything after them later, as they would in a real recording.
class SyntheticDemo {
public:
  SyntheticDemo() : b_(0) {
    b_.facts.info.tool_version = "synthetic";
    b_.facts.info.command = {"./brrr-demo", "--scale", "0.1"};
    b_.facts.info.start_time = "2024-06-01T12:00:00Z";
    b_.facts.info.host = "synthetic";
    b_.facts.info.exit = {ExitStatus::Kind::exited, 0, 0};
    b_.facts.collection.counters_mode = "first:50";
    b_.facts.collection.counters_available = true;
    b_.process(31337, 40 * ms);
    b_.trace.processes[0].command = b_.facts.info.command;
    b_.device("NVIDIA H100 80GB HBM3", 9, 0, 132);
  }

  TraceBuilder build() {
    int64_t t = 60 * ms;
    t = overhead(t) + 300 * us;
    t = sync(t) + 300 * us;
    t = poison(t);
    t = unfused(t);
    t = verify(t) + 200 * us;
    t = poison(t);
    t = fused(t);
    t = verify(t) + 200 * us;
    t = gemm(t) + 2 * ms;
    b_.facts.end_ns = TraceBuilder::at(t + 5 * ms);
    apply_replays();
    return b_;
  }

private:
  KernelOptions tiny_options() const { return {.grid = {1, 1, 1}, .block = {256, 1, 1}}; }
  KernelOptions stream_options() const { return {.grid = {1056, 1, 1}, .block = {256, 1, 1}}; }

  void sample(uint32_t correlation, const std::string& symbol, int64_t end, const Values& values) {
    if (sampled_[symbol]++ >= samples_[symbol]) return;
    b_.counters(correlation, symbol, values);
    replays_.emplace_back(end, 300 * us);
  }

  // 2000 tiny kernels, issued one every 7 µs by a host that cannot go faster: each runs
  // 3 µs and the GPU waits 4 µs for the next.
  int64_t overhead(int64_t t) {
    b_.range("overhead", t - 20 * us, 0); // end set below
    const std::size_t range = b_.trace.ranges.size() - 1;
    int64_t kernel_end = 0;
    int64_t api_end = 0;
    for (int i = 0; i < 2000; ++i) {
      const int64_t s = t + i * 7 * us;
      KernelOptions o = tiny_options();
      o.queued = s + 1800;
      const uint32_t c = b_.launch(tiny_symbol, s, s + 2500, s + 2 * us, s + 5 * us, o);
      sample(c, tiny_symbol, s + 5 * us, tiny_counters());
      kernel_end = s + 5 * us;
      api_end = s + 2500;
    }
    return end_phase(range, api_end, kernel_end);
  }

  // 200 launches, each followed by a stream synchronization: the GPU drains, then waits for
  // the host to wake up and launch again.
  int64_t sync(int64_t t) {
    b_.range("sync", t - 20 * us, 0);
    const std::size_t range = b_.trace.ranges.size() - 1;
    int64_t kernel_end = 0;
    int64_t api_end = 0;
    for (int i = 0; i < 200; ++i) {
      const int64_t s = t + i * 9 * us;
      const uint32_t c = b_.launch(tiny_symbol, s, s + 2500, s + 2 * us, s + 5 * us, tiny_options());
      sample(c, tiny_symbol, s + 5 * us, tiny_counters());
      b_.sync(s + 2500, s + 8 * us);
      kernel_end = s + 5 * us;
      api_end = s + 8 * us;
    }
    return end_phase(range, api_end, kernel_end);
  }

  // The output is poisoned before a cos phase: a 256 MiB memset, then a stream sync.
  int64_t poison(int64_t t) {
    const uint32_t c = b_.set(t + 6 * us, t + 96 * us, 256 << 20);
    b_.api(c, t, t + 5 * us, ApiKind::memset);
    b_.sync(t + 6 * us, t + 99 * us);
    return t + 100 * us;
  }

  // Queues `count` launches of 190 µs (512 MiB at 2.83 TB/s) and lets the GPU run them back
  // to back.
  int64_t stream_launches(int64_t t, const std::vector<std::string>& symbols, int count, int64_t duration,
                          const std::function<Values(const std::string&)>& counters, int64_t* api_end) {
    int64_t start = t + 2 * us;
    int64_t end = start;
    for (int i = 0; i < count; ++i) {
      const std::string& symbol = symbols[static_cast<std::size_t>(i) % symbols.size()];
      const int64_t api = t + i * 3 * us;
      end = start + duration;
      KernelOptions o =
          symbol == gemm_symbol ? KernelOptions{.grid = {132, 1, 1}, .block = {384, 1, 1}} : stream_options();
      const uint32_t c = b_.launch(symbol, api, api + 2 * us, start, end, o);
      sample(c, symbol, end, counters(symbol));
      start = end + 1 * us;
      *api_end = api + 2 * us;
    }
    return end;
  }

  int64_t unfused(int64_t t) {
    b_.range("unfused", t, 0);
    const std::size_t range = b_.trace.ranges.size() - 1;
    int64_t api_end = 0;
    const int64_t end = stream_launches(t + 1 * us, {cos_symbol}, 40, 190 * us, stream_counters, &api_end);
    return end_phase(range, api_end, end);
  }

  int64_t fused(int64_t t) {
    b_.range("fused", t, 0);
    const std::size_t range = b_.trace.ranges.size() - 1;
    int64_t api_end = 0;
    const int64_t end = stream_launches(t + 1 * us, {cos_cos_symbol}, 20, 190 * us, stream_counters, &api_end);
    return end_phase(range, api_end, end);
  }

  // 10 BF16 GEMMs of 8192³ at 785 TFLOP/s (79% of the 989.5 TFLOP/s dense peak).
  int64_t gemm(int64_t t) {
    b_.range("gemm", t, 0);
    const std::size_t range = b_.trace.ranges.size() - 1;
    int64_t api_end = 0;
    const int64_t end = stream_launches(t + 1 * us, {gemm_symbol}, 10, 1400 * us, gemm_counters, &api_end);
    return end_phase(range, api_end, end);
  }

  // Two small synchronous copies back to pageable memory, then the host checks them.
  int64_t verify(int64_t t) {
    for (int i = 0; i < 2; ++i) {
      const int64_t s = t + 10 * us + i * 50 * us;
      const uint32_t c = b_.copy(s + 10 * us, s + 35 * us, 64 * 1024,
                                 {.kind = CopyKind::device_to_host,
                                  .source = MemoryKind::device,
                                  .destination = MemoryKind::pageable,
                                  .async = false});
      b_.api(c, s, s + 40 * us, ApiKind::memcpy);
    }
    return t + 110 * us;
  }

  // cudaDeviceSynchronize at the end of a phase, inside its range.
  int64_t end_phase(std::size_t range, int64_t api_end, int64_t gpu_end) {
    const int64_t sync_start = api_end + 1 * us;
    const int64_t sync_end = std::max(sync_start, gpu_end) + 3 * us;
    b_.sync(sync_start, sync_end);
    b_.trace.ranges[range].end_ns = TraceBuilder::at(sync_end + 1 * us);
    return sync_end + 1 * us;
  }

  static Values tiny_counters() {
    return {{"dram__bytes_read.sum", 0},
            {"dram__bytes_write.sum", 1024},
            {"lts__t_bytes.sum", 2048},
            {"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 256},
            {"gpu__time_duration.sum", 2100}};
  }

  static Values stream_counters(const std::string& symbol) {
    const double ops = symbol == cos_cos_symbol ? 2 : 1;
    return {{"dram__bytes_read.sum", 256 * MiB + 4096},
            {"dram__bytes_write.sum", 256 * MiB},
            {"lts__t_bytes.sum", 537e6},
            {"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 5.0e8 * ops},
            {"sm__sass_thread_inst_executed_op_fmul_pred_on.sum", 1.3e8 * ops},
            {"sm__sass_thread_inst_executed_op_fadd_pred_on.sum", 1.3e8 * ops},
            {"gpu__time_duration.sum", 192'000}};
  }

  static Values gemm_counters(const std::string&) {
    return {{"sm__ops_path_tensor_src_bf16_dst_fp32.sum", 2.0 * 8192 * 8192 * 8192},
            {"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 6.7e7},
            {"dram__bytes_read.sum", 4.3e8},
            {"dram__bytes_write.sum", 1.35e8},
            {"lts__t_bytes.sum", 6e9},
            {"gpu__time_duration.sum", 1'398'000}};
  }

  // Each counter replay holds the program up: everything after it happens later, and the
  // replay becomes a tool interval that the model cuts out again.
  void apply_replays() {
    std::sort(replays_.begin(), replays_.end());
    auto shifted = [&](uint64_t& abs) {
      const int64_t rel = static_cast<int64_t>(abs - origin_ns);
      int64_t shift = 0;
      for (const auto& [at, length] : replays_)
        if (at < rel) shift += length;
      abs += static_cast<uint64_t>(shift);
    };
    for (auto& k : b_.trace.kernels) {
      shifted(k.start_ns);
      shifted(k.end_ns);
      if (k.queued_ns) shifted(k.queued_ns);
    }
    for (auto& c : b_.trace.copies) shifted(c.start_ns), shifted(c.end_ns);
    for (auto& s : b_.trace.sets) shifted(s.start_ns), shifted(s.end_ns);
    for (auto& s : b_.trace.syncs) shifted(s.start_ns), shifted(s.end_ns);
    for (auto& a : b_.trace.apis) shifted(a.start_ns), shifted(a.end_ns);
    for (auto& r : b_.trace.ranges) shifted(r.start_ns), shifted(r.end_ns);
    shifted(b_.facts.end_ns);
    int64_t before = 0;
    for (const auto& [at, length] : replays_) {
      b_.tool(at + before, at + before + length);
      before += length;
    }
  }

  TraceBuilder b_;
  std::map<std::string, int> samples_{{tiny_symbol, 50}, {cos_symbol, 10}, {cos_cos_symbol, 5}, {gemm_symbol, 2}};
  std::map<std::string, int> sampled_;
  std::vector<std::pair<int64_t, int64_t>> replays_;
};

Report synthetic_demo_report() {
  const TraceBuilder b = SyntheticDemo().build();
  Report report;
  report.run = b.build();
  auto match = match_profile(builtin_profiles(), report.run.gpus.at(0).name, report.run.gpus.at(0).compute_capability);
  REQUIRE(match);
  report.profile = match->profile;
  report.analysis = analyse(report.run, &*report.profile);
  return report;
}

const std::filesystem::path synthetic_fixture = source_path("tests/fixtures/synthetic-demo.json");
const std::filesystem::path synthetic_golden = source_path("tests/golden/synthetic-demo.txt");

} // namespace

TEST_CASE("fixtures: the synthetic demo report") {
  const Report fresh = synthetic_demo_report();
  if (env_flag("BRRR_REGENERATE_FIXTURES")) {
    write_file_atomically(synthetic_fixture, report_to_json(fresh).dump(2) + "\n", true);
    MESSAGE("rewrote ", synthetic_fixture.string());
  }

  Report report = read_report(synthetic_fixture);
  INFO("the committed fixture no longer matches what build_run makes of the synthetic trace; if the change is "
       "intended, run the tests with BRRR_REGENERATE_FIXTURES=1 and BRRR_UPDATE_GOLDEN=1");
  CHECK(report.run == fresh.run);
  REQUIRE(report.profile);
  CHECK(report.profile->id == "h100-sxm");
  report.analysis = analyse(report.run, &*report.profile);
  const Run& run = report.run;

  // The shape of the demo.
  std::vector<std::string> ranges;
  for (const auto& r : run.ranges) ranges.push_back(r.name);
  CHECK(ranges == std::vector<std::string>{"overhead", "sync", "unfused", "fused", "gemm"});
  const KernelGroup* tiny = find_kernel(run, "tiny_kernel(float*)");
  const KernelGroup* cos = find_kernel(run, "cos_kernel(float4 const*, float4*, unsigned long)");
  const KernelGroup* cos_cos = find_kernel(run, "cos_cos_kernel(float4 const*, float4*, unsigned long)");
  REQUIRE(tiny);
  REQUIRE(cos);
  REQUIRE(cos_cos);
  CHECK(tiny->launches == 2200);
  CHECK(tiny->counters->measured_launches == 50);
  CHECK(cos->launches == 40);
  CHECK(cos_cos->launches == 20);
  CHECK(run.collection.tool_ns == (50 + 10 + 5 + 2) * 300 * us);

  // The exact sums hold on the fixture as written.
  CHECK(attributed_sum(run) == run.timeline.wall_ns);
  for (const auto& r : run.ranges) CHECK(range_parts_sum(r) == r.total_ns);
  CHECK(report.analysis.process.sum() == run.timeline.wall_ns);

  // Each phase is bound by what it was built to be bound by.
  const auto& a = report.analysis;
  auto range_attribution = [&](const std::string& name) -> const Attribution& {
    for (std::size_t i = 0; i < run.ranges.size(); ++i)
      if (run.ranges[i].name == name) return a.ranges[i];
    FAIL("no range " << name);
    return a.process;
  };
  CHECK(range_attribution("overhead").get(Part::idle_launch) > range_attribution("overhead").wall_ns / 2);
  CHECK(range_attribution("sync").get(Part::idle_sync) > range_attribution("sync").wall_ns / 2);
  CHECK(range_attribution("unfused").get(Part::memory) > range_attribution("unfused").wall_ns * 9 / 10);
  CHECK(range_attribution("fused").get(Part::memory) > range_attribution("fused").wall_ns * 9 / 10);
  CHECK(range_attribution("gemm").get(Part::compute) > range_attribution("gemm").wall_ns * 9 / 10);
  std::set<std::string> rules_fired;
  for (const auto& f : a.verdict.findings) rules_fired.insert(f.rule_id);
  CHECK(rules_fired.count("overhead.launch-bound"));
  CHECK(rules_fired.count("overhead.sync"));
  CHECK(rules_fired.count("roof.compute"));
  CHECK(rules_fired.count("roof.memory"));
  CHECK_FALSE(a.verdict.headline.empty());
}

TEST_CASE("golden: brrr explain of the synthetic demo, byte for byte") {
  const auto result = run_brrr({"explain", synthetic_fixture.string()});
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  check_golden(synthetic_golden, result.out);
}
