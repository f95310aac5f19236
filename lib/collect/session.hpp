#pragma once
// One `brrr profile`: run the target under the injection library, read what every process
// recorded, and turn it into an analysed report.

#include "collect/launcher.hpp"
#include "report/calibrations.hpp"
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
  // Queued and submitted timestamps of every kernel: evidence of how long launches waited in the
  // queue, at about 1.1 µs a launch on the H100 (measured), so off unless asked for.
  bool queued_timestamps = false;
  // Where to write the timeline as a Chrome trace-event file (render/trace_events.hpp); none
  // when empty. An existing file is replaced only when trace_events_overwrite.
  std::filesystem::path trace_events;
  bool trace_events_overwrite = false;
  // Datasheet or measured roofs, and where to look for a calibration of the GPU.
  CeilingsChoice ceilings = CeilingsChoice::automatic;
  std::filesystem::path calibration_dir;
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
  // Why the trace-event file could not be written, if it could not: the report is made anyway.
  std::string trace_events_error;
};

// The injection library shipped with this brrr: next to the executable, or in
// ../lib/brrr; $BRRR_INJECTION_LIBRARY overrides. Empty when not found.
[[nodiscard]] std::filesystem::path find_injection_library();

// Makes the allocator hand large blocks (the trace's event vectors, the sweep's buffers) back to
// the system when they are freed. glibc otherwise raises its mmap threshold after the first such
// free and keeps later large blocks on the heap, where they inflate brrr's peak memory.
void return_large_allocations();

// Runs the target and builds its report. Throws std::runtime_error for brrr's own failures
// (no temporary folder), InputError for a bad --profile file or measured ceilings that cannot
// exist (checked before the target runs); a target that cannot start is reported in
// result.launch.
[[nodiscard]] ProfileResult profile_command(const ProfileRequest& request);

// The default report name, without the number and extension that write_numbered_file adds:
// brrr-<name> from the target's name (a Python script's, for python3 script.py), or
// brrr-<name>-<host>-rank<N> when brrr runs as rank N of a job, so that the ranks of a job
// (and of jobs on several hosts sharing a folder) each write their own report.
[[nodiscard]] std::string default_report_stem(const std::vector<std::string>& command,
                                              const std::optional<RankInfo>& rank, const std::string& host);

// Keeps a report that could not be written where it belonged: in the run's data folder, under
// the file name of `wanted`, and removes the record streams there; when even that fails, the
// data folder is left as it is. Returns the words that tell the user where the data is ("the
// report is saved as ...").
[[nodiscard]] std::string keep_report_elsewhere(const ProfileResult& result, const std::filesystem::path& wanted,
                                                const std::string& text);

} // namespace brrr
