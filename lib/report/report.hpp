#pragma once
// The report: a run, the hardware profile its roofs came from, and the analysis. Written by
// `brrr profile`, read by `brrr explain` and `brrr diff`. The JSON layout is documented
// field by field in docs/report-format.md; schema_version comes first.

#include "analyse/analysis.hpp"
#include "model/hardware.hpp"
#include "model/run.hpp"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace brrr {

struct Report {
  Run run;
  std::optional<HardwareProfile> profile;
  // Why no profile applies (an unknown GPU, no GPU at all), when profile is empty.
  std::string profile_missing_reason;
  // Why the roofs use the ceilings they do (analysis.ceilings): which calibration, or why
  // none (docs/calibrate.md).
  std::string ceilings_reason;
  Analysis analysis;
};

// Bad input: a file brrr cannot read as what it should be. The message names the file and
// what is wrong with it, in one line.
class InputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// An ordered object: keys keep the documented order, schema_version first.
[[nodiscard]] nlohmann::ordered_json report_to_json(const Report& report);
// The report as brrr writes it to a file: indented JSON and a final newline. Bytes that are not
// UTF-8 (a command line or a kernel name in another encoding) become U+FFFD, as JSON must be
// UTF-8.
[[nodiscard]] std::string report_to_text(const Report& report);
// Reads the measured parts of a report (run, profile); the caller analyses it again.
// Throws InputError naming `source` and the offending field.
[[nodiscard]] Report report_from_json(const nlohmann::json& j, const std::string& source);

// Parses a JSON file, with clear errors for a missing file, a directory, an empty file,
// and text that is not JSON or is cut short.
[[nodiscard]] nlohmann::json read_json_file(const std::filesystem::path& path);
// The same checks on text already read; `source` names it in the errors.
[[nodiscard]] nlohmann::json parse_json_text(const std::string& text, const std::string& source);
[[nodiscard]] Report read_report(const std::filesystem::path& path);
// Reads a report and analyses it again, as brrr explain and brrr diff show it: against the
// hardware profile in `profile` when one is given, else against the report's own.
[[nodiscard]] Report read_analysed_report(const std::filesystem::path& path, const std::filesystem::path& profile = {});

// Derives the analysis again from the run, with the report's hardware profile and ceilings:
// what every reader of a saved report does before using it.
void reanalyse(Report& report);

// Writes `text` to `path` atomically: into a temporary file in the same folder, flushed to
// disk, then given its name (and the folder flushed), so that a reader never sees half a file
// and a failure (a full disk, a crash) never leaves one behind. Refuses to replace an existing
// file unless `overwrite`, and never replaces anything but a regular file. Throws
// std::runtime_error naming the file and the system's reason.
void write_file_atomically(const std::filesystem::path& path, const std::string& text, bool overwrite);
// The same for a file made piece by piece, too large to hold as one string: `produce` hands
// each piece to the function it is given, in order. An exception from `produce` leaves no file.
using WriteChunk = std::function<void(std::string_view)>;
void write_file_atomically(const std::filesystem::path& path, const std::function<void(const WriteChunk&)>& produce,
                           bool overwrite);

// Writes `text` atomically to the first of <stem>.json, <stem>-2.json, <stem>-3.json, ... that
// does not exist, and returns that path. The name is claimed with link(2), so two processes
// writing the same stem at once (two ranks of a job, two runs of one program in one folder)
// never replace each other's file: the second moves on to the next number. Throws
// std::runtime_error.
[[nodiscard]] std::filesystem::path write_numbered_file(const std::string& stem, const std::string& text);

// Throws std::runtime_error, as the writers would, when no file can be created in the folder
// that `path` would be written to (read-only, missing, out of space for a new file), so that a
// long run is not started only to fail at its end.
void check_folder_writable(const std::filesystem::path& path);
// The same, and also when `path` exists and `overwrite` is not given, or exists and is not a
// regular file: every check write_file_atomically makes before it writes.
void check_writable(const std::filesystem::path& path, bool overwrite);

} // namespace brrr
