#include "model/hardware.hpp"

#include "model/ceilings.hpp"

#include <algorithm>

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

const CeilingMeasurement* Calibration::find(std::string_view id) const {
  for (const auto& c : ceilings)
    if (c.id == id) return &c;
  return nullptr;
}

void Calibration::sort() {
  auto by_position = [](const auto& a, const auto& b) { return ceiling_position(a.id) < ceiling_position(b.id); };
  std::stable_sort(ceilings.begin(), ceilings.end(), by_position);
  std::stable_sort(skipped.begin(), skipped.end(), by_position);
}

bool HardwareProfile::has_measured() const {
  for (const auto* f : {&dram_bytes_per_s, &l2_bytes_per_s, &host_link_bytes_per_s})
    if (*f && (*f)->measured) return true;
  for (const auto& [key, figure] : peak_flops_per_s)
    if (figure.measured) return true;
  return false;
}

} // namespace brrr
