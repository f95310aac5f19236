// brrr-calibrate-kernels: the microbenchmarks behind `brrr calibrate`, in a process of their own
// so that brrr links no CUDA (lib/collect/calibrate.hpp says why). brrr runs it twice: with
// --describe for the device, then with --ceilings for the measurements.
//
// Usage: brrr-calibrate-kernels [--device N] (--describe | --ceilings ID[,ID...])
//
// It prints one JSON object per line on standard output (docs/calibrate.md, "The calibration
// kernels"), and exits 0; 1 after an "error" line; 2 on bad usage.

#include "bench.hpp"
#include "gemm.hpp"
#include "kernels.hpp"
#include "nvml.hpp"

#include "model/ceilings.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace brrr;
using namespace brrr::calibrate;
using json = nlohmann::json;

// GPU utilization above this before the calibration starts: another process is using it.
constexpr unsigned kBusyPercent = 5;
// DRAM is measured over at most this much memory, and at most 40% of what is free; and over
// at least kMinDramOverL2 times the L2, so that L2 serves a negligible part of it.
constexpr size_t kDramBytes = size_t{2} << 30;
constexpr size_t kMinDramOverL2 = 16;
// L2 is measured over a working set of this fraction of its size: the plateau a kernel with
// a large L2-resident working set reaches. A few megabytes read faster still, from the L2
// partition nearest each SM, but no roof should assume that.
constexpr double kL2WorkingSetFraction = 0.4;
constexpr unsigned kL2Blocks = 65536;
// About 2 to 4 ms per launch on an H100; the runs repeat launches to their length.
constexpr int kSharedIterations = 4096;
constexpr int kFmaIterations = 1600;
// Pinned copies are timed on the GPU, 256 MiB each. Pageable ones are timed on the host, one
// 16 MiB copy per trial (about 1 ms), so that a thousand trials fit and every block of trials
// has tens of them (with 64 MiB copies a block had 8, and the fast decile rested on one or two
// blocks). The copies walk through a 512 MiB host buffer, a slice after the other, so that the
// host side of each copy comes from or goes to DRAM, as a large copy's does, and not from a
// last-level cache that other tenants share and evict at their own pace.
constexpr size_t kPinnedCopyBytes = size_t{256} << 20;
constexpr size_t kPageableCopyBytes = size_t{16} << 20;
constexpr size_t kPageableHostBytes = size_t{512} << 20;
// A launch-rate trial is a group of up to 100 back-to-back launches (about 0.3 ms), timed
// without waiting for them; the queue is drained, untimed, before a group would take it past
// 500 launches. The launch queue holds about a thousand: past that, a launch waits for the GPU
// to drain one, and the host's rate is no longer what is timed. A trial that ends with a
// synchronization pays for the last launches' latency, and a 1 ms trial averages the host's
// interruptions in rather than leaving some trials clear of them.
constexpr int kLaunchesPerTrial = 100;
constexpr int kMaxQueuedLaunches = 500;
constexpr int kMaxRoundTripsPerTrial = 10000;

void emit(const json& message) { std::cout << message.dump() << '\n' << std::flush; }

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "brrr-calibrate-kernels: " << problem
            << "\nusage: brrr-calibrate-kernels [--device N] (--describe | --ceilings ID[,ID...])\n";
  std::exit(2);
}

struct Options {
  int device = 0;
  bool describe = false;
  std::vector<std::string> ceilings;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--describe") {
      o.describe = true;
    } else if ((arg == "--device" || arg == "--ceilings") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "--device") {
        if (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos)
          usage("--device " + value + ": expected a device number");
        o.device = std::stoi(value);
      } else {
        for (std::size_t start = 0; start <= value.size();) {
          const auto end = std::min(value.find(',', start), value.size());
          const std::string id = value.substr(start, end - start);
          if (!find_ceiling_spec(id)) usage("unknown ceiling '" + id + "'");
          o.ceilings.push_back(id);
          start = end + 1;
        }
      }
    } else {
      usage("unexpected argument '" + arg + "'");
    }
  }
  if (o.describe == !o.ceilings.empty()) usage("give either --describe or --ceilings");
  return o;
}

