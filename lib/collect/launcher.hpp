#pragma once
// Starts the target as a child process and waits for it, forwarding the signals a user sends
// to brrr (Ctrl-C, SIGTERM) so that the target ends and brrr can still write its report; a
// target that does not end soon after (it ignores the signal) is killed.

#include "model/run.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brrr {

inline constexpr uint64_t default_kill_after_ns = 10'000'000'000ULL;

struct LaunchRequest {
  std::vector<std::string> command;
  // Variables set (or replaced) in the target's environment.
  std::vector<std::pair<std::string, std::string>> environment;
  // When set, the child's standard output goes through a pipe to this function, one line at
  // a time (without its newline), as it comes; otherwise the child shares brrr's. It must not
  // throw: the child is still running while it is called.
  std::function<void(std::string_view)> on_output_line;
  // How long the target may take to end after brrr received a request to stop (SIGINT,
  // SIGTERM, SIGHUP) before brrr kills it with SIGKILL.
  uint64_t kill_after_ns = default_kill_after_ns;
};

struct LaunchResult {
  ExitStatus exit;
  // CLOCK_REALTIME nanoseconds, the clock of the trace.
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  // Why the target could not be started (empty when it was).
  std::string error;
  // Signals brrr received and passed on, and whether it had to kill the target after a
  // second interrupt.
  int forwarded_signals = 0;
  bool killed_after_second_interrupt = false;
  // Whether brrr killed the target because it had not ended kill_after_ns after a request
  // to stop.
  bool killed_after_grace = false;
  // The target's peak resident memory (its own process, from wait4).
  uint64_t peak_rss_bytes = 0;
};

[[nodiscard]] LaunchResult launch_and_wait(const LaunchRequest& request);

// The exit status brrr passes on, as env(1) and timeout(1) do: the target's own status,
// 128+N when signal N killed it, 127 when it was not found, 126 when it could not run.
[[nodiscard]] int pass_through_status(const ExitStatus& exit);

[[nodiscard]] uint64_t realtime_ns();
// ISO 8601 in UTC to the second: "2026-11-25T16:13:53Z".
[[nodiscard]] std::string iso_time(uint64_t realtime_ns);
// This machine's name (gethostname(2)); empty when it cannot be read.
[[nodiscard]] std::string host_name();

// A file shipped with this brrr (the injection library, the calibration kernels): next to the
// executable, or in ../lib/brrr or ../lib64/brrr; the environment variable `override_variable`
// names another. Empty when not found.
[[nodiscard]] std::filesystem::path find_companion(const char* override_variable, std::string_view file_name);

} // namespace brrr
