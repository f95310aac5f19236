#include "model/hardware.hpp"

namespace brrr {

std::optional<double> HardwareProfile::peak(Precision p, Pipe u, Ceilings c) const {
  auto it = peak_flops_per_s.find({p, u});
  if (it == peak_flops_per_s.end()) return std::nullopt;
  return pick(it->second, c);
}

std::optional<double> HardwareProfile::dram_bandwidth(Ceilings c) const {
  if (!dram_bytes_per_s) return std::nullopt;
  return pick(*dram_bytes_per_s, c);
}

std::optional<double> HardwareProfile::l2_bandwidth(Ceilings c) const {
  if (!l2_bytes_per_s) return std::nullopt;
  return pick(*l2_bytes_per_s, c);
}

bool HardwareProfile::has_measured() const {
  if (dram_bytes_per_s && dram_bytes_per_s->measured) return true;
  for (const auto& [key, figure] : peak_flops_per_s)
    if (figure.measured) return true;
  return false;
}

} // namespace brrr
