// brrr's own cost after the target exits, without a GPU: writes a synthetic record stream of
// N kernel launches (each with its launch API record, as the injection library writes them),
// then times brrr's pipeline on it — read the stream, build the run, analyse, write the report
// JSON — and reports brrr's peak resident memory. Then reads that report back and explains it,
// as `brrr explain` would; with --brrr, runs that executable's `explain` on the report, as a
// user would, in every format; with --trace, also writes the Chrome trace-event export of the
// same trace, as `brrr profile --trace` does.
//
//   brrr-pipeline-memory [N] [--workload loop|training] [--variety P] [--trace] [--brrr PATH]
//                        [--keep-report PATH]
//
// N defaults to 1 000 000. The loop workload is a tiny kernel launched back to back; the
// training workload is a PyTorch-like training loop with many distinct kernels, two streams,
// copies, synchronizations, NVTX ranges and counter samples (see write_training_stream).

#include "analyse/analysis.hpp"
#include "collect/launcher.hpp"
#include "collect/session.hpp"
#include "collect/stream_format.hpp"
#include "collect/stream_reader.hpp"
#include "model/build.hpp"
#include "model/counters.hpp"
#include "render/render.hpp"
#include "render/trace_events.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// User and system CPU time of this process so far: on a shared machine, a steadier figure than
// the wall time.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double current_rss_mib() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096.0 / (1 << 20);
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Resets the process's peak resident memory (VmHWM, and with it ru_maxrss), so that the peak of
// one step can be read; false where the kernel does not let a process do it.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

// The peak resident memory since the last reset_peak_rss, or -1 when /proc does not say.
double peak_rss_since_reset_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return -1;
}

// Batches records as the injection library does, and writes a batch once it is large.
class StreamFile {
public:
  explicit StreamFile(const fs::path& path) : out_(path, std::ios::binary) {
    brrr::stream::append_file_header(buffer_);
  }
  ~StreamFile() { flush(); }
  StreamFile(const StreamFile&) = delete;
  StreamFile& operator=(const StreamFile&) = delete;

  template <typename Record> void add(const Record& r) {
    brrr::stream::append_record(buffer_, r);
    if (buffer_.size() > (8u << 20)) flush();
  }
  template <typename Record> void add(const Record& r, std::string_view tail) {
    brrr::stream::append_record(buffer_, r, tail);
  }
  std::vector<std::byte>& buffer() { return buffer_; }

private:
  void flush() {
    out_.write(reinterpret_cast<const char*>(buffer_.data()), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
  std::ofstream out_;
  std::vector<std::byte> buffer_;
};

brrr::stream::DeviceRecord h100() {
  brrr::stream::DeviceRecord device{};
  device.compute_capability_major = 9;
  device.sm_count = 132;
  return device;
}

// The stream of a launch loop: a tiny kernel every 4 µs, each 2 µs long, launched 1 µs before
// it starts. Returns when the process ended.
uint64_t write_loop_stream(const fs::path& path, uint64_t launches, uint64_t start_ns) {
  using namespace brrr::stream;
  StreamFile out(path);
  out.add(ProcessBeginRecord{4242, 1, start_ns}, std::string_view("loop\0", 5));
  out.add(StringRecord{0}, std::string_view("_Z11tiny_kernelPf"));
  out.add(h100(), std::string_view("NVIDIA H100 80GB HBM3"));
  for (uint64_t i = 0; i < launches; ++i) {
    const uint64_t t = start_ns + 1'000'000 + i * 4'000;
    KernelRecord k{};
    k.start_ns = t + 1'000;
    k.end_ns = t + 3'000;
    k.queued_ns = t + 200;
    k.submitted_ns = t + 300;
    k.correlation_id = static_cast<uint32_t>(i + 1);
    k.grid_x = k.grid_y = k.grid_z = 1;
    k.block_x = 256;
    k.block_y = k.block_z = 1;
    out.add(k);
    ApiRecord a{};
    a.start_ns = t;
    a.end_ns = t + 800;
    a.correlation_id = k.correlation_id;
    a.kind = static_cast<uint8_t>(brrr::ApiKind::kernel_launch);
    out.add(a);
  }
  const uint64_t end_ns = start_ns + 2'000'000 + launches * 4'000;
  out.add(ProcessEndRecord{end_ns});
  return end_ns;
}

// A training loop as PyTorch runs one eagerly, on one host thread: steps of 1 000 launches
// (forward, backward, optimizer) drawn from a model of 1 200 distinct kernels with a few launch
// configurations each, 10% of them on a second stream; each step starts with a pageable copy
// of the batch, zeroes gradients with a memset, and ends with loss.item() (a small copy and a
// device synchronization), followed by 0.2–3 ms of data loading. The host spends 3–6 µs in each
// launch call and 2–15 µs between calls; kernels take 2–400 µs, so the GPU's queue drains and
// refills: short launch gaps, gaps after syncs, gaps behind copies, host gaps. A tenth of the
// slots have dynamic shapes (three grids), and each launch picks another of the 1 200 kernels
// with probability `variety` (0.001: about 2 000 kernel groups in all). NVTX ranges mark
// each step, its phases and its 24 layers. The first launch of each distinct kernel and launch
// configuration is replayed for counters (no timestamps, a tool interval, a counter sample), as
// `--counters first:1` does. Returns when the process ended.
uint64_t write_training_stream(const fs::path& path, uint64_t launches, uint64_t start_ns, double variety) {
  using namespace brrr::stream;
  constexpr uint32_t symbols = 1'200;
  constexpr uint32_t slots_per_step = 1'000;
  constexpr uint32_t layers = 24;
  constexpr uint32_t compute_stream = 7;
  constexpr uint32_t side_stream = 13;
  std::mt19937_64 rng(20261125);
  auto uniform = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  auto log_uniform = [&](double lo, double hi) {
    return static_cast<uint64_t>(std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng)));
  };

