#pragma once
// Which rank of a multi-process job a process is, from the variables its launcher set
// (collect/rank_variables.hpp lists them and their precedence).

#include "model/trace.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brrr {

// An environment variable's value, or nothing when it is not set.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The rank the variables name, or nothing when no launcher variable holds a valid number (a
// non-negative decimal integer below 2^31). A launcher's local rank and world size are taken
// only from that launcher's own variables, and only when valid. LOCAL_RANK alone, without any
// rank variable, gives launcher "local": the rank on the host is all that is known.
[[nodiscard]] std::optional<RankInfo> detect_rank(const EnvironmentLookup& lookup);

// The same, from this process's environment.
[[nodiscard]] std::optional<RankInfo> rank_from_environment();

// The same, from NAME=VALUE pairs (what the injection library recorded of a process).
[[nodiscard]] std::optional<RankInfo>
rank_from_variables(const std::vector<std::pair<std::string, std::string>>& variables);

} // namespace brrr
