#include "nvml.hpp"

#include <cuda_runtime.h>

#include <array>
#include <dlfcn.h>
#include <memory>
#include <type_traits>
#include <utility>

namespace brrr::calibrate {

namespace {

// NVML's C interface as nvml.h declares it; the header is not installed with every toolkit.
// These calls and constants have kept their values since the NVML releases that introduced
// them (nvmlDevice_t is an opaque pointer; every call returns nvmlReturn_t, 0 for success).
using Device = void*;
constexpr int kSuccess = 0;
constexpr unsigned kClockSm = 1;     // NVML_CLOCK_SM
constexpr unsigned kClockMemory = 2; // NVML_CLOCK_MEM
constexpr unsigned kMigEnabled = 1;  // NVML_DEVICE_MIG_ENABLE
struct Utilization {
  unsigned gpu;
  unsigned memory;
};

// nvmlClocksEventReason* (formerly nvmlClocksThrottleReason*) bits.
constexpr std::array<std::pair<unsigned long long, const char*>, 9> kClockLimits{{
    {0x1, "idle"},
    {0x2, "applications clocks setting"},
    {0x4, "software power cap"},
    {0x8, "hardware slowdown"},
    {0x10, "sync boost"},
    {0x20, "software thermal slowdown"},
    {0x40, "hardware thermal slowdown"},
    {0x80, "hardware power brake"},
    {0x100, "display clock setting"},
}};

} // namespace

struct Nvml::Api {
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*handle_by_pci_bus_id)(const char*, Device*) = nullptr;
  int (*clock_info)(Device, unsigned, unsigned*) = nullptr;
  int (*driver_version)(char*, unsigned) = nullptr;
  // Optional: older drivers lack some.
  int (*mig_mode)(Device, unsigned*, unsigned*) = nullptr;
  int (*utilization)(Device, Utilization*) = nullptr;
  int (*clock_reasons)(Device, unsigned long long*) = nullptr;
};

Nvml::Nvml(int cuda_device) {
  library_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library_) return;
  auto api = std::make_unique<Api>();
  auto resolve = [this](auto& function, const char* name) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(library_, name));
    return function != nullptr;
  };
  const bool required = resolve(api->init, "nvmlInit_v2") && resolve(api->shutdown, "nvmlShutdown") &&
                        resolve(api->handle_by_pci_bus_id, "nvmlDeviceGetHandleByPciBusId_v2") &&
                        resolve(api->clock_info, "nvmlDeviceGetClockInfo") &&
                        resolve(api->driver_version, "nvmlSystemGetDriverVersion");
  resolve(api->mig_mode, "nvmlDeviceGetMigMode");
  resolve(api->utilization, "nvmlDeviceGetUtilizationRates");
  if (!resolve(api->clock_reasons, "nvmlDeviceGetCurrentClocksEventReasons"))
    resolve(api->clock_reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
  char bus_id[32] = {};
  Device device = nullptr;
  if (required && api->init() == kSuccess) {
    if (cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, cuda_device) == cudaSuccess &&
        api->handle_by_pci_bus_id(bus_id, &device) == kSuccess) {
      api_ = api.release();
      device_ = device;
      return;
    }
    api->shutdown();
  }
  dlclose(library_);
  library_ = nullptr;
}

Nvml::~Nvml() {
  if (api_) api_->shutdown();
  delete api_;
  if (library_) dlclose(library_);
}

Nvml::Clocks Nvml::clocks() const {
  Clocks out;
  if (!available()) return out;
  unsigned mhz = 0;
  if (api_->clock_info(device_, kClockSm, &mhz) == kSuccess) out.sm_mhz = mhz;
  if (api_->clock_info(device_, kClockMemory, &mhz) == kSuccess) out.memory_mhz = mhz;
  unsigned long long reasons = 0;
  if (api_->clock_reasons && api_->clock_reasons(device_, &reasons) == kSuccess)
    for (const auto& [bit, name] : kClockLimits)
      if ((reasons & bit) != 0) out.limits.emplace_back(name);
  return out;
}

std::optional<bool> Nvml::mig_enabled() const {
  unsigned current = 0;
  unsigned pending = 0;
  if (!available() || !api_->mig_mode || api_->mig_mode(device_, &current, &pending) != kSuccess) return std::nullopt;
  return current == kMigEnabled;
}

std::optional<unsigned> Nvml::utilization_percent() const {
  Utilization u{};
  if (!available() || !api_->utilization || api_->utilization(device_, &u) != kSuccess) return std::nullopt;
  return u.gpu;
}

std::string Nvml::driver_version() const {
  char version[96] = {};
  if (!available() || api_->driver_version(version, sizeof version) != kSuccess) return {};
  return version;
}

} // namespace brrr::calibrate
