#pragma once
// The merged report (`brrr merge`), as JSON: `"kind": "merged"`, the job analysis, and every
// rank's report whole. The rank reports are its measured part; the rest is derived and is
// derived again when the file is read back (docs/report-format.md, "Merged reports").

#include "analyse/merge.hpp"
#include "report/report.hpp"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <string>

namespace brrr {

// The version of the merged layout, which the merged report's schema_version states. It
// counts separately from the rank reports' own schema_version.
inline constexpr int merged_schema_version = 1;

[[nodiscard]] nlohmann::ordered_json merged_to_json(const MergedReport& merged);

// Reads a merged report's rank reports, checks them as `brrr merge` does, and analyses them
// and the job again. Throws InputError naming `source` and the field.
[[nodiscard]] MergedReport merged_from_json(const nlohmann::json& j, const std::string& source);

// Whether a parsed JSON document is a merged report (its "kind" says so).
[[nodiscard]] bool is_merged_report(const nlohmann::json& j);

// Reads one rank's report for `brrr merge`, analysed; refuses a merged report with a clear line.
[[nodiscard]] RankReport read_rank_report(const std::filesystem::path& path);

} // namespace brrr
