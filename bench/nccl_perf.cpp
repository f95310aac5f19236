// brrr-nccl-perf: all-reduce timing as nccl-tests' all_reduce_perf -g N does it, in one process
// that drives every visible GPU (or --gpus of them): one communicator per GPU from
// ncclCommInitAll, and for each size (--sizes MiB:iterations) of float32 some warm-up
// all-reduces, then the timed ones back to back, each a group call over the GPUs, between one
// pair of CUDA events per GPU on its stream, inside the NVTX range "all-reduce <N> MiB <mode>".
// The host launches far faster than the GPUs run, so the GPUs set the pace, which from Python
// they do not at small sizes (bench/nccl_allreduce.py). Modes (--modes):
//   loop:  the all-reduces launched one group call after another (nccl-tests' default);
//   graph: the same group calls captured into one CUDA graph per GPU, replayed --graph-replays
//          times between the events after one untimed replay (nccl-tests -G).
// One JSON line per size, mode and GPU on stdout:
//   {"mib":..., "bytes":..., "mode":..., "gpu":..., "gpus":..., "iters":..., "ops":...,
//    "event_us":..., "algbw_gb_s":..., "busbw_gb_s":..., "range":...}
// with nccl-tests' bandwidths: algbw = bytes / time, busbw = algbw × 2(n−1)/n.
//
// There are no NCCL headers on the build machine, so NCCL is loaded at run time: the library
// named by --nccl-lib or BRRR_NCCL_LIB, else libnccl.so.2 from the loader's search path.
//
// Exit codes: 0 done, 1 a CUDA or NCCL call failed, 2 bad usage, 3 NCCL could not be loaded.

#include <CLI/CLI.hpp>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nlohmann/json.hpp>
#include <nvtx3/nvToolsExt.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The few declarations of nccl.h this program needs, with the values of NCCL's public header
// (src/nccl.h.in): results are ints (ncclSuccess = 0) and communicators opaque pointers.
using NcclResult = int;
using NcclComm = struct NcclCommOpaque*;
constexpr NcclResult kNcclSuccess = 0;
constexpr int kNcclFloat32 = 7; // ncclDataType_t ncclFloat32
constexpr int kNcclSum = 0;     // ncclRedOp_t ncclSum

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNoNccl = 3;

[[noreturn]] void fail(const std::string& message, int code = kExitFailed) {
  std::fprintf(stderr, "brrr-nccl-perf: error: %s\n", message.c_str());
  std::exit(code);
}

void check(cudaError_t result, const char* what) {
  if (result != cudaSuccess) fail(std::string(what) + ": " + cudaGetErrorString(result));
}

// NCCL's entry points, looked up in the loaded library.
struct Nccl {
  NcclResult (*comm_init_all)(NcclComm*, int, const int*) = nullptr;
  NcclResult (*all_reduce)(const void*, void*, size_t, int, int, NcclComm, cudaStream_t) = nullptr;
  NcclResult (*group_start)() = nullptr;
  NcclResult (*group_end)() = nullptr;
  NcclResult (*comm_destroy)(NcclComm) = nullptr;
  const char* (*error_string)(NcclResult) = nullptr;
  std::string path;

  void check(NcclResult result, const char* what) const {
    if (result != kNcclSuccess) fail(std::string(what) + ": " + error_string(result));
  }
};

template <typename Function> void resolve(void* library, const char* name, Function& out) {
  out = reinterpret_cast<Function>(dlsym(library, name));
  if (!out) fail(std::string("NCCL library has no ") + name, kExitNoNccl);
}

