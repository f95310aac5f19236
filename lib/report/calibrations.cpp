#include "report/calibrations.hpp"

#include "model/calibration.hpp"
#include "report/profiles.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace brrr {

namespace fs = std::filesystem;

namespace {

// An environment variable holding an absolute path; empty otherwise.
fs::path absolute_path_from(const char* variable) {
  const char* value = std::getenv(variable);
  if (!value || !*value) return {};
  fs::path path = value;
  return path.is_absolute() ? path : fs::path{};
}

// The *.json files of a folder, sorted; none when it does not exist.
std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string describe_gpu(const GpuInfo& gpu) {
  return fmt::format("{} ({} MHz, {} SMs{})", gpu.name, gpu.sm_clock_mhz, gpu.sm_count, gpu.mig ? ", MIG" : "");
}

} // namespace

fs::path calibration_dir() {
  if (auto xdg = absolute_path_from("XDG_DATA_HOME"); !xdg.empty()) return xdg / "brrr" / "calibrations";
  if (auto home = absolute_path_from("HOME"); !home.empty()) return home / ".local" / "share" / "brrr" / "calibrations";
  return {};
}

fs::path default_calibration_path(const fs::path& dir, const GpuInfo& gpu) {
  return dir / (calibration_slug(gpu) + ".json");
}

std::optional<HardwareProfile> find_calibration(const fs::path& dir, const GpuInfo& gpu,
                                                std::vector<std::string>& problems) {
  std::optional<HardwareProfile> newest;
  for (const auto& file : json_files(dir)) {
    try {
      HardwareProfile profile = read_profile(file);
      if (!profile.calibration) {
        problems.push_back(file.string() + ": not a calibration (no measured section); passed over");
        continue;
      }
      if (!same_gpu(profile.calibration->gpu, gpu)) continue;
      if (!newest || profile.calibration->date > newest->calibration->date) newest = std::move(profile);
    } catch (const InputError& e) {
      problems.push_back(std::string(e.what()) + "; passed over");
    }
  }
  return newest;
}

bool has_calibration_files(const fs::path& dir) { return !json_files(dir).empty(); }

std::optional<CeilingsChoice> parse_ceilings_choice(std::string_view s) {
  if (s == "auto") return CeilingsChoice::automatic;
  if (s == "measured") return CeilingsChoice::measured;
  if (s == "datasheet") return CeilingsChoice::datasheet;
  return std::nullopt;
}

Roofs choose_roofs(const RoofsRequest& q) {
  Roofs out;
  out.profile = q.profile;
  out.missing_reason = q.missing_reason;
  if (q.ceilings == CeilingsChoice::datasheet) {
    out.reason = "datasheet ceilings: asked for with --ceilings datasheet";
    return out;
  }
  std::optional<HardwareProfile> measured;
  std::string why_none;
  if (q.profile && q.profile->has_measured())
    measured = q.profile;
  else if (q.profile_given && q.profile)
    why_none = q.profile->origin + " has no measured values";
  else if (!q.gpu)
    why_none = "no GPU was used";
  else if (q.calibration_dir.empty())
    why_none = "no per-user folder for calibrations (neither XDG_DATA_HOME nor HOME is set)";
  else if (!(measured = find_calibration(q.calibration_dir, *q.gpu, out.problems)))
    why_none = fmt::format("no calibration of {} in {}", describe_gpu(*q.gpu), q.calibration_dir.string());

  if (measured) {
    out.ceilings = Ceilings::measured;
    out.reason = measured->calibration
                     ? fmt::format("measured ceilings: calibration of {} from {} ({})", measured->calibration->gpu.name,
                                   measured->calibration->date, measured->origin)
                     : fmt::format("measured ceilings: the measured values of {}", measured->origin);
    out.profile = std::move(measured);
    out.missing_reason.clear();
    return out;
  }
  if (q.ceilings == CeilingsChoice::measured)
    throw InputError("--ceilings measured: " + why_none +
                     "; run brrr calibrate on that GPU, or pass --profile FILE with measured values");
  out.reason = "datasheet ceilings: " + why_none;
  return out;
}

void use_roofs(Report& report, Roofs roofs) {
  report.profile = std::move(roofs.profile);
  report.profile_missing_reason = std::move(roofs.missing_reason);
  report.ceilings_reason = std::move(roofs.reason);
  report.analysis = analyse(report.run, report.profile ? &*report.profile : nullptr, {roofs.ceilings, {}});
}

} // namespace brrr
