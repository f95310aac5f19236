// A merged report for people: the job's verdict first, then the ranks side by side (each
// rank's GPU-active span and where it went), the straggler's finding, and each rank's own
// headline. The text and Markdown forms show the same table.

#include "render/layout.hpp"
#include "render/render.hpp"

#include "model/format.hpp"

#include <fmt/format.h>

#include <set>

namespace brrr {

using namespace layout;

namespace {

double as_double(uint64_t v) { return static_cast<double>(v); }

// The ranks side by side: one column per rank, one row per figure.
struct RankTable {
  std::vector<std::string> columns;
  struct Row {
    std::string label;
    bool indented = false;
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;
};

RankTable rank_table(const MergedReport& merged) {
  const MergeAnalysis& m = merged.analysis;
  RankTable t;
  for (std::size_t r = 0; r < merged.ranks.size(); ++r)
    t.columns.push_back(rank_label(merged.ranks, r) + (m.straggler && m.straggler->index == r ? "*" : ""));
  auto duration_row = [&](const std::string& label, auto value) {
    RankTable::Row row{label, false, {}};
    for (const auto& a : m.ranks) row.cells.push_back(format_duration(as_double(value(a))));
    t.rows.push_back(std::move(row));
  };
  duration_row("GPU-active", [](const RankAnalysis& a) { return a.gpu_active.wall_ns; });
  duration_row("own work", [](const RankAnalysis& a) { return a.work_ns; });
  if (m.gpu_active.get(Part::communication) + m.gpu_active.get(Part::communication_wait) > 0) {
    duration_row("collectives", [](const RankAnalysis& a) { return a.communication_ns; });
    duration_row("collectives: waiting", [](const RankAnalysis& a) { return a.communication_wait_ns; });
  }
  auto share_row = [&](const std::string& label, bool indented, auto ns) {
    RankTable::Row row{label, indented, {}};
    for (const auto& a : m.ranks) row.cells.push_back(format_percent(a.gpu_active.fraction(ns(a.gpu_active))));
    t.rows.push_back(std::move(row));
  };
  for (auto regime : all_regimes) {
    if (m.gpu_active.regime_ns(regime) == 0 && regime != Regime::compute && regime != Regime::memory &&
        regime != Regime::overhead)
      continue;
    share_row(std::string(to_string(regime)), false, [&](const Attribution& a) { return a.regime_ns(regime); });
    if (regime != Regime::overhead && regime != Regime::communication) continue;
    for (std::size_t p = 0; p < part_count; ++p) {
      const auto part = static_cast<Part>(p);
      if (regime_of(part) != regime || m.gpu_active.get(part) == 0) continue;
      share_row(std::string(part_label(part)), true, [&](const Attribution& a) { return a.get(part); });
    }
  }
  RankTable::Row verdicts{"own verdict", false, {}};
  for (const auto& r : merged.ranks) {
    const Regime regime = r.report.analysis.verdict.regime;
    verdicts.cells.emplace_back(regime == Regime::communication ? "comm" : to_string(regime));
  }
  t.rows.push_back(std::move(verdicts));
  return t;
}

std::string job_summary(const MergedReport& merged) {
  std::set<std::string> hosts;
  std::set<std::string> gpus;
  for (const auto& r : merged.ranks) {
    hosts.insert(r.report.run.info.host);
    if (!r.report.run.gpus.empty()) gpus.insert(r.report.run.gpus.front().name);
  }
  std::string gpu_names;
  for (const auto& g : gpus) gpu_names += (gpu_names.empty() ? "" : ", ") + g;
  return fmt::format("{} ranks on {} host{} · job wall {} · {}", merged.ranks.size(), hosts.size(),
                     hosts.size() == 1 ? "" : "s", format_duration(as_double(merged.analysis.wall_ns)),
                     gpu_names.empty() ? "no GPU recorded" : gpu_names);
}

} // namespace

std::string render_merged_text(const MergedReport& merged, const RenderOptions& o) {
  const Style s(o.color);
  const MergeAnalysis& m = merged.analysis;
  std::string out;
  out += s.bold("brrr") + "  merged job\n";
  out += s.dim(clip(job_summary(merged), o.width)) + "\n\n";
  out += s.bold("VERDICT") + "\n";
  out += wrap(m.verdict.headline, o.width, 2, 2) + "\n";
  for (const auto& note : m.verdict.notes) out += wrap(note, o.width, 2, 2) + "\n";
  out += "\n";

  const RankTable t = rank_table(merged);
  constexpr std::size_t label_width = 24;
  constexpr std::size_t column_width = 11;
  const std::size_t per_block = std::max<std::size_t>(1, (o.width - label_width) / column_width);
  out += s.bold("RANKS") + s.dim("  (each rank's GPU-active span: its time, and where it went)") + "\n";
  for (std::size_t first = 0; first < t.columns.size(); first += per_block) {
    const std::size_t last = std::min(t.columns.size(), first + per_block);
    std::string header = pad_right("", label_width);
    for (std::size_t c = first; c < last; ++c) header += pad_left(clip(t.columns[c], column_width - 1), column_width);
    out += s.dim(header) + "\n";
    for (const auto& row : t.rows) {
      std::string line = pad_right(std::string(row.indented ? 4 : 2, ' ') + row.label, label_width);
      for (std::size_t c = first; c < last; ++c) line += pad_left(row.cells[c], column_width);
      out += line + "\n";
    }
    out += "\n";
  }
  if (m.straggler) out += s.dim("  * the straggler") + "\n\n";

  text_findings(out, m.verdict, o, s);

  out += s.bold("EACH RANK") + s.dim("  (its own verdict: brrr explain on its report for the details)") + "\n";
  for (std::size_t r = 0; r < merged.ranks.size(); ++r)
    out += wrap(rank_label(merged.ranks, r) + ": " + merged.ranks[r].report.analysis.verdict.headline, o.width, 4, 2) +
           "\n";
  return out;
}

std::string render_merged_markdown(const MergedReport& merged) {
  const MergeAnalysis& m = merged.analysis;
  std::string out =
      fmt::format("## brrr: merged job\n\n{}\n\n**{}**\n\n", markdown_cell(job_summary(merged)), m.verdict.headline);
  for (const auto& note : m.verdict.notes) out += fmt::format("> {}\n>\n", note);
  if (!m.verdict.notes.empty()) out += "\n";
  const RankTable t = rank_table(merged);
  out += "| |";
  for (const auto& c : t.columns) out += " " + markdown_cell(c) + " |";
  out += "\n|---|";
  for (std::size_t c = 0; c < t.columns.size(); ++c) out += "---:|";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "| " + std::string(row.indented ? "  " : "") + markdown_cell(row.label) + " |";
    for (const auto& cell : row.cells) out += " " + cell + " |";
    out += "\n";
  }
  if (m.straggler) out += "\n\\* the straggler\n";
  out += "\n" + markdown_findings(m.verdict);
  out += "\n### Each rank\n\n";
  for (std::size_t r = 0; r < merged.ranks.size(); ++r)
    out += fmt::format("- **{}** (`{}`): {}\n", rank_label(merged.ranks, r), markdown_cell(merged.ranks[r].source),
                       merged.ranks[r].report.analysis.verdict.headline);
  return out;
}

std::string render_merged_csv(const MergedReport& merged) {
  std::string out = "index,rank,host,source,wall_ns,gpu_active_ns,work_ns,communication_ns,communication_wait_ns,"
                    "straggler,regime";
  for (std::size_t p = 0; p < part_count; ++p) out += fmt::format(",{}_ns", to_string(static_cast<Part>(p)));
  out += "\n";
  const MergeAnalysis& m = merged.analysis;
  for (std::size_t r = 0; r < merged.ranks.size(); ++r) {
    const Report& report = merged.ranks[r].report;
    const RankAnalysis& a = m.ranks[r];
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}", r,
                       report.run.info.rank ? std::to_string(report.run.info.rank->rank) : std::string(),
                       csv_field(report.run.info.host), csv_field(merged.ranks[r].source), report.run.timeline.wall_ns,
                       a.gpu_active.wall_ns, a.work_ns, a.communication_ns, a.communication_wait_ns,
                       m.straggler && m.straggler->index == r ? "true" : "false",
                       to_string(report.analysis.verdict.regime));
    for (std::size_t p = 0; p < part_count; ++p) out += fmt::format(",{}", a.gpu_active.ns[p]);
    out += "\n";
  }
  return out;
}

} // namespace brrr
