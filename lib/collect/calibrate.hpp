#pragma once
// One `brrr calibrate`: run the calibration kernels on the GPU and read what they report.
//
// The kernels are a separate executable, brrr-calibrate-kernels, found next to brrr like the
// injection library: brrr itself links no CUDA (it builds and runs without the toolkit, and
// reads reports anywhere), a fault on the GPU ends that process and not brrr, and the
// kernels' CUDA context ends with them. The executable prints one JSON object per line on
// standard output (the protocol is in docs/calibrate.md); CalibrationReader reads it.

#include "model/hardware.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brrr {

// The device the kernels run on, as they describe it.
struct CalibrationDevice {
  GpuInfo gpu;
  uint32_t max_memory_clock_mhz = 0;
  std::string driver_version;
  bool nvml = false;
};

// Reads the kernels' output, line by line. It never throws (it reads while the kernels run):
// a line it cannot read becomes its error.
class CalibrationReader {
public:
  // Called once per ceiling, as its result (or the reason it was skipped) arrives.
  using Progress = std::function<void(const CeilingMeasurement*, const SkippedCeiling*)>;
  explicit CalibrationReader(Progress progress = {}) : progress_(std::move(progress)) {}

  void line(std::string_view text);

  [[nodiscard]] const std::optional<CalibrationDevice>& device() const { return device_; }
  // The `end` message came: everything asked for was measured or skipped.
  [[nodiscard]] bool ended() const { return ended_; }
  // What went wrong: the kernels' own error message, or a line that could not be read.
  [[nodiscard]] const std::string& error() const { return error_; }
  // The id of the ceiling being measured when the output stopped.
  [[nodiscard]] const std::string& last_started() const { return last_started_; }
  [[nodiscard]] const std::vector<CeilingMeasurement>& ceilings() const { return ceilings_; }
  [[nodiscard]] const std::vector<SkippedCeiling>& skipped() const { return skipped_; }
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }
  [[nodiscard]] uint64_t duration_ns() const { return duration_ns_; }

private:
  void message(std::string_view text);

  Progress progress_;
  std::optional<CalibrationDevice> device_;
  bool ended_ = false;
  std::string error_;
  std::string last_started_;
  std::vector<CeilingMeasurement> ceilings_;
  std::vector<SkippedCeiling> skipped_;
  std::vector<std::string> warnings_;
  uint64_t duration_ns_ = 0;
};

// brrr-calibrate-kernels next to brrr (or in ../lib/brrr); $BRRR_CALIBRATE_KERNELS overrides.
[[nodiscard]] std::filesystem::path find_calibrate_kernels();

struct CalibrateRequest {
  std::filesystem::path kernels; // brrr-calibrate-kernels
  int device = 0;                // CUDA ordinal
  // The datasheet profile given with --profile; otherwise the built-in one for the GPU.
  std::optional<HardwareProfile> datasheet;
  CalibrationReader::Progress progress;
  // Called once the device is known, before the measurements start.
  std::function<void(const CalibrationDevice&, const HardwareProfile* datasheet)> on_device;
};

struct CalibrateResult {
  Calibration calibration;
  std::optional<HardwareProfile> datasheet;
  // Lines for stderr: which datasheet profile was matched, and how.
  std::vector<std::string> notes;
};

// Thrown when the GPU cannot be calibrated: no GPU, no driver, the kernels failed. The message
// is one line.
class CalibrationError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The ceilings to measure: of the FLOP ceilings, those whose peak the datasheet profile lists
// (a GPU without FP8 tensor cores has no FP8 peak in its profile), all of them without a
// profile; every other ceiling. The others are returned in `skipped`, with the reason.
[[nodiscard]] std::vector<std::string> ceilings_to_measure(const HardwareProfile* datasheet,
                                                           std::vector<SkippedCeiling>& skipped);

// The calibration from what the kernels reported: stamped with the date, the host and brrr's
// version; the ceilings brrr did not ask for (`skipped`) and the warnings added.
[[nodiscard]] Calibration assemble_calibration(const CalibrationDevice& device, const CalibrationReader& reader,
                                               std::vector<SkippedCeiling> skipped, const HardwareProfile* datasheet);

// Describes the device, matches its datasheet profile, measures, and assembles the
// calibration. Throws CalibrationError.
[[nodiscard]] CalibrateResult calibrate(const CalibrateRequest& request);

} // namespace brrr
