// A CUDA program that ends, and misbehaves, in the ways brrr must survive, for the GPU tests:
//   brrr-test-target exit N              launch 10 kernels, wait, exit with status N
//   brrr-test-target exit-in-flight      launch 1000 kernels and exit() without waiting for them
//   brrr-test-target segv                run kernels for about 1.5 s, then crash with SIGSEGV
//   brrr-test-target abort               the same, then abort()
// Hostile targets (docs/reliability.md), each doing its worst before its first CUDA call:
//   brrr-test-target close-fds FILE      close every descriptor, standard streams included, then
//                                        launch 10 kernels and write "launched 10" to FILE
//   brrr-test-target replace-files       launch 10 kernels, put /dev/null in place of every
//                                        regular file it has open outside /proc, /sys and /dev
//                                        (brrr's stream among them), then launch 10 more
//   brrr-test-target chdir DIR           change to DIR, then launch 10 kernels
//   brrr-test-target clear-env           empty its environment, then launch 10 kernels
//   brrr-test-target setsid MARKER       leave brrr's session, run kernels, create MARKER after
//                                        about 1.5 s, and go on until killed (at most 60 s)
//   brrr-test-target ignore-term MARKER  ignore SIGTERM, then the same
//   brrr-test-target spawn N             start N copies of itself running "exit 0" at once,
//                                        without using CUDA itself; exit 0 when all did
//   brrr-test-target long-loop N         N launches of a tiny kernel, printing its resident
//                                        memory after each tenth of them as one JSON line
//   brrr-test-target late-kernel         12000 launches of one kernel, then 10 of a kernel first
//                                        seen after them (brrr's counters must still measure it)
//   brrr-test-target graph N             capture 10 launches in a CUDA graph, replay it N times
//   brrr-test-target threads N           N threads at once, each launching 100 kernels of each of
//                                        two kinds on a stream of its own, then waiting for them
//   brrr-test-target device-reset N      N times: launch 10 kernels of each of two kinds, wait, and
//                                        destroy the context with cudaDeviceReset (the next round
//                                        gets a new one, and a new copy of the module)
// Each prints the number of kernels it launched, so that the tests can count them in the report.

#include "cuda_check.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

// About 10 µs of work on one block, so that launches queue up behind each other.
__global__ void spin_kernel(float* out, int iterations) {
  float v = static_cast<float>(threadIdx.x);
  for (int i = 0; i < iterations; ++i) v = v * 0.999f + 1.0f;
  if (v == -1.0f) out[threadIdx.x] = v;
}

// A kernel of its own, launched only after thousands of others.
__global__ void late_kernel(float* out) { out[threadIdx.x] = 2.0f * threadIdx.x; }

__global__ void tiny_kernel(float* out) { out[threadIdx.x] += 1.0f; }

void launch_and_wait(float* out, int count) {
  for (int i = 0; i < count; ++i) spin_kernel<<<1, 128>>>(out, 1000);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
}

int descriptor_limit() {
  struct rlimit limit {};
  getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<int>(limit.rlim_cur < 65536 ? limit.rlim_cur : 65536);
}

// Runs kernels until killed, for at most 60 s; creates `marker` once about 1.5 s have passed,
// so that the records of the first ones have been handed to brrr.
[[noreturn]] void run_until_killed(float* out, const char* marker) {
  const auto start = std::chrono::steady_clock::now();
  bool marked = false;
  long launched = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    launch_and_wait(out, 100);
    launched += 100;
    if (!marked && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(1500)) {
      std::printf("launched %ld\n", launched);
      std::fflush(stdout);
      close(open(marker, O_WRONLY | O_CREAT, 0644));
      marked = true;
    }
  }
  std::exit(3); // nobody killed it
}

