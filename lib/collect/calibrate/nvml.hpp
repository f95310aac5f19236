#pragma once
// The few NVML queries calibration needs (clocks, why they are held down, MIG, how busy the
// GPU is), through libnvidia-ml.so.1 opened at run time: NVML comes with the driver, not the
// toolkit, and calibration must still run where it is missing.

#include <optional>
#include <string>
#include <vector>

namespace brrr::calibrate {

class Nvml {
public:
  // The NVML device of a CUDA device, found by its PCI bus id: for a MIG instance, that is the
  // whole GPU, whose clocks and MIG mode are the ones that matter.
  explicit Nvml(int cuda_device);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  [[nodiscard]] bool available() const { return device_ != nullptr; }

  struct Clocks {
    std::optional<unsigned> sm_mhz;
    std::optional<unsigned> memory_mhz;
    // Why the clocks are below their maximum now, in words ("software power cap").
    std::vector<std::string> limits;
  };
  [[nodiscard]] Clocks clocks() const;
  [[nodiscard]] std::optional<bool> mig_enabled() const;
  // The GPU's utilization over NVML's last sample period, in percent.
  [[nodiscard]] std::optional<unsigned> utilization_percent() const;
  // "580.159.04"; empty without NVML.
  [[nodiscard]] std::string driver_version() const;

private:
  struct Api;
  void* library_ = nullptr;
  Api* api_ = nullptr;
  void* device_ = nullptr;
};

} // namespace brrr::calibrate
