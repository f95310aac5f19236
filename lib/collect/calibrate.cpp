#include "collect/calibrate.hpp"

#include "collect/launcher.hpp"
#include "collect/stream_reader.hpp"
#include "model/calibration.hpp"
#include "report/json_reader.hpp"
#include "report/profiles.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace brrr {

namespace {

// The ceiling is the best run (the highest rate, or the lowest latency) or the fast decile of
// the trials, as its spec says; the clocks are those of the run nearest the ceiling.
CeilingMeasurement measurement_from(const JsonReader& r, const CeilingSpec& spec) {
  CeilingMeasurement m;
  m.id = std::string(spec.id);
  m.statistic = statistic_of(spec);
  const auto runs = r.at("runs").items();
  if (runs.empty()) r.at("runs").fail("no runs");
  for (const auto& run : runs) {
    const double value = run.at("value").number();
    if (value <= 0) run.at("value").fail("must be positive");
    m.runs.push_back(value);
  }
  m.value = ceiling_value(spec, m.statistic, m.runs);
  const JsonReader* chosen = &runs.front();
  for (std::size_t i = 1; i < runs.size(); ++i)
    if (std::fabs(m.runs[i] - m.value) < std::fabs(chosen->at("value").number() - m.value)) chosen = &runs[i];
  if (auto mhz = chosen->optional("sm_clock_mhz")) m.sm_clock_mhz = mhz->u32();
  if (auto mhz = chosen->optional("memory_clock_mhz")) m.memory_clock_mhz = mhz->u32();
  if (auto limits = chosen->optional("clock_limits")) m.clock_limits = limits->strings();
  if (auto setup = r.optional("setup")) m.setup = setup->str();
  return m;
}

CalibrationDevice device_from(const JsonReader& r) {
  CalibrationDevice d;
  d.gpu.id = r.at("id").u32();
  d.gpu.name = r.at("name").str();
  d.gpu.mig = r.at("mig").boolean();
  const auto bytes = r.at("uuid_bytes").items();
  if (bytes.size() != 16) r.at("uuid_bytes").fail("expected 16 bytes");
  uint8_t uuid[16] = {};
  for (std::size_t i = 0; i < 16; ++i) {
    const uint32_t byte = bytes[i].u32();
    if (byte > 255) bytes[i].fail("is not a byte");
    uuid[i] = static_cast<uint8_t>(byte);
  }
  d.gpu.uuid = format_uuid(uuid, d.gpu.mig);
  d.gpu.compute_capability = r.at("compute_capability").str();
  d.gpu.sm_count = r.at("sm_count").u32();
  d.gpu.sm_clock_mhz = r.at("sm_clock_mhz").u32();
  d.gpu.memory_bytes = r.at("memory_bytes").u64();
  d.gpu.l2_bytes = r.at("l2_bytes").u64();
  d.max_memory_clock_mhz = r.at("memory_clock_mhz").u32();
  d.driver_version = r.at("driver_version").str();
  d.nvml = r.at("nvml").boolean();
  return d;
}

std::string status_text(const ExitStatus& exit) {
  switch (exit.kind) {
  case ExitStatus::Kind::exited:
    return fmt::format("exited with status {}", exit.code);
  case ExitStatus::Kind::signaled:
    return "was killed by " + signal_name(exit.signal);
  case ExitStatus::Kind::not_started:
  case ExitStatus::Kind::unknown:
    break;
  }
  return "ended in an unknown way";
}

// Runs the kernels with `args`, their output read by `reader`. Throws CalibrationError unless
// they finished what they were asked.
void run_kernels(const std::filesystem::path& kernels, std::vector<std::string> args, CalibrationReader& reader) {
  args.insert(args.begin(), kernels.string());
  LaunchRequest launch{args, {}, [&reader](std::string_view line) { reader.line(line); }};
  const LaunchResult result = launch_and_wait(launch);
  if (!result.error.empty()) throw CalibrationError(result.error);
  if (!reader.error().empty()) throw CalibrationError(reader.error());
  if (!reader.ended() || result.exit != ExitStatus{ExitStatus::Kind::exited, 0, 0}) {
    const auto* spec = find_ceiling_spec(reader.last_started());
    throw CalibrationError(fmt::format("brrr-calibrate-kernels {}{}", status_text(result.exit),
                                       spec ? fmt::format(" while measuring {}", spec->label) : std::string()));
  }
}

} // namespace

void CalibrationReader::line(std::string_view text) {
  if (!error_.empty() || text.find_first_not_of(" \t\r") == std::string_view::npos) return;
  try {
    message(text);
  } catch (const std::exception& e) {
    error_ = fmt::format("brrr-calibrate-kernels wrote what brrr cannot read ({}): {}", e.what(), text.substr(0, 200));
  }
}

