#pragma once
// brrr profile on one of the build's programs, its report read back, and a kernel found in it:
// what the GPU tests of profiling share.

#include "gpu_runner.hpp"

#include "report/report.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace brrr::gpu_testing {

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

// All kernel launches of a run, and how many of them had their counters measured.
struct LaunchTotals {
  uint64_t launches = 0;
  uint64_t measured = 0;
};
inline LaunchTotals launch_totals(const Run& run) {
  LaunchTotals t;
  for (const auto& k : run.kernels) {
    t.launches += k.launches;
    if (k.counters) t.measured += k.counters->measured_launches;
  }
  return t;
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

} // namespace brrr::gpu_testing
