#pragma once
// Runs the real brrr executable (BRRR_BINARY) as a child process, with its standard output
// and error captured to files and its environment adjusted, for the CLI and golden tests.

#include "trace_builder.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
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
  // A terminal (a pseudo-terminal's device): the process then runs in a session of its own,
  // with this as its standard input and controlling terminal, as a shell starts a job.
  std::filesystem::path terminal;
};

// A child started by start_process: its capture files live as long as it does.
struct RunningProcess {
  pid_t pid = 0;
  std::unique_ptr<TempDir> capture;
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
  if (!options.terminal.empty()) posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  // Opened after setsid(), without O_NOCTTY: it becomes the session's controlling terminal.
  posix_spawn_file_actions_addopen(&actions, 0, options.terminal.empty() ? "/dev/null" : options.terminal.c_str(),
                                   options.terminal.empty() ? O_RDONLY : O_RDWR, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  const int error = posix_spawn(&running.pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw std::runtime_error(args[0] + ": cannot start (" + std::strerror(error) + ")");
  return running;
}

// Waits for a child from start_process and collects what it printed.
inline ProcessResult finish_process(RunningProcess& running) {
  int status = 0;
  while (waitpid(running.pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  ProcessResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  result.out = read_text(*running.capture / "stdout");
  result.err = read_text(*running.capture / "stderr");
  return result;
}

inline ProcessResult run_process(const std::vector<std::string>& args, const ProcessOptions& options = {}) {
  RunningProcess running = start_process(args, options);
  return finish_process(running);
}

// brrr with the given arguments, in a plain environment: no color asked for, a UTF-8 locale.
inline ProcessResult run_brrr(const std::vector<std::string>& args, ProcessOptions options = {}) {
  std::vector<std::string> full{BRRR_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  options.environment.try_emplace("LC_ALL", "C.UTF-8");
  options.environment.try_emplace("NO_COLOR", "1");
  return run_process(full, options);
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
