// The counter metric table (lib/model/counters.cpp) against the metrics each GPU chip really
// has, without a GPU: CUPTI's profiler host library lists a chip's metrics from its name alone
// (`cuptiProfilerHostGetBaseMetrics`). For every chip brrr expects to meet, each precision the
// chip's tensor cores have must be counted by at least one metric of the table, the memory and
// CUDA-core metrics must all exist, and no precision may be counted twice (a whole metric and
// its parts). Skipped where libcupti cannot be found.

#include <doctest/doctest.h>

#include "collect/cupti_locate.hpp"
#include "model/counters.hpp"

#include <cupti_profiler_host.h>
#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace brrr;

// The host library's functions, from a libcupti loaded at run time (the CPU tests do not link
// CUPTI, as brrr itself does not).
struct HostApi {
  decltype(&cuptiProfilerHostInitialize) initialize = nullptr;
  decltype(&cuptiProfilerHostGetBaseMetrics) base_metrics = nullptr;
  decltype(&cuptiProfilerHostDeinitialize) deinitialize = nullptr;
};

const HostApi* host_api() {
  static const HostApi* api = []() -> const HostApi* {
    const auto path = locate_cupti();
    void* lib = path ? ::dlopen(path->c_str(), RTLD_NOW | RTLD_LOCAL) : nullptr;
    if (lib == nullptr) return nullptr;
    auto* a = new HostApi;
    a->initialize = reinterpret_cast<decltype(a->initialize)>(::dlsym(lib, "cuptiProfilerHostInitialize"));
    a->base_metrics = reinterpret_cast<decltype(a->base_metrics)>(::dlsym(lib, "cuptiProfilerHostGetBaseMetrics"));
    a->deinitialize = reinterpret_cast<decltype(a->deinitialize)>(::dlsym(lib, "cuptiProfilerHostDeinitialize"));
    if (a->initialize == nullptr || a->base_metrics == nullptr || a->deinitialize == nullptr) return nullptr;
    return a;
  }();
  return api;
}

// The chip's counter metrics (base names, without the rollup such as ".sum"); empty when the
// host library does not know the chip.
std::set<std::string> chip_metrics(const HostApi& api, const char* chip) {
  std::set<std::string> out;
  CUpti_Profiler_Host_Initialize_Params init{};
  init.structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE;
  init.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
  init.pChipName = chip;
  if (api.initialize(&init) != CUPTI_SUCCESS) return out;
  CUpti_Profiler_Host_GetBaseMetrics_Params metrics{};
  metrics.structSize = CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE;
  metrics.pHostObject = init.pHostObject;
  metrics.metricType = CUPTI_METRIC_TYPE_COUNTER;
  if (api.base_metrics(&metrics) == CUPTI_SUCCESS)
    for (size_t i = 0; i < metrics.numMetrics; ++i) out.insert(metrics.ppMetricNames[i]);
  CUpti_Profiler_Host_Deinitialize_Params done{};
  done.structSize = CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE;
  done.pHostObject = init.pHostObject;
  api.deinitialize(&done);
  return out;
}

std::string base_name(std::string_view metric) { return std::string(metric.substr(0, metric.rfind('.'))); }

struct ChipCase {
  const char* chip;
  // The tensor-core precisions the chip has.
  std::vector<Precision> tensor;
};

} // namespace

TEST_CASE("counter metrics: every chip counts each of its precisions once, and its memory traffic") {
  const HostApi* api = host_api();
  if (api == nullptr) {
    MESSAGE("libcupti not found: the metric table is not checked against the chips");
    return;
  }
  using P = Precision;
  const std::vector<ChipCase> chips = {
      {"GA100", {P::fp64, P::tf32, P::fp16, P::bf16, P::int8}},
      {"GA102", {P::tf32, P::fp16, P::bf16, P::int8}},
      {"AD102", {P::tf32, P::fp16, P::bf16, P::fp8, P::int8}},
      {"GH100", {P::fp64, P::tf32, P::fp16, P::bf16, P::fp8, P::int8}},
      {"GB100", {P::fp64, P::tf32, P::fp16, P::bf16, P::fp8, P::int8}},
      {"GB202", {P::tf32, P::fp16, P::bf16, P::fp8, P::int8}},
  };
  for (const ChipCase& c : chips) {
    const std::string chip_name = c.chip;
    CAPTURE(chip_name);
    const std::set<std::string> available = chip_metrics(*api, c.chip);
    REQUIRE_MESSAGE(!available.empty(), "the host library does not know the chip");
    const auto has = [&](std::string_view metric) { return available.count(base_name(metric)) != 0; };
    // DRAM reads and writes under one of their names, L2 traffic and the duration.
    const auto has_any = [&](std::initializer_list<std::string_view> names) {
      return std::any_of(names.begin(), names.end(), has);
    };
    CHECK(has_any({"dram__bytes_read.sum", "dram__bytes_op_read.sum"}));
    CHECK(has_any({"dram__bytes_write.sum", "dram__bytes_op_write.sum"}));
    CHECK(has("lts__t_bytes.sum"));
    CHECK(has("gpu__time_duration.sum"));
    size_t asked_for = 0;
    for (std::string_view m : counter_metrics()) asked_for += has(m) ? 1 : 0;
    MESSAGE(chip_name, ": ", asked_for, " of brrr's ", counter_metrics().size(), " metrics");
    std::map<std::pair<Precision, Pipe>, std::vector<std::string>> counted_by;
    for (const FlopMetric& m : flop_metrics())
      if (has(m.metric)) counted_by[{m.precision, m.pipe}].push_back(std::string(m.metric));
    for (const FlopMetric& m : flop_metrics())
      if (m.pipe == Pipe::cuda_core) {
        CAPTURE(m.metric);
        CHECK(has(m.metric));
      }
    for (Precision p : c.tensor) {
      CAPTURE(to_string(p));
      CHECK_FALSE(counted_by[{p, Pipe::tensor}].empty());
    }
    // What the injection library warns of: only tensor precisions the chip does not have.
    for (const std::string& figure : figures_without_metrics(has)) {
      CAPTURE(figure);
      const bool lacking = std::any_of(all_precisions.begin(), all_precisions.end(), [&](Precision p) {
        return figure == std::string(to_string(p)) + " tensor FLOPs" &&
               std::find(c.tensor.begin(), c.tensor.end(), p) == c.tensor.end();
      });
      CHECK(lacking);
    }
    // A precision counted by several metrics must be counted by parts (…_dst_fp16 and
    // …_dst_fp32), never by a whole metric and its parts together.
    for (const auto& [key, names] : counted_by) {
      if (key.second != Pipe::tensor || names.size() < 2) continue;
      CAPTURE(to_string(key.first));
      for (const std::string& name : names) {
        CAPTURE(name);
        CHECK(name.find("_dst_") != std::string::npos);
      }
    }
  }
}
