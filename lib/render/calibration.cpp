// The table `brrr calibrate` prints on standard output.

#include "render/render.hpp"

#include "model/calibration.hpp"
#include "model/format.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brrr {

namespace {

std::string clock_line(const char* name, std::optional<std::pair<uint32_t, uint32_t>> seen, uint32_t max_mhz) {
  if (!seen) return fmt::format("{} not read (max {} MHz)", name, max_mhz);
  const std::string range =
      seen->first == seen->second ? fmt::format("{}", seen->first) : fmt::format("{}–{}", seen->first, seen->second);
  return fmt::format("{} {} MHz (max {})", name, range, max_mhz);
}

} // namespace

std::string render_calibration(const Calibration& c, const HardwareProfile* datasheet) {
  std::string out;
  out += fmt::format("brrr calibrate: {} · {} · {} SMs · compute capability {} · driver {}\n", c.gpu.name, c.gpu.uuid,
                     c.gpu.sm_count, c.gpu.compute_capability, c.driver_version);
  out += fmt::format("datasheet: {}\n", datasheet ? datasheet->name + " (" + datasheet->origin + ")"
                                                  : std::string("none (no profile for this GPU)"));
  out += fmt::format("clocks under load: {} · {}\n", clock_line("SM", sm_clock_range(c), c.gpu.sm_clock_mhz),
                     clock_line("memory", memory_clock_range(c), c.max_memory_clock_mhz));
  out += fmt::format("{} · {} · brrr {} · {}\n\n", c.date, c.host, c.tool_version,
                     format_duration(static_cast<double>(c.duration_ns)));

  out += fmt::format("{:<32}{:>14}{:>13}{:>14}{:>7}{:>8}{:>8}\n", "ceiling", "measured", "statistic", "datasheet",
                     "ratio", "spread", "SM MHz");
  for (const auto& spec : ceiling_specs) {
    const auto* m = c.find(spec.id);
    if (!m) continue;
    std::string sheet_text = "–";
    std::string ratio = "–";
    if (const auto sheet = datasheet ? datasheet_value(*datasheet, spec) : std::nullopt) {
      sheet_text = format_ceiling(spec, *sheet);
      if (spec.unit != CeilingUnit::ns) ratio = format_percent(m->value / *sheet);
    }
    const std::string spread = m->runs.size() < 2 ? "–" : format_percent(ceiling_spread(*m));
    out += fmt::format("{:<32}{:>14}{:>13}{:>14}{:>7}{:>8}{:>8}\n", spec.label, format_ceiling(spec, m->value),
                       to_string(m->statistic), sheet_text, ratio, spread,
                       m->sm_clock_mhz ? fmt::format("{}", *m->sm_clock_mhz) : "–");
  }
  out += "\nmeasured: the best run, or the fast decile of the trials (host-bound: the 90th percentile of a rate, the "
         "10th of a latency);\nspread: the interquartile range of the runs or trials, how steady the GPU or the host "
         "was\n";
  std::string setups;
  for (const auto& m : c.ceilings)
    if (const auto* spec = find_ceiling_spec(m.id); spec && !m.setup.empty())
      setups += wrap(fmt::format("{}: {}", spec->label, m.setup), 100, 4, 2) + "\n";
  if (!setups.empty()) out += "\nfastest GEMMs found:\n" + setups;
  if (!c.skipped.empty()) {
    out += "\nskipped:\n";
    for (const auto& s : c.skipped) {
      const auto* spec = find_ceiling_spec(s.id);
      out += wrap(fmt::format("{}: {}", spec ? spec->label : s.id, s.reason), 100, 4, 2) + "\n";
    }
  }
  return out;
}

} // namespace brrr
