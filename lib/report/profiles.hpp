#pragma once
// Hardware profiles as JSON: reading and writing them, the profiles compiled into brrr from
// profiles/*.json, and finding the one that fits a GPU.

#include "model/hardware.hpp"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

inline constexpr int profile_schema_version = 1;

// Throws InputError naming `source` and the offending field.
[[nodiscard]] HardwareProfile profile_from_json(const nlohmann::json& j, const std::string& source);
// Keys in the order of the files in profiles/ (schema_version first), the calibration's
// `measured` section last.
[[nodiscard]] nlohmann::ordered_json profile_to_json(const HardwareProfile& profile);
// A GPU as a report's gpus[] and a calibration's measured.gpu write it.
[[nodiscard]] nlohmann::ordered_json gpu_to_json(const GpuInfo& gpu);
[[nodiscard]] HardwareProfile read_profile(const std::filesystem::path& path);

// The profiles built into this brrr (from profiles/*.json in the source tree).
[[nodiscard]] const std::vector<HardwareProfile>& builtin_profiles();

struct ProfileMatch {
  HardwareProfile profile;
  // False when the device's name only contains one of the profile's names (an "H200 NVL"
  // matched by "H200"): the figures may not be this device's, and the user is told.
  bool exact = true;
};

// The profile for a device, among profiles of its compute capability: an exact
// (case-insensitive) match of one of a profile's match_names, else the longest match_name
// found in the device name as whole words ("NVIDIA L4" does not match "NVIDIA L40").
// Empty when none fits.
[[nodiscard]] std::optional<ProfileMatch> match_profile(const std::vector<HardwareProfile>& profiles,
                                                        const std::string& device_name,
                                                        const std::string& compute_capability);

} // namespace brrr
