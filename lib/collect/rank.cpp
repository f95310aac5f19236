#include "collect/rank.hpp"

#include "collect/rank_variables.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>

namespace brrr {

namespace {

std::optional<uint32_t> parse_rank_number(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  uint32_t value = 0;
  const char* end = text->data() + text->size();
  const auto [at, error] = std::from_chars(text->data(), end, value);
  if (error != std::errc() || at != end || value > INT32_MAX) return std::nullopt;
  return value;
}

} // namespace

std::optional<RankInfo> detect_rank(const EnvironmentLookup& lookup) {
  for (const auto& l : launcher_variables) {
    const auto rank = parse_rank_number(lookup(l.rank));
    if (!rank) continue;
    RankInfo info;
    info.launcher = std::string(l.launcher);
    if (l.rank == "RANK" && !lookup(torchrun_marker_variable)) info.launcher = "torch";
    info.variable = std::string(l.rank);
    info.rank = *rank;
    info.local_rank = parse_rank_number(lookup(l.local_rank));
    info.world_size = parse_rank_number(lookup(l.world_size));
    // A world size that does not hold the rank is not this job's.
    if (info.world_size && *info.world_size <= info.rank) info.world_size.reset();
    return info;
  }
  if (const auto local = parse_rank_number(lookup("LOCAL_RANK"))) {
    RankInfo info;
    info.launcher = "local";
    info.variable = "LOCAL_RANK";
    info.rank = *local;
    info.local_rank = *local;
    return info;
  }
  return std::nullopt;
}

std::optional<RankInfo> rank_from_environment() {
  return detect_rank([](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  });
}

std::optional<RankInfo> rank_from_variables(const std::vector<std::pair<std::string, std::string>>& variables) {
  return detect_rank([&](std::string_view name) -> std::optional<std::string> {
    for (const auto& [key, value] : variables)
      if (key == name) return value;
    return std::nullopt;
  });
}

} // namespace brrr
