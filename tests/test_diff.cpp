// brrr diff on the H100 recordings: a report against itself changes nothing; eager against
// compiled PyTorch (cos∘cos unfused, then fused by torch.compile; an MLP's training steps)
// changes what the measurements say, with golden text, Markdown and JSON; kernels are matched
// as the report groups them, then by name; reports from different GPUs are compared with a
// warning; every key of the JSON is documented in docs/ci.md.

#include <doctest/doctest.h>

#include "golden.hpp"
#include "process_runner.hpp"

#include "analyse/diff.hpp"
#include "model/format.hpp"
#include "render/diff_render.hpp"
#include "render/layout.hpp"
#include "report/report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <numeric>
#include <set>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;
using nlohmann::json;

const std::string eager_cos = "examples/reports/cos-eager-h100.json";
const std::string compiled_cos = "examples/reports/cos-compiled-h100.json";
const std::string eager_mlp = "examples/reports/mlp-eager-h100.json";
const std::string compiled_mlp = "examples/reports/mlp-compiled-h100.json";
const std::string demo = "examples/reports/demo-h100.json";

Report load(const std::string& relative) { return read_analysed_report(source_path(relative)); }

// brrr diff run from the source folder, so that the paths it prints are the same everywhere.
ProcessResult diff_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "diff");
  ProcessOptions options;
  options.cwd = source_path("");
  return run_brrr(args, options);
}

const KernelChange* find_change(const std::vector<KernelChange>& list, const std::string& text) {
  const auto it = std::find_if(list.begin(), list.end(),
                               [&](const KernelChange& k) { return k.name.find(text) != std::string::npos; });
  return it == list.end() ? nullptr : &*it;
}

int64_t parts_delta(const AttributionChange& a) {
  return std::accumulate(a.parts.begin(), a.parts.end(), int64_t{0},
                         [](int64_t sum, const TimeChange& t) { return sum + t.delta_ns(); });
}

} // namespace

TEST_CASE("diff: a report against itself changes nothing") {
  const Report a = load(demo);
  const Report b = load(demo);
  const ReportDiff d = diff_reports(a, b, "a.json", "b.json");
  CHECK(d.warnings.empty());
  CHECK(d.process.wall.delta_ns() == 0);
  for (const auto& p : d.process.parts) CHECK(p.delta_ns() == 0);
  CHECK(d.matched.size() == a.run.kernels.size());
  for (const auto& k : d.matched) {
    CHECK(k.match == KernelChange::Match::exact);
    CHECK(k.delta_ns() == 0);
  }
  CHECK(d.appeared.empty());
  CHECK(d.disappeared.empty());
  CHECK(d.rules_appeared.empty());
  CHECK(d.rules_disappeared.empty());
  CHECK(d.ranges.size() == a.run.ranges.size());
  CHECK(d.verdict == fmt::format("Wall time is unchanged ({}); the run is still {}-bound.",
                                 format_duration(static_cast<double>(a.run.timeline.wall_ns)),
                                 to_string(a.analysis.verdict.regime)));
}

TEST_CASE("diff: eager against compiled cos∘cos: the fused kernel appears, the unfused one goes") {
  const Report eager = load(eager_cos);
  const Report compiled = load(compiled_cos);
  const ReportDiff d = diff_reports(eager, compiled, eager_cos, compiled_cos);
  CHECK(d.warnings.empty());
  // The parts' changes add up to the wall time's, for the run and for the GPU-active span.
  CHECK(parts_delta(d.process) == d.process.wall.delta_ns());
  CHECK(parts_delta(d.gpu_active) == d.gpu_active.wall.delta_ns());
  CHECK(d.process.wall.before_ns == eager.run.timeline.wall_ns);
  CHECK(d.process.wall.after_ns == compiled.run.timeline.wall_ns);

  // torch.compile fuses x.cos().cos() into one Triton kernel; eager runs cos twice.
  const KernelChange* fused = find_change(d.appeared, "triton_poi_fused_cos");
  REQUIRE(fused);
  CHECK_FALSE(fused->before);
  CHECK(fused->after->bound == BoundClass::memory);
  CHECK(fused->after->configs.size() == 2); // two launch configurations of one name, shown as one entry
  const KernelChange* unfused = find_change(d.disappeared, "cos_kernel_cuda");
  REQUIRE(unfused);
  CHECK_FALSE(unfused->after);
  CHECK(unfused->delta_ns() == -static_cast<int64_t>(unfused->before->total_ns));
  // Matched kernels come largest change first.
  for (std::size_t i = 1; i < d.matched.size(); ++i)
    CHECK(std::llabs(d.matched[i - 1].delta_ns()) >= std::llabs(d.matched[i].delta_ns()));
  // Every kernel group of both reports is in exactly one entry.
  std::size_t before_groups = 0;
  std::size_t after_groups = 0;
  for (const auto* list : {&d.matched, &d.appeared, &d.disappeared})
    for (const auto& k : *list) {
      if (k.before) before_groups += k.before->configs.size();
      if (k.after) after_groups += k.after->configs.size();
    }
  CHECK(before_groups == eager.run.kernels.size());
  CHECK(after_groups == compiled.run.kernels.size());

  // The verdict is made of the numbers.
  CHECK(d.verdict.rfind(fmt::format("Wall time rose {} ({} → {})", format_percent(*d.process.wall.change()),
                                    format_duration(static_cast<double>(eager.run.timeline.wall_ns)),
                                    format_duration(static_cast<double>(compiled.run.timeline.wall_ns))),
                        0) == 0);
  const TimeChange& overhead = d.gpu_active.regime(Regime::overhead);
  CHECK(d.verdict.find(fmt::format("overhead rose from {} to {} of the GPU-active time",
                                   format_percent(overhead.before_fraction),
                                   format_percent(overhead.after_fraction))) != std::string::npos);
  CHECK(d.verdict.find(fmt::format("the run is still {}-bound.", to_string(compiled.analysis.verdict.regime))) !=
        std::string::npos);
}

