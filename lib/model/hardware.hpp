#pragma once
// A hardware profile: the ceilings of one GPU model, the roofs of its roofline. Profiles are
// data (profiles/*.json, compiled into brrr and overridable with --profile); each figure
// carries where it came from, and a calibrated profile carries a measured value beside the
// datasheet one and, in its `calibration`, how and where those were measured.

#include "model/ceilings.hpp"
#include "model/run.hpp"
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

// One ceiling `brrr calibrate` measured (model/ceilings.hpp has the ids).
struct CeilingMeasurement {
  std::string id;
  // The ceiling, taken from the runs by `statistic`: the best run (the highest rate, or the
  // lowest latency for a ceiling in ns), or the fast decile of a host-bound ceiling's trials.
  double value = 0;
  CeilingStatistic statistic = CeilingStatistic::best;
  // Every timed run (or trial), in the order they ran: their spread shows how steady the GPU,
  // or the host, was.
  std::vector<double> runs;
  // How it was measured, where there was a choice (which GEMM was the fastest); often empty.
  std::string setup;
  // The clocks NVML reported during the run the value comes from, and why they were held
  // below their maximum then (NVML's clock event reasons, e.g. "software power cap"). Empty
  // when NVML could not be read.
  std::optional<uint32_t> sm_clock_mhz;
  std::optional<uint32_t> memory_clock_mhz;
  std::vector<std::string> clock_limits;
  bool operator==(const CeilingMeasurement&) const = default;
};

struct SkippedCeiling {
  std::string id;
  std::string reason;
  bool operator==(const SkippedCeiling&) const = default;
};

// What `brrr calibrate` measured on one GPU, and the circumstances: which GPU, at which
// clocks, when, with which brrr.
struct Calibration {
  std::string tool_version;
  std::string date; // ISO 8601, UTC
  std::string host;
  // The device as CUDA reports it; gpu.sm_clock_mhz is its maximum SM clock, the clock a
  // report's gpus[].sm_clock_mhz holds, by which a calibration is matched to a run.
  GpuInfo gpu;
  uint32_t max_memory_clock_mhz = 0;
  std::string driver_version;
  // Whether NVML answered: without it the clocks under load, the reasons they were held down
  // and a MIG slice cannot be told.
  bool nvml = false;
  uint64_t duration_ns = 0;
  std::vector<CeilingMeasurement> ceilings;
  std::vector<SkippedCeiling> skipped;
  // Conditions that make the figures less trustworthy (a busy GPU, clocks below maximum).
  std::vector<std::string> warnings;
  bool operator==(const Calibration&) const = default;

  [[nodiscard]] const CeilingMeasurement* find(std::string_view id) const;
  // Puts the ceilings and the skipped ones in the order of the table (model/ceilings.hpp),
  // whatever order they were measured or read in.
  void sort();
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
  // Present in a profile written by `brrr calibrate` (JSON key `measured`).
  std::optional<Calibration> calibration;
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
