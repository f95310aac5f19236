#pragma once
// Pieces of the report's JSON form that the merged report (report/merged.hpp) writes in the
// same shape: an attribution, a finding, a verdict.

#include "analyse/analysis.hpp"

#include <nlohmann/json.hpp>

namespace brrr {

[[nodiscard]] nlohmann::ordered_json attribution_json(const Attribution& a);
[[nodiscard]] nlohmann::ordered_json finding_json(const Finding& f);
[[nodiscard]] nlohmann::ordered_json verdict_json(const Verdict& v);

} // namespace brrr
