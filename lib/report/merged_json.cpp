// The merged report's JSON form. Writing emits the job analysis for people and scripts, then
// the rank reports whole; reading takes only the rank reports and derives the rest again.

#include "report/json_parts.hpp"
#include "report/json_reader.hpp"
#include "report/merged.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace brrr {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

ojson rank_number(const Report& r) { return r.run.info.rank ? ojson(r.run.info.rank->rank) : ojson(nullptr); }

ojson straggler_json(const MergedReport& merged) {
  const auto& s = merged.analysis.straggler;
  if (!s) return nullptr;
  const Report& r = merged.ranks[s->index].report;
  ojson parts = ojson::object();
  for (std::size_t p = 0; p < part_count; ++p)
    parts[std::string(to_string(static_cast<Part>(p)))] = s->part_excess_ns[p];
  return {{"index", s->index},
          {"rank", rank_number(r)},
          {"host", r.run.info.host},
          {"cause", std::string(to_string(s->cause))},
          {"excess_ns", s->excess_ns},
          {"cause_ns", s->cause_ns},
          {"others_cause_ns", s->others_cause_ns},
          {"cause_excess_ns", s->cause_excess_ns},
          {"parts_excess_ns", std::move(parts)}};
}

} // namespace

bool is_merged_report(const json& j) {
  return j.is_object() && j.contains("kind") && j.at("kind").is_string() && j.at("kind").get<std::string>() == "merged";
}

ojson merged_to_json(const MergedReport& merged) {
  const MergeAnalysis& m = merged.analysis;
  ojson j;
  j["schema_version"] = merged_schema_version;
  j["kind"] = "merged";
  j["tool"] = {{"name", "brrr"}, {"version", merged.tool_version}};
  std::set<std::string> hosts;
  std::optional<uint32_t> world_size;
  for (const auto& r : merged.ranks) {
    hosts.insert(r.report.run.info.host);
    if (r.report.run.info.rank && r.report.run.info.rank->world_size) world_size = r.report.run.info.rank->world_size;
  }
  j["job"] = {{"rank_count", merged.ranks.size()},
              {"world_size", world_size ? ojson(*world_size) : ojson(nullptr)},
              {"hosts", hosts},
              {"wall_ns", m.wall_ns},
              {"mean_work_ns", m.mean_work_ns},
              {"max_work_ns", m.max_work_ns},
              {"load_imbalance_fraction", m.load_imbalance_fraction},
              {"straggler", straggler_json(merged)},
              {"attribution", {{"gpu_active", attribution_json(m.gpu_active)}}},
              {"verdict", verdict_json(m.verdict)}};
  ojson ranks = ojson::array();
  for (std::size_t i = 0; i < merged.ranks.size(); ++i) {
    const Report& r = merged.ranks[i].report;
    const RankAnalysis& a = m.ranks[i];
    ranks.push_back(
        {{"index", i},
         {"source", merged.ranks[i].source},
         {"rank", rank_number(r)},
         {"host", r.run.info.host},
         {"work_ns", a.work_ns},
         {"communication_ns", a.communication_ns},
         {"communication_wait_ns", a.communication_wait_ns},
         {"regime", std::string(to_string(r.analysis.verdict.regime))},
         {"headline", r.analysis.verdict.headline},
         {"attribution", {{"process", attribution_json(a.process)}, {"gpu_active", attribution_json(a.gpu_active)}}}});
  }
  j["ranks"] = std::move(ranks);
  ojson reports = ojson::array();
  for (const auto& r : merged.ranks) reports.push_back({{"source", r.source}, {"report", report_to_json(r.report)}});
  j["reports"] = std::move(reports);
  return j;
}

MergedReport merged_from_json(const json& j, const std::string& source) {
  JsonReader r(j, source);
  if (!is_merged_report(j)) r.fail("not a merged report (no \"kind\": \"merged\")");
  const auto version = r.at("schema_version").u64();
  if (version > static_cast<uint64_t>(merged_schema_version))
    r.fail("merged report schema_version " + std::to_string(version) + " is newer than this brrr reads (" +
           std::to_string(merged_schema_version) + "); upgrade brrr to read it");
  if (version < 1) r.at("schema_version").fail("must be 1 or more");
  std::vector<RankReport> ranks;
  const auto items = r.at("reports").items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    RankReport rank;
    rank.source = items[i].at("source").str();
    rank.report =
        report_from_json(items[i].at("report").json(), source + ": reports[" + std::to_string(i) + "].report");
    ranks.push_back(std::move(rank));
  }
  for (auto& rank : ranks) reanalyse(rank.report);
  try {
    return merge_reports(std::move(ranks), r.at("tool").at("version").str());
  } catch (const InputError& e) {
    throw InputError(source + ": " + e.what());
  }
}

RankReport read_rank_report(const std::filesystem::path& path) {
  const json j = read_json_file(path);
  if (is_merged_report(j))
    throw InputError(path.string() + ": is a merged report; merge the ranks' own reports (brrr profile writes them)");
  RankReport rank;
  rank.source = path.string();
  rank.report = report_from_json(j, path.string());
  reanalyse(rank.report);
  return rank;
}

} // namespace brrr
