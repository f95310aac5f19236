// brrr calibrate without a GPU: reading what the calibration kernels report, the calibrated
// profile (its figures, its JSON round trip, its errors), the warnings (clocks, MIG, a busy
// GPU), finding a calibration for a run's GPU, choosing datasheet or measured roofs, and the
// command line end to end. For the command line, a shell script stands in for
// brrr-calibrate-kernels and prints what the real kernels print on an H100; the kernels
// themselves are tested on a GPU (tests/gpu/test_calibrate_gpu.cpp).

#include <doctest/doctest.h>

#include "process_runner.hpp"
#include "trace_builder.hpp"

#include "collect/calibrate.hpp"
#include "model/calibration.hpp"
#include "render/render.hpp"
#include "report/calibrations.hpp"
#include "report/profiles.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

namespace {

using namespace brrr;
using namespace brrr::testing;
using nlohmann::json;
namespace fs = std::filesystem;

const HardwareProfile& builtin(const std::string& id) {
  for (const auto& p : builtin_profiles())
    if (p.id == id) return p;
  FAIL("no built-in profile " << id);
  throw std::logic_error("unreachable");
}

// Of the order of what was measured on the lent H100 (docs/benchmarks.md).
double h100_figure(const CeilingSpec& spec) {
  static const std::map<std::string_view, double> figures{{"dram_read_bytes_per_s", 3.0e12},
                                                          {"dram_write_bytes_per_s", 2.9e12},
                                                          {"dram_copy_bytes_per_s", 2.86e12},
                                                          {"l2_read_bytes_per_s", 9.5e12},
                                                          {"shared_read_bytes_per_s", 3.0e13},
                                                          {"fp64_cuda_core_flops_per_s", 3.3e13},
                                                          {"fp32_cuda_core_flops_per_s", 5.66e13},
                                                          {"fp16_cuda_core_flops_per_s", 1.1e14},
                                                          {"bf16_cuda_core_flops_per_s", 1.1e14},
                                                          {"fp64_tensor_flops_per_s", 5.5e13},
                                                          {"tf32_tensor_flops_per_s", 4.0e14},
                                                          {"fp16_tensor_flops_per_s", 8.0e14},
                                                          {"bf16_tensor_flops_per_s", 8.03e14},
                                                          {"fp8_tensor_flops_per_s", 1.3e15},
                                                          {"int8_tensor_flops_per_s", 1.0e15},
                                                          {"htod_pinned_bytes_per_s", 5.5e10},
                                                          {"dtoh_pinned_bytes_per_s", 5.3e10},
                                                          {"htod_pageable_bytes_per_s", 2.0e10},
                                                          {"dtoh_pageable_bytes_per_s", 1.8e10},
                                                          {"launch_rate_per_s", 2.5e5},
                                                          {"launch_latency_ns", 6000},
                                                          {"sync_round_trip_ns", 4000}};
  return figures.at(spec.id);
}

std::string device_line(const std::string& name = "NVIDIA H100 80GB HBM3", bool mig = false, int sm_count = 132) {
  json uuid = json::array();
  for (int i = 0; i < 16; ++i) uuid.push_back(i * 17);
  return json{{"type", "device"},
              {"id", 0},
              {"name", name},
              {"uuid_bytes", uuid},
              {"mig", mig},
              {"compute_capability", "9.0"},
              {"sm_count", sm_count},
              {"sm_clock_mhz", 1980},
              {"memory_clock_mhz", 2619},
              {"memory_bytes", 85017493504ULL},
              {"l2_bytes", 52428800},
              {"driver_version", "580.159.04"},
              {"nvml", true}}
      .dump();
}

// Three runs, the middle one the best, with the clocks NVML would report during it; the GEMMs
// say which was the fastest. A host-bound ceiling has eleven trials, one of them lucky (8%
// faster than `value`), the next the fast decile (`value`), the others slower.
std::string result_line(const CeilingSpec& spec, double value, unsigned sm_mhz) {
  const bool latency = spec.unit == CeilingUnit::ns;
  std::vector<double> factors{latency ? 1.01 : 0.99, 1.0, latency ? 1.02 : 0.98};
  if (spec.host_bound) {
    factors = {0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.98, 1.0, 1.08};
    if (latency)
      for (double& f : factors) f = 2 - f;
  }
  json runs = json::array();
  for (double f : factors) {
    json run{{"value", value * f}};
    if (!spec.host_bound) {
      run["sm_clock_mhz"] = f == 1.0 ? sm_mhz : 1980;
      run["memory_clock_mhz"] = 2619;
      if (f == 1.0 && sm_mhz < 1980) run["clock_limits"] = {"software power cap"};
    }
    runs.push_back(run);
  }
  json result{{"type", "result"}, {"id", spec.id}, {"runs", runs}};
  if (spec.pipe == Pipe::tensor && spec.roof == RoofFigure::peak)
    result["setup"] = "16384×8192×8192 NN (m×n×k), cuBLASLt algorithm 66, heuristic rank 1 of 8, on signed inputs; 49 "
                      "screened, 4 in the finals: 3 rounds of bursts of 10 launches, on signed and on non-negative "
                      "inputs";
  return result.dump();
}

// What the kernels print for a whole measurement: every ceiling `factor` times the H100's,
// int8 skipped by the kernels, the tensor GEMMs at a power-capped clock.
std::vector<std::string> session_lines(double factor = 1.0, unsigned tensor_sm_mhz = 1755) {
  std::vector<std::string> lines;
  for (const auto& spec : ceiling_specs) {
    lines.push_back(json{{"type", "start"}, {"id", spec.id}}.dump());
    if (spec.id == "int8_tensor_flops_per_s") {
      lines.push_back(json{{"type", "skipped"}, {"id", spec.id}, {"reason", "cuBLASLt has no INT8 GEMM"}}.dump());
      continue;
    }
    const double value = spec.unit == CeilingUnit::ns ? h100_figure(spec) / factor : h100_figure(spec) * factor;
    lines.push_back(result_line(spec, value, spec.pipe == Pipe::tensor ? tensor_sm_mhz : 1980));
  }
  lines.push_back(json{{"type", "end"}, {"duration_ns", 21'000'000'000ULL}}.dump());
  return lines;
}

Calibration canned_calibration(double factor = 1.0, unsigned tensor_sm_mhz = 1755,
                               const HardwareProfile* datasheet = &builtin("h100-sxm"),
                               std::vector<SkippedCeiling> skipped = {}) {
  CalibrationReader describe;
  describe.line(device_line());
  CalibrationReader reader;
  for (const auto& line : session_lines(factor, tensor_sm_mhz)) {
    // A ceiling brrr skips is not measured.
    const bool asked = std::none_of(skipped.begin(), skipped.end(),
                                    [&](const auto& s) { return line.find("\"" + s.id + "\"") != std::string::npos; });
    if (asked) reader.line(line);
  }
  REQUIRE(reader.error().empty());
  REQUIRE(reader.ended());
  Calibration c = assemble_calibration(*describe.device(), reader, std::move(skipped), datasheet);
  c.date = "2026-11-26T10:00:00Z";
  c.host = "gpu-host";
  return c;
}

GpuInfo h100_gpu() {
  GpuInfo gpu;
  gpu.name = "NVIDIA H100 80GB HBM3";
  gpu.compute_capability = "9.0";
  gpu.sm_count = 132;
  gpu.sm_clock_mhz = 1980;
  return gpu;
}

std::string write_calibration(const TempDir& dir, const std::string& name, const Calibration& c) {
  const auto profile = calibrated_profile(c, &builtin("h100-sxm"));
  return dir.write(name, profile_to_json(profile).dump(2)).string();
}

} // namespace

TEST_CASE("calibrate: the kernels' output is read, the best run or the fast decile is the ceiling") {
  std::vector<const CeilingMeasurement*> progress;
  CalibrationReader reader([&](const CeilingMeasurement* m, const SkippedCeiling* s) {
    CHECK((m != nullptr) != (s != nullptr));
    progress.push_back(m);
  });
  reader.line(device_line());
  for (const auto& line : session_lines()) reader.line(line);
  reader.line("   ");
  CHECK(reader.error().empty());
  CHECK(reader.ended());
  CHECK(progress.size() == ceiling_specs.size());
  REQUIRE(reader.device());
  CHECK(reader.device()->gpu.uuid == "GPU-00112233-4455-6677-8899-aabbccddeeff");
  CHECK(reader.device()->gpu.sm_clock_mhz == 1980);
  CHECK(reader.device()->max_memory_clock_mhz == 2619);
  CHECK(reader.ceilings().size() == ceiling_specs.size() - 1);
  REQUIRE(reader.skipped().size() == 1);
  CHECK(reader.skipped()[0].id == "int8_tensor_flops_per_s");
  CHECK(reader.duration_ns() == 21'000'000'000ULL);
  for (const auto& m : reader.ceilings()) {
    CAPTURE(m.id);
    const auto& spec = *find_ceiling_spec(m.id);
    CHECK(m.runs.size() == (spec.host_bound ? 11 : 3));
    // The highest rate, or the lowest latency; the fast decile of the host-bound trials.
    CHECK(m.value == doctest::Approx(h100_figure(spec)));
    CHECK(m.statistic == (spec.host_bound ? CeilingStatistic::fast_decile : CeilingStatistic::best));
    CHECK(m.setup.empty() == (spec.pipe != Pipe::tensor || spec.roof != RoofFigure::peak));
    if (!spec.host_bound) {
      REQUIRE(m.sm_clock_mhz);
      CHECK(*m.sm_clock_mhz == (spec.pipe == Pipe::tensor ? 1755u : 1980u));
    }
  }
  CHECK(reader.ceilings()[0].clock_limits.empty());
  const auto bf16 = std::find_if(reader.ceilings().begin(), reader.ceilings().end(),
                                 [](const auto& m) { return m.id == "bf16_tensor_flops_per_s"; });
  CHECK(bf16->clock_limits == std::vector<std::string>{"software power cap"});
}

TEST_CASE("calibrate: a ceiling from its runs: the best, the fast decile, the median") {
  const CeilingSpec& rate = *find_ceiling_spec("launch_rate_per_s");
  const CeilingSpec& latency = *find_ceiling_spec("launch_latency_ns");
  // 21 trials, 100 to 120, in no particular order.
  std::vector<double> trials;
  for (int i = 0; i < 21; ++i) trials.push_back(100 + (i * 8) % 21);
  CHECK(ceiling_value(rate, CeilingStatistic::best, trials) == 120);
  CHECK(ceiling_value(latency, CeilingStatistic::best, trials) == 100);
  CHECK(ceiling_value(rate, CeilingStatistic::median, trials) == 110);
  CHECK(ceiling_value(latency, CeilingStatistic::median, trials) == 110);
  // The edge of the fastest tenth: two trials beyond it, the highest rates or lowest latencies.
  CHECK(ceiling_value(rate, CeilingStatistic::fast_decile, trials) == doctest::Approx(118));
  CHECK(ceiling_value(latency, CeilingStatistic::fast_decile, trials) == doctest::Approx(102));
  // Interpolated between the two nearest trials.
  CHECK(ceiling_value(rate, CeilingStatistic::fast_decile, {10, 40, 20, 30}) == doctest::Approx(37));
  CHECK(ceiling_value(latency, CeilingStatistic::fast_decile, {10, 40, 20, 30}) == doctest::Approx(13));
  CHECK(ceiling_value(rate, CeilingStatistic::fast_decile, {5}) == 5);

  // 40 undisturbed trials at 200 to 203 per second, and a share of disturbed ones that moves
  // from one calibration to the next: the median follows the share, the fast decile stays
  // among the undisturbed trials as long as a tenth of the trials are.
  std::vector<double> quiet;
  for (int i = 0; i < 40; ++i) quiet.push_back(200 + 0.075 * i);
  for (const int disturbed : {0, 40, 120, 300}) {
    CAPTURE(disturbed);
    std::vector<double> runs = quiet;
    for (int i = 0; i < disturbed; ++i) runs.push_back(120 + 0.25 * (i % 200));
    const double decile = ceiling_value(rate, CeilingStatistic::fast_decile, runs);
    CHECK(decile >= 200);
    CHECK(decile <= 203);
    if (disturbed >= 120) CHECK(ceiling_value(rate, CeilingStatistic::median, runs) < 200);
  }

  // The spread is the interquartile range of the runs relative to the ceiling: 105 to 115 of
  // the fast decile 118.
  CeilingMeasurement m;
  m.statistic = CeilingStatistic::fast_decile;
  m.runs = trials;
  m.value = ceiling_value(rate, m.statistic, m.runs);
  CHECK(ceiling_spread(m) == doctest::Approx(10.0 / 118));
  m.runs = {118};
  CHECK(ceiling_spread(m) == 0);
}

TEST_CASE("calibrate: what the kernels' reader refuses") {
  auto error_of = [](const std::vector<std::string>& lines) {
    CalibrationReader reader;
    for (const auto& line : lines) reader.line(line);
    return reader.error();
  };
  CHECK(error_of({R"({"type":"error","message":"no GPU to calibrate: no NVIDIA driver"})"}) ==
        "no GPU to calibrate: no NVIDIA driver");
  CHECK(error_of({"Segmentation fault"}).find("brrr-calibrate-kernels wrote what brrr cannot read") == 0);
  CHECK(error_of({R"({"type":"result","id":"dram_warp_bytes_per_s","runs":[{"value":1}]})"}).find("unknown ceiling") !=
        std::string::npos);
  CHECK(error_of({R"({"type":"result","id":"dram_read_bytes_per_s","runs":[]})"}).find("no runs") != std::string::npos);
  CHECK(error_of({R"({"type":"result","id":"dram_read_bytes_per_s","runs":[{"value":0}]})"}).find("must be positive") !=
        std::string::npos);
  CHECK(error_of({R"({"type":"gossip"})"}).find("unknown message type") != std::string::npos);
  // The first error stays.
  CHECK(error_of({R"({"type":"error","message":"first"})", "garbage"}) == "first");
  CalibrationReader cut;
  cut.line(R"({"type":"start","id":"dram_copy_bytes_per_s"})");
  CHECK_FALSE(cut.ended());
  CHECK(cut.last_started() == "dram_copy_bytes_per_s");
}

TEST_CASE("calibrate: which ceilings are asked for depends on the datasheet profile") {
  std::vector<SkippedCeiling> skipped;
  CHECK(ceilings_to_measure(&builtin("h100-sxm"), skipped).size() == ceiling_specs.size());
  CHECK(skipped.empty());
  // A T4 has no bf16 units, no TF32, FP8 or FP64 tensor cores.
  const auto ids = ceilings_to_measure(&builtin("t4"), skipped);
  std::vector<std::string> skipped_ids;
  for (const auto& s : skipped) skipped_ids.push_back(s.id);
  CHECK(skipped_ids == std::vector<std::string>{"bf16_cuda_core_flops_per_s", "fp64_tensor_flops_per_s",
                                                "tf32_tensor_flops_per_s", "bf16_tensor_flops_per_s",
                                                "fp8_tensor_flops_per_s"});
  CHECK(ids.size() + skipped.size() == ceiling_specs.size());
  CHECK(skipped[0].reason.find("lists no bf16 CUDA-core peak") != std::string::npos);
  // Without a profile, everything.
  skipped.clear();
  CHECK(ceilings_to_measure(nullptr, skipped).size() == ceiling_specs.size());
}

TEST_CASE("calibrate: the calibrated profile holds the measured roofs beside the datasheet's") {
  const Calibration c = canned_calibration();
  const HardwareProfile& sheet = builtin("h100-sxm");
  const HardwareProfile p = calibrated_profile(c, &sheet);
  CHECK(p.id == "nvidia-h100-80gb-hbm3");
  CHECK(p.name == sheet.name);
  CHECK(p.match_names == std::vector<std::string>{"NVIDIA H100 80GB HBM3"});
  // The DRAM roof is the fastest of read, write and copy; the datasheet value stays.
  REQUIRE(p.dram_bytes_per_s);
  CHECK(p.dram_bytes_per_s->value == sheet.dram_bytes_per_s->value);
  CHECK(p.dram_bytes_per_s->measured == doctest::Approx(3.0e12));
  CHECK(p.l2_bytes_per_s->measured == doctest::Approx(9.5e12));
  CHECK(p.host_link_bytes_per_s->measured == doctest::Approx(5.5e10));
  CHECK(p.peak(Precision::bf16, Pipe::tensor, Ceilings::measured) == doctest::Approx(8.03e14));
  CHECK(p.peak(Precision::bf16, Pipe::tensor, Ceilings::datasheet) == doctest::Approx(9.895e14));
  CHECK(p.peak(Precision::fp32, Pipe::cuda_core, Ceilings::measured) == doctest::Approx(5.66e13));
  CHECK(p.peak(Precision::fp64, Pipe::tensor, Ceilings::measured) == doctest::Approx(5.5e13));
  // The kernels skipped int8: its roof keeps the datasheet's value alone.
  CHECK_FALSE(p.peak_flops_per_s.at({Precision::int8, Pipe::tensor}).measured);
  CHECK(p.has_measured());
  REQUIRE(p.calibration);
  CHECK(*p.calibration == c);

  SUBCASE("a calibrated profile given as the datasheet leaves none of its old measurements") {
    HardwareProfile old = p;
    old.peak_flops_per_s[{Precision::int8, Pipe::tensor}].measured = 1.0;
    const HardwareProfile again = calibrated_profile(c, &old);
    CHECK_FALSE(again.peak_flops_per_s.at({Precision::int8, Pipe::tensor}).measured);
  }
  SUBCASE("without a datasheet profile, the measurements are the figures") {
    const HardwareProfile alone = calibrated_profile(c, nullptr);
    CHECK(alone.name == "NVIDIA H100 80GB HBM3");
    CHECK(alone.dram_bytes_per_s->value == doctest::Approx(3.0e12));
    CHECK(alone.dram_bytes_per_s->source.find("no datasheet figure") == 0);
    CHECK(alone.sm_count->value == 132);
    CHECK(alone.peak(Precision::tf32, Pipe::tensor, Ceilings::datasheet) == doctest::Approx(4.0e14));
  }
  SUBCASE("no DRAM bandwidth from either: no profile") {
    Calibration without = c;
    std::erase_if(without.ceilings, [](const auto& m) { return m.id.rfind("dram_", 0) == 0; });
    CHECK_THROWS_WITH_AS((void)calibrated_profile(without, nullptr), doctest::Contains("no DRAM bandwidth"),
                         std::runtime_error);
    CHECK(calibrated_profile(without, &sheet).dram_bytes_per_s->measured == std::nullopt);
  }
}

TEST_CASE("calibrate: a calibrated profile survives a JSON round trip, keys in file order") {
  // Skipped by brrr (listed first) and by the kernels: kept in the table's order.
  const Calibration c =
      canned_calibration(1.0, 1755, &builtin("h100-sxm"), {{"fp8_tensor_flops_per_s", "not asked for"}});
  REQUIRE(c.skipped.size() == 2);
  CHECK(c.skipped[0].id == "fp8_tensor_flops_per_s");
  const HardwareProfile p = calibrated_profile(c, &builtin("h100-sxm"));
  const std::string text = profile_to_json(p).dump(2);
  CHECK(text.rfind("{\n  \"schema_version\": 1,\n  \"id\": \"nvidia-h100-80gb-hbm3\",", 0) == 0);
  const json j = json::parse(text);
  CHECK(!j["measured"].contains("statistic"));
  CHECK(j["measured"]["ceilings"]["dram_copy_bytes_per_s"]["statistic"] == "best");
  CHECK(j["measured"]["ceilings"]["launch_latency_ns"]["statistic"] == "fast_decile");
  // The runs' interquartile range relative to the ceiling: 0.985 to 0.995 of it.
  CHECK(j["measured"]["ceilings"]["dram_copy_bytes_per_s"]["spread"].get<double>() == doctest::Approx(0.01));
  CHECK(j["measured"]["ceilings"]["bf16_tensor_flops_per_s"]["setup"].get<std::string>().find("cuBLASLt") !=
        std::string::npos);
  CHECK(!j["measured"]["ceilings"]["dram_copy_bytes_per_s"].contains("setup"));
  CHECK(j["measured"]["gpu"]["sm_clock_mhz"] == 1980);
  CHECK(j["measured"]["ceilings"]["dram_copy_bytes_per_s"]["runs"].size() == 3);
  CHECK(j["measured"]["skipped"]["int8_tensor_flops_per_s"] == "cuBLASLt has no INT8 GEMM");
  HardwareProfile back = profile_from_json(j, "calibration.json");
  back.origin.clear();
  CHECK(back == p);
  // Ceilings come back in the table's order whatever the file's.
  json shuffled = j;
  json reversed = json::object();
  for (auto it = j["measured"]["ceilings"].rbegin(); it != j["measured"]["ceilings"].rend(); ++it)
    reversed[std::string(it.key())] = *it;
  shuffled["measured"]["ceilings"] = reversed;
  HardwareProfile again = profile_from_json(shuffled, "calibration.json");
  again.origin.clear();
  CHECK(again == p);
}

TEST_CASE("calibrate: a bad calibration section names the field") {
  const json good = json::parse(profile_to_json(calibrated_profile(canned_calibration(), &builtin("h100-sxm"))).dump());
  auto error_of = [&](const std::function<void(json&)>& edit) {
    json j = good;
    edit(j);
    try {
      (void)profile_from_json(j, "cal.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of([](json& j) { j["measured"].erase("gpu"); }) == "cal.json: measured.gpu: missing");
  CHECK(error_of([](json& j) { j["measured"]["statistic"] = "median"; }).find("unknown statistic 'median'") !=
        std::string::npos);
  CHECK(error_of([](json& j) { j["measured"]["ceilings"]["launch_rate_per_s"]["statistic"] = "mean"; }) ==
        "cal.json: measured.ceilings.launch_rate_per_s.statistic: unknown statistic 'mean' (expected best, "
        "fast_decile or median)");
  // A calibration from before the statistic was each ceiling's own: all of them the best run.
  json old = good;
  old["measured"]["statistic"] = "best";
  for (auto& [id, m] : old["measured"]["ceilings"].items()) m.erase("statistic");
  const HardwareProfile read_back = profile_from_json(old, "old.json");
  REQUIRE(read_back.calibration);
  for (const auto& m : read_back.calibration->ceilings) CHECK(m.statistic == CeilingStatistic::best);
  // A calibration from before the fast decile: its host-bound ceilings are median trials, and
  // say so when written again.
  json median = good;
  median["measured"]["ceilings"]["launch_rate_per_s"]["statistic"] = "median";
  const HardwareProfile with_median = profile_from_json(median, "median.json");
  REQUIRE(with_median.calibration);
  const auto* launch_rate = with_median.calibration->find("launch_rate_per_s");
  REQUIRE(launch_rate != nullptr);
  CHECK(launch_rate->statistic == CeilingStatistic::median);
  CHECK(profile_to_json(with_median)["measured"]["ceilings"]["launch_rate_per_s"]["statistic"] == "median");
  CHECK(error_of([](json& j) { j["measured"]["ceilings"]["dram_read_bytes_per_s"]["value"] = -1; }) ==
        "cal.json: measured.ceilings.dram_read_bytes_per_s.value: must be positive");
  CHECK(error_of([](json& j) { j["measured"]["ceilings"]["l2_read_bytes_per_s"]["runs"] = "fast"; }) ==
        "cal.json: measured.ceilings.l2_read_bytes_per_s.runs: expected an array");
  // A ceiling a newer brrr measures is kept, not refused.
  CHECK(error_of([](json& j) {
          j["measured"]["ceilings"]["hbm4_bytes_per_s"] = {{"value", 1e13}, {"runs", {1e13}}, {"clock_limits", {}}};
        }) == "no error");
}

TEST_CASE("calibrate: file names and matching a calibration to a run's GPU") {
  GpuInfo gpu = h100_gpu();
  CHECK(calibration_slug(gpu) == "nvidia-h100-80gb-hbm3");
  GpuInfo slice = gpu;
  slice.name = "NVIDIA A100-SXM4-40GB MIG 1g.5gb";
  slice.mig = true;
  slice.sm_count = 14;
  CHECK(calibration_slug(slice) == "nvidia-a100-sxm4-40gb-mig-1g-5gb-14sm");
  GpuInfo odd;
  odd.name = "  --  ";
  CHECK(calibration_slug(odd) == "gpu");

  GpuInfo same = gpu;
  same.name = "nvidia h100 80gb hbm3";
  same.uuid = "GPU-another-one";
  CHECK(same_gpu(gpu, same));
  GpuInfo other_clock = gpu;
  other_clock.sm_clock_mhz = 1755;
  CHECK_FALSE(same_gpu(gpu, other_clock));
  GpuInfo fewer_sms = gpu;
  fewer_sms.sm_count = 114;
  CHECK_FALSE(same_gpu(gpu, fewer_sms));
  GpuInfo as_mig = gpu;
  as_mig.mig = true;
  CHECK_FALSE(same_gpu(gpu, as_mig));
  GpuInfo other_name = gpu;
  other_name.name = "NVIDIA H100 PCIe";
  CHECK_FALSE(same_gpu(gpu, other_name));
}

TEST_CASE("calibrate: the per-user folder follows XDG_DATA_HOME, then HOME") {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  const std::string saved_xdg = xdg ? xdg : "";
  const std::string saved_home = home ? home : "";
  setenv("XDG_DATA_HOME", "/data/me", 1);
  setenv("HOME", "/home/me", 1);
  CHECK(calibration_dir() == fs::path("/data/me/brrr/calibrations"));
  setenv("XDG_DATA_HOME", "relative/ignored", 1);
  CHECK(calibration_dir() == fs::path("/home/me/.local/share/brrr/calibrations"));
  unsetenv("XDG_DATA_HOME");
  unsetenv("HOME");
  CHECK(calibration_dir().empty());
  if (xdg) setenv("XDG_DATA_HOME", saved_xdg.c_str(), 1);
  if (home) setenv("HOME", saved_home.c_str(), 1);
  CHECK(default_calibration_path("/d", h100_gpu()) == fs::path("/d/nvidia-h100-80gb-hbm3.json"));
}

TEST_CASE("calibrate: finding the calibration of a GPU among files") {
  TempDir dir("calibrations");
  std::vector<std::string> problems;
  CHECK_FALSE(find_calibration(dir / "none", h100_gpu(), problems));
  CHECK_FALSE(find_calibration(dir.path(), h100_gpu(), problems));
  CHECK_FALSE(has_calibration_files(dir.path()));

  Calibration older = canned_calibration(0.95);
  older.date = "2026-11-20T08:00:00Z";
  write_calibration(dir, "a-older.json", older);
  const auto newer = write_calibration(dir, "b-newer.json", canned_calibration());
  Calibration other = canned_calibration();
  other.gpu.sm_clock_mhz = 1755;
  other.date = "2026-12-01T00:00:00Z";
  write_calibration(dir, "c-locked-clocks.json", other);
  dir.write("d-broken.json", "{");
  dir.write("e-datasheet.json", profile_to_json(builtin("h100-sxm")).dump());
  dir.write("notes.txt", "not json");
  CHECK(has_calibration_files(dir.path()));

  const auto found = find_calibration(dir.path(), h100_gpu(), problems);
  REQUIRE(found);
  CHECK(found->origin == newer);
  CHECK(found->calibration->date == "2026-11-26T10:00:00Z");
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("d-broken.json") != std::string::npos);
  CHECK(problems[1].find("e-datasheet.json: not a calibration") != std::string::npos);
  GpuInfo pcie = h100_gpu();
  pcie.name = "NVIDIA H100 PCIe";
  CHECK_FALSE(find_calibration(dir.path(), pcie, problems));
}

TEST_CASE("calibrate: choosing datasheet or measured roofs") {
  TempDir dir("roofs");
  const GpuInfo gpu = h100_gpu();
  RoofsRequest request;
  request.profile = builtin("h100-sxm");
  request.gpu = &gpu;
  request.calibration_dir = dir.path();

  SUBCASE("no calibration: the datasheet's, and why") {
    const Roofs roofs = choose_roofs(request);
    CHECK(roofs.ceilings == Ceilings::datasheet);
    CHECK(roofs.profile->id == "h100-sxm");
    CHECK(roofs.reason ==
          "datasheet ceilings: no calibration of NVIDIA H100 80GB HBM3 (1980 MHz, 132 SMs) in " + dir.path().string());
    request.ceilings = CeilingsChoice::measured;
    CHECK_THROWS_WITH_AS((void)choose_roofs(request),
                         doctest::Contains("--ceilings measured: no calibration of NVIDIA H100 80GB HBM3"), InputError);
  }
  SUBCASE("a calibration of the GPU: measured by default, datasheet when asked") {
    const auto path = write_calibration(dir, "h100.json", canned_calibration());
    const Roofs roofs = choose_roofs(request);
    CHECK(roofs.ceilings == Ceilings::measured);
    CHECK(roofs.profile->origin == path);
    CHECK(roofs.reason ==
          "measured ceilings: calibration of NVIDIA H100 80GB HBM3 from 2026-11-26T10:00:00Z (" + path + ")");
    request.ceilings = CeilingsChoice::measured;
    CHECK(choose_roofs(request).ceilings == Ceilings::measured);
    request.ceilings = CeilingsChoice::datasheet;
    const Roofs sheet = choose_roofs(request);
    CHECK(sheet.ceilings == Ceilings::datasheet);
    CHECK(sheet.profile->id == "h100-sxm");
    CHECK(sheet.reason == "datasheet ceilings: asked for with --ceilings datasheet");
  }
  SUBCASE("a profile given with --profile is the only source") {
    write_calibration(dir, "h100.json", canned_calibration());
    request.profile_given = true;
    request.profile->origin = "my.json";
    const Roofs roofs = choose_roofs(request);
    CHECK(roofs.ceilings == Ceilings::datasheet);
    CHECK(roofs.reason == "datasheet ceilings: my.json has no measured values");
    request.ceilings = CeilingsChoice::measured;
    CHECK_THROWS_WITH_AS((void)choose_roofs(request), doctest::Contains("my.json has no measured values"), InputError);
    request.profile = calibrated_profile(canned_calibration(), &builtin("h100-sxm"));
    request.profile->origin = "cal.json";
    CHECK(choose_roofs(request).ceilings == Ceilings::measured);
  }
  SUBCASE("a report that holds a calibrated profile keeps it") {
    request.profile = calibrated_profile(canned_calibration(), &builtin("h100-sxm"));
    request.profile->origin = "/elsewhere/cal.json";
    request.calibration_dir.clear();
    const Roofs roofs = choose_roofs(request);
    CHECK(roofs.ceilings == Ceilings::measured);
    CHECK(roofs.profile->origin == "/elsewhere/cal.json");
  }
  SUBCASE("an unknown GPU, calibrated, gets the calibration as its profile") {
    GpuInfo unknown = gpu;
    unknown.name = "NVIDIA Prototype";
    Calibration c = canned_calibration(1.0, 1755, nullptr);
    c.gpu = unknown;
    dir.write("proto.json", profile_to_json(calibrated_profile(c, nullptr)).dump());
    request.gpu = &unknown;
    request.profile.reset();
    request.missing_reason = "no built-in profile for NVIDIA Prototype";
    const Roofs roofs = choose_roofs(request);
    CHECK(roofs.ceilings == Ceilings::measured);
    CHECK(roofs.missing_reason.empty());
    CHECK(roofs.profile->name == "NVIDIA Prototype");
    request.ceilings = CeilingsChoice::datasheet;
    const Roofs none = choose_roofs(request);
    CHECK_FALSE(none.profile);
    CHECK(none.missing_reason == "no built-in profile for NVIDIA Prototype");
  }
  SUBCASE("no GPU, no folder") {
    request.gpu = nullptr;
    CHECK(choose_roofs(request).reason == "datasheet ceilings: no GPU was used");
    request.gpu = &gpu;
    request.calibration_dir.clear();
    CHECK(choose_roofs(request).reason.find("no per-user folder") != std::string::npos);
  }
  CHECK(parse_ceilings_choice("auto") == CeilingsChoice::automatic);
  CHECK(parse_ceilings_choice("measured") == CeilingsChoice::measured);
  CHECK(parse_ceilings_choice("datasheet") == CeilingsChoice::datasheet);
  CHECK_FALSE(parse_ceilings_choice("best"));
}

TEST_CASE("calibrate: measured roofs move the H100 demo's kernels closer to them") {
  Report report = read_report(source_path("examples/reports/demo-h100.json"));
  const auto calibrated = calibrated_profile(canned_calibration(), &builtin("h100-sxm"));
  Report measured = report;
  use_roofs(measured, {calibrated, {}, Ceilings::measured, "measured ceilings: test", {}});
  use_roofs(report, {builtin("h100-sxm"), {}, Ceilings::datasheet, "datasheet ceilings: test", {}});
  CHECK(measured.ceilings_reason == "measured ceilings: test");
  REQUIRE(measured.analysis.kernels.size() == report.analysis.kernels.size());
  bool gemm_seen = false;
  for (std::size_t i = 0; i < report.analysis.kernels.size(); ++i) {
    const auto& sheet = report.analysis.kernels[i];
    const auto& mine = measured.analysis.kernels[i];
    CAPTURE(report.run.kernels[i].name);
    if (sheet.dram_roof_fraction)
      CHECK(*mine.dram_roof_fraction == doctest::Approx(*sheet.dram_roof_fraction * 3.35e12 / 3.0e12));
    if (sheet.precision == Precision::bf16 && sheet.pipe == Pipe::tensor && sheet.compute_roof_fraction) {
      gemm_seen = true;
      CHECK(*mine.compute_roof_fraction == doctest::Approx(*sheet.compute_roof_fraction * 9.895e14 / 8.03e14));
    }
  }
  CHECK(gemm_seen);
  const json j = json::parse(report_to_json(measured).dump());
  CHECK(j["ceilings"] == "measured");
  CHECK(j["ceilings_reason"] == "measured ceilings: test");
  CHECK(j["hardware_profile"]["measured"]["gpu"]["name"] == "NVIDIA H100 80GB HBM3");
  const Report back = report_from_json(j, "report.json");
  CHECK(back.analysis.ceilings == Ceilings::measured);
  CHECK(back.ceilings_reason == "measured ceilings: test");
  CHECK(back.profile->calibration == calibrated.calibration);
}

TEST_CASE("calibrate: warnings about how the ceilings were measured") {
  const HardwareProfile& sheet = builtin("h100-sxm");
  SUBCASE("power-capped tensor clocks are reported, not warned about") {
    const Calibration c = canned_calibration(1.0, 1755, &sheet);
    CHECK(c.warnings.empty());
    CHECK(sm_clock_range(c) == std::pair<uint32_t, uint32_t>{1755, 1980});
    CHECK(memory_clock_range(c) == std::pair<uint32_t, uint32_t>{2619, 2619});
  }
  SUBCASE("clocks that never reach their maximum") {
    Calibration c = canned_calibration(1.0, 1755, &sheet);
    for (auto& m : c.ceilings)
      if (m.sm_clock_mhz) {
        m.sm_clock_mhz = 1410;
        m.clock_limits = {"applications clocks setting"};
      }
    const auto warnings = calibration_warnings(c, &sheet);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("the SM clock stayed below its maximum: at most 1410 MHz under load, of 1980 MHz (NVML: "
                           "applications clocks setting)") == 0);
  }
  SUBCASE("a MIG slice, fewer SMs, no NVML") {
    Calibration c = canned_calibration(1.0, 1755, &sheet);
    c.gpu.mig = true;
    c.gpu.sm_count = 16;
    c.nvml = false;
    for (auto& m : c.ceilings) m.sm_clock_mhz.reset();
    auto warnings = calibration_warnings(c, &sheet);
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0].find("NVML (libnvidia-ml.so.1) could not be read") == 0);
    CHECK(warnings[1].find("this GPU is a MIG slice (16 SMs)") == 0);
    c.gpu.mig = false;
    warnings = calibration_warnings(c, &sheet);
    CHECK(warnings[1].find("this GPU has 16 SMs, fewer than the 132 of the datasheet profile") == 0);
  }
}

TEST_CASE("calibrate: a calibration well below the previous one of the GPU is suspect") {
  const Calibration before = canned_calibration();
  CHECK(compare_with_previous(canned_calibration(0.95), before, "old.json").empty());
  const auto slower = compare_with_previous(canned_calibration(0.8), before, "old.json");
  REQUIRE(slower.size() == 2);
  CHECK(slower[0].find("more than 10% below the calibration of this GPU from 2026-11-26T10:00:00Z (old.json): DRAM "
                       "read 2.40 TB/s against 3.00 TB/s (-20%)") == 0);
  CHECK(slower[0].find("the GPU may be busy") != std::string::npos);
  // Host-bound ceilings vary with the host, not the GPU: they are not counted as a busy GPU...
  CHECK(slower[0].find("launch") == std::string::npos);
  CHECK(slower[0].find("pageable") == std::string::npos);
  // ...but said to have moved, in either direction.
  CHECK(slower[1].find("host-bound ceilings more than 10% away from the calibration of this GPU from "
                       "2026-11-26T10:00:00Z (old.json): ") == 0);
  CHECK(slower[1].find("pageable") != std::string::npos);
  CHECK(slower[1].find("DRAM") == std::string::npos);
  CHECK(slower[1].find("the host is not as it was then") != std::string::npos);
  // Faster is never a busy GPU; a faster host is still a changed one.
  const auto faster = compare_with_previous(canned_calibration(1.3), before, "old.json");
  REQUIRE(faster.size() == 1);
  CHECK(faster[0].find("host-bound ceilings more than 10% away") == 0);
  CHECK(faster[0].find("(+30%)") != std::string::npos);
}

TEST_CASE("calibrate: the table shows measured, datasheet, ratio and spread") {
  const Calibration c = canned_calibration();
  const std::string table = render_calibration(c, &builtin("h100-sxm"));
  INFO(table);
  CHECK(table.find("brrr calibrate: NVIDIA H100 80GB HBM3 · GPU-00112233-4455-6677-8899-aabbccddeeff · 132 SMs") == 0);
  CHECK(table.find("clocks under load: SM 1755–1980 MHz (max 1980) · memory 2619 MHz (max 2619)") != std::string::npos);
  CHECK(table.find(
            "ceiling                               measured    statistic     datasheet  ratio  spread  SM MHz\n") !=
        std::string::npos);
  CHECK(
      table.find("DRAM copy (read + write)             2.86 TB/s         best     3.35 TB/s    85%      1%    1980") !=
      std::string::npos);
  CHECK(
      table.find("BF16 GEMM, tensor cores            803 TFLOP/s         best   990 TFLOP/s    81%      1%    1755") !=
      std::string::npos);
  // The fast decile of eleven trials of 6 µs × 0.92 to 1.3 (one lucky one at 0.92); the middle
  // half of the trials spans 14.5% of it.
  CHECK(
      table.find("kernel launch and wait                 6.00 µs  fast_decile             –      –     14%       –") !=
      std::string::npos);
  CHECK(table.find("fastest GEMMs found:\n  FP64 GEMM, tensor cores: 16384×8192×8192 NN (m×n×k), cuBLASLt algorithm "
                   "66, heuristic rank 1 of 8,\n    on signed inputs;") != std::string::npos);
  CHECK(table.find("skipped:\n  INT8 GEMM, tensor cores: cuBLASLt has no INT8 GEMM") != std::string::npos);
}

TEST_CASE("calibrate: every key of a calibration and every ceiling id is documented") {
  const std::string format_doc = read_text(source_path("docs/report-format.md"));
  const std::string calibrate_doc = read_text(source_path("docs/calibrate.md"));
  const json j = json::parse(profile_to_json(calibrated_profile(canned_calibration(), &builtin("h100-sxm"))).dump());
  auto documented = [&](const std::string& doc, const std::string& key) {
    CAPTURE(key);
    CHECK(doc.find("`" + key + "`") != std::string::npos);
  };
  for (const auto& [key, value] : j.items()) documented(format_doc, key);
  for (const auto& [key, value] : j["measured"].items()) documented(format_doc, key);
  for (const auto& [key, value] : j["measured"]["ceilings"]["bf16_tensor_flops_per_s"].items())
    documented(format_doc, key);
  for (const auto& spec : ceiling_specs) documented(calibrate_doc, std::string(spec.id));
}

// ---------------------------------------------------------------------------------------
// The command line, with a script in place of brrr-calibrate-kernels.

namespace {

// A stand-in for brrr-calibrate-kernels: prints `describe` for --describe, else `measure`,
// then runs `tail` (a shell command: an exit status, a signal).
fs::path fake_kernels(const TempDir& dir, const std::vector<std::string>& measure, const std::string& tail = "exit 0",
                      const std::string& describe = device_line()) {
  std::string script = "#!/bin/sh\nif [ \"$3\" = --describe ]; then\ncat <<'EOF'\n" + describe +
                       "\n{\"type\":\"end\",\"duration_ns\":0}\nEOF\nexit 0\nfi\ncat <<'EOF'\n";
  for (const auto& line : measure) script += line + "\n";
  script += "EOF\n" + tail + "\n";
  const auto path = dir.write("fake-kernels.sh", script);
  chmod(path.c_str(), 0755);
  return path;
}

ProcessOptions with_kernels(const fs::path& kernels, const fs::path& data_home) {
  ProcessOptions o;
  o.environment["BRRR_CALIBRATE_KERNELS"] = kernels.string();
  o.environment["XDG_DATA_HOME"] = data_home.string();
  return o;
}

} // namespace

TEST_CASE("cli: calibrate writes the per-user calibration that explain then uses") {
  TempDir dir("cli-calibrate");
  const auto kernels = fake_kernels(dir, session_lines());
  const auto data_home = dir / "data";
  const auto r = run_brrr({"calibrate"}, with_kernels(kernels, data_home));
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const fs::path written = data_home / "brrr" / "calibrations" / "nvidia-h100-80gb-hbm3.json";
  CHECK(r.err.find("brrr: calibrating NVIDIA H100 80GB HBM3 (GPU-00112233-4455-6677-8899-aabbccddeeff, 132 SMs, SM "
                   "clock up to 1980 MHz) against NVIDIA H100 SXM5 80GB\n") == 0);
  CHECK(r.err.find("brrr:   DRAM copy (read + write)             2.86 TB/s\n") != std::string::npos);
  CHECK(r.err.find("brrr:   INT8 GEMM, tensor cores                skipped (cuBLASLt has no INT8 GEMM)\n") !=
        std::string::npos);
  CHECK(r.err.find("brrr: calibration written to " + written.string() + "\n") != std::string::npos);
  CHECK(r.out.find("DRAM copy (read + write)             2.86 TB/s         best     3.35 TB/s    85%") !=
        std::string::npos);
  const HardwareProfile profile = read_profile(written);
  REQUIRE(profile.calibration);
  CHECK(profile.calibration->tool_version == BRRR_VERSION);
  CHECK(profile.dram_bytes_per_s->measured == doctest::Approx(3.0e12));

  const std::string report = source_path("examples/reports/demo-h100.json").string();
  const auto measured = run_brrr({"explain", report}, with_kernels(kernels, data_home));
  REQUIRE(measured.status == 0);
  CHECK(measured.out.find("roofs: NVIDIA H100 SXM5 80GB (measured ceilings, calibrated ") != std::string::npos);
  const auto as_json = run_brrr({"explain", report, "-f", "json"}, with_kernels(kernels, data_home));
  const json j = json::parse(as_json.out);
  CHECK(j["ceilings"] == "measured");
  CHECK(j["ceilings_reason"].get<std::string>().find(written.string()) != std::string::npos);
  const auto sheet = run_brrr({"explain", report, "--ceilings", "datasheet"}, with_kernels(kernels, data_home));
  CHECK(sheet.out.find("roofs: NVIDIA H100 SXM5 80GB (datasheet ceilings)") != std::string::npos);
  const auto md = run_brrr({"explain", report, "-f", "md"}, with_kernels(kernels, data_home));
  CHECK(md.out.find("Roofs: NVIDIA H100 SXM5 80GB (measured ceilings, calibrated ") != std::string::npos);

  SUBCASE("a second calibration far below the first is flagged") {
    const auto slow = fake_kernels(dir, session_lines(0.7));
    const auto again = run_brrr({"calibrate"}, with_kernels(slow, data_home));
    REQUIRE(again.status == 0);
    CHECK(again.err.find("brrr: warning: more than 10% below the calibration of this GPU from ") != std::string::npos);
  }
  SUBCASE("-o writes elsewhere, and explain does not find it there") {
    TempDir other("cli-calibrate-other");
    const auto elsewhere = dir / "elsewhere.json";
    REQUIRE(run_brrr({"calibrate", "-o", elsewhere.string()}, with_kernels(kernels, other.path())).status == 0);
    CHECK(read_profile(elsewhere).calibration);
    CHECK_FALSE(fs::exists(other / "brrr"));
    const auto none = run_brrr({"explain", report, "--ceilings", "measured"}, with_kernels(kernels, other.path()));
    CHECK(none.status == 2);
    CHECK(none.err.find("brrr: error: --ceilings measured: no calibration of NVIDIA H100 80GB HBM3 (1980 MHz, 132 "
                        "SMs) in ") == 0);
    const auto given = run_brrr({"explain", report, "--profile", elsewhere.string(), "-f", "json"},
                                with_kernels(kernels, other.path()));
    REQUIRE(given.status == 0);
    CHECK(json::parse(given.out)["ceilings"] == "measured");
  }
}

TEST_CASE("cli: calibrate fails clearly where it cannot run") {
  TempDir dir("cli-calibrate-fail");
  auto expect = [](const ProcessResult& r, int status, const std::string& message) {
    CAPTURE(r.err);
    CHECK(r.status == status);
    CHECK(r.out.empty());
    // One error line, after the progress lines if the kernels got that far.
    const auto error = r.err.find("brrr: error: ");
    REQUIRE(error != std::string::npos);
    CHECK(r.err.find(message, error) != std::string::npos);
    CHECK(r.err.find('\n', error) == r.err.size() - 1);
  };
  SUBCASE("no GPU") {
    const auto kernels =
        fake_kernels(dir, {R"({"type":"error","message":"no GPU to calibrate: no NVIDIA driver on this machine"})"},
                     "exit 1", R"({"type":"error","message":"no GPU to calibrate: no NVIDIA driver on this machine"})");
    const auto r = run_brrr({"calibrate"}, with_kernels(kernels, dir / "data"));
    expect(r, 125, "no GPU to calibrate: no NVIDIA driver on this machine\n");
  }
  SUBCASE("the kernels crash") {
    auto lines = session_lines();
    lines.resize(6); // into the DRAM copy
    const auto kernels = fake_kernels(dir, lines, "kill -SEGV $$");
    const auto r = run_brrr({"calibrate"}, with_kernels(kernels, dir / "data"));
    expect(r, 125, "brrr-calibrate-kernels was killed by SIGSEGV while measuring DRAM copy (read + write)\n");
    CHECK_FALSE(fs::exists(dir / "data" / "brrr" / "calibrations" / "nvidia-h100-80gb-hbm3.json"));
  }
  SUBCASE("the kernels are missing") {
    const auto r = run_brrr({"calibrate"}, with_kernels(dir / "missing", dir / "data"));
    expect(r, 125, (dir / "missing").string() + ": command not found");
  }
  SUBCASE("nowhere to write") {
    const auto kernels = fake_kernels(dir, session_lines());
    expect(run_brrr({"calibrate", "-o", (dir / "no" / "such" / "dir.json").string()}, with_kernels(kernels, dir / "d")),
           2, "no such folder");
    ProcessOptions no_home = with_kernels(kernels, dir / "d");
    no_home.environment["XDG_DATA_HOME"] = std::nullopt;
    no_home.environment["HOME"] = std::nullopt;
    expect(run_brrr({"calibrate"}, no_home), 2, "neither XDG_DATA_HOME nor HOME is set; pass -o FILE");
  }
  SUBCASE("a bad datasheet profile") {
    const auto kernels = fake_kernels(dir, session_lines());
    expect(run_brrr({"calibrate", "--profile", (dir / "none.json").string()}, with_kernels(kernels, dir / "d")), 2,
           "none.json: no such file");
  }
}

TEST_CASE("cli: profile --ceilings measured") {
  TempDir dir("cli-profile-ceilings");
  ProcessOptions options = profile_options(dir.path());
  options.environment["XDG_DATA_HOME"] = (dir / "data").string();
  auto profile = [&](const std::vector<std::string>& args) {
    std::vector<std::string> command{BRRR_BINARY, "profile", "-q", "--force", "-o", (dir / "r.json").string()};
    command.insert(command.end(), args.begin(), args.end());
    command.insert(command.end(), {"--", "sh", "-c", "touch ran"});
    return run_process(command, options);
  };
  SUBCASE("without any calibration, refused before the program runs") {
    const auto r = profile({"--ceilings", "measured"});
    CHECK(r.status == 125);
    CHECK(r.err == "brrr: error: --ceilings measured: no calibration in " + (dir / "data").string() +
                       "/brrr/calibrations; run brrr calibrate first\n");
    CHECK_FALSE(fs::exists(dir / "ran"));
  }
  SUBCASE("a --profile without measured values, refused before the program runs") {
    const auto sheet = dir.write("sheet.json", profile_to_json(builtin("h100-sxm")).dump());
    const auto r = profile({"--ceilings", "measured", "--profile", sheet.string()});
    CHECK(r.status == 125);
    CHECK(r.err.find(sheet.string() + " has no measured values") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "ran"));
  }
  SUBCASE("calibrations, but none for the run's GPU: the report is kept, with datasheet roofs") {
    fs::create_directories(dir / "data" / "brrr" / "calibrations");
    TempDir holder("cli-profile-ceilings-holder");
    fs::copy_file(write_calibration(holder, "h100.json", canned_calibration()),
                  dir / "data" / "brrr" / "calibrations" / "h100.json");
    const auto r = profile({"--ceilings", "measured"});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(fs::exists(dir / "ran"));
    CHECK(r.err.find("brrr: note: --ceilings measured: no GPU was used; run brrr calibrate on that GPU, or pass "
                     "--profile FILE with measured values; the report uses datasheet ceilings") != std::string::npos);
    const Report report = read_report(dir / "r.json");
    CHECK(report.analysis.ceilings == Ceilings::datasheet);
    CHECK(report.ceilings_reason == "datasheet ceilings: no GPU was used");
  }
}