// The explicit path first (a library the user names must win over whatever the loader finds),
// then the loader's search path; every attempt's error goes into the one message.
Nccl load_nccl(const std::string& option_path) {
  std::vector<std::string> candidates;
  if (!option_path.empty()) candidates.push_back(option_path);
  if (const char* env = std::getenv("BRRR_NCCL_LIB"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back("libnccl.so.2");
  std::string tried;
  for (const auto& candidate : candidates) {
    if (void* library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      Nccl nccl;
      nccl.path = candidate;
      resolve(library, "ncclCommInitAll", nccl.comm_init_all);
      resolve(library, "ncclAllReduce", nccl.all_reduce);
      resolve(library, "ncclGroupStart", nccl.group_start);
      resolve(library, "ncclGroupEnd", nccl.group_end);
      resolve(library, "ncclCommDestroy", nccl.comm_destroy);
      resolve(library, "ncclGetErrorString", nccl.error_string);
      return nccl;
    }
    tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
  }
  fail("cannot load NCCL (give --nccl-lib or BRRR_NCCL_LIB): " + tried, kExitNoNccl);
}

struct Size {
  int mib = 0;
  int iters = 0;
};

// "1:200,16:100" → {1 MiB, 200 iterations}, {16 MiB, 100}, as bench/nccl_allreduce.py takes them.
std::vector<Size> parse_sizes(const std::string& text) {
  std::vector<Size> sizes;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    Size s;
    char colon = 0;
    std::stringstream fields(item);
    if (!(fields >> s.mib >> colon >> s.iters) || colon != ':' || !fields.eof() || s.mib < 1 || s.iters < 1)
      fail("--sizes takes MiB:iterations pairs, both positive (e.g. 1:200,16:100), not \"" + text + "\"", kExitUsage);
    sizes.push_back(s);
  }
  if (sizes.empty()) fail("--sizes is empty", kExitUsage);
  return sizes;
}

// One communicator, stream, buffer and event pair per GPU.
struct Gpus {
  const Nccl& nccl;
  std::vector<int> devices;
  std::vector<NcclComm> comms;
  std::vector<cudaStream_t> streams;
  std::vector<cudaEvent_t> starts, ends;
  std::vector<float*> buffers;

  Gpus(const Nccl& n, int count) : nccl(n), comms(count), streams(count), starts(count), ends(count), buffers(count) {
    for (int d = 0; d < count; ++d) devices.push_back(d);
    nccl.check(nccl.comm_init_all(comms.data(), count, devices.data()), "ncclCommInitAll");
    for (int d = 0; d < count; ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaStreamCreateWithFlags(&streams[d], cudaStreamNonBlocking), "cudaStreamCreate");
      check(cudaEventCreate(&starts[d]), "cudaEventCreate");
      check(cudaEventCreate(&ends[d]), "cudaEventCreate");
    }
  }

  ~Gpus() {
    for (std::size_t d = 0; d < comms.size(); ++d) {
      cudaSetDevice(static_cast<int>(d));
      cudaFree(buffers[d]);
      cudaEventDestroy(starts[d]);
      cudaEventDestroy(ends[d]);
      cudaStreamDestroy(streams[d]);
      nccl.comm_destroy(comms[d]);
    }
  }

  int count() const { return static_cast<int>(comms.size()); }

  void allocate(std::size_t bytes) {
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaFree(buffers[d]), "cudaFree");
      buffers[d] = nullptr;
      check(cudaMalloc(&buffers[d], bytes), "cudaMalloc");
      check(cudaMemset(buffers[d], 0, bytes), "cudaMemset");
    }
  }

  // One all-reduce over every GPU: a group call, as nccl-tests makes with -g N.
  void all_reduce(std::size_t floats) {
    nccl.check(nccl.group_start(), "ncclGroupStart");
    for (int d = 0; d < count(); ++d)
      nccl.check(nccl.all_reduce(buffers[d], buffers[d], floats, kNcclFloat32, kNcclSum, comms[d], streams[d]),
                 "ncclAllReduce");
    nccl.check(nccl.group_end(), "ncclGroupEnd");
  }

  void synchronize() {
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaStreamSynchronize(streams[d]), "cudaStreamSynchronize");
    }
  }

  void record(std::vector<cudaEvent_t>& events) {
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaEventRecord(events[d], streams[d]), "cudaEventRecord");
    }
  }

  // launch() between one event pair per GPU inside the NVTX range name, with nothing queued
  // before it; the range closes once every GPU is done. Returns each GPU's events in µs.
  template <typename Launch> std::vector<double> timed(const std::string& name, Launch launch) {
    synchronize();
    nvtxRangePushA(name.c_str());
    record(starts);
    launch();
    record(ends);
    synchronize();
    nvtxRangePop();
    std::vector<double> us(count());
    for (int d = 0; d < count(); ++d) {
      float ms = 0;
      check(cudaEventElapsedTime(&ms, starts[d], ends[d]), "cudaEventElapsedTime");
      us[d] = ms * 1e3;
    }
    return us;
  }

  // iters all-reduces captured into one graph per GPU (each GPU's stream captured at once, as
  // the group call launches on all of them), instantiated.
  std::vector<cudaGraphExec_t> capture(std::size_t floats, int iters) {
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaStreamBeginCapture(streams[d], cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    }
    for (int i = 0; i < iters; ++i) all_reduce(floats);
    // Every capture ends before any graph is instantiated: instantiating while this thread
    // still captures another GPU's stream is refused (measured on the lent 2×H200 host).
    std::vector<cudaGraph_t> captured(count(), nullptr);
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaStreamEndCapture(streams[d], &captured[d]), "cudaStreamEndCapture");
    }
    std::vector<cudaGraphExec_t> graphs(count());
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaGraphInstantiateWithFlags(&graphs[d], captured[d], 0), "cudaGraphInstantiate");
      check(cudaGraphDestroy(captured[d]), "cudaGraphDestroy");
    }
    return graphs;
  }

  void replay(const std::vector<cudaGraphExec_t>& graphs) {
    for (int d = 0; d < count(); ++d) {
      check(cudaSetDevice(d), "cudaSetDevice");
      check(cudaGraphLaunch(graphs[d], streams[d]), "cudaGraphLaunch");
    }
  }
};

