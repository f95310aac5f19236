#pragma once
// Helpers shared by the model, analysis, report and fixture tests: a terse way to write a
// synthetic Trace (kernels, copies, syncs, API calls, NVTX ranges, counters) with times given
// relative to the target's start, a random trace generator for the property tests, a small
// hardware profile with round numbers, and a temporary folder.

#include "analyse/analysis.hpp"
#include "model/build.hpp"
#include "model/trace.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace brrr::testing {

// A realistic CLOCK_REALTIME origin, so that a test that forgets to subtract it fails.
inline constexpr uint64_t origin_ns = 1'700'000'000'000'000'000ULL;

struct KernelOptions {
  uint32_t stream = 0;
  Dim3 grid{1, 1, 1};
  Dim3 block{256, 1, 1};
  uint32_t process = 0;
  uint32_t device = 0;
  uint32_t graph = 0;
  int64_t queued = -1; // relative ns; -1 = not recorded
};

struct CopyOptions {
  CopyKind kind = CopyKind::host_to_device;
  MemoryKind source = MemoryKind::pinned;
  MemoryKind destination = MemoryKind::device;
  bool async = true;
  uint32_t stream = 0;
  uint32_t process = 0;
};

class TraceBuilder {
public:
  TraceBuilder(int64_t end = 1000) {
    facts.start_ns = origin_ns;
    facts.end_ns = at(end);
    facts.info.tool_version = "test";
    facts.info.command = {"./program"};
  }

  static uint64_t at(int64_t relative) { return static_cast<uint64_t>(static_cast<int64_t>(origin_ns) + relative); }

  StringId id(const std::string& s) {
    auto [it, inserted] = ids_.try_emplace(s, static_cast<StringId>(trace.strings.size()));
    if (inserted) trace.strings.push_back(s);
    return it->second;
  }

  // A kernel from start to end (relative ns); returns its correlation id.
  uint32_t kernel(const std::string& name, int64_t start, int64_t end, const KernelOptions& o = {}) {
    KernelEvent k;
    k.start_ns = at(start);
    k.end_ns = at(end);
    k.correlation_id = next_correlation_++;
    k.name = id(name);
    k.grid = o.grid;
    k.block = o.block;
    k.stream_id = o.stream;
    k.process = o.process;
    k.device_id = o.device;
    k.graph_id = o.graph;
    if (o.queued >= 0) k.queued_ns = at(o.queued);
    trace.kernels.push_back(k);
    return k.correlation_id;
  }

  // A kernel with the host's launch call from api_start to api_end.
  uint32_t launch(const std::string& name, int64_t api_start, int64_t api_end, int64_t start, int64_t end,
                  const KernelOptions& o = {}) {
    const uint32_t c = kernel(name, start, end, o);
    api(c, api_start, api_end, ApiKind::kernel_launch, o.process);
    return c;
  }

  uint32_t copy(int64_t start, int64_t end, uint64_t bytes, const CopyOptions& o = {}) {
    CopyEvent c;
    c.start_ns = at(start);
    c.end_ns = at(end);
    c.bytes = bytes;
    c.kind = o.kind;
    c.source = o.source;
    c.destination = o.destination;
    c.async = o.async;
    c.correlation_id = next_correlation_++;
    c.stream_id = o.stream;
    c.process = o.process;
    trace.copies.push_back(c);
    return c.correlation_id;
  }

  uint32_t set(int64_t start, int64_t end, uint64_t bytes, bool async = true, uint32_t stream = 0) {
    SetEvent s;
    s.start_ns = at(start);
    s.end_ns = at(end);
    s.bytes = bytes;
    s.memory = MemoryKind::device;
    s.async = async;
    s.correlation_id = next_correlation_++;
    s.stream_id = stream;
    trace.sets.push_back(s);
    return s.correlation_id;
  }

  void api(uint32_t correlation, int64_t start, int64_t end, ApiKind kind, uint32_t process = 0) {
    ApiEvent a;
    a.start_ns = at(start);
    a.end_ns = at(end);
    a.correlation_id = correlation;
    a.kind = kind;
    a.process = process;
    trace.apis.push_back(a);
  }

