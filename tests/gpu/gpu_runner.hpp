#pragma once
// What the GPU tests share: the build's programs, found next to the test executable (the build
// folder is carried to the GPU machine, so no path is compiled in), a scratch folder, and
// running a command with its output captured.

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

// Runs a command with stdout and stderr captured in files; returns its shell-style status.
inline Outcome run(const std::vector<std::string>& command) {
  static int counter = 0;
  const fs::path out = scratch() / ("out" + std::to_string(counter) + ".txt");
  const fs::path err = scratch() / ("err" + std::to_string(counter++) + ".txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& c : command) argv.push_back(const_cast<char*>(c.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  Outcome o;
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  o.out = slurp(out);
  o.err = slurp(err);
  return o;
}

} // namespace brrr::gpu_testing