void print_line(const Size& size, std::size_t bytes, const std::string& mode, const std::string& range, int gpu,
                int gpus, int ops, double total_us) {
  const double us = total_us / ops;
  const double algbw = static_cast<double>(bytes) / (us * 1e-6) / 1e9;
  const nlohmann::json line = {{"mib", size.mib},     {"bytes", bytes},
                               {"mode", mode},        {"gpu", gpu},
                               {"gpus", gpus},        {"iters", size.iters},
                               {"ops", ops},          {"event_us", us},
                               {"algbw_gb_s", algbw}, {"busbw_gb_s", algbw * 2.0 * (gpus - 1) / gpus},
                               {"range", range}};
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"brrr-nccl-perf: NCCL all-reduce timing as nccl-tests' all_reduce_perf -g N, one process"};
  std::string sizes_text = "1:200,16:100,64:50,256:20";
  std::string modes_text = "loop,graph";
  std::string nccl_path;
  int warmup = 5;
  int graph_replays = 3;
  int gpus_wanted = 0;
  app.add_option("--sizes", sizes_text, "MiB:iterations pairs, comma-separated")->capture_default_str();
  app.add_option("--modes", modes_text, "loop, graph or both, comma-separated")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed all-reduces before each size")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--graph-replays", graph_replays, "graph: timed replays of the captured all-reduces")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--gpus", gpus_wanted, "GPUs to use (default: every visible one)")->check(CLI::NonNegativeNumber);
  app.add_option("--nccl-lib", nccl_path, "the NCCL library to load (else BRRR_NCCL_LIB, else libnccl.so.2)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every other parse error is bad usage.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  const auto sizes = parse_sizes(sizes_text);
  bool loop_mode = false, graph_mode = false;
  {
    std::stringstream items(modes_text);
    std::string mode;
    while (std::getline(items, mode, ',')) {
      if (mode == "loop")
        loop_mode = true;
      else if (mode == "graph")
        graph_mode = true;
      else
        fail("--modes takes loop and graph, not \"" + mode + "\"", kExitUsage);
    }
  }
  if (!loop_mode && !graph_mode) fail("--modes is empty", kExitUsage);

  const Nccl nccl = load_nccl(nccl_path);
  int visible = 0;
  check(cudaGetDeviceCount(&visible), "cudaGetDeviceCount");
  const int count = gpus_wanted ? gpus_wanted : visible;
  if (count > visible)
    fail("--gpus " + std::to_string(count) + ", but " + std::to_string(visible) + " visible", kExitUsage);
  std::fprintf(stderr, "brrr-nccl-perf: %d GPU(s), NCCL from %s\n", count, nccl.path.c_str());

  Gpus gpus(nccl, count);
  for (const auto& size : sizes) {
    const std::size_t bytes = static_cast<std::size_t>(size.mib) << 20;
    const std::size_t floats = bytes / sizeof(float);
    gpus.allocate(bytes);
    for (int i = 0; i < warmup; ++i) gpus.all_reduce(floats);
    const std::string prefix = "all-reduce " + std::to_string(size.mib) + " MiB ";
    if (loop_mode) {
      const auto us = gpus.timed(prefix + "loop", [&] {
        for (int i = 0; i < size.iters; ++i) gpus.all_reduce(floats);
      });
      for (int d = 0; d < count; ++d) print_line(size, bytes, "loop", prefix + "loop", d, count, size.iters, us[d]);
    }
    if (graph_mode) {
      gpus.synchronize();
      const auto graphs = gpus.capture(floats, size.iters);
      gpus.replay(graphs); // the first replay uploads the graphs: untimed
      const auto us = gpus.timed(prefix + "graph", [&] {
        for (int r = 0; r < graph_replays; ++r) gpus.replay(graphs);
      });
      const int ops = size.iters * graph_replays;
      for (int d = 0; d < count; ++d) print_line(size, bytes, "graph", prefix + "graph", d, count, ops, us[d]);
      for (auto graph : graphs) check(cudaGraphExecDestroy(graph), "cudaGraphExecDestroy");
    }
  }
  gpus.synchronize();
  return 0;
}
