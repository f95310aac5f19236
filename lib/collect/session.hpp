#pragma once
// One `brrr profile`: run the target under the injection library, read what every process
// recorded, and turn it into an analysed report.

#include "collect/launcher.hpp"
#include "report/report.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

struct ProfileRequest {
  std::vector<std::string> command;
  // A hardware profile to use instead of the built-in one that matches the GPU.
  std::optional<std::filesystem::path> profile_path;
  // The injection library; found next to the executable when empty.
  std::filesystem::path injection_library;
  // Which launches get hardware counters: off, first:N (the first N launches of each distinct
  // kernel), or all; and optionally only those inside an NVTX range of this name.
  std::string counters = "first:1";
  std::string counters_range;
  // How long the target may take to end after a request to stop before it is killed.
  uint64_t kill_after_ns = default_kill_after_ns;
};

// Checks a --counters value; returns an empty string or what is wrong with it.
[[nodiscard]] std::string check_counters_mode(const std::string& mode);

struct ProfileResult {
  LaunchResult launch;
  Report report;
  // Where the record streams were written; kept when the report could not be written, so
  // that no collected data is lost.
  std::filesystem::path data_dir;
  // Facts about the environment worth one line each (no driver, no injection loaded).
  std::vector<std::string> notes;
};

// The injection library shipped with this brrr: next to the executable, or in
// ../lib/brrr; $BRRR_INJECTION_LIBRARY overrides. Empty when not found.
[[nodiscard]] std::filesystem::path find_injection_library();

// Makes the allocator hand large blocks (the trace's event vectors, the sweep's buffers) back to
// the system when they are freed. glibc otherwise raises its mmap threshold after the first such
// free and keeps later large blocks on the heap, where they inflate brrr's peak memory.
void return_large_allocations();

// Runs the target and builds its report. Throws std::runtime_error for brrr's own failures
// (no temporary folder); a target that cannot start is reported in result.launch.
[[nodiscard]] ProfileResult profile_command(const ProfileRequest& request);

// The name of a program's n-th report in a folder, derived from the program's name:
// brrr-<name>.json for n = 1, brrr-<name>-<n>.json after it. `brrr profile` writes under the
// first of these that is free (write_file_under_free_name), so that no report is overwritten
// and runs at once in one folder each get their own.
[[nodiscard]] std::filesystem::path default_report_name(const std::vector<std::string>& command, int n);

// Keeps a report that could not be written where it belonged: in the run's data folder, whose
// record streams are then removed; when even that fails, the data folder is left as it is.
// Returns the words that tell the user where the data is ("the report is saved as ...").
[[nodiscard]] std::string keep_report_elsewhere(const ProfileResult& result, const std::filesystem::path& wanted,
                                                const std::string& text);

} // namespace brrr
