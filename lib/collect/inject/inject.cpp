// The injection library's entry point. The CUDA driver loads libbrrr-inject.so into an
// unmodified program when CUDA_INJECTION64_PATH names it, and calls InitializeInjection inside
// the program's first cuInit. From there the library owns the process's stream file, holds
// CUPTI, starts activity tracing, and ends the stream at exit. A counters module (range
// profiler, BRRR_COUNTERS) starts beside start_activity and writes through the same
// StreamWriter.
//
// Nothing here may stop or crash the program: every failure becomes a warning in the stream
// and a "brrr: " line on stderr, and the program runs on, untraced if need be.

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "collect/inject/activity.hpp"
#include "collect/inject/counters.hpp"
#include "collect/inject/driver.hpp"
#include "collect/inject/cupti_api.hpp"
#include "collect/inject/stream_writer.hpp"

namespace brrr::inject {
namespace {

struct Injection {
  CuptiApi cupti;
  bool cupti_loaded = false;
  StreamWriter writer;
  // The process that opened the stream; a forked child inherits this state and must not
  // touch the stream.
  pid_t pid = 0;
};

// Never freed: CUPTI's worker thread and the exit handler use it until the process is gone,
// and a destructor at exit could run while CUPTI still delivers records.
Injection* g_injection = nullptr;

// CUPTI's clock (CLOCK_REALTIME by default on Linux), so that the library's start and end
// compare with the records' timestamps; the same clock read directly when CUPTI is missing.
uint64_t now_ns(const Injection& injection) {
  uint64_t ns = 0;
  if (injection.cupti_loaded && injection.cupti.cuptiGetTimestamp(&ns) == CUPTI_SUCCESS) {
    return ns;
  }
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

// A program that calls exit() with kernels still queued would leave them without timestamps
// (CUPTI's forced flush does not wait for the GPU): wait for the calling thread's context first.
void wait_for_queued_work() {
  const Driver* d = driver();
  CUcontext context = nullptr;
  if (d != nullptr && d->cuCtxGetCurrent(&context) == CUDA_SUCCESS && context != nullptr) d->cuCtxSynchronize();
}

// Hands every record over and ends the stream, once: at exit, or in the fatal-signal handler.
// A forked child that exits runs this too (it inherited the registration): it must leave the
// parent's stream alone.
void finish_stream(bool wait_for_gpu) {
  static std::atomic<bool> finished{false};
  Injection* injection = g_injection;
  if (injection == nullptr || ::getpid() != injection->pid || finished.exchange(true)) {
    return;
  }
  if (wait_for_gpu) {
    wait_for_queued_work();
  }
  finish_counters();
  finish_activity();
  injection->writer.finish(now_ns(*injection));
}

void finish_at_exit() { finish_stream(true); }

// Signals whose default action ends the process without its exit handlers. Without a flush in
// the handler, a crash or a forwarded Ctrl-C or SIGTERM would lose the records of the last
// flush period: brrr flushes in its own handler for those of these signals the program leaves
// at their default.
constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
std::atomic<int> g_fatal_signal{0};

// Ends the process by the signal's default action, so that its parent sees the same status
// as without brrr.
[[noreturn]] void die_by(int signal) {
  ::signal(signal, SIG_DFL);
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, signal);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(signal);
  ::_exit(128 + signal);
}

// The flush can block for good when the crash left a lock held (in CUPTI or in brrr): after a
// few seconds the process dies as it would have.
void on_flush_timeout(int) { die_by(g_fatal_signal.load()); }

void finish_and_die() {
  finish_stream(false);
  die_by(g_fatal_signal.load());
}

// Sent by another process (brrr passes Ctrl-C and SIGTERM on), as opposed to raised by the
// thread's own fault or abort().
bool asynchronous(int signal) { return signal == SIGTERM || signal == SIGINT || signal == SIGHUP || signal == SIGQUIT; }

void on_fatal_signal(int signal) {
  int first = 0;
  if (g_fatal_signal.compare_exchange_strong(first, signal)) {
    ::signal(SIGALRM, on_flush_timeout);
    ::alarm(5);
    // An asynchronous signal may interrupt a thread inside CUPTI or brrr's launch callback,
    // holding a lock the flush needs (measured: a Ctrl-C mid-launch lost every record). The
    // flush thread ends the process instead, while this thread returns and lets go of it.
    if (asynchronous(signal) && hand_exit_to_flusher(finish_and_die)) {
      return;
    }
    finish_and_die();
  }
  die_by(signal);
}

void install_fatal_signal_handlers(Injection& injection) {
  for (int signal : fatal_signals) {
    struct sigaction current {};
    if (::sigaction(signal, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) != 0 ||
        current.sa_handler != SIG_DFL) {
      continue;
    }
    struct sigaction mine {};
    mine.sa_handler = on_fatal_signal;
    ::sigemptyset(&mine.sa_mask);
    if (::sigaction(signal, &mine, nullptr) != 0) {
      injection.writer.warn(std::string("cannot handle signal ") + std::to_string(signal) +
                            ": records not yet handed over are lost if it ends the program");
    }
  }
}

void forget_stream_in_child() {
  if (g_injection != nullptr) {
    g_injection->writer.abandon_in_child();
  }
}

// Callbacks are enabled only for counters (launches, and NVTX for a range restriction).
void CUPTIAPI on_callback(void*, CUpti_CallbackDomain domain, CUpti_CallbackId id, const void* data) {
  counters_callback(domain, id, data);
}

// Subscribes to claim CUPTI: CUPTI allows one subscriber per process, so this is how another
// profiler already in the process (torch.profiler, Nsight) is detected, and how it is kept
// from silently taking the records away later. The counters module enables its callbacks on
// this subscriber.
bool claim_cupti(Injection& injection, CUpti_SubscriberHandle& subscriber) {
  char holder[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN * 2] = {};
  CUpti_SubscriberParams params{};
  params.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
  params.subscriberName = "brrr";
  params.oldSubscriberName = holder;
  params.oldSubscriberSize = sizeof(holder);
  const CUptiResult result = injection.cupti.cuptiSubscribe_v2(&subscriber, on_callback, nullptr, &params);
  if (result == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED) {
    injection.writer.warn(std::string("another profiler holds CUPTI in process ") + std::to_string(injection.pid) +
                          (holder[0] != '\0' ? std::string(" (") + holder + ")" : std::string()) +
                          ": brrr cannot trace it; run it without torch.profiler, Nsight or other CUDA tools");
    return false;
  }
  if (result != CUPTI_SUCCESS) {
    injection.writer.warn(describe_failure(injection.cupti, "cuptiSubscribe_v2", result) +
                          ": this process is not traced");
    return false;
  }
  return true;
}

// The launcher names this library as NVTX's injection too; it forwards NVTX to the CUPTI copy
// it traces with (see InitializeInjectionNvtx2). When NVTX_INJECTION64_PATH names something
// else (the user set it), ranges go there and not to brrr: say so.
void check_nvtx_route(Injection& injection) {
  const char* nvtx_path = std::getenv("NVTX_INJECTION64_PATH");
  Dl_info self{};
  char nvtx_real[PATH_MAX];
  char self_real[PATH_MAX];
  if (nvtx_path == nullptr || *nvtx_path == '\0') {
    injection.writer.warn("NVTX_INJECTION64_PATH is not set: NVTX ranges are not recorded");
  } else if (::dladdr(reinterpret_cast<void*>(&check_nvtx_route), &self) != 0 && self.dli_fname != nullptr &&
             ::realpath(self.dli_fname, self_real) != nullptr && ::realpath(nvtx_path, nvtx_real) != nullptr &&
             std::strcmp(self_real, nvtx_real) != 0) {
    injection.writer.warn(std::string("NVTX ranges are not recorded: NVTX_INJECTION64_PATH names ") + nvtx_real);
  }
}

// A diagnostic switch's value, or the fallback when it is unset or empty.
std::string env_text(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : value;
}

void initialize() {
  static std::atomic<bool> initialized{false};
  if (initialized.exchange(true)) {
    return;
  }
  const char* directory = std::getenv("BRRR_STREAM_DIR");
  if (directory == nullptr || *directory == '\0') {
    return;
  }
  auto* injection = new Injection;
  injection->pid = ::getpid();
  const std::string cupti_problem = load_cupti(injection->cupti);
  injection->cupti_loaded = cupti_problem.empty();
  if (!injection->writer.open(directory, now_ns(*injection))) {
    return;
  }
  g_injection = injection;
  // Registered after libcupti is loaded, so that this handler runs before libcupti's own
  // exit-time destructors (exit runs handlers in reverse order of registration).
  if (std::atexit(finish_at_exit) != 0) {
    injection->writer.warn("cannot register an exit handler: the stream will end without its end record");
  }
  if (::pthread_atfork(nullptr, nullptr, forget_stream_in_child) != 0) {
    injection->writer.warn("cannot register a fork handler: forked children may write into this stream");
  }
  install_fatal_signal_handlers(*injection);
  if (!cupti_problem.empty()) {
    injection->writer.warn(cupti_problem);
    return;
  }
  CUpti_SubscriberHandle subscriber = nullptr;
  if (!claim_cupti(*injection, subscriber)) {
    return;
  }
  check_nvtx_route(*injection);
  ActivityOptions options;
  const std::string api = env_text("BRRR_TRACE_API", "1");
  options.runtime_api = api == "1" || api == "runtime";
  options.driver_api = api == "1" || api == "driver";
  options.latency_timestamps = env_text("BRRR_TRACE_LATENCY", "0") != "0";
  options.other_kinds = env_text("BRRR_TRACE_OTHER", "1");
  CounterOptions counters;
  const std::string counters_problem = counter_options_from_env(counters);
  options.forced_periodic_flush = counters.mode != CounterOptions::Mode::off;
  start_activity(injection->cupti, injection->writer, options);
  if (!counters_problem.empty()) {
    injection->writer.warn(counters_problem);
  }
  start_counters(injection->cupti, injection->writer, subscriber, counters);
}

} // namespace
} // namespace brrr::inject

// Called by the CUDA driver once, inside the program's first cuInit. Returns 1 (success) even
// when tracing is impossible, so that the program always runs on.
extern "C" __attribute__((visibility("default"))) int InitializeInjection(void) {
  brrr::inject::initialize();
  return 1;
}

// Called by NVTX at the program's first NVTX call, which may come before its first CUDA call
// (a range around main). brrr starts here then, so that the range is recorded, and hands NVTX
// to the CUPTI copy it traces with: the one the program already loaded (PyTorch ships one) or
// the one brrr found. Returns 0 (NVTX calls become no-ops) when brrr is not tracing.
extern "C" __attribute__((visibility("default"))) int InitializeInjectionNvtx2(void* get_export_table) {
  brrr::inject::initialize();
  const brrr::inject::Injection* injection = brrr::inject::g_injection;
  if (injection == nullptr || !injection->cupti_loaded || injection->cupti.InitializeInjectionNvtx2 == nullptr) {
    return 0;
  }
  return injection->cupti.InitializeInjectionNvtx2(get_export_table);
}
