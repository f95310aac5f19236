#include "report/profiles.hpp"

#include "model/calibration.hpp"
#include "report/json_reader.hpp"

#include <algorithm>
#include <cctype>

// Defined in the source file generated from profiles/*.json at build time.
namespace brrr::generated {
extern const char* const builtin_profile_texts[];
extern const char* const builtin_profile_names[];
extern const std::size_t builtin_profile_count;
} // namespace brrr::generated

namespace brrr {

namespace {

Figure figure_from(const JsonReader& r) {
  Figure f;
  f.value = r.at("value").number();
  if (f.value <= 0) r.at("value").fail("must be positive");
  f.source = r.at("source").str();
  if (f.source.empty()) r.at("source").fail("must name where the figure comes from");
  if (auto m = r.optional("measured")) f.measured = m->non_negative();
  return f;
}

using ojson = nlohmann::ordered_json;

ojson figure_to(const Figure& f) {
  ojson j{{"value", f.value}, {"source", f.source}};
  if (f.measured) j["measured"] = *f.measured;
  return j;
}

Calibration calibration_from(const JsonReader& r) {
  Calibration c;
  c.tool_version = r.at("tool_version").str();
  c.date = r.at("date").str();
  c.host = r.at("host").str();
  c.duration_ns = r.at("duration_ns").u64();
  c.gpu = gpu_from_json(r.at("gpu"));
  c.max_memory_clock_mhz = r.at("max_memory_clock_mhz").u32();
  c.driver_version = r.at("driver_version").str();
  c.nvml = r.at("nvml").boolean();
  // Calibrations before the statistic was the ceiling's own said "best" for all of them.
  if (auto statistic = r.optional("statistic"); statistic && statistic->str() != "best")
    statistic->fail("unknown statistic '" + statistic->str() + "' (expected best)");
  for (const auto& [id, m] : r.at("ceilings").members()) {
    CeilingMeasurement cm;
    cm.id = id;
    cm.value = m.at("value").number();
    if (cm.value <= 0) m.at("value").fail("must be positive");
    if (auto statistic = m.optional("statistic")) {
      const auto known = std::find_if(ceiling_statistics.begin(), ceiling_statistics.end(),
                                      [&](CeilingStatistic s) { return to_string(s) == statistic->str(); });
      if (known == ceiling_statistics.end())
        statistic->fail("unknown statistic '" + statistic->str() + "' (expected best, fast_decile or median)");
      cm.statistic = *known;
    }
    for (const auto& run : m.at("runs").items()) cm.runs.push_back(run.non_negative());
    if (auto setup = m.optional("setup")) cm.setup = setup->str();
    if (auto mhz = m.optional("sm_clock_mhz")) cm.sm_clock_mhz = mhz->u32();
    if (auto mhz = m.optional("memory_clock_mhz")) cm.memory_clock_mhz = mhz->u32();
    if (auto limits = m.optional("clock_limits")) cm.clock_limits = limits->strings();
    c.ceilings.push_back(std::move(cm));
  }
  for (const auto& [id, reason] : r.at("skipped").members()) c.skipped.push_back({id, reason.str()});
  c.warnings = r.at("warnings").strings();
  c.sort();
  return c;
}

ojson calibration_to(const Calibration& c) {
  ojson ceilings = ojson::object();
  for (const auto& m : c.ceilings) {
    ojson j{{"value", m.value}, {"statistic", to_string(m.statistic)}, {"spread", ceiling_spread(m)}, {"runs", m.runs}};
    if (!m.setup.empty()) j["setup"] = m.setup;
    if (m.sm_clock_mhz) j["sm_clock_mhz"] = *m.sm_clock_mhz;
    if (m.memory_clock_mhz) j["memory_clock_mhz"] = *m.memory_clock_mhz;
    j["clock_limits"] = m.clock_limits;
    ceilings[m.id] = std::move(j);
  }
  ojson skipped = ojson::object();
  for (const auto& s : c.skipped) skipped[s.id] = s.reason;
  return {{"tool_version", c.tool_version},
          {"date", c.date},
          {"host", c.host},
          {"duration_ns", c.duration_ns},
          {"gpu", gpu_to_json(c.gpu)},
          {"max_memory_clock_mhz", c.max_memory_clock_mhz},
          {"driver_version", c.driver_version},
          {"nvml", c.nvml},
          {"ceilings", std::move(ceilings)},
          {"skipped", std::move(skipped)},
          {"warnings", c.warnings}};
}

// The scalar figures of a profile, in file order: one table for reading and writing.
struct ScalarField {
  const char* key;
  std::optional<Figure> HardwareProfile::*member;
};
constexpr std::array<ScalarField, 7> scalar_fields{{
    {"sm_count", &HardwareProfile::sm_count},
    {"sm_boost_clock_mhz", &HardwareProfile::sm_boost_clock_mhz},
    {"memory_bytes", &HardwareProfile::memory_bytes},
    {"l2_bytes", &HardwareProfile::l2_bytes},
    {"dram_bytes_per_s", &HardwareProfile::dram_bytes_per_s},
    {"l2_bytes_per_s", &HardwareProfile::l2_bytes_per_s},
    {"host_link_bytes_per_s", &HardwareProfile::host_link_bytes_per_s},
}};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

} // namespace

HardwareProfile profile_from_json(const nlohmann::json& j, const std::string& source) {
  JsonReader r(j, source);
  if (!j.is_object()) r.fail("a hardware profile must be a JSON object");
  const auto version = r.at("schema_version").u64();
  if (version > static_cast<uint64_t>(profile_schema_version))
    r.fail("hardware profile schema_version " + std::to_string(version) + " is newer than this brrr reads (" +
           std::to_string(profile_schema_version) + "); upgrade brrr");
  HardwareProfile p;
  p.id = r.at("id").str();
  p.name = r.at("name").str();
  if (auto a = r.optional("architecture")) p.architecture = a->str();
  if (auto c = r.optional("compute_capability")) p.compute_capability = c->str();
  if (auto m = r.optional("match_names")) p.match_names = m->strings();
  for (const auto& field : scalar_fields)
    if (auto f = r.optional(field.key)) p.*field.member = figure_from(*f);
  if (!p.dram_bytes_per_s) r.fail("dram_bytes_per_s is required: without it there is no memory roof");
  for (const auto& [precision_name, pipes] : r.at("peak_flops_per_s").members()) {
    auto precision = parse_precision(precision_name);
    if (!precision) pipes.fail("unknown precision (expected fp64, fp32, tf32, fp16, bf16, fp8 or int8)");
    for (const auto& [pipe_name, figure] : pipes.members()) {
      auto pipe = parse_pipe(pipe_name);
      if (!pipe) figure.fail("unknown pipe (expected cuda_core or tensor)");
      p.peak_flops_per_s[{*precision, *pipe}] = figure_from(figure);
    }
  }
  if (auto n = r.optional("notes")) p.notes = n->str();
  if (auto m = r.optional("measured")) p.calibration = calibration_from(*m);
  p.origin = source;
  return p;
}

ojson profile_to_json(const HardwareProfile& p) {
  ojson j;
  j["schema_version"] = profile_schema_version;
  j["id"] = p.id;
  j["name"] = p.name;
  j["architecture"] = p.architecture;
  j["compute_capability"] = p.compute_capability;
  j["match_names"] = p.match_names;
  for (const auto& field : scalar_fields)
    if (const auto& f = p.*field.member) j[field.key] = figure_to(*f);
  ojson peaks = ojson::object();
  for (const auto& [key, figure] : p.peak_flops_per_s)
    peaks[std::string(to_string(key.first))][std::string(to_string(key.second))] = figure_to(figure);
  j["peak_flops_per_s"] = std::move(peaks);
  if (!p.notes.empty()) j["notes"] = p.notes;
  if (p.calibration) j["measured"] = calibration_to(*p.calibration);
  return j;
}

ojson gpu_to_json(const GpuInfo& g) {
  return {{"id", g.id},
          {"name", g.name},
          {"uuid", g.uuid},
          {"compute_capability", g.compute_capability},
          {"sm_count", g.sm_count},
          {"sm_clock_mhz", g.sm_clock_mhz},
          {"memory_bytes", g.memory_bytes},
          {"l2_bytes", g.l2_bytes},
          {"mig", g.mig}};
}

GpuInfo gpu_from_json(const JsonReader& g) {
  GpuInfo gpu;
  gpu.id = g.at("id").u32();
  gpu.name = g.at("name").str();
  gpu.uuid = g.at("uuid").str();
  gpu.compute_capability = g.at("compute_capability").str();
  gpu.sm_count = g.at("sm_count").u32();
  gpu.sm_clock_mhz = g.at("sm_clock_mhz").u32();
  gpu.memory_bytes = g.at("memory_bytes").u64();
  gpu.l2_bytes = g.at("l2_bytes").u64();
  gpu.mig = g.at("mig").boolean();
  return gpu;
}

HardwareProfile read_profile(const std::filesystem::path& path) {
  return profile_from_json(read_json_file(path), path.string());
}

const std::vector<HardwareProfile>& builtin_profiles() {
  static const std::vector<HardwareProfile> profiles = [] {
    std::vector<HardwareProfile> out;
    for (std::size_t i = 0; i < generated::builtin_profile_count; ++i) {
      const std::string name = std::string("builtin:") + generated::builtin_profile_names[i];
      out.push_back(profile_from_json(nlohmann::json::parse(generated::builtin_profile_texts[i]), name));
    }
    return out;
  }();
  return profiles;
}

std::optional<ProfileMatch> match_profile(const std::vector<HardwareProfile>& profiles, const std::string& device_name,
                                          const std::string& compute_capability) {
  const std::string device = lower(device_name);
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto whole_words_at = [&](std::size_t pos, std::size_t length) {
    const bool starts = pos == 0 || !word_char(device[pos - 1]) || !word_char(device[pos]);
    const std::size_t end = pos + length;
    const bool ends = end == device.size() || !word_char(device[end]) || !word_char(device[end - 1]);
    return starts && ends;
  };
  const HardwareProfile* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& p : profiles) {
    if (!compute_capability.empty() && !p.compute_capability.empty() && p.compute_capability != compute_capability)
      continue;
    for (const auto& name : p.match_names) {
      const std::string candidate = lower(name);
      if (candidate.empty()) continue;
      if (candidate == device) return ProfileMatch{p, true};
      for (auto pos = device.find(candidate); pos != std::string::npos; pos = device.find(candidate, pos + 1))
        if (whole_words_at(pos, candidate.size()) && candidate.size() > best_length) {
          best = &p;
          best_length = candidate.size();
        }
    }
  }
  if (!best) return std::nullopt;
  return ProfileMatch{*best, false};
}

} // namespace brrr
