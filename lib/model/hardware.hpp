#pragma once
// A hardware profile: the ceilings of one GPU model, the roofs of its roofline. Profiles are
// data (profiles/*.json, compiled into brrr and overridable with --profile); each figure
// carries where it came from, and a calibrated profile carries a measured value beside the
// datasheet one.

#include "model/units.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace brrr {

struct Figure {
  double value = 0; // the datasheet (or otherwise documented) value
  std::string source;
  std::optional<double> measured; // from `brrr calibrate` on this GPU
  bool operator==(const Figure&) const = default;
};

// Which value of each figure the roofs use.
enum class Ceilings : uint8_t { datasheet, measured };

struct HardwareProfile {
  std::string id;
  std::string name;
  std::string architecture;
  std::string compute_capability;
  std::vector<std::string> match_names;
  std::optional<Figure> sm_count;
  std::optional<Figure> sm_boost_clock_mhz;
  std::optional<Figure> memory_bytes;
  std::optional<Figure> l2_bytes;
  std::optional<Figure> dram_bytes_per_s;
  std::optional<Figure> l2_bytes_per_s;
  std::optional<Figure> host_link_bytes_per_s;
  std::map<std::pair<Precision, Pipe>, Figure> peak_flops_per_s;
  std::string notes;
  // Where this profile came from: "builtin:<id>" or a file path. Not part of the file.
  std::string origin;
  bool operator==(const HardwareProfile&) const = default;

  // A figure's value under the chosen ceilings (the datasheet value when none was measured).
  [[nodiscard]] static double pick(const Figure& f, Ceilings c) {
    return c == Ceilings::measured && f.measured ? *f.measured : f.value;
  }
  [[nodiscard]] std::optional<double> peak(Precision p, Pipe u, Ceilings c) const;
  [[nodiscard]] std::optional<double> dram_bandwidth(Ceilings c) const;
  [[nodiscard]] std::optional<double> l2_bandwidth(Ceilings c) const;
  [[nodiscard]] bool has_measured() const;
};

} // namespace brrr