json describe(int device, const Nvml& nvml) {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  int sm_clock_khz = 0;
  int memory_clock_khz = 0;
  int driver = 0;
  check(cudaDeviceGetAttribute(&sm_clock_khz, cudaDevAttrClockRate, device), "cudaDeviceGetAttribute");
  check(cudaDeviceGetAttribute(&memory_clock_khz, cudaDevAttrMemoryClockRate, device), "cudaDeviceGetAttribute");
  check(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
  json uuid = json::array();
  for (char byte : p.uuid.bytes) uuid.push_back(static_cast<unsigned char>(byte));
  std::string driver_version = nvml.driver_version();
  if (driver_version.empty()) driver_version = fmt::format("CUDA {}.{}", driver / 1000, driver % 1000 / 10);
  return {{"type", "device"},
          {"id", device},
          {"name", p.name},
          {"uuid_bytes", uuid},
          {"mig", nvml.mig_enabled().value_or(false)},
          {"compute_capability", fmt::format("{}.{}", p.major, p.minor)},
          {"sm_count", p.multiProcessorCount},
          {"sm_clock_mhz", sm_clock_khz / 1000},
          {"memory_clock_mhz", memory_clock_khz / 1000},
          {"memory_bytes", p.totalGlobalMem},
          {"l2_bytes", p.l2CacheSize},
          {"driver_version", driver_version},
          {"nvml", nvml.available()}};
}

// Host memory for copies: pinned (page-locked, copied by DMA directly) or pageable (staged by
// the driver through a pinned buffer of its own), touched before the copies so that no page
// fault is timed.
class HostBuffer {
public:
  HostBuffer(size_t bytes, bool pinned) : pinned_(pinned) {
    if (pinned) {
      check(cudaMallocHost(&data_, bytes), "cudaMallocHost");
    } else {
      data_ = std::malloc(bytes);
      if (!data_) throw Unsupported("cannot allocate host memory for the copies");
    }
    std::memset(data_, 1, bytes);
  }
  ~HostBuffer() {
    if (pinned_)
      cudaFreeHost(data_);
    else
      std::free(data_);
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  [[nodiscard]] void* get() const { return data_; }

private:
  void* data_ = nullptr;
  bool pinned_;
};

// What the benchmarks share: the context, cuBLASLt, loaded at the first GEMM, and the host
// buffer of the pageable copies, allocated and written at the first of them (the host-bound
// ceilings are measured in several rounds).
struct Bench {
  Context context;
  std::unique_ptr<Gemm> gemm;
  std::unique_ptr<HostBuffer> pageable;
};

size_t dram_bytes(const Context& c) {
  const size_t free = free_device_bytes();
  const size_t bytes = std::min(kDramBytes, free / 5 * 2) & ~size_t{0xFFFF};
  if (bytes < kMinDramOverL2 * c.l2_bytes)
    throw Unsupported(fmt::format("only {} MiB of GPU memory are free: too little to measure DRAM beyond the {} MiB L2",
                                  free >> 20, c.l2_bytes >> 20));
  return bytes;
}

// Positive data: the kernels' sums are never negative, so their guarded stores never run.
void fill_positive(const DeviceBuffer& buffer, size_t bytes, const Context& c) {
  check(cudaMemsetAsync(buffer.get(), 0x3C, bytes, c.stream), "cudaMemsetAsync");
}

Measured dram_read(Bench& b) {
  const Context& c = b.context;
  const size_t bytes = dram_bytes(c);
  const DeviceBuffer data(bytes);
  const DeviceBuffer sink(sizeof(float));
  fill_positive(data, bytes, c);
  return time_on_gpu(c, static_cast<double>(bytes), [&] {
    check(launch_dram_read(data.get(), bytes, sink.as<float>(), c.sm_count, c.stream), "DRAM read kernel");
  });
}

Measured dram_write(Bench& b) {
  const Context& c = b.context;
  const size_t bytes = dram_bytes(c);
  const DeviceBuffer data(bytes);
  return time_on_gpu(c, static_cast<double>(bytes),
                     [&] { check(launch_dram_write(data.get(), bytes, c.sm_count, c.stream), "DRAM write kernel"); });
}

// Bytes read plus bytes written, as the DRAM roof counts them.
Measured dram_copy(Bench& b) {
  const Context& c = b.context;
  const size_t half = dram_bytes(c) / 2;
  const DeviceBuffer data(2 * half);
  fill_positive(data, 2 * half, c);
  auto* in = data.as<char>();
  return time_on_gpu(c, static_cast<double>(2 * half),
                     [&] { check(launch_dram_copy(in, in + half, half, c.sm_count, c.stream), "DRAM copy kernel"); });
}

Measured l2_read(Bench& b) {
  const Context& c = b.context;
  const auto chunks = std::max<unsigned>(
      1, static_cast<unsigned>(kL2WorkingSetFraction * static_cast<double>(c.l2_bytes) / l2_chunk_bytes));
  const DeviceBuffer data(chunks * l2_chunk_bytes);
  const DeviceBuffer sink(sizeof(float));
  fill_positive(data, chunks * l2_chunk_bytes, c);
  return time_on_gpu(c, static_cast<double>(kL2Blocks) * l2_chunk_bytes, [&] {
    check(launch_l2_read(data.get(), chunks, kL2Blocks, sink.as<float>(), c.stream), "L2 read kernel");
  });
}

Measured shared_read(Bench& b) {
  const Context& c = b.context;
  const DeviceBuffer sink(sizeof(float));
  const double threads =
      static_cast<double>(full_grid(Kernel::shared_read, c.sm_count)) * block_threads(Kernel::shared_read);
  return time_on_gpu(c, threads * kSharedIterations * shared_bytes_per_iteration, [&] {
    check(launch_shared_read(kSharedIterations, sink.as<float>(), c.sm_count, c.stream), "shared memory kernel");
  });
}

// `flops_per_fma`: 2, or 4 for the two-lane half2 and bf16x2 kinds.
Measured fma(Bench& b, Kernel kernel, double flops_per_fma) {
  const Context& c = b.context;
  const auto threads = static_cast<size_t>(full_grid(kernel, c.sm_count)) * block_threads(kernel);
  const DeviceBuffer out(threads * fma_chains * sizeof(double));
  const double flops = static_cast<double>(threads) * kFmaIterations * fma_per_iteration * flops_per_fma;
  return time_on_gpu(c, flops,
                     [&] { check(launch_fma(kernel, kFmaIterations, out.get(), c.sm_count, c.stream), "FMA kernel"); });
}

Measured gemm(Bench& b, GemmType type) {
  if (!b.gemm) b.gemm = std::make_unique<Gemm>();
  return b.gemm->measure(b.context, type);
}

// Pinned copies are DMA at the link's speed, timed with CUDA events like GPU work; pageable
// ones go through the driver's staging buffer at the pace of the host's CPU and memory, and
// are timed like the other host-bound ceilings.
Measured copy(Bench& b, cudaMemcpyKind kind, bool pinned) {
  const Context& c = b.context;
  const size_t bytes = pinned ? kPinnedCopyBytes : kPageableCopyBytes;
  const size_t host_bytes = pinned ? kPinnedCopyBytes : kPageableHostBytes;
  std::unique_ptr<HostBuffer> pinned_host;
  if (pinned)
    pinned_host = std::make_unique<HostBuffer>(host_bytes, true);
  else if (!b.pageable)
    b.pageable = std::make_unique<HostBuffer>(host_bytes, false);
  const HostBuffer& host = pinned ? *pinned_host : *b.pageable;
  const DeviceBuffer device(bytes);
  const bool to_device = kind == cudaMemcpyHostToDevice;
  size_t offset = 0;
  auto copy_once = [&] {
    void* host_slice = static_cast<char*>(host.get()) + offset;
    check(cudaMemcpyAsync(to_device ? device.get() : host_slice, to_device ? host_slice : device.get(), bytes, kind,
                          c.stream),
          "cudaMemcpyAsync");
    offset = (offset + bytes) % host_bytes;
  };
  if (pinned) return time_on_gpu(c, static_cast<double>(bytes), copy_once);
  return time_on_host(static_cast<double>(bytes), false, 1, [&](int copies) {
    for (int i = 0; i < copies; ++i) copy_once();
    check(cudaStreamSynchronize(c.stream), "cudaStreamSynchronize");
  });
}

// Back-to-back launches of an empty kernel: the rate a launch-bound program gets, while the
// launch queue has room.
Measured launch_rate(Bench& b) {
  const cudaStream_t stream = b.context.stream;
  int queued = 0;
  return time_on_host(
      1, false, kLaunchesPerTrial,
      [&](int launches) {
        for (int i = 0; i < launches; ++i) check(launch_empty(stream), "empty kernel");
        queued += launches;
      },
      [&] {
        if (queued + kLaunchesPerTrial <= kMaxQueuedLaunches) return;
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
        queued = 0;
      });
}

// An empty kernel launched and waited for: what each step of a chain of dependent tiny
// kernels with a synchronization between them costs.
Measured launch_latency(Bench& b) {
  const cudaStream_t stream = b.context.stream;
  return time_on_host(1, true, kMaxRoundTripsPerTrial, [&](int round_trips) {
    for (int i = 0; i < round_trips; ++i) {
      check(launch_empty(stream), "empty kernel");
      check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }
  });
}

// An event recorded on an idle stream and waited for: the host-GPU handshake alone.
Measured sync_round_trip(Bench& b) {
  const cudaStream_t stream = b.context.stream;
  cudaEvent_t event = nullptr;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  const std::unique_ptr<CUevent_st, decltype(&cudaEventDestroy)> owned(event, cudaEventDestroy);
  return time_on_host(1, true, kMaxRoundTripsPerTrial, [&](int round_trips) {
    for (int i = 0; i < round_trips; ++i) {
      check(cudaEventRecord(event, stream), "cudaEventRecord");
      check(cudaEventSynchronize(event), "cudaEventSynchronize");
    }
  });
}

struct Benchmark {
  std::string_view id;
  Measured (*measure)(Bench&);
};

// One benchmark per ceiling of model/ceilings.hpp.
constexpr std::array<Benchmark, 22> benchmarks{{
    {"dram_read_bytes_per_s", dram_read},
    {"dram_write_bytes_per_s", dram_write},
    {"dram_copy_bytes_per_s", dram_copy},
    {"l2_read_bytes_per_s", l2_read},
    {"shared_read_bytes_per_s", shared_read},
    {"fp64_cuda_core_flops_per_s", [](Bench& b) -> Measured { return fma(b, Kernel::fma_fp64, 2); }},
    {"fp32_cuda_core_flops_per_s", [](Bench& b) -> Measured { return fma(b, Kernel::fma_fp32, 2); }},
    {"fp16_cuda_core_flops_per_s", [](Bench& b) -> Measured { return fma(b, Kernel::fma_fp16, 4); }},
    {"bf16_cuda_core_flops_per_s", [](Bench& b) -> Measured { return fma(b, Kernel::fma_bf16, 4); }},
    {"fp64_tensor_flops_per_s", [](Bench& b) -> Measured { return gemm(b, GemmType::fp64); }},
    {"tf32_tensor_flops_per_s", [](Bench& b) -> Measured { return gemm(b, GemmType::tf32); }},
    {"fp16_tensor_flops_per_s", [](Bench& b) -> Measured { return gemm(b, GemmType::fp16); }},
    {"bf16_tensor_flops_per_s", [](Bench& b) -> Measured { return gemm(b, GemmType::bf16); }},
    {"fp8_tensor_flops_per_s", [](Bench& b) -> Measured { return gemm(b, GemmType::fp8); }},
    {"int8_tensor_flops_per_s", [](Bench& b) -> Measured { return gemm(b, GemmType::int8); }},
    {"htod_pinned_bytes_per_s", [](Bench& b) -> Measured { return copy(b, cudaMemcpyHostToDevice, true); }},
    {"dtoh_pinned_bytes_per_s", [](Bench& b) -> Measured { return copy(b, cudaMemcpyDeviceToHost, true); }},
    {"htod_pageable_bytes_per_s", [](Bench& b) -> Measured { return copy(b, cudaMemcpyHostToDevice, false); }},
    {"dtoh_pageable_bytes_per_s", [](Bench& b) -> Measured { return copy(b, cudaMemcpyDeviceToHost, false); }},
    {"launch_rate_per_s", launch_rate},
    {"launch_latency_ns", launch_latency},
    {"sync_round_trip_ns", sync_round_trip},
}};
constexpr bool every_ceiling_has_a_benchmark() {
  for (const auto& spec : ceiling_specs)
    if (std::none_of(benchmarks.begin(), benchmarks.end(), [&](const auto& b) { return b.id == spec.id; }))
      return false;
  return benchmarks.size() == ceiling_specs.size();
}
static_assert(every_ceiling_has_a_benchmark(), "one benchmark per ceiling of model/ceilings.hpp");

json runs_json(const Runs& runs) {
  json out = json::array();
  for (const auto& run : runs) {
    json j{{"value", run.value}};
    if (run.clocks.sm_mhz) j["sm_clock_mhz"] = *run.clocks.sm_mhz;
    if (run.clocks.memory_mhz) j["memory_clock_mhz"] = *run.clocks.memory_mhz;
    if (!run.clocks.limits.empty()) j["clock_limits"] = run.clocks.limits;
    out.push_back(std::move(j));
  }
  return out;
}

// NVML's utilization is an average over its last sample period, up to a second: right after
// another program (an earlier calibration) it still shows that program's work. Only a GPU
// still busy a second later is reported.
void warn_if_busy(const Nvml& nvml) {
  auto busy = nvml.utilization_percent();
  if (!busy || *busy <= kBusyPercent) return;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  busy = nvml.utilization_percent();
  if (busy && *busy > kBusyPercent)
    emit({{"type", "warning"},
          {"message", fmt::format("the GPU was {}% busy just before the calibration: another process is using it "
                                  "(nvidia-smi lists it), and the ceilings will come out low",
                                  *busy)}});
}

void measure(const Options& o, const Nvml& nvml) {
  warn_if_busy(nvml);
  // Before the CUDA context exists, so that the runtime's threads and the driver's host
  // buffers start near the GPU too.
  stay_near_gpu(nvml);
  check(cudaSetDevice(o.device), "cudaSetDevice");
  check(cudaFree(nullptr), "creating a CUDA context");
  Bench bench;
  bench.context.device = o.device;
  bench.context.nvml = &nvml;
  check(cudaDeviceGetAttribute(&bench.context.sm_count, cudaDevAttrMultiProcessorCount, o.device),
        "cudaDeviceGetAttribute");
  int l2_bytes = 0;
  check(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, o.device), "cudaDeviceGetAttribute");
  bench.context.l2_bytes = static_cast<size_t>(l2_bytes);
  check(cudaStreamCreateWithFlags(&bench.context.stream, cudaStreamNonBlocking), "cudaStreamCreate");

  const auto start = std::chrono::steady_clock::now();
  auto run = [&](const std::string& id) -> std::optional<Measured> {
    const auto it = std::find_if(benchmarks.begin(), benchmarks.end(), [&](const auto& b) { return b.id == id; });
    emit({{"type", "start"}, {"id", id}});
    try {
      return it->measure(bench);
    } catch (const Unsupported& reason) {
      emit({{"type", "skipped"}, {"id", id}, {"reason", reason.what()}});
      return std::nullopt;
    }
  };
  auto emit_result = [](const std::string& id, const Measured& measured) {
    json result{{"type", "result"}, {"id", id}, {"runs", runs_json(measured.runs)}};
    if (!measured.setup.empty()) result["setup"] = measured.setup;
    emit(result);
  };
  // The host-bound ceilings are measured in host_rounds rounds spread over the calibration
  // (before the GPU's ceilings, between them, after them), each round one block of trials on
  // each CPU: how fast the host is for them drifts over seconds, and one window of a second
  // could fall entirely in a slow stretch. Their results come after the last round.
  std::vector<std::string> gpu_ids;
  std::vector<std::pair<std::string, std::optional<Measured>>> host;
  for (const auto& id : o.ceilings) {
    if (find_ceiling_spec(id)->host_bound)
      host.emplace_back(id, Measured(Runs{}));
    else
      gpu_ids.push_back(id);
  }
  auto host_round = [&] {
    for (auto& [id, measured] : host) {
      if (!measured) continue; // skipped in an earlier round
      const std::optional<Measured> round = run(id);
      if (!round) {
        measured.reset();
        continue;
      }
      measured->runs.insert(measured->runs.end(), round->runs.begin(), round->runs.end());
    }
  };
  int rounds_done = 0;
  for (std::size_t i = 0; i <= gpu_ids.size(); ++i) {
    // Round r comes after r / (host_rounds - 1) of the GPU's ceilings.
    while (rounds_done < host_rounds && (host_rounds == 1 || static_cast<std::size_t>(rounds_done) * gpu_ids.size() <=
                                                                 i * static_cast<std::size_t>(host_rounds - 1))) {
      host_round();
      ++rounds_done;
    }
    if (i == gpu_ids.size()) break;
    if (const auto measured = run(gpu_ids[i])) emit_result(gpu_ids[i], *measured);
  }
  for (const auto& [id, measured] : host)
    if (measured) emit_result(id, *measured);
  bench.gemm.reset();
  check(cudaStreamDestroy(bench.context.stream), "cudaStreamDestroy");
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
  emit({{"type", "end"}, {"duration_ns", ns.count()}});
}

} // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    // Without a driver the runtime's message speaks of versions; say what is missing instead.
    if (void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL); driver)
      dlclose(driver);
    else
      throw CudaFailure("no GPU to calibrate: no NVIDIA driver on this machine (libcuda.so.1 not found)");
    int count = 0;
    if (const cudaError_t result = cudaGetDeviceCount(&count); result != cudaSuccess || count == 0)
      throw CudaFailure(fmt::format("no GPU to calibrate: {}",
                                    result != cudaSuccess ? cudaGetErrorString(result) : "CUDA sees no device"));
    if (options.device >= count)
      throw CudaFailure(
          fmt::format("no CUDA device {}: CUDA sees {} (CUDA_VISIBLE_DEVICES chooses which)", options.device, count));
    const Nvml nvml(options.device);
    if (options.describe) {
      emit(describe(options.device, nvml));
      emit({{"type", "end"}, {"duration_ns", 0}});
    } else {
      measure(options, nvml);
    }
  } catch (const std::exception& e) {
    emit({{"type", "error"}, {"message", e.what()}});
    return 1;
  }
  return 0;
}
