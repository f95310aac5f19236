#include "collect/launcher.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
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

// The child's standard output, read from a pipe as it comes and handed on one line at a time.
// The wait loop reads it between looking at the child, so that signals are passed on and the
// grace period kept while the child writes.
class OutputLines {
public:
  // `fd` is the pipe's read end (closed here), or -1 when the output is not read.
  OutputLines(int fd, const std::function<void(std::string_view)>& on_line) : fd_(fd), on_line_(on_line) {
    // Only brrr's end: the child's end shares no file status flags with it.
    if (fd_ >= 0) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  OutputLines(const OutputLines&) = delete;
  OutputLines& operator=(const OutputLines&) = delete;
  ~OutputLines() {
    if (fd_ >= 0) close(fd_);
  }

  // What the wait sleeps on: the pipe while it is open (poll ignores a negative descriptor).
  [[nodiscard]] pollfd watch() const { return {fd_, POLLIN, 0}; }

  // Reads once from the pipe (at most a buffer's worth, so that output without end cannot keep
  // the wait from the child and from signals), and hands on every whole line; closes the pipe
  // at its end. Returns the number of bytes read.
  std::size_t read_some() {
    if (fd_ < 0) return 0;
    char buffer[65536];
    ssize_t n = -1;
    while ((n = read(fd_, buffer, sizeof buffer)) < 0 && errno == EINTR) {
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    // The end of the output, or a pipe that cannot be read, which poll would report forever.
    if (n <= 0) {
      close(fd_);
      fd_ = -1;
      return 0;
    }
    pending_.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n', start)) {
      on_line_(std::string_view(pending_).substr(start, end - start));
      start = end + 1;
    }
    pending_.erase(0, start);
    return static_cast<std::size_t>(n);
  }

  // After the child ended: what is in the pipe now, and a last line without a newline. A
  // process that inherited the pipe and still writes to it is not waited for.
  void finish() {
    int left = 0;
    if (fd_ >= 0 && ioctl(fd_, FIONREAD, &left) == 0)
      while (left > 0) {
        const std::size_t n = read_some();
        if (n == 0) break;
        left -= static_cast<int>(std::min<std::size_t>(n, static_cast<std::size_t>(left)));
      }
    if (!pending_.empty()) on_line_(pending_);
    pending_.clear();
  }

private:
  int fd_;
  const std::function<void(std::string_view)>& on_line_;
  std::string pending_;
};

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
  OutputLines lines(output[0], request.on_output_line);
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
    // Sleeps until the child changes state, a signal comes, the child writes a line, or the
    // grace period ends.
    pollfd watch = lines.watch();
    if (ppoll(&watch, 1, timeout, &signals.original_mask()) > 0) lines.read_some();
  }
  lines.finish();
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
