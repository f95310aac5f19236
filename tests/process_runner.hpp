#pragma once
// Runs the real brrr executable (BRRR_BINARY) as a child process, with its standard output
// and error captured to files (or its standard output on a pseudo-terminal) and its
// environment adjusted, for the CLI and golden tests.

#include "trace_builder.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <spawn.h>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace brrr::testing {

struct ProcessResult {
  int status = -1; // the exit code, or 128 + N when signal N ended it
  std::string out;
  std::string err;
};

struct ProcessOptions {
  // Variables to set (a value) or remove (nullopt) in the child's environment.
  std::map<std::string, std::optional<std::string>> environment;
  std::filesystem::path cwd;
  // Standard output on a pseudo-terminal, as in an interactive shell; the terminal turns each
  // "\n" into "\r\n".
  bool terminal = false;
  // A terminal (a pseudo-terminal's device) for standard input: the process then runs in a
  // session of its own, with this as its controlling terminal, as a shell starts a job.
  std::filesystem::path controlling_terminal;
};

// A child started by start_process: its capture files live as long as it does.
struct RunningProcess {
  pid_t pid = 0;
  std::unique_ptr<TempDir> capture;
  // brrr's side of the pseudo-terminal on the child's standard output (-1: none).
  int terminal = -1;
};

inline RunningProcess start_process(const std::vector<std::string>& args, const ProcessOptions& options = {}) {
  RunningProcess running;
  running.capture = std::make_unique<TempDir>("capture");
  const std::string out_path = (*running.capture / "stdout").string();
  const std::string err_path = (*running.capture / "stderr").string();

  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (!options.environment.count(entry.substr(0, entry.find('=')))) env.push_back(entry);
  }
  for (const auto& [key, value] : options.environment)
    if (value) env.push_back(key + "=" + *value);

  std::vector<std::string> argv_storage = args;
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  const bool controlled = !options.controlling_terminal.empty();
  if (controlled) posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  // Opened after setsid(), without O_NOCTTY: it becomes the session's controlling terminal.
  posix_spawn_file_actions_addopen(&actions, 0, controlled ? options.controlling_terminal.c_str() : "/dev/null",
                                   controlled ? O_RDWR : O_RDONLY, 0);
  // The terminal's other side stays open here until the child has it, so that reading never
  // meets a terminal that nobody holds yet.
  int terminal_side = -1;
  if (options.terminal) {
    running.terminal = posix_openpt(O_RDWR | O_NOCTTY);
    if (running.terminal < 0 || grantpt(running.terminal) != 0 || unlockpt(running.terminal) != 0 ||
        (terminal_side = ::open(ptsname(running.terminal), O_RDWR | O_NOCTTY)) < 0)
      throw std::runtime_error("cannot open a pseudo-terminal");
    ::fcntl(running.terminal, F_SETFD, FD_CLOEXEC);
    ::fcntl(terminal_side, F_SETFD, FD_CLOEXEC); // dup2 clears it on the child's standard output
    posix_spawn_file_actions_adddup2(&actions, terminal_side, 1);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  const int error = posix_spawn(&running.pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (terminal_side >= 0) ::close(terminal_side);
  if (error != 0) {
    if (running.terminal >= 0) ::close(running.terminal);
    throw std::runtime_error(args[0] + ": cannot start (" + std::strerror(error) + ")");
  }
  return running;
}

// Waits for a child from start_process and collects what it printed.
inline ProcessResult finish_process(RunningProcess& running) {
  ProcessResult result;
  const bool on_terminal = running.terminal >= 0;
  if (on_terminal) {
    // Read while the child writes, until its side closes (EIO), so that it never blocks on a
    // full terminal buffer.
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(running.terminal, buffer, sizeof buffer);
      if (n > 0)
        result.out.append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR)
        break;
    }
    ::close(running.terminal);
    running.terminal = -1;
  }
  int status = 0;
  while (waitpid(running.pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  if (!on_terminal) result.out = read_text(*running.capture / "stdout");
  result.err = read_text(*running.capture / "stderr");
  return result;
}

inline ProcessResult run_process(const std::vector<std::string>& args, const ProcessOptions& options = {}) {
  RunningProcess running = start_process(args, options);
  return finish_process(running);
}

// brrr with the given arguments, in a plain environment: no color asked for, a UTF-8 locale,
// and no per-user calibrations (the user's own would change the roofs of every report).
inline ProcessResult run_brrr(const std::vector<std::string>& args, ProcessOptions options = {}) {
  std::vector<std::string> full{BRRR_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  options.environment.try_emplace("LC_ALL", "C.UTF-8");
  options.environment.try_emplace("NO_COLOR", "1");
  options.environment.try_emplace("XDG_DATA_HOME", "/nonexistent/brrr-tests");
  return run_process(full, options);
}

// The lines of a text, without their newlines.
inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto end = s.find('\n', pos);
    out.push_back(s.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    pos = end == std::string::npos ? s.size() : end + 1;
  }
  return out;
}

inline std::size_t count_lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// profile needs its injection library only for programs that use CUDA; where brrr was built
// without the CUDA toolkit, any path lets it run a program that does not.
inline ProcessOptions profile_options(const std::filesystem::path& cwd = {}) {
  ProcessOptions o;
  o.cwd = cwd;
  if (!std::filesystem::exists(std::filesystem::path(BRRR_BINARY).parent_path() / "libbrrr-inject.so"))
    o.environment["BRRR_INJECTION_LIBRARY"] = "/nonexistent/libbrrr-inject.so";
  return o;
}

inline std::filesystem::path fixture_path(const std::string& name) { return source_path("tests/fixtures/" + name); }

} // namespace brrr::testing