  void sync(int64_t start, int64_t end, uint32_t process = 0) {
    SyncEvent s;
    s.start_ns = at(start);
    s.end_ns = at(end);
    s.kind = SyncKind::context;
    s.correlation_id = next_correlation_++;
    s.process = process;
    trace.syncs.push_back(s);
  }

  void range(const std::string& name, int64_t start, int64_t end, uint32_t thread = 1) {
    RangeEvent r;
    r.start_ns = at(start);
    r.end_ns = at(end);
    r.name = id(name);
    r.domain = id("");
    r.thread_id = thread;
    trace.ranges.push_back(r);
  }

  void tool(int64_t start, int64_t end) { trace.tool_events.push_back({at(start), at(end), 0}); }

  void counters(uint32_t correlation, const std::string& kernel_name,
                const std::vector<std::pair<std::string, double>>& values, uint32_t process = 0) {
    CounterSample s;
    s.correlation_id = correlation;
    s.process = process;
    s.kernel_name = id(kernel_name);
    for (const auto& [metric, value] : values) s.values.emplace_back(id(metric), value);
    trace.counters.push_back(std::move(s));
  }

  void counter_gap(uint32_t correlation, const std::string& kernel_name, const std::string& reason) {
    trace.counter_gaps.push_back({correlation, 0, id(kernel_name), id(reason)});
  }

  void process(int32_t pid, int64_t injection_start, bool complete = true) {
    ProcessTrace p;
    p.pid = pid;
    p.parent_pid = 1;
    p.command = {"./program"};
    p.injection_start_ns = at(injection_start);
    p.stream_complete = complete;
    trace.processes.push_back(std::move(p));
  }

  void device(const std::string& name, int major, int minor, uint32_t sm_count) {
    DeviceTrace d;
    d.id = static_cast<uint32_t>(trace.devices.size());
    d.name = name;
    d.uuid = "GPU-00000000-0000-0000-0000-00000000000" + std::to_string(d.id);
    d.compute_capability_major = major;
    d.compute_capability_minor = minor;
    d.sm_count = sm_count;
    d.sm_clock_khz = 1'980'000;
    d.memory_bytes = 85'899'345'920;
    d.l2_bytes = 52'428'800;
    trace.devices.push_back(std::move(d));
  }

  [[nodiscard]] Run build(const GapLimits& limits = {}) const { return build_run(trace, facts, limits); }

  Trace trace;
  LaunchFacts facts;

private:
  std::map<std::string, StringId> ids_;
  uint32_t next_correlation_ = 1;
};

inline const KernelGroup* find_kernel(const Run& run, const std::string& name, std::size_t* index = nullptr) {
  for (std::size_t i = 0; i < run.kernels.size(); ++i)
    if (run.kernels[i].name == name) {
      if (index) *index = i;
      return &run.kernels[i];
    }
  return nullptr;
}

inline const RangeSummary* find_range(const Run& run, const std::string& name) {
  for (const auto& r : run.ranges)
    if (r.name == name) return &r;
  return nullptr;
}

inline const IdleSummary* find_idle(const Run& run, IdleCause cause) {
  for (const auto& s : run.idle)
    if (s.cause == cause) return &s;
  return nullptr;
}

inline std::optional<double> evidence(const std::vector<Evidence>& evidence, const std::string& key) {
  for (const auto& e : evidence)
    if (e.key == key) return e.value;
  return std::nullopt;
}

// Σ kernel shares + Σ transfer shares + Σ idle: must equal the wall time exactly.
inline uint64_t attributed_sum(const Run& run) {
  uint64_t sum = 0;
  for (const auto& k : run.kernels) sum += k.attributed_ns;
  for (const auto& t : run.transfers) sum += t.attributed_ns;
  for (const auto& i : run.idle) sum += i.total_ns;
  return sum;
}

