#pragma once
// What the GPU tests share: running a command with its output captured (to the end, or started
// and finished later, so that a test can signal it in between), running brrr profile on a
// program and reading its report, and finding the build's programs and a kernel in a run.

#include "report/report.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace brrr::gpu_testing {

namespace fs = std::filesystem;

inline fs::path bin_dir() { return fs::read_symlink("/proc/self/exe").parent_path(); }

inline fs::path scratch() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "brrr-gpu-tests-XXXXXX").string();
    return fs::path(mkdtemp(tmpl.data()));
  }();
  return dir;
}

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

// A command started with its stdout and stderr going to files.
struct Started {
  pid_t pid = 0;
  fs::path out;
  fs::path err;
};

inline Started start(const std::vector<std::string>& command) {
  static int counter = 0;
  Started s;
  s.out = scratch() / ("out" + std::to_string(counter) + ".txt");
  s.err = scratch() / ("err" + std::to_string(counter++) + ".txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, s.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, s.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& c : command) argv.push_back(const_cast<char*>(c.c_str()));
  argv.push_back(nullptr);
  if (posix_spawnp(&s.pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) s.pid = 0;
  posix_spawn_file_actions_destroy(&actions);
  return s;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits for a started command; its status is shell-style (128+N for signal N).
inline Outcome finish(const Started& s) {
  Outcome o;
  if (s.pid > 0) {
    int status = 0;
    waitpid(s.pid, &status, 0);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  o.out = slurp(s.out);
  o.err = slurp(s.err);
  return o;
}

// Runs a command with stdout and stderr captured in files.
inline Outcome run(const std::vector<std::string>& command) { return finish(start(command)); }

struct Profiled {
  Outcome outcome;
  Report report;
};

// The brrr profile command line that writes scratch()/<name>.json.
inline std::vector<std::string> profile_command(const std::string& name, const std::vector<std::string>& target,
                                                const std::vector<std::string>& options = {}) {
  const fs::path report = scratch() / (name + ".json");
  std::vector<std::string> command{(bin_dir() / "brrr").string(), "profile", "-q", "--force", "-o", report.string()};
  command.insert(command.end(), options.begin(), options.end());
  command.push_back("--");
  command.insert(command.end(), target.begin(), target.end());
  return command;
}

// Reads the report a profile_command run wrote.
inline Profiled read_profiled(const std::string& name, Outcome outcome) {
  const fs::path report = scratch() / (name + ".json");
  Profiled p;
  p.outcome = std::move(outcome);
  INFO("brrr stderr: " << p.outcome.err);
  REQUIRE(fs::exists(report));
  p.report = read_report(report);
  return p;
}

inline Profiled profile(const std::string& name, const std::vector<std::string>& target,
                        const std::vector<std::string>& options = {}) {
  return read_profiled(name, run(profile_command(name, target, options)));
}

// The kernel group of a function, whatever namespace it sits in: "(anonymous
// namespace)::tiny_kernel(float*)" is found as "tiny_kernel".
inline const KernelGroup* find_kernel(const Run& run, const std::string& function) {
  for (const auto& k : run.kernels) {
    const auto at = k.name.find(function + "(");
    if (at != std::string::npos && (at == 0 || k.name[at - 1] == ':' || k.name[at - 1] == ' ')) return &k;
  }
  return nullptr;
}

inline std::string program(const std::string& name) { return (bin_dir() / name).string(); }

// The source tree: $BRRR_SOURCE_DIR (ctest sets it), else the current folder.
inline fs::path source_dir() {
  const char* dir = std::getenv("BRRR_SOURCE_DIR");
  return dir && *dir ? fs::path(dir) : fs::current_path();
}

} // namespace brrr::gpu_testing