void CalibrationReader::message(std::string_view text) {
  const auto j = nlohmann::json::parse(text);
  const JsonReader r(j, "message");
  const std::string type = r.at("type").str();
  if (type == "device") {
    device_ = device_from(r);
  } else if (type == "start") {
    last_started_ = r.at("id").str();
  } else if (type == "result" || type == "skipped") {
    const std::string id = r.at("id").str();
    const auto* spec = find_ceiling_spec(id);
    if (!spec) r.at("id").fail("unknown ceiling");
    if (type == "result") {
      ceilings_.push_back(measurement_from(r, *spec));
      if (progress_) progress_(&ceilings_.back(), nullptr);
    } else {
      skipped_.push_back({id, r.at("reason").str()});
      if (progress_) progress_(nullptr, &skipped_.back());
    }
  } else if (type == "warning") {
    warnings_.push_back(r.at("message").str());
  } else if (type == "error") {
    error_ = r.at("message").str();
  } else if (type == "end") {
    duration_ns_ = r.at("duration_ns").u64();
    ended_ = true;
  } else {
    r.at("type").fail("unknown message type");
  }
}

std::filesystem::path find_calibrate_kernels() {
  return find_companion("BRRR_CALIBRATE_KERNELS", "brrr-calibrate-kernels");
}

std::vector<std::string> ceilings_to_measure(const HardwareProfile* datasheet, std::vector<SkippedCeiling>& skipped) {
  std::vector<std::string> ids;
  for (const auto& spec : ceiling_specs) {
    if (datasheet && spec.roof == RoofFigure::peak && !datasheet->peak_flops_per_s.count({spec.precision, spec.pipe})) {
      skipped.push_back(
          {std::string(spec.id),
           fmt::format("the datasheet profile {} lists no {} {} peak: the GPU has no such units", datasheet->name,
                       to_string(spec.precision), spec.pipe == Pipe::tensor ? "tensor-core" : "CUDA-core")});
      continue;
    }
    ids.emplace_back(spec.id);
  }
  return ids;
}

CalibrateResult calibrate(const CalibrateRequest& request) {
  if (request.kernels.empty())
    throw CalibrationError("cannot find brrr-calibrate-kernels next to brrr or in ../lib/brrr (this brrr was built "
                           "without the CUDA toolkit, or installed incompletely)");
  const std::vector<std::string> device_args{"--device", std::to_string(request.device)};
  CalibrationReader description;
  auto describe_args = device_args;
  describe_args.emplace_back("--describe");
  run_kernels(request.kernels, describe_args, description);
  if (!description.device()) throw CalibrationError("brrr-calibrate-kernels did not describe the GPU");
  const CalibrationDevice device = *description.device();

  CalibrateResult result;
  result.datasheet = request.datasheet;
  if (!result.datasheet) {
    if (auto match = match_profile(builtin_profiles(), device.gpu.name, device.gpu.compute_capability)) {
      result.datasheet = match->profile;
      if (!match->exact)
        result.notes.push_back(fmt::format("no profile names '{}' exactly; the datasheet figures are the closest, {} "
                                           "(pass --profile FILE to choose)",
                                           device.gpu.name, match->profile.name));
    } else {
      result.notes.push_back(fmt::format("no built-in profile for {} (compute capability {}): the calibration holds "
                                         "its measurements alone (pass --profile FILE for datasheet figures)",
                                         device.gpu.name, device.gpu.compute_capability));
    }
  }
  const HardwareProfile* datasheet = result.datasheet ? &*result.datasheet : nullptr;
  std::vector<SkippedCeiling> skipped;
  const auto ids = ceilings_to_measure(datasheet, skipped);
  if (request.on_device) request.on_device(device, datasheet);

  CalibrationReader reader(request.progress);
  auto measure_args = device_args;
  measure_args.emplace_back("--ceilings");
  measure_args.push_back(fmt::format("{}", fmt::join(ids, ",")));
  run_kernels(request.kernels, measure_args, reader);

  result.calibration = assemble_calibration(device, reader, std::move(skipped), datasheet);
  return result;
}

Calibration assemble_calibration(const CalibrationDevice& device, const CalibrationReader& reader,
                                 std::vector<SkippedCeiling> skipped, const HardwareProfile* datasheet) {
  Calibration c;
  c.tool_version = BRRR_VERSION;
  c.date = iso_time(realtime_ns());
  c.host = host_name();
  c.gpu = device.gpu;
  c.max_memory_clock_mhz = device.max_memory_clock_mhz;
  c.driver_version = device.driver_version;
  c.nvml = device.nvml;
  c.duration_ns = reader.duration_ns();
  c.ceilings = reader.ceilings();
  c.skipped = std::move(skipped);
  c.skipped.insert(c.skipped.end(), reader.skipped().begin(), reader.skipped().end());
  c.warnings = reader.warnings();
  c.sort();
  for (auto& warning : calibration_warnings(c, datasheet)) c.warnings.push_back(std::move(warning));
  return c;
}

} // namespace brrr
