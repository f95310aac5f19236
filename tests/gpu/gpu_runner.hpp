#pragma once
// What the GPU tests share: the build's programs, found next to the test executable (the build
// folder is carried to the GPU machine, so no path is compiled in), a scratch folder, and
// running a command with its output captured (to its end, or started and finished later).

#include "paths.hpp"

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

// A command started with its stdout and stderr going to files, so that a test can signal it
// before finishing it.
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

// The whole of a file (empty when there is none).
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

// Runs a command with stdout and stderr captured in files; returns its shell-style status.
inline Outcome run(const std::vector<std::string>& command) { return finish(start(command)); }

} // namespace brrr::gpu_testing
