#include "collect/launcher.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
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

// Hands every line read from `fd` to `on_line` until end of file; a last line without a
// newline counts too.
void read_lines(int fd, const std::function<void(std::string_view)>& on_line) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n', start)) {
      on_line(std::string_view(pending).substr(start, end - start));
      start = end + 1;
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) on_line(pending);
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

  // The child's standard output, when it is read: both ends close on exec, and the child's
  // copy on descriptor 1 (made by dup2) stays open.
  int output[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (request.on_output_line) {
    if (pipe2(output, O_CLOEXEC) != 0) {
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attributes);
      result.exit = {ExitStatus::Kind::not_started, 126, 0};
      result.error = std::string("cannot create a pipe: ") + std::strerror(errno);
      return result;
    }
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
  }

  result.start_ns = realtime_ns();
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, args[0].c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (output[1] >= 0) close(output[1]);
  if (error != 0) {
    if (output[0] >= 0) close(output[0]);
    result.end_ns = realtime_ns();
    const bool missing = error == ENOENT || error == ENOTDIR;
    result.exit = {ExitStatus::Kind::not_started, missing ? 127 : 126, 0};
    result.error = args[0] + ": " + (missing ? "command not found" : std::strerror(error));
    return result;
  }
  child_pid.store(pid);
  if (output[0] >= 0) {
    read_lines(output[0], request.on_output_line);
    close(output[0]);
  }
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

std::string iso_time(uint64_t realtime_ns) {
  const auto seconds = static_cast<time_t>(realtime_ns / 1'000'000'000ULL);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  return gethostname(name, sizeof name) == 0 ? name : "";
}

std::filesystem::path find_companion(const char* override_variable, std::string_view file_name) {
  namespace fs = std::filesystem;
  if (const char* path = std::getenv(override_variable); path && *path) return path;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path();
  for (const fs::path& candidate :
       {dir / file_name, dir / ".." / "lib" / "brrr" / file_name, dir / ".." / "lib64" / "brrr" / file_name})
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec);
  return {};
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
