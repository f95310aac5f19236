#pragma once
// Where calibrations are kept, finding the one for a GPU, and choosing the roofs of a run:
// which hardware profile, and its datasheet or its measured ceilings (docs/calibrate.md).

#include "model/hardware.hpp"
#include "report/report.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brrr {

// The per-user folder `brrr calibrate` writes to and `profile`/`explain` look in:
// $XDG_DATA_HOME/brrr/calibrations, else $HOME/.local/share/brrr/calibrations. Empty when
// neither variable is set (or both are relative paths, which the XDG specification says to
// ignore).
[[nodiscard]] std::filesystem::path calibration_dir();

// dir/<calibration_slug(gpu)>.json
[[nodiscard]] std::filesystem::path default_calibration_path(const std::filesystem::path& dir, const GpuInfo& gpu);

// The newest calibration in `dir` made on a GPU like `gpu` (same_gpu), as a profile whose
// origin is its path. Files that are not calibrations, or cannot be read, are passed over,
// each with a line in `problems`. Empty when none fits or `dir` does not exist.
[[nodiscard]] std::optional<HardwareProfile> find_calibration(const std::filesystem::path& dir, const GpuInfo& gpu,
                                                              std::vector<std::string>& problems);

// The --ceilings option of profile and explain.
enum class CeilingsChoice : uint8_t {
  automatic, // measured when a calibration is found, else datasheet
  measured,
  datasheet
};
[[nodiscard]] std::optional<CeilingsChoice> parse_ceilings_choice(std::string_view s);

struct RoofsRequest {
  CeilingsChoice ceilings = CeilingsChoice::automatic;
  // The profile chosen so far: given with --profile, the built-in one matched to the GPU, or
  // the one a report holds. Empty with `missing_reason` when none applies.
  std::optional<HardwareProfile> profile;
  std::string missing_reason;
  // True when `profile` came from --profile: then only it may supply measured ceilings.
  bool profile_given = false;
  // The run's first GPU (nullptr without one), and where calibrations are looked for (empty:
  // nowhere).
  const GpuInfo* gpu = nullptr;
  std::filesystem::path calibration_dir;
};

struct Roofs {
  std::optional<HardwareProfile> profile;
  std::string missing_reason;
  Ceilings ceilings = Ceilings::datasheet;
  // One sentence: which calibration the measured ceilings come from, or why the datasheet's
  // are used. The report's `ceilings_reason`.
  std::string reason;
  // Calibration files passed over.
  std::vector<std::string> problems;
};

// Whether `dir` holds any calibration file (*.json): before a run, `--ceilings measured` with
// none at all is refused, since no GPU could match.
[[nodiscard]] bool has_calibration_files(const std::filesystem::path& dir);

// Measured ceilings come from the profile itself when it has measured values (a calibration
// given with --profile, or held in a report), else, unless a profile was given, from the
// calibration of the GPU in `calibration_dir`. Throws InputError when measured ceilings are
// asked for and there are none.
[[nodiscard]] Roofs choose_roofs(const RoofsRequest& request);

// Puts the chosen roofs into the report and analyses it again under them.
void use_roofs(Report& report, Roofs roofs);

} // namespace brrr