TEST_CASE("diff: eager against compiled MLP training: the launch-bound finding goes, the phases compare") {
  const Report eager = load(eager_mlp);
  const Report compiled = load(compiled_mlp);
  const ReportDiff d = diff_reports(eager, compiled, eager_mlp, compiled_mlp);
  CHECK(parts_delta(d.process) == d.process.wall.delta_ns());
  REQUIRE(d.rules_disappeared.size() == 1);
  CHECK(d.rules_disappeared[0].rule_id == "overhead.launch-bound");
  CHECK(d.rules_appeared.empty());
  // Both runs have the warmup and step phases.
  REQUIRE(d.ranges.size() == 2);
  CHECK(d.ranges[1].name == "step");
  CHECK(d.ranges[1].before_instances == d.ranges[1].after_instances);
  CHECK(parts_delta(d.ranges[1].attribution) == d.ranges[1].attribution.wall.delta_ns());
  // Compiled, the step launches fewer cuBLAS kernels: the same kernel, fewer launches.
  const KernelChange* sgemm = find_change(d.matched, "sgemm_largek");
  REQUIRE(sgemm);
  CHECK(sgemm->after->launches < sgemm->before->launches);
}

TEST_CASE("diff: the verdict says when the regime changed") {
  // The verdict reads the reports' analyses; here the second one's regime is set by hand to
  // reach the wording of a change, which the recorded pairs (overhead-bound on both sides) lack.
  const Report before = load(compiled_cos);
  Report after = load(eager_cos);
  after.analysis.verdict.regime = Regime::memory;
  const ReportDiff d = diff_reports(before, after, "a", "b");
  CHECK(d.verdict.rfind("Wall time fell ", 0) == 0);
  CHECK(d.verdict.find("overhead fell from ") != std::string::npos);
  CHECK(d.verdict.substr(d.verdict.rfind("; ")) == "; the run is now memory-bound.");
  after.analysis.verdict.regime = Regime::unknown;
  const std::string unknown = diff_reports(before, after, "a", "b").verdict;
  CHECK(unknown.substr(unknown.rfind("; ")) == "; the run's regime is now unknown (its kernels have no counters).");
}

TEST_CASE("diff: a kernel whose grid changed is matched by its name") {
  TempDir dir("diff");
  json report = json::parse(read_text(source_path(demo)));
  auto& kernel = report["kernels"][0];
  const std::string name = kernel["name"];
  kernel["grid"][0] = kernel["grid"][0].get<uint32_t>() * 2;
  const Report before = load(demo);
  const Report after = read_analysed_report(dir.write("regrid.json", report.dump()));
  const ReportDiff d = diff_reports(before, after, "before", "after");
  const auto it =
      std::find_if(d.matched.begin(), d.matched.end(), [&](const KernelChange& k) { return k.name == name; });
  REQUIRE(it != d.matched.end());
  CHECK(it->match == KernelChange::Match::name);
  CHECK(d.appeared.empty());
  CHECK(d.disappeared.empty());
  const std::string text = render_diff_text(d, {});
  CHECK(text.find("~ matched by name: its grid or block changed") == std::string::npos); // no time changed
}