inline uint64_t range_parts_sum(const RangeSummary& r) {
  uint64_t sum = 0;
  for (const auto& [index, ns] : r.kernel_ns) sum += ns;
  for (const auto& [index, ns] : r.transfer_ns) sum += ns;
  for (auto ns : r.idle_ns) sum += ns;
  return sum;
}

// A hardware profile with round numbers, so that expected fractions can be worked out by hand.
inline HardwareProfile small_profile() {
  HardwareProfile p;
  p.id = "test-gpu";
  p.name = "Test GPU";
  p.compute_capability = "9.0";
  p.match_names = {"Test GPU"};
  p.sm_count = Figure{132, "test", std::nullopt};
  p.dram_bytes_per_s = Figure{2e12, "test", std::nullopt};
  p.l2_bytes_per_s = Figure{8e12, "test", std::nullopt};
  p.host_link_bytes_per_s = Figure{50e9, "test", std::nullopt};
  p.peak_flops_per_s[{Precision::fp32, Pipe::cuda_core}] = Figure{50e12, "test", std::nullopt};
  p.peak_flops_per_s[{Precision::tf32, Pipe::tensor}] = Figure{400e12, "test", std::nullopt};
  p.peak_flops_per_s[{Precision::bf16, Pipe::tensor}] = Figure{800e12, "test", std::nullopt};
  p.origin = "test";
  return p;
}

