// The kernel table as CSV (RFC 4180): one header row, then one row per kernel group.
// Figures that were not measured are empty cells, never zero.

#include "render/layout.hpp"
#include "render/render.hpp"

#include <fmt/format.h>

namespace brrr {

using namespace layout;

namespace {

std::string number(std::optional<double> v) { return v ? fmt::format("{:.6g}", *v) : std::string(); }

} // namespace

std::string layout::csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string render_csv(const Report& r) {
  std::string out =
      "name,grid,block,launches,total_ns,min_ns,median_ns,max_ns,attributed_ns,bound,roof_fraction,flops,dram_bytes,"
      "arithmetic_intensity,achieved_flops_per_s,achieved_dram_bytes_per_s,precision,pipe,measured_launches\n";
  for (std::size_t i = 0; i < r.run.kernels.size(); ++i) {
    const auto& k = r.run.kernels[i];
    const auto& a = r.analysis.kernels[i];
    const bool measured = a.has_counters;
    out += fmt::format("{},{}x{}x{},{}x{}x{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(k.name),
                       k.grid.x, k.grid.y, k.grid.z, k.block.x, k.block.y, k.block.z, k.launches, k.total_ns, k.min_ns,
                       k.median_ns, k.max_ns, k.attributed_ns, to_string(a.bound),
                       number(on_roofline(a.bound) ? std::optional(a.roof_fraction) : std::nullopt),
                       number(measured ? std::optional(a.flops) : std::nullopt),
                       number(measured ? std::optional(a.dram_bytes) : std::nullopt),
                       number(measured ? a.intensity : std::nullopt),
                       number(measured ? std::optional(a.achieved_flops_per_s) : std::nullopt),
                       number(measured ? std::optional(a.achieved_dram_bytes_per_s) : std::nullopt),
                       measured ? std::string(to_string(a.precision)) : std::string(),
                       measured ? std::string(to_string(a.pipe)) : std::string(),
                       k.counters ? std::to_string(k.counters->measured_launches) : std::string());
  }
  return out;
}

} // namespace brrr
