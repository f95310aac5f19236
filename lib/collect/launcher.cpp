#include "collect/launcher.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace brrr {

namespace {

// State shared with the signal handler; only lock-free atomics are touched there.
std::atomic<pid_t> child_pid{0};
std::atomic<int> forwarded{0};
std::atomic<bool> killed{false};

// A signal from the terminal (Ctrl-C) reaches every process of the foreground group, the
// target included when it shares brrr's group; passing it on again would deliver it twice.
// Signals sent to brrr alone (kill, a CI runner's SIGTERM), and any signal when the target
// left brrr's group (setsid), are passed on. A second interrupt kills the target, so that a
// target that ignores SIGINT or SIGTERM cannot keep brrr from ending and reporting.
void forward_signal(int signal, siginfo_t* info, void*) {
  const int saved_errno = errno;
  const pid_t pid = child_pid.load();
  if (pid > 0) {
    const bool from_terminal = info && info->si_code == SI_KERNEL;
    const bool same_group = getpgid(pid) == getpgrp();
    if (forwarded.fetch_add(1) >= 1 && (signal == SIGINT || signal == SIGTERM)) {
      killed.store(true);
      kill(pid, SIGKILL);
    } else if (!(from_terminal && same_group)) {
      kill(pid, signal);
    }
  }
  errno = saved_errno;
}

constexpr int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

class SignalForwarding {
public:
  SignalForwarding() {
    struct sigaction action {};
    action.sa_sigaction = forward_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(forwarded_signals); ++i)
      sigaction(forwarded_signals[i], &action, &previous_[i]);
  }
  ~SignalForwarding() {
    for (std::size_t i = 0; i < std::size(forwarded_signals); ++i)
      sigaction(forwarded_signals[i], &previous_[i], nullptr);
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

private:
  struct sigaction previous_[std::size(forwarded_signals)]{};
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
  SignalForwarding forwarding;
  // The child gets the default dispositions back for the signals brrr catches.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : forwarded_signals) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);

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
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      status = -1;
      break;
    }
  }
  result.end_ns = realtime_ns();
  child_pid.store(0);
  result.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  result.forwarded_signals = forwarded.load();
  result.killed_after_second_interrupt = killed.load();
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
