#include "collect/launcher.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace brrr {

namespace {

// State shared with the signal handlers; only lock-free atomics are touched there.
std::atomic<pid_t> child_pid{0};
std::atomic<int> forwarded{0};
std::atomic<bool> killed{false};
// CLOCK_MONOTONIC nanoseconds of the first request to stop (0: none yet).
std::atomic<uint64_t> stop_requested_ns{0};

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

bool asks_to_stop(int signal) { return signal == SIGINT || signal == SIGTERM || signal == SIGHUP; }

// A signal from the terminal (Ctrl-C) reaches every process of the foreground group, the
// target included when it shares brrr's group; passing it on again would deliver it twice.
// Signals sent to brrr alone (kill, a CI runner's SIGTERM), and any signal when the target
// left brrr's group (setsid), are passed on. A second interrupt kills the target at once, and
// the wait loop kills it when it has not ended some time after the first: a target that
// ignores SIGINT or SIGTERM cannot keep brrr from ending and reporting.
void forward_signal(int signal, siginfo_t* info, void*) {
  const int saved_errno = errno;
  const pid_t pid = child_pid.load();
  if (pid > 0) {
    const bool from_terminal = info && info->si_code == SI_KERNEL;
    const bool same_group = getpgid(pid) == getpgrp();
    if (asks_to_stop(signal)) {
      uint64_t none = 0;
      stop_requested_ns.compare_exchange_strong(none, monotonic_ns());
    }
    if (forwarded.fetch_add(1) >= 1 && (signal == SIGINT || signal == SIGTERM)) {
      killed.store(true);
      kill(pid, SIGKILL);
    } else if (!(from_terminal && same_group)) {
      kill(pid, signal);
    }
  }
  errno = saved_errno;
}

// Only interrupts the wait: the loop looks at the child itself.
void note_child(int, siginfo_t*, void*) {}

constexpr int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};

// Installs the handlers and blocks their signals outside the wait, for the life of one launch.
// The wait unblocks them only while it sleeps (ppoll), so that a signal cannot slip in between
// looking at the child and going to sleep.
class SignalHandling {
public:
  SignalHandling() {
    sigset_t blocked;
    sigemptyset(&blocked);
    for (std::size_t i = 0; i < std::size(handled_signals); ++i) {
      struct sigaction action {};
      action.sa_sigaction = handled_signals[i] == SIGCHLD ? note_child : forward_signal;
      action.sa_flags = SA_SIGINFO | SA_RESTART | (handled_signals[i] == SIGCHLD ? SA_NOCLDSTOP : 0);
      sigemptyset(&action.sa_mask);
      sigaction(handled_signals[i], &action, &previous_[i]);
      sigaddset(&blocked, handled_signals[i]);
    }
    sigprocmask(SIG_BLOCK, &blocked, &original_mask_);
  }
  ~SignalHandling() {
    sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
    for (std::size_t i = 0; i < std::size(handled_signals); ++i) sigaction(handled_signals[i], &previous_[i], nullptr);
  }
  SignalHandling(const SignalHandling&) = delete;
  SignalHandling& operator=(const SignalHandling&) = delete;

  // The mask brrr was started with: the target's, and the wait's while it sleeps.
  [[nodiscard]] const sigset_t& original_mask() const { return original_mask_; }

private:
  struct sigaction previous_[std::size(handled_signals)]{};
  sigset_t original_mask_{};
};

std::vector<std::string> merged_environment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [key, value] : overrides) replaced = replaced || key == name;
    if (!replaced) out.push_back(entry);
  }
  for (const auto& [key, value] : overrides) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

LaunchResult launch_and_wait(const LaunchRequest& request) {
  LaunchResult result;
  if (request.command.empty()) {
    result.exit = {ExitStatus::Kind::not_started, 127, 0};
    result.error = "no command to run";
    return result;
  }
  std::vector<std::string> args = request.command;
  std::vector<std::string> env = merged_environment(request.environment);
  auto argv = pointers(args);
  auto envp = pointers(env);

  forwarded.store(0);
  killed.store(false);
  stop_requested_ns.store(0);
  SignalHandling signals;
  // The child gets the default dispositions back for the signals brrr catches, and the signal
  // mask brrr was started with.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : forwarded_signals) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &signals.original_mask());
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  result.start_ns = realtime_ns();
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, args[0].c_str(), nullptr, &attributes, argv.data(), envp.data());
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    result.end_ns = realtime_ns();
    const bool missing = error == ENOENT || error == ENOTDIR;
    result.exit = {ExitStatus::Kind::not_started, missing ? 127 : 126, 0};
    result.error = args[0] + ": " + (missing ? "command not found" : std::strerror(error));
    return result;
  }
  child_pid.store(pid);
  int status = 0;
  struct rusage usage {};
  for (;;) {
    const pid_t done = wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    timespec grace_left{};
    const timespec* timeout = nullptr;
    if (const uint64_t since = stop_requested_ns.load(); since != 0 && !killed.load()) {
      const uint64_t waited_ns = monotonic_ns() - since;
      if (waited_ns >= request.kill_after_ns) {
        killed.store(true);
        result.killed_after_grace = true;
        kill(pid, SIGKILL);
        continue;
      }
      const uint64_t left_ns = request.kill_after_ns - waited_ns;
      grace_left = {static_cast<time_t>(left_ns / 1'000'000'000ULL), static_cast<long>(left_ns % 1'000'000'000ULL)};
      timeout = &grace_left;
    }
    // Sleeps until the child changes state, a signal comes, or the grace period ends.
    ppoll(nullptr, 0, timeout, &signals.original_mask());
  }
  result.end_ns = realtime_ns();
  child_pid.store(0);
  result.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  result.forwarded_signals = forwarded.load();
  result.killed_after_second_interrupt = killed.load() && !result.killed_after_grace;
  if (status == -1)
    result.exit = {ExitStatus::Kind::unknown, 0, 0};
  else if (WIFEXITED(status))
    result.exit = {ExitStatus::Kind::exited, WEXITSTATUS(status), 0};
  else if (WIFSIGNALED(status))
    result.exit = {ExitStatus::Kind::signaled, 0, WTERMSIG(status)};
  return result;
}

int pass_through_status(const ExitStatus& exit) {
  switch (exit.kind) {
  case ExitStatus::Kind::exited:
    return exit.code;
  case ExitStatus::Kind::signaled:
    return 128 + exit.signal;
  case ExitStatus::Kind::not_started:
    return exit.code;
  case ExitStatus::Kind::unknown:
    break;
  }
  return 125;
}

} // namespace brrr
