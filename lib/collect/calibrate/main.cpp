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
constexpr size_t kCopyBytes = size_t{256} << 20;
constexpr int kLaunchBatch = 2000;
constexpr int kRoundTrips = 200;

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

// What the benchmarks share: the context, and cuBLASLt, loaded at the first GEMM.
struct Bench {
  Context context;
  std::unique_ptr<Gemm> gemm;
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

Runs dram_read(Bench& b) {
  const Context& c = b.context;
  const size_t bytes = dram_bytes(c);
  const DeviceBuffer data(bytes);
  const DeviceBuffer sink(sizeof(float));
  fill_positive(data, bytes, c);
  return time_on_gpu(c, static_cast<double>(bytes), [&] {
    check(launch_dram_read(data.get(), bytes, sink.as<float>(), c.sm_count, c.stream), "DRAM read kernel");
  });
}

Runs dram_write(Bench& b) {
  const Context& c = b.context;
  const size_t bytes = dram_bytes(c);
  const DeviceBuffer data(bytes);
  return time_on_gpu(c, static_cast<double>(bytes),
                     [&] { check(launch_dram_write(data.get(), bytes, c.sm_count, c.stream), "DRAM write kernel"); });
}

// Bytes read plus bytes written, as the DRAM roof counts them.
Runs dram_copy(Bench& b) {
  const Context& c = b.context;
  const size_t half = dram_bytes(c) / 2;
  const DeviceBuffer data(2 * half);
  fill_positive(data, 2 * half, c);
  auto* in = data.as<char>();
  return time_on_gpu(c, static_cast<double>(2 * half),
                     [&] { check(launch_dram_copy(in, in + half, half, c.sm_count, c.stream), "DRAM copy kernel"); });
}

Runs l2_read(Bench& b) {
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

Runs shared_read(Bench& b) {
  const Context& c = b.context;
  const DeviceBuffer sink(sizeof(float));
  const double threads =
      static_cast<double>(full_grid(Kernel::shared_read, c.sm_count)) * block_threads(Kernel::shared_read);
  return time_on_gpu(c, threads * kSharedIterations * shared_bytes_per_iteration, [&] {
    check(launch_shared_read(kSharedIterations, sink.as<float>(), c.sm_count, c.stream), "shared memory kernel");
  });
}

// `flops_per_fma`: 2, or 4 for the two-lane half2 and bf16x2 kinds.
Runs fma(Bench& b, Kernel kernel, double flops_per_fma) {
  const Context& c = b.context;
  const auto threads = static_cast<size_t>(full_grid(kernel, c.sm_count)) * block_threads(kernel);
  const DeviceBuffer out(threads * fma_chains * sizeof(double));
  const double flops = static_cast<double>(threads) * kFmaIterations * fma_per_iteration * flops_per_fma;
  return time_on_gpu(c, flops,
                     [&] { check(launch_fma(kernel, kFmaIterations, out.get(), c.sm_count, c.stream), "FMA kernel"); });
}

Runs gemm(Bench& b, GemmType type) {
  if (!b.gemm) b.gemm = std::make_unique<Gemm>();
  return b.gemm->measure(b.context, type);
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

Runs copy(Bench& b, cudaMemcpyKind kind, bool pinned) {
  const Context& c = b.context;
  const HostBuffer host(kCopyBytes, pinned);
  const DeviceBuffer device(kCopyBytes);
  const bool to_device = kind == cudaMemcpyHostToDevice;
  return time_on_gpu(c, static_cast<double>(kCopyBytes), [&] {
    check(cudaMemcpyAsync(to_device ? device.get() : host.get(), to_device ? host.get() : device.get(), kCopyBytes,
                          kind, c.stream),
          "cudaMemcpyAsync");
  });
}

// Back-to-back launches of an empty kernel: the rate a launch-bound program cannot beat.
Runs launch_rate(Bench& b) {
  const cudaStream_t stream = b.context.stream;
  return time_on_host(kLaunchBatch, false, [&] {
    for (int i = 0; i < kLaunchBatch; ++i) check(launch_empty(stream), "empty kernel");
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  });
}

// An empty kernel launched and waited for: what each step of a chain of dependent tiny
// kernels with a synchronization between them costs.
Runs launch_latency(Bench& b) {
  const cudaStream_t stream = b.context.stream;
  return time_on_host(kRoundTrips, true, [&] {
    for (int i = 0; i < kRoundTrips; ++i) {
      check(launch_empty(stream), "empty kernel");
      check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }
  });
}

// An event recorded on an idle stream and waited for: the host-GPU handshake alone.
Runs sync_round_trip(Bench& b) {
  const cudaStream_t stream = b.context.stream;
  cudaEvent_t event = nullptr;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  const std::unique_ptr<CUevent_st, decltype(&cudaEventDestroy)> owned(event, cudaEventDestroy);
  return time_on_host(kRoundTrips, true, [&] {
    for (int i = 0; i < kRoundTrips; ++i) {
      check(cudaEventRecord(event, stream), "cudaEventRecord");
      check(cudaEventSynchronize(event), "cudaEventSynchronize");
    }
  });
}

struct Benchmark {
  std::string_view id;
  Runs (*measure)(Bench&);
};

// One benchmark per ceiling of model/ceilings.hpp.
constexpr std::array<Benchmark, 22> benchmarks{{
    {"dram_read_bytes_per_s", dram_read},
    {"dram_write_bytes_per_s", dram_write},
    {"dram_copy_bytes_per_s", dram_copy},
    {"l2_read_bytes_per_s", l2_read},
    {"shared_read_bytes_per_s", shared_read},
    {"fp64_cuda_core_flops_per_s", [](Bench& b) { return fma(b, Kernel::fma_fp64, 2); }},
    {"fp32_cuda_core_flops_per_s", [](Bench& b) { return fma(b, Kernel::fma_fp32, 2); }},
    {"fp16_cuda_core_flops_per_s", [](Bench& b) { return fma(b, Kernel::fma_fp16, 4); }},
    {"bf16_cuda_core_flops_per_s", [](Bench& b) { return fma(b, Kernel::fma_bf16, 4); }},
    {"fp64_tensor_flops_per_s", [](Bench& b) { return gemm(b, GemmType::fp64); }},
    {"tf32_tensor_flops_per_s", [](Bench& b) { return gemm(b, GemmType::tf32); }},
    {"fp16_tensor_flops_per_s", [](Bench& b) { return gemm(b, GemmType::fp16); }},
    {"bf16_tensor_flops_per_s", [](Bench& b) { return gemm(b, GemmType::bf16); }},
    {"fp8_tensor_flops_per_s", [](Bench& b) { return gemm(b, GemmType::fp8); }},
    {"int8_tensor_flops_per_s", [](Bench& b) { return gemm(b, GemmType::int8); }},
    {"htod_pinned_bytes_per_s", [](Bench& b) { return copy(b, cudaMemcpyHostToDevice, true); }},
    {"dtoh_pinned_bytes_per_s", [](Bench& b) { return copy(b, cudaMemcpyDeviceToHost, true); }},
    {"htod_pageable_bytes_per_s", [](Bench& b) { return copy(b, cudaMemcpyHostToDevice, false); }},
    {"dtoh_pageable_bytes_per_s", [](Bench& b) { return copy(b, cudaMemcpyDeviceToHost, false); }},
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
  for (const auto& id : o.ceilings) {
    const auto it = std::find_if(benchmarks.begin(), benchmarks.end(), [&](const auto& b) { return b.id == id; });
    emit({{"type", "start"}, {"id", id}});
    try {
      const Runs runs = it->measure(bench);
      emit({{"type", "result"}, {"id", id}, {"runs", runs_json(runs)}});
    } catch (const Unsupported& reason) {
      emit({{"type", "skipped"}, {"id", id}, {"reason", reason.what()}});
    }
  }
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