// A random trace for the property tests: kernels, copies and sets on 1-6 streams with random
// overlaps, zero-length events, events before the start and after the end, nested and
// overlapping NVTX ranges, syncs, API calls, tool (replay) intervals and counter samples.
inline TraceBuilder random_trace(std::mt19937& rng) {
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  // Walls from empty to a few hundred µs, so that both launch (≤100 µs) and host gaps occur.
  const int64_t wall = chance(0.05) ? 0 : chance(0.5) ? uniform(1, 400'000) : uniform(1, 4'000'000);
  TraceBuilder b(wall);
  // Now and then the launcher's end comes before its start (a clock step): the model clamps.
  if (chance(0.02)) b.facts.end_ns = TraceBuilder::at(-uniform(1, 1000));
  const auto streams = static_cast<uint32_t>(uniform(1, 6));
  const int64_t margin = wall / 10 + 100;
  auto time = [&] { return uniform(-margin, wall + margin); };
  auto length = [&] {
    const int r = static_cast<int>(uniform(0, 9));
    if (r == 0) return int64_t{0};
    if (r < 4) return uniform(1, 50);
    if (r < 7) return uniform(1, 20'000);
    return uniform(1, wall / 4 + 10);
  };
  const char* names[] = {"_Z6kernelPfi", "cos_kernel", "gemm", "tiny"};
  if (chance(0.8)) b.process(1000, uniform(-margin, wall));
  if (chance(0.5)) b.process(1001, uniform(0, wall + 1), chance(0.7));
  const auto processes = static_cast<uint32_t>(std::max<std::size_t>(1, b.trace.processes.size()));
  const auto kernels = uniform(0, 40);
  for (int64_t i = 0; i < kernels; ++i) {
    // Half the kernels follow one another on their stream, the rest land anywhere.
    const int64_t start = time();
    KernelOptions o;
    o.stream = static_cast<uint32_t>(uniform(0, streams - 1));
    o.grid = {static_cast<uint32_t>(uniform(1, 3)), 1, 1};
    o.process = static_cast<uint32_t>(uniform(0, processes - 1));
    if (chance(0.3)) o.queued = start - uniform(0, 1000);
    const std::string name = names[uniform(0, 3)];
    const uint32_t c = b.kernel(name, start, start + length(), o);
    if (chance(0.7)) {
      const int64_t api_start = start - uniform(-200, 5000);
      b.api(c, api_start, api_start + uniform(0, 3000), ApiKind::kernel_launch, o.process);
    }
    if (chance(0.3)) {
      const double bytes = static_cast<double>(uniform(0, 1 << 20));
      b.counters(c, name,
                 {{"dram__bytes_read.sum", bytes},
                  {"dram__bytes_write.sum", bytes / 2},
                  {"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", static_cast<double>(uniform(0, 1 << 24))},
                  {"sm__ops_path_tensor_src_bf16_dst_fp32.sum", static_cast<double>(uniform(0, 1 << 28))}},
                 o.process);
    } else if (chance(0.1)) {
      b.counter_gap(c, name, "replay not possible");
    }
  }
  const auto copies = uniform(0, 10);
  for (int64_t i = 0; i < copies; ++i) {
    const int64_t start = time();
    CopyOptions o;
    o.kind = static_cast<CopyKind>(uniform(0, 5));
    o.source = static_cast<MemoryKind>(uniform(0, 5));
    o.destination = static_cast<MemoryKind>(uniform(0, 5));
    o.async = chance(0.5);
    o.stream = static_cast<uint32_t>(uniform(0, streams - 1));
    const uint32_t c = b.copy(start, start + length(), static_cast<uint64_t>(uniform(0, 1 << 26)), o);
    if (chance(0.7)) {
      const int64_t api_start = start - uniform(-200, 5000);
      b.api(c, api_start, api_start + uniform(0, 20000), ApiKind::memcpy);
    }
  }
  const auto sets = uniform(0, 4);
  for (int64_t i = 0; i < sets; ++i) {
    const int64_t start = time();
    const uint32_t c = b.set(start, start + length(), static_cast<uint64_t>(uniform(0, 1 << 20)), chance(0.5),
                             static_cast<uint32_t>(uniform(0, streams - 1)));
    if (chance(0.5)) b.api(c, start - 100, start + 100, ApiKind::memset);
  }
  const auto syncs = uniform(0, 6);
  for (int64_t i = 0; i < syncs; ++i) {
    const int64_t start = time();
    b.sync(start, start + length());
  }
  const char* range_names[] = {"step", "forward", "backward"};
  const auto ranges = uniform(0, 8);
  for (int64_t i = 0; i < ranges; ++i) {
    const int64_t start = time();
    const int64_t end = chance(0.05) ? start - uniform(0, 10) : start + length() * 2; // a few end before they start
    b.range(range_names[uniform(0, 2)], start, end);
    if (chance(0.3)) b.range("nested", start + (end - start) / 4, start + (end - start) / 2);
  }
  const auto tools = chance(0.3) ? uniform(1, 4) : 0;
  for (int64_t i = 0; i < tools; ++i) {
    const int64_t start = time();
    b.tool(start, start + length());
  }
  if (chance(0.5)) b.device("NVIDIA H100 80GB HBM3", 9, 0, 132);
  b.facts.collection.counters_mode = chance(0.5) ? "off" : "first:10";
  // Drawn last, so that the draws above (and the traces of earlier seeds) stay as they were.
  const auto collectives = chance(0.4) ? uniform(1, 8) : 0;
  for (int64_t i = 0; i < collectives; ++i) {
    const int64_t start = time();
    KernelOptions o;
    o.stream = static_cast<uint32_t>(uniform(0, streams - 1));
    o.process = static_cast<uint32_t>(uniform(0, processes - 1));
    b.kernel("_Z39ncclDevKernel_AllReduce_Sum_f32_RING_LL24ncclDevKernelArgsStorageILm4096EE", start, start + length(),
             o);
  }
  if (chance(0.3)) {
    const auto rank = static_cast<uint32_t>(uniform(0, 7));
    b.facts.info.rank =
        RankInfo{"torchrun", "RANK", rank, rank, chance(0.5) ? std::optional<uint32_t>(8) : std::nullopt};
  }
  return b;
}

// A folder under the system's temporary directory, removed with everything in it.
class TempDir {
public:
  explicit TempDir(const std::string& tag = "test") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("brrr-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(path_, ignored);
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out << text;
    return file;
  }

private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::filesystem::path source_path(const std::string& relative) {
  return std::filesystem::path(BRRR_SOURCE_DIR) / relative;
}

} // namespace brrr::testing