double resident_mib() {
  long pages = 0;
  long resident = 0;
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm != nullptr) {
    if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

int spawn_copies(int copies) {
  char self[4096] = {};
  if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return 1;
  std::vector<pid_t> children;
  for (int i = 0; i < copies; ++i) {
    char mode[] = "exit";
    char code[] = "0";
    char* argv[] = {self, mode, code, nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, self, nullptr, nullptr, argv, environ) != 0) return 1;
    children.push_back(pid);
  }
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::printf("spawned %d, %d failed\n", copies, failed);
  return failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: brrr-test-target MODE [ARG] (see the source for the modes)\n");
    return 2;
  }
  const std::string mode = argv[1];
  const char* arg = argc > 2 ? argv[2] : nullptr;

  // What the hostile modes do before CUDA starts.
  FILE* result = nullptr;
  if (mode == "close-fds" && arg) {
    for (int fd = 0; fd < descriptor_limit(); ++fd) close(fd);
    result = std::fopen(arg, "w");
  } else if (mode == "chdir" && arg) {
    if (chdir(arg) != 0) return 2;
  } else if (mode == "clear-env") {
    clearenv();
  } else if (mode == "setsid") {
    if (setsid() < 0) return 2;
  } else if (mode == "ignore-term") {
    std::signal(SIGTERM, SIG_IGN);
  } else if (mode == "spawn" && arg) {
    return spawn_copies(std::atoi(arg));
  }

  float* out = nullptr;
  CHECK(cudaMalloc(&out, 1024 * sizeof(float)));
  if ((mode == "exit" && arg) || mode == "close-fds" || mode == "chdir" || mode == "clear-env") {
    launch_and_wait(out, 10);
    std::fprintf(result ? result : stdout, "launched 10\n");
    std::exit(mode == "exit" ? std::atoi(arg) : 0);
  }
  if (mode == "replace-files") {
    launch_and_wait(out, 10);
    const int null = open("/dev/null", O_WRONLY);
    struct stat status {};
    for (int fd = 3; fd < descriptor_limit(); ++fd) {
      char path[4096] = {};
      const std::string link = "/proc/self/fd/" + std::to_string(fd);
      if (fd == null || fstat(fd, &status) != 0 || !S_ISREG(status.st_mode) ||
          readlink(link.c_str(), path, sizeof path - 1) <= 0)
        continue;
      const std::string file = path;
      if (file.rfind("/proc/", 0) != 0 && file.rfind("/sys/", 0) != 0 && file.rfind("/dev/", 0) != 0) dup2(null, fd);
    }
    launch_and_wait(out, 10);
    std::printf("launched 20\n");
    return 0;
  }
  if ((mode == "setsid" || mode == "ignore-term") && arg) run_until_killed(out, arg);
  if (mode == "long-loop" && arg) {
    const long launches = std::atol(arg);
    const long tenth = launches >= 10 ? launches / 10 : 1;
    std::printf("{\"launches\": %ld, \"rss_mib\": [", launches);
    for (long i = 1; i <= launches; ++i) {
      tiny_kernel<<<1, 32>>>(out);
      if (i % tenth == 0) {
        CHECK(cudaDeviceSynchronize());
        std::printf("%s%.1f", i == tenth ? "" : ", ", resident_mib());
      }
    }
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    std::printf("]}\n");
    return 0;
  }
  if (mode == "exit-in-flight") {
    for (int i = 0; i < 1000; ++i) spin_kernel<<<1, 128>>>(out, 20000);
    CHECK(cudaGetLastError());
    std::printf("launched 1000\n");
    std::fflush(stdout);
    std::exit(0);
  }
  if (mode == "segv" || mode == "abort") {
    const auto start = std::chrono::steady_clock::now();
    long launched = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500)) {
      launch_and_wait(out, 100);
      launched += 100;
    }
    std::printf("launched %ld\n", launched);
    std::fflush(stdout);
    if (mode == "abort") std::abort();
    std::raise(SIGSEGV);
  }
  if (mode == "late-kernel") {
    for (int i = 0; i < 12000; ++i) spin_kernel<<<1, 128>>>(out, 100);
    CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < 10; ++i) late_kernel<<<1, 128>>>(out);
    CHECK(cudaDeviceSynchronize());
    std::printf("launched 12010\n");
    return 0;
  }
  if (mode == "graph" && arg) {
    const int replays = std::atoi(arg);
    cudaStream_t stream = nullptr;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < 10; ++i) spin_kernel<<<1, 128, 0, stream>>>(out, 1000);
    CHECK(cudaStreamEndCapture(stream, &graph));
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    for (int i = 0; i < replays; ++i) CHECK(cudaGraphLaunch(exec, stream));
    CHECK(cudaStreamSynchronize(stream));
    std::printf("launched %d\n", 10 * replays);
    return 0;
  }
  if (mode == "threads" && arg) {
    const int count = std::atoi(arg);
    std::vector<std::thread> threads;
    for (int t = 0; t < count; ++t)
      threads.emplace_back([out] {
        cudaStream_t stream = nullptr;
        CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        for (int i = 0; i < 100; ++i) {
          spin_kernel<<<1, 128, 0, stream>>>(out, 100);
          late_kernel<<<1, 128, 0, stream>>>(out);
        }
        CHECK(cudaGetLastError());
        CHECK(cudaStreamSynchronize(stream));
        CHECK(cudaStreamDestroy(stream));
      });
    for (auto& t : threads) t.join();
    std::printf("launched %d\n", 200 * count);
    return 0;
  }
  if (mode == "device-reset" && arg) {
    const int rounds = std::atoi(arg);
    for (int round = 0; round < rounds; ++round) {
      if (round > 0) CHECK(cudaMalloc(&out, 1024 * sizeof(float)));
      for (int i = 0; i < 10; ++i) spin_kernel<<<1, 128>>>(out, 1000);
      for (int i = 0; i < 10; ++i) late_kernel<<<1, 128>>>(out);
      CHECK(cudaDeviceSynchronize());
      CHECK(cudaDeviceReset());
    }
    std::printf("launched %d\n", 20 * rounds);
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