  StreamFile out(path);
  out.add(ProcessBeginRecord{4242, 1, start_ns}, std::string_view("python3\0train.py\0", 17));
  out.add(h100(), std::string_view("NVIDIA H100 80GB HBM3"));
  StreamStringId next_string = 0;
  auto intern = [&](const std::string& s) {
    out.add(StringRecord{next_string}, s);
    return next_string++;
  };
  std::vector<StreamStringId> symbol_ids;
  for (uint32_t i = 0; i < symbols; ++i) {
    const std::string name = fmt::format("op_{}", i);
    symbol_ids.push_back(intern(fmt::format("_ZN2at6native{}{}ILi{}EEEvPfPKfi", name.size(), name, 64 << (i % 4))));
  }
  const StreamStringId step_name = intern("step");
  const StreamStringId phase_names[] = {intern("forward"), intern("backward"), intern("optimizer")};
  std::vector<StreamStringId> layer_names;
  for (uint32_t l = 0; l < layers; ++l) layer_names.push_back(intern(fmt::format("layer.{}", l)));
  const StreamStringId no_domain = intern("");
  std::vector<StreamStringId> metric_ids;
  for (const auto metric : brrr::counter_metrics()) metric_ids.push_back(intern(std::string(metric)));

  // The model: what each slot of a step launches.
  struct Slot {
    uint32_t symbol;
    uint32_t grid;
    uint32_t block;
    uint64_t duration_ns;
    uint32_t stream;
    bool dynamic_shape;
  };
  const uint32_t grids[] = {1, 132, 264, 1'024, 4'096, 16'384};
  const uint32_t blocks[] = {128, 256, 512};
  std::vector<Slot> model;
  for (uint32_t s = 0; s < slots_per_step; ++s)
    model.push_back({static_cast<uint32_t>(uniform(0, symbols - 1)), grids[uniform(0, 5)], blocks[uniform(0, 2)],
                     log_uniform(2'000, 400'000), uniform(0, 9) == 0 ? side_stream : compute_stream,
                     uniform(0, 9) == 0});

  uint64_t host = start_ns + 2'000'000'000; // CUDA and Python start-up
  uint64_t stream_free[2] = {host, host};
  auto free_of = [&](uint32_t stream) -> uint64_t& { return stream_free[stream == side_stream ? 1 : 0]; };
  uint32_t correlation = 0;
  uint64_t marker_id = 0;
  std::vector<uint64_t> open_markers;
  auto push_range = [&](StreamStringId name) {
    out.add(MarkerBeginRecord{host, ++marker_id, name, no_domain, 1, 0});
    open_markers.push_back(marker_id);
  };
  auto pop_range = [&] {
    out.add(MarkerEndRecord{host, open_markers.back()});
    open_markers.pop_back();
  };
  auto api = [&](uint64_t start, uint64_t end, brrr::ApiKind kind) {
    ApiRecord a{};
    a.start_ns = start;
    a.end_ns = end;
    a.correlation_id = correlation;
    a.thread_id = 1;
    a.kind = static_cast<uint8_t>(kind);
    out.add(a);
  };
  // A copy the host waits for (the batch, pageable; the loss, pinned).
  auto copy = [&](uint64_t bytes, brrr::CopyKind kind, brrr::MemoryKind host_memory, uint64_t bytes_per_us) {
    ++correlation;
    const uint64_t call = host;
    CopyRecord c{};
    c.start_ns = std::max(free_of(compute_stream), host + 5'000);
    c.end_ns = c.start_ns + 2'000 + bytes / bytes_per_us * 1'000;
    c.bytes = bytes;
    c.correlation_id = correlation;
    c.context_id = 1;
    c.stream_id = compute_stream;
    c.kind = static_cast<uint8_t>(kind);
    const bool to_device = kind == brrr::CopyKind::host_to_device;
    c.source = static_cast<uint8_t>(to_device ? host_memory : brrr::MemoryKind::device);
    c.destination = static_cast<uint8_t>(to_device ? brrr::MemoryKind::device : host_memory);
    out.add(c);
    free_of(compute_stream) = c.end_ns;
    host = c.end_ns + 3'000;
    api(call, host, brrr::ApiKind::memcpy);
  };

  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, bool> sampled;
  uint64_t launched = 0;
  for (uint64_t step = 0; launched < launches; ++step) {
    push_range(step_name);
    copy(8 << 20, brrr::CopyKind::host_to_device, brrr::MemoryKind::pageable, 10'000);
    for (uint32_t s = 0; s < slots_per_step && launched < launches; ++s, ++launched) {
      const uint32_t phase = s < 400 ? 0 : s < 900 ? 1 : 2;
      const uint32_t layer_slots = phase == 0 ? 400 / layers : 500 / layers;
      const uint32_t layer_start = phase == 0 ? 0 : 400;
      if (s == 0 || s == 400 || s == 900) {
        if (s != 0) pop_range(); // the previous phase
        push_range(phase_names[phase]);
      }
      const bool layered = phase < 2 && (s - layer_start) / layer_slots < layers;
      if (layered && (s - layer_start) % layer_slots == 0) push_range(layer_names[(s - layer_start) / layer_slots]);
      if (s == 900) {
        // Zero the gradients.
        ++correlation;
        const uint64_t call = host;
        SetRecord m{};
        m.start_ns = std::max(free_of(compute_stream), host + 4'000);
        m.end_ns = m.start_ns + 20'000;
        m.bytes = 64 << 20;
        m.correlation_id = correlation;
        m.context_id = 1;
        m.stream_id = compute_stream;
        m.memory = static_cast<uint8_t>(brrr::MemoryKind::device);
        m.async = 1;
        out.add(m);
        free_of(compute_stream) = m.end_ns;
        host += 4'000;
        api(call, host, brrr::ApiKind::memset);
      }

      // A slot with a dynamic shape launches on one of three grids; now and then a slot launches
      // another kernel altogether (with probability `variety`).
      Slot slot = model[s];
      if (slot.dynamic_shape) slot.grid = grids[uniform(0, 2) * 2];
      if (std::bernoulli_distribution(variety)(rng)) slot.symbol = static_cast<uint32_t>(uniform(0, symbols - 1));
      ++correlation;
      const uint64_t call = host;
      host += uniform(3'000, 6'000);
      KernelRecord k{};
      k.queued_ns = call + (host - call) / 2;
      k.submitted_ns = k.queued_ns + 200;
      k.correlation_id = correlation;
      k.name = symbol_ids[slot.symbol];
      k.grid_x = slot.grid;
      k.grid_y = k.grid_z = 1;
      k.block_x = slot.block;
      k.block_y = k.block_z = 1;
      k.registers_per_thread = 32 + slot.symbol % 64;
      k.static_shared_bytes = (slot.symbol % 8) * 4'096;
      k.stream_id = slot.stream;
      k.context_id = 1;
      const uint64_t duration = slot.duration_ns * uniform(90, 110) / 100;
      const uint64_t start = std::max(free_of(slot.stream), host + 1'000);
      auto [it, first] = sampled.try_emplace(std::tuple(slot.symbol, slot.grid, slot.block), true);
      if (first) {
        // Replayed for counters: no timestamps; the host is held up while the GPU drains and the
        // kernel is replayed.
        const uint64_t tool_start = std::max({host, free_of(compute_stream), free_of(side_stream)});
        const uint64_t tool_end = tool_start + 2'000'000 + duration;
        out.add(k);
        out.add(ToolEventRecord{tool_start, tool_end, correlation, 0});
        const bool memory_bound = slot.symbol % 3 != 0;
        const double seconds = static_cast<double>(duration) * 1e-9;
        const double dram_bytes = memory_bound ? seconds * 2.4e12 : seconds * 2e11;
        const double bf16_ops = memory_bound ? seconds * 1e12 : seconds * 5e14;
        std::vector<CounterValue> values;
        for (std::size_t m = 0; m < metric_ids.size(); ++m) {
          const auto metric = brrr::counter_metrics()[m];
          double value = 0;
          if (metric == "dram__bytes_read.sum") value = dram_bytes * 0.6;
          if (metric == "dram__bytes_write.sum") value = dram_bytes * 0.4;
          if (metric == "lts__t_bytes.sum") value = dram_bytes * 1.5;
          if (metric == "sm__ops_path_tensor_src_bf16_dst_fp32.sum") value = bf16_ops;
          if (metric == "gpu__time_duration.sum") value = static_cast<double>(duration);
          values.push_back({metric_ids[m], 0, value});
        }
        CounterSampleRecord sample{correlation, k.name, static_cast<uint32_t>(values.size()), 0};
        append_counter_sample(out.buffer(), sample, values.data());
        free_of(compute_stream) = free_of(side_stream) = tool_end;
        api(call, host, brrr::ApiKind::kernel_launch);
        host = tool_end;
      } else {
        k.start_ns = start;
        k.end_ns = start + duration;
        out.add(k);
        free_of(slot.stream) = k.end_ns + 500;
        api(call, host, brrr::ApiKind::kernel_launch);
      }
      host += uniform(2'000, 15'000);
      if (layered && (s - layer_start) % layer_slots == layer_slots - 1) pop_range();
    }
    while (open_markers.size() > 1) pop_range(); // the last phase (and layer, when the launches ran out in one)
    // loss.item(): a small copy to pinned memory, then a synchronization of the device.
    copy(4, brrr::CopyKind::device_to_host, brrr::MemoryKind::pinned, 1'000);
    ++correlation;
    const uint64_t drained = std::max({free_of(compute_stream), free_of(side_stream), host});
    out.add(SyncRecord{host, drained + 2'000, correlation, 1, 0, static_cast<uint8_t>(brrr::SyncKind::context), {}});
    host = drained + 2'000;
    pop_range();                         // step
    host += uniform(200'000, 3'000'000); // the next batch, loaded on the host
  }
  const uint64_t end_ns = host + 1'000'000;
  out.add(ProcessEndRecord{end_ns});
  return end_ns;
}

// Times `brrr explain` on the report, each format five times (the median time and the largest
// peak), from a process forked before the pipeline grew: the kernel counts in a child's peak
// memory what its parent held when it started the child, so a child of the pipeline's process
// would be charged for the pipeline.
class ExplainTimer {
public:
  ExplainTimer(std::string brrr, fs::path report) : brrr_(std::move(brrr)), report_(std::move(report)) {
    int fds[2];
    if (pipe(fds) != 0) return;
    fflush(stdout);
    pid_ = fork();
    if (pid_ == 0) {
      ::close(fds[1]);
      char go = 0;
      if (::read(fds[0], &go, 1) == 1) measure();
      fflush(stdout);
      _exit(0);
    }
    ::close(fds[0]);
    go_ = fds[1];
  }

  // Lets the timing process run, once the report is written, and waits for it.
  void run() {
    fflush(stdout);
    if (pid_ <= 0 || ::write(go_, "x", 1) != 1) return;
    ::close(go_);
    waitpid(pid_, nullptr, 0);
  }

private:
  // explain's output goes to /dev/null (the children inherit this process's standard output);
  // the figures to the standard output the process started with.
  void measure() const {
    const int out = dup(STDOUT_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dprintf(out, "timing process: peak RSS %.0f MiB before it starts brrr\n", peak_rss_mib());
    for (const char* format : {"text", "md", "csv", "json"}) {
      std::vector<double> times;
      double peak = 0;
      int status = 0;
      for (int i = 0; i < 5; ++i) {
        brrr::LaunchRequest request;
        request.command = {brrr_, "explain", report_.string(), "--format", format};
        const brrr::LaunchResult r = brrr::launch_and_wait(request);
        times.push_back(static_cast<double>(r.end_ns - r.start_ns) * 1e-9);
        peak = std::max(peak, static_cast<double>(r.peak_rss_bytes) / (1 << 20));
        status = std::max(status, brrr::pass_through_status(r.exit));
      }
      std::sort(times.begin(), times.end());
      dprintf(out, "brrr explain --format %s: median %.3f s (min %.3f, max %.3f), peak RSS %.0f MiB, exit %d\n", format,
              times[2], times.front(), times.back(), peak, status);
    }
  }

  std::string brrr_;
  fs::path report_;
  pid_t pid_ = -1;
  int go_ = -1;
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"brrr's own cost after the target exits, on a synthetic record stream"};
  uint64_t launches = 1'000'000;
  std::string workload = "loop";
  bool trace_export = false;
  std::string brrr_path;
  double variety = 0.001;
  std::string keep_report;
  app.add_option("launches", launches, "Kernel launches in the stream")->capture_default_str();
  app.add_option("--workload", workload, "loop (a tiny kernel, back to back) or training (a PyTorch-like loop)")
      ->check(CLI::IsMember({"loop", "training"}))
      ->capture_default_str();
  app.add_option("--variety", variety,
                 "training: the probability that a launch runs another kernel than the loop's usual one")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--trace", trace_export, "Also write the Chrome trace-event export, and time it");
  app.add_option("--brrr", brrr_path, "A brrr executable whose `explain` to time on the report");
  app.add_option("--keep-report", keep_report, "Copy the report here, to explain or profile it afterwards");
  CLI11_PARSE(app, argc, argv);

  brrr::return_large_allocations();
  const auto dir = fs::temp_directory_path() / "brrr-pipeline-memory";
  fs::create_directories(dir);
  const auto stream_path = dir / "1.brrrs";
  const auto report_path = dir / "report.json";
  std::optional<ExplainTimer> explain_timer;
  if (!brrr_path.empty()) explain_timer.emplace(brrr_path, report_path);
  const auto trace_path = dir / "trace.json";
  const uint64_t start_ns = 1'700'000'000'000'000'000ULL;
  const uint64_t end_ns = workload == "loop" ? write_loop_stream(stream_path, launches, start_ns)
                                             : write_training_stream(stream_path, launches, start_ns, variety);
  const double before = peak_rss_mib();

  auto t0 = Clock::now();
  brrr::Trace trace;
  auto read = brrr::read_stream_file(stream_path.string(), trace);
  if (!read.ok) {
    std::fprintf(stderr, "%s\n", read.error.c_str());
    return 1;
  }
  const double read_s = seconds_since(t0);
  std::printf("after read: current %.0f MiB, peak %.0f MiB\n", current_rss_mib(), peak_rss_mib());
  brrr::LaunchFacts facts;
  facts.start_ns = start_ns;
  facts.end_ns = end_ns + 1'000'000;
  facts.info.command = {workload};
  auto t1 = Clock::now();
  brrr::Report report;
  brrr::TimelineDetail timeline;
  report.run = brrr::build_run(trace, facts, {}, trace_export ? &timeline : nullptr);
  std::printf("after build: current %.0f MiB, peak %.0f MiB\n", current_rss_mib(), peak_rss_mib());
  const double build_s = seconds_since(t1);
  // Resetting the peak for the export resets the process's own: the peak so far is kept here.
  const double peak_before_export = peak_rss_mib();
  double export_s = 0;

  if (trace_export) {
    const bool reset = reset_peak_rss();
    const double resident_before = current_rss_mib();
    auto t = Clock::now();
    const double cpu_before = cpu_seconds();
    brrr::TraceEventCounts counts;
    brrr::write_file_atomically(
        trace_path,
        [&](const brrr::WriteChunk& write) { counts = brrr::write_trace_events(trace, report.run, timeline, write); },
        true);
    export_s = seconds_since(t);
    const double export_cpu_s = cpu_seconds() - cpu_before;
    std::printf(
        "trace export: %.2f s (CPU %.2f s), %.0f MiB file, %llu slices (%llu kernels, %llu API calls, %llu gaps), "
        "%llu flows, %llu tracks; resident %.0f MiB before, peak %.0f MiB during%s\n",
        export_s, export_cpu_s, static_cast<double>(fs::file_size(trace_path)) / (1 << 20),
        static_cast<unsigned long long>(counts.slices()), static_cast<unsigned long long>(counts.kernels),
        static_cast<unsigned long long>(counts.api_calls), static_cast<unsigned long long>(counts.gaps),
        static_cast<unsigned long long>(counts.flows), static_cast<unsigned long long>(counts.tracks), resident_before,
        reset ? peak_rss_since_reset_mib() : peak_rss_mib(),
        reset ? "" : " (VmHWM could not be reset: the process's peak so far)");
    timeline = {};
    fs::remove(trace_path);
  }
  trace = {};
  auto match = brrr::match_profile(brrr::builtin_profiles(), "NVIDIA H100 80GB HBM3", "9.0");
  if (match) report.profile = match->profile;
  report.analysis = brrr::analyse(report.run, report.profile ? &*report.profile : nullptr);
  brrr::write_file_atomically(report_path, brrr::report_to_text(report), true);
  // The pipeline as `brrr profile` runs it without --trace.
  const double total_s = seconds_since(t0) - export_s;
  const double profile_peak = std::max(peak_before_export, peak_rss_mib());

  auto t2 = Clock::now();
  brrr::Report back = brrr::read_report(report_path);
  back.analysis = brrr::analyse(back.run, back.profile ? &*back.profile : nullptr);
  const std::string text = brrr::render_text(back, {});
  const double explain_s = seconds_since(t2);

  std::printf("launches %llu (%s): stream %.0f MiB, read %.2f s, build %.2f s, read+build+analyse+write %.2f s, "
              "peak RSS %.0f MiB (%.0f MiB before reading); explain %.3f s, report %.1f KiB, %zu kernel groups\n",
              static_cast<unsigned long long>(launches), workload.c_str(),
              static_cast<double>(fs::file_size(stream_path)) / (1 << 20), read_s, build_s, total_s, profile_peak,
              before, explain_s, static_cast<double>(fs::file_size(report_path)) / 1024, back.run.kernels.size());

  if (explain_timer) explain_timer->run();
  if (!keep_report.empty()) fs::copy_file(report_path, keep_report, fs::copy_options::overwrite_existing);
  fs::remove_all(dir);
  return text.empty() ? 1 : 0;
}
