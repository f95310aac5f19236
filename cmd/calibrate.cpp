// brrr calibrate [-o FILE]: measures this GPU's ceilings with microbenchmarks and keeps them as
// a hardware profile, where profile and explain find them (docs/calibrate.md). Progress and
// warnings go to stderr, the table to stdout. Exits 0, 2 on bad usage or input (a bad
// --profile file, nowhere to write), 125 when the GPU cannot be calibrated here (no GPU, no
// driver, brrr built without CUDA, the kernels failed).

#include "commands.hpp"

#include "collect/calibrate.hpp"
#include "model/calibration.hpp"
#include "render/render.hpp"
#include "report/calibrations.hpp"
#include "report/profiles.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <unistd.h>

namespace brrr::cmd {

namespace {

namespace fs = std::filesystem;

// Refuses before measuring: a calibration must not end in a file that cannot be written. The
// per-user folder is created; the folder of an -o FILE must exist.
void check_writable(const fs::path& dir, bool create) {
  std::error_code ec;
  if (create) fs::create_directories(dir, ec);
  if (ec) throw InputError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  if (!fs::is_directory(dir, ec)) throw InputError(dir.string() + ": no such folder");
  if (access(dir.c_str(), W_OK) != 0) throw InputError(dir.string() + ": cannot write there");
}

// The calibration the new one replaces, to tell a busy GPU: the file it overwrites, else the
// newest calibration of the same GPU in the per-user folder.
std::optional<HardwareProfile> previous_calibration(const fs::path& path, const fs::path& dir, const GpuInfo& gpu) {
  std::vector<std::string> problems;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      auto profile = read_profile(path);
      if (profile.calibration && same_gpu(profile.calibration->gpu, gpu)) return profile;
    } catch (const InputError&) {
      // Overwritten anyway; an unreadable file is no reference.
    }
  }
  return find_calibration(dir, gpu, problems);
}

} // namespace

Run add_calibrate(CLI::App& app) {
  struct Options {
    std::string output;
    std::string profile;
    int device = 0;
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "calibrate", "Measure this GPU's ceilings and keep them as the roofs that profile and explain use.");
  sub->add_option("-o,--output", options->output,
                  "Where to write the calibration (default: the per-user folder that profile and explain search, "
                  "$XDG_DATA_HOME/brrr/calibrations)");
  sub->add_option("--profile", options->profile,
                  "The datasheet profile to measure against (default: the built-in one for the GPU)");
  sub->add_option("--device", options->device, "The CUDA device to calibrate, as CUDA numbers it")
      ->check(CLI::Range(0, 1023))
      ->capture_default_str();
  return [options] {
    CalibrateRequest request;
    if (!options->profile.empty()) request.datasheet = read_profile(options->profile);
    const fs::path dir = calibration_dir();
    if (options->output.empty() && dir.empty())
      throw InputError("cannot choose where to keep the calibration: neither XDG_DATA_HOME nor HOME is set; pass -o "
                       "FILE");
    if (options->output.empty())
      check_writable(dir, true);
    else
      check_writable(fs::absolute(options->output).parent_path(), false);

    request.kernels = find_calibrate_kernels();
    request.device = options->device;
    request.on_device = [](const CalibrationDevice& d, const HardwareProfile* datasheet) {
      std::cerr << fmt::format("brrr: calibrating {} ({}, {} SMs, SM clock up to {} MHz) against {}\n", d.gpu.name,
                               d.gpu.uuid, d.gpu.sm_count, d.gpu.sm_clock_mhz,
                               datasheet ? datasheet->name : std::string("no datasheet profile"));
    };
    request.progress = [](const CeilingMeasurement* m, const SkippedCeiling* s) {
      const auto* spec = find_ceiling_spec(m ? m->id : s->id);
      if (m)
        std::cerr << fmt::format("brrr:   {:<32}{:>14}\n", spec->label, format_ceiling(*spec, m->value));
      else
        std::cerr << fmt::format("brrr:   {:<32}{:>14} ({})\n", spec->label, "skipped", s->reason);
    };
    CalibrateResult result;
    try {
      result = calibrate(request);
    } catch (const CalibrationError& e) {
      std::cerr << "brrr: error: " << e.what() << "\n";
      return 125;
    }
    for (const auto& note : result.notes) std::cerr << "brrr: note: " << note << "\n";

    Calibration& c = result.calibration;
    const fs::path path = options->output.empty() ? default_calibration_path(dir, c.gpu) : fs::path(options->output);
    if (auto previous = previous_calibration(path, dir, c.gpu))
      for (auto& warning : compare_with_previous(c, *previous->calibration, previous->origin))
        c.warnings.push_back(std::move(warning));
    const HardwareProfile* datasheet = result.datasheet ? &*result.datasheet : nullptr;
    const HardwareProfile profile = calibrated_profile(c, datasheet);
    write_file_atomically(path, profile_to_json(profile).dump(2) + "\n", true);

    std::cout << render_calibration(c, datasheet);
    if (!std::cout.flush()) throw std::runtime_error("cannot write to standard output");
    for (const auto& warning : c.warnings) std::cerr << "brrr: warning: " << warning << "\n";
    std::cerr << "brrr: calibration written to " << path.string() << "\n";
    return 0;
  };
}

} // namespace brrr::cmd