TEST_CASE("diff: reports from different GPUs are compared, with a warning") {
  TempDir dir("diff");
  json other = json::parse(read_text(source_path(compiled_cos)));
  other["gpus"][0]["name"] = "NVIDIA A100-SXM4-80GB";
  const fs::path a100 = dir.write("a100.json", other.dump());
  const Report before = load(eager_cos);
  const Report after = read_analysed_report(a100);
  const ReportDiff d = diff_reports(before, after, "h100.json", "a100.json");
  REQUIRE(d.warnings.size() == 1);
  CHECK(d.warnings[0] == "the reports come from different GPUs (NVIDIA H100 80GB HBM3, then NVIDIA A100-SXM4-80GB): "
                         "the times compare the GPUs as well as the programs");

  const auto text = diff_cli({eager_cos, a100.string()});
  CHECK(text.status == 0);
  CHECK(text.out.find("\nWARNING the reports come from different GPUs (NVIDIA H100 80GB HBM3, then NVIDIA "
                      "A100-SXM4-80GB):") != std::string::npos);
  CHECK(text.out.find("NVIDIA H100 80GB HBM3 → NVIDIA A100-SXM4-80GB · wall") != std::string::npos);
  const auto md = diff_cli({eager_cos, a100.string(), "-f", "md"});
  CHECK(md.out.find("> **Warning:** the reports come from different GPUs") != std::string::npos);
  const auto j = json::parse(diff_cli({eager_cos, a100.string(), "--format", "json"}).out);
  CHECK(j["warnings"] == json::array({d.warnings[0]}));
  // The same GPU with another profile is a warning of its own.
  other["gpus"][0]["name"] = "NVIDIA H100 80GB HBM3";
  other["hardware_profile"]["id"] = "h100-custom";
  const Report reprofiled = read_analysed_report(dir.write("profile.json", other.dump()));
  const ReportDiff p = diff_reports(before, reprofiled, "a", "b");
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].rfind("the reports use different hardware profiles (h100-sxm, then h100-custom)", 0) == 0);
}

TEST_CASE("golden: brrr diff of eager and compiled PyTorch, text, Markdown and JSON") {
  struct Case {
    std::vector<std::string> args;
    std::string golden;
  };
  const std::vector<Case> cases{
      {{eager_cos, compiled_cos}, "diff-cos-eager-compiled.txt"},
      {{eager_mlp, compiled_mlp}, "diff-mlp-eager-compiled.txt"},
      {{eager_mlp, compiled_mlp, "--format", "md", "--top", "5"}, "diff-mlp-eager-compiled.md"},
      {{eager_cos, compiled_cos, "--format", "json"}, "diff-cos-eager-compiled.json"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.golden);
    const auto r = diff_cli(c.args);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    check_golden(source_path("tests/golden/" + c.golden), r.out);
  }
  // Within 100 columns, and no trailing spaces.
  const auto text = diff_cli({eager_mlp, compiled_mlp});
  for (const auto& line : lines_of(text.out)) {
    CAPTURE(line);
    CHECK(layout::display_width(line) <= 100);
    CHECK((line.empty() || line.back() != ' '));
  }
}

TEST_CASE("diff: the JSON starts with schema_version, and docs/ci.md documents every key") {
  const auto r = diff_cli({eager_mlp, compiled_mlp, "-f", "json"});
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind("{\n  \"schema_version\": 1,", 0) == 0);
  const json j = json::parse(r.out);
  const std::string doc = read_text(source_path("docs/ci.md"));
  std::set<std::string> keys;
  std::function<void(const json&)> collect = [&](const json& v) {
    if (v.is_object())
      for (const auto& [key, value] : v.items()) {
        keys.insert(key);
        collect(value);
      }
    else if (v.is_array())
      for (const auto& item : v) collect(item);
  };
  collect(j);
  for (const auto& key : keys) {
    CAPTURE(key);
    CHECK(doc.find("`" + key + "`") != std::string::npos);
  }
  CHECK(j["wall_change_fraction"].get<double>() ==
        doctest::Approx(static_cast<double>(j["after"]["wall_ns"].get<uint64_t>()) /
                            static_cast<double>(j["before"]["wall_ns"].get<uint64_t>()) -
                        1));
}

TEST_CASE("cli: diff usage and input errors exit 2") {
  const auto missing = diff_cli({eager_cos});
  CHECK(missing.status == 2);
  CHECK(missing.err.rfind("brrr: error: ", 0) == 0);
  const auto csv = diff_cli({eager_cos, compiled_cos, "-f", "csv"});
  CHECK(csv.status == 2);
  CHECK(csv.err.find("csv") != std::string::npos);
  const auto absent = diff_cli({eager_cos, "nowhere.json"});
  CHECK(absent.status == 2);
  CHECK(absent.out.empty());
  CHECK(absent.err.rfind("brrr: error: nowhere.json: no such file", 0) == 0);
}
