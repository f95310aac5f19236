// The CI gates: the condition grammar (every error, with its column, in the library and
// through the CLI with exit 2), conditions evaluated on the H100 recordings, and the exit
// status and one line per failed gate of `brrr explain --fail-if` and `brrr diff --fail-if`.

#include <doctest/doctest.h>

#include "process_runner.hpp"

#include "analyse/gate.hpp"
#include "analyse/rules.hpp"
#include "model/format.hpp"
#include "report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;

fs::path recorded(const std::string& name) { return source_path("examples/reports/" + name); }

Condition parsed(const std::string& text, GateContext context = GateContext::report) {
  const ParsedCondition p = parse_condition(text, context);
  INFO(text, " → ", describe(p.error));
  REQUIRE(p.condition);
  return *p.condition;
}

std::vector<std::string> gates(const std::string& text, const Report& report) {
  return check_gates({parsed(text)}, report);
}

std::vector<std::string> diff_gates(const std::string& text, const Report& before, const Report& after) {
  return check_gates({parsed(text, GateContext::diff)}, before, after);
}

// A malformed condition: the context it is written in, the column of the problem and a part
// of the message that says what is wrong.
struct GrammarError {
  std::string text;
  GateContext context;
  std::size_t column;
  std::string message;
};

const std::vector<GrammarError> grammar_errors{
    {"", GateContext::report, 1, "empty condition"},
    {"   ", GateContext::report, 4, "empty condition"},
    {"> 30%", GateContext::report, 1, "expected a metric, such as overhead, wall or kernel('NAME').time, found '>'"},
    {"overhed > 30%", GateContext::report, 1, "unknown metric 'overhed' (did you mean 'overhead'?)"},
    // What was found is shortened between characters, never inside one (found by fuzz_gate).
    {"#wwwwwwwwwwwwwwwwwwwwwwµs", GateContext::report, 1, "found '#wwwwwwwwwwwwwwwwwwwwww'"},
    {"gpu_active.bogus > 5%", GateContext::report, 1, "unknown metric 'gpu_active.bogus'"},
    {"overhead. > 3%", GateContext::report, 9, "'overhead.' ends with a dot"},
    {"foo(1) > 2", GateContext::report, 1, "unknown function 'foo('"},
    {"overhead", GateContext::report, 9, "expected a comparison (>, >=, <, <=, == or !=) after overhead"},
    {"overhead 30%", GateContext::report, 10,
     "expected a comparison (>, >=, <, <=, == or !=) after overhead, found '30%'"},
    {"overhead = 30%", GateContext::report, 10, "unknown operator '=' (did you mean '=='?)"},
    {"overhead => 30%", GateContext::report, 10, "unknown operator '=>'"},
    {"overhead >> 30%", GateContext::report, 10, "unknown operator '>>'"},
    {"overhead >", GateContext::report, 11, "expected a value after '>'"},
    {"overhead > abc", GateContext::report, 12, "expected a number, found 'abc'"},
    {"overhead > 30", GateContext::report, 12, "overhead is a share of the time or a time: give a unit"},
    {"overhead > 30min", GateContext::report, 14, "unknown unit 'min'; use %, s, ms, us (or µs) or ns"},
    {"overhead > 30% extra", GateContext::report, 16, "unexpected 'extra' after the value"},
    {"overhead > -5%", GateContext::report, 12, "overhead cannot be negative"},
    {"overhead > 99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "999999%",
     GateContext::report, 12, "is not a number brrr can use"},
    {"wall > 30%", GateContext::report, 8, "wall is a time: give a unit, such as 2s"},
    {"launches > 5ms", GateContext::report, 12, "launches is a count: give a plain number"},
    {"kernel(gemm).time > 1ms", GateContext::report, 8, "kernel(…) takes a quoted name, such as kernel('gemm')"},
    {"kernel('gemm", GateContext::report, 8, "this quote is not closed"},
    {"kernel('gemm'.time > 1ms", GateContext::report, 14, "expected ')' after the kernel name, found '.time'"},
    {"kernel('').time > 1ms", GateContext::report, 8, "kernel('') names nothing; give a name"},
    {"kernel('gemm') > 1ms", GateContext::report, 15, "kernel('gemm') needs a field: .time, .share or .launches"},
    {"kernel('gemm').speed > 1ms", GateContext::report, 16, "unknown field '.speed'"},
    {"kernel('gemm').time.bogus > 1ms", GateContext::report, 20, "unexpected '.bogus'"},
    {"kernel('x').share > 1ms", GateContext::report, 21,
     "kernel('x').share is a share of the wall time: give a "
     "percentage"},
    {"range(step).time > 1s", GateContext::report, 7, "range(…) takes a quoted name, such as range('gemm')"},
    {"range('step') > 1s", GateContext::report, 14, "range('step') needs a field: .time, or a part or group"},
    {"range('step').bogus > 1%", GateContext::report, 15, "unknown field '.bogus' of range(…)"},
    {"range('step').time > 30%", GateContext::report, 22, "range('step').time is a time: give a unit"},
    {"range('step').time.new", GateContext::diff, 19, "'.new' is for rule(…) only"},
    {"range('step').compute.change > 5%", GateContext::diff, 22, "range('step').compute is a share: its change is"},
    {"rule(overhead.lanch-bound)", GateContext::report, 6,
     "unknown rule 'overhead.lanch-bound' (did you mean 'overhead.launch-bound'?)"},
    {"rule()", GateContext::report, 6, "rule(…) takes a rule id"},
    {"rule(overhead.sync", GateContext::report, 19, "expected ')' after the rule id, found the end of the condition"},
    {"rule(overhead.sync) > 1", GateContext::report, 21, "is true when the rule fires and takes no comparison"},
    {"rule(overhead.sync) foo", GateContext::report, 21, "unexpected 'foo' after rule(overhead.sync)"},
    {"regime > memory", GateContext::report, 8, "regime is a word: compare it with == or != only"},
    {"regime == fast", GateContext::report, 11, "unknown regime 'fast'"},
    {"regime ==", GateContext::report, 10, "expected a regime (compute, memory, overhead or unknown), found the end"},
    {"overhead.delta > 5%", GateContext::report, 9, "'.delta' compares two reports; use it with brrr diff"},
    {"wall.before > 1s", GateContext::report, 5, "'.before' compares two reports"},
    {"overhead > 5%", GateContext::diff, 9, "say which value of overhead with .before, .after or .delta"},
    {"wall > 5s", GateContext::diff, 5, "say which value of wall with .before, .after, .delta or .change"},
    {"rule(overhead.sync)", GateContext::diff, 20,
     "say which value of rule(overhead.sync) with .before, .after or .new"},
    {"overhead.change > 5%", GateContext::diff, 9,
     "overhead is a share: its change is overhead.delta, in percentage "
     "points"},
    {"regime.delta == memory", GateContext::diff, 7, "regime has no '.delta'; it takes .before or .after"},
    {"rule(overhead.sync).delta", GateContext::diff, 20, "rule(overhead.sync) has no '.delta'"},
    {"overhead.new > 1%", GateContext::diff, 9, "'.new' is for rule(…) only"},
    {"wall.change > 5ms", GateContext::diff, 15, "wall.change is a relative change: give a percentage"},
    {"overhead.delta > 5", GateContext::diff, 18, "overhead.delta is a share of the time or a time: give a unit"},
};

} // namespace

TEST_CASE("gate: the conditions of the grammar parse") {
  struct Case {
    std::string text;
    GateContext context;
    MetricSource source;
    DiffSuffix suffix;
    std::optional<CompareOp> op;
    ThresholdUnit unit;
    double threshold;
  };
  const std::vector<Case> cases{
      {"overhead > 30%", GateContext::report, MetricSource::attribution, DiffSuffix::none, CompareOp::greater,
       ThresholdUnit::percent, 0.3},
      {"  idle.launch>=200ms ", GateContext::report, MetricSource::attribution, DiffSuffix::none,
       CompareOp::greater_equal, ThresholdUnit::time, 200e6},
      {"gpu_active.memory < 12.5%", GateContext::report, MetricSource::attribution, DiffSuffix::none, CompareOp::less,
       ThresholdUnit::percent, 0.125},
      {"wall <= 2s", GateContext::report, MetricSource::wall, DiffSuffix::none, CompareOp::less_equal,
       ThresholdUnit::time, 2e9},
      {"gpu_active != 20 us", GateContext::report, MetricSource::gpu_active, DiffSuffix::none, CompareOp::not_equal,
       ThresholdUnit::time, 20e3},
      {"wall > 5µs", GateContext::report, MetricSource::wall, DiffSuffix::none, CompareOp::greater, ThresholdUnit::time,
       5e3},
      {"wall > 800ns", GateContext::report, MetricSource::wall, DiffSuffix::none, CompareOp::greater,
       ThresholdUnit::time, 800},
      {"launches == 22001", GateContext::report, MetricSource::launches, DiffSuffix::none, CompareOp::equal,
       ThresholdUnit::none, 22001},
      {"kernel('gemm').time > 10ms", GateContext::report, MetricSource::kernel_time, DiffSuffix::none,
       CompareOp::greater, ThresholdUnit::time, 10e6},
      {"kernel(\"a'b\").share > 1%", GateContext::report, MetricSource::kernel_share, DiffSuffix::none,
       CompareOp::greater, ThresholdUnit::percent, 0.01},
      {"kernel('x').launches > 100", GateContext::report, MetricSource::kernel_launches, DiffSuffix::none,
       CompareOp::greater, ThresholdUnit::none, 100},
      {"range('gemm').time > 500ms", GateContext::report, MetricSource::range_time, DiffSuffix::none,
       CompareOp::greater, ThresholdUnit::time, 500e6},
      {"range('gemm').compute < 90%", GateContext::report, MetricSource::range_attribution, DiffSuffix::none,
       CompareOp::less, ThresholdUnit::percent, 0.9},
      {"range('step').idle.launch.delta > 1%", GateContext::diff, MetricSource::range_attribution, DiffSuffix::delta,
       CompareOp::greater, ThresholdUnit::percent, 0.01},
      {"range('step').time.change > 5%", GateContext::diff, MetricSource::range_time, DiffSuffix::change,
       CompareOp::greater, ThresholdUnit::percent, 0.05},
      {"rule(overhead.launch-bound)", GateContext::report, MetricSource::rule, DiffSuffix::none, std::nullopt,
       ThresholdUnit::none, 0},
      {"rule('memory.fusion')", GateContext::report, MetricSource::rule, DiffSuffix::none, std::nullopt,
       ThresholdUnit::none, 0},
      {"regime == memory", GateContext::report, MetricSource::regime, DiffSuffix::none, CompareOp::equal,
       ThresholdUnit::none, 0},
      {"overhead.delta > 5%", GateContext::diff, MetricSource::attribution, DiffSuffix::delta, CompareOp::greater,
       ThresholdUnit::percent, 0.05},
      {"idle.launch.delta < -1ms", GateContext::diff, MetricSource::attribution, DiffSuffix::delta, CompareOp::less,
       ThresholdUnit::time, -1e6},
      {"wall.change > +5%", GateContext::diff, MetricSource::wall, DiffSuffix::change, CompareOp::greater,
       ThresholdUnit::percent, 0.05},
      {"kernel('cos').time.change < -10%", GateContext::diff, MetricSource::kernel_time, DiffSuffix::change,
       CompareOp::less, ThresholdUnit::percent, -0.1},
      {"regime.after == memory", GateContext::diff, MetricSource::regime, DiffSuffix::after, CompareOp::equal,
       ThresholdUnit::none, 0},
      {"rule(overhead.sync).new", GateContext::diff, MetricSource::rule, DiffSuffix::appeared, std::nullopt,
       ThresholdUnit::none, 0},
      {"overhead.before >= .5%", GateContext::diff, MetricSource::attribution, DiffSuffix::before,
       CompareOp::greater_equal, ThresholdUnit::percent, 0.005},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const Condition condition = parsed(c.text, c.context);
    CHECK(condition.metric.source == c.source);
    CHECK(condition.metric.suffix == c.suffix);
    CHECK(condition.op == c.op);
    CHECK(condition.unit == c.unit);
    CHECK(condition.threshold == doctest::Approx(c.threshold));
  }
  CHECK(parsed("kernel(\"a'b\").share > 1%").metric.argument == "a'b");
  CHECK(parsed("kernel('it\\'s').time > 1ms").metric.argument == "it's");
  CHECK(parsed("  idle.launch>=200ms ").metric.text == "idle.launch");
  CHECK(parsed("  idle.launch>=200ms ").threshold_text == "200ms");
  CHECK(parsed("overhead > 30%").metric.parts.regime == Regime::overhead);
  CHECK(parsed("gpu_active.overhead > 30%").metric.gpu_active_span);
  // Every part id of the report, and every group, is a metric.
  for (std::size_t i = 0; i < part_count; ++i) {
    const std::string id(to_string(static_cast<Part>(i)));
    CAPTURE(id);
    CHECK(parsed(id + " > 1%").metric.parts.part == static_cast<Part>(i));
    CHECK(parsed("gpu_active." + id + " > 1ms").metric.gpu_active_span);
  }
  for (const char* group : {"overhead", "unknown", "idle", "busy"}) CHECK(parsed(std::string(group) + " > 1%").op);
  // Every rule of the table can be gated on.
  for (const auto& rule : rules()) CHECK(parsed("rule(" + std::string(rule.id) + ")").metric.argument == rule.id);
}

TEST_CASE("gate: every grammar error names its column and what is wrong") {
  for (const auto& e : grammar_errors) {
    CAPTURE(e.text);
    const ParsedCondition p = parse_condition(e.text, e.context);
    REQUIRE_FALSE(p.condition);
    CHECK(p.error.column == e.column);
    CHECK(p.error.message.find(e.message) != std::string::npos);
    CHECK(describe(p.error) == fmt::format("column {}: {}", e.column, p.error.message));
  }
}

TEST_CASE("gate: the parser answers every input without throwing") {
  // Cuts of valid conditions, and random bytes drawn from the grammar's characters and others.
  std::vector<std::string> inputs;
  for (const std::string valid : {"kernel('gemm').time.change > -12.5%", "rule('overhead.sync').new",
                                  "gpu_active.idle.launch.delta >= 20 µs", "regime.after != memory"})
    for (std::size_t n = 0; n <= valid.size(); ++n) inputs.push_back(valid.substr(0, n));
  std::mt19937 rng(6);
  const std::string alphabet = "abcdeilmnorstuw_.()'\"\\<>=!%-+0123456789 µ\xff\x01";
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 40, ' ');
    for (char& ch : s) ch = alphabet[rng() % alphabet.size()];
    inputs.push_back(s);
  }
  for (const auto& input : inputs) {
    for (auto context : {GateContext::report, GateContext::diff}) {
      ParsedCondition p;
      CHECK_NOTHROW(p = parse_condition(input, context));
      if (p.condition) continue;
      CAPTURE(input);
      CHECK_FALSE(p.error.message.empty());
      CHECK(p.error.column >= 1);
      CHECK(p.error.column <= input.size() + 1);
    }
  }
}

TEST_CASE("gate: conditions on the recorded demo report") {
  const Report demo = read_analysed_report(recorded("demo-h100.json"));
  const Attribution& a = demo.analysis.process;
  const double overhead = a.fraction(a.regime_ns(Regime::overhead));

  // A share: the failure line shows the value as the threshold is written.
  CHECK(gates("overhead > 30%", demo) ==
        std::vector<std::string>{fmt::format("overhead {:.1f}% > 30%", overhead * 100)});
  CHECK(gates(fmt::format("overhead > {}%", overhead * 100 + 0.01), demo).empty());
  CHECK(gates(fmt::format("overhead >= {}%", overhead * 100 - 0.01), demo).size() == 1);
  // The same part as a time.
  const uint64_t launch_ns = a.get(Part::idle_launch);
  CHECK(gates(fmt::format("idle.launch > {}ns", launch_ns - 1), demo) ==
        std::vector<std::string>{
            fmt::format("idle.launch {} > {}ns", format_duration(static_cast<double>(launch_ns)), launch_ns - 1)});
  CHECK(gates(fmt::format("idle.launch > {}ns", launch_ns), demo).empty());
  // The GPU-active span is what the verdict judges.
  const Attribution& span = demo.analysis.gpu_active;
  const double span_overhead = span.fraction(span.regime_ns(Regime::overhead));
  CHECK(gates(fmt::format("gpu_active.overhead < {}%", span_overhead * 100 + 0.1), demo).size() == 1);
  CHECK(gates(fmt::format("gpu_active.overhead < {}%", span_overhead * 100 - 0.1), demo).empty());
  // The groups.
  CHECK(gates(fmt::format("idle == {}ns", a.gpu_idle_ns()), demo).size() == 1);
  CHECK(gates(fmt::format("busy == {}ns", a.gpu_busy_ns()), demo).size() == 1);
  // Wall time and launches.
  CHECK(gates(fmt::format("wall == {}ns", demo.run.timeline.wall_ns), demo).size() == 1);
  CHECK(gates(fmt::format("launches == {}", demo.run.kernel_launches()), demo).size() == 1);
  CHECK(gates(fmt::format("launches < {}", demo.run.kernel_launches()), demo).empty());
  // The regime, as the verdict names it.
  const std::string regime(to_string(demo.analysis.verdict.regime));
  CHECK(gates("regime == " + regime, demo) == std::vector<std::string>{fmt::format("regime {} == {}", regime, regime)});
  CHECK(gates("regime != " + regime, demo).empty());
}

TEST_CASE("gate: kernel('…') sums the groups whose name contains the text") {
  const Report demo = read_analysed_report(recorded("demo-h100.json"));
  uint64_t total_ns = 0;
  uint64_t launches = 0;
  uint64_t attributed_ns = 0;
  int groups = 0;
  for (const auto& k : demo.run.kernels)
    if (k.name.find("cos") != std::string::npos) {
      total_ns += k.total_ns;
      launches += k.launches;
      attributed_ns += k.attributed_ns;
      ++groups;
    }
  REQUIRE(groups == 2); // cos_kernel and cos_cos_kernel
  CHECK(gates(fmt::format("kernel('cos').time == {}ns", total_ns), demo).size() == 1);
  CHECK(gates(fmt::format("kernel('cos').launches == {}", launches), demo).size() == 1);
  const double share = demo.analysis.process.fraction(attributed_ns);
  CHECK(gates(fmt::format("kernel('cos').share > {}%", share * 100 - 0.001), demo).size() == 1);
  CHECK(gates(fmt::format("kernel('cos').share > {}%", share * 100 + 0.001), demo).empty());
  // A name that matches nothing fails the gate rather than passing it silently.
  CHECK(gates("kernel('no such kernel').time > 1ms", demo) ==
        std::vector<std::string>{"kernel('no such kernel').time: no kernel's name contains 'no such kernel'"});
}

TEST_CASE("gate: range('…') reads one NVTX range of the demo, phase by phase") {
  const Report demo = read_analysed_report(recorded("demo-h100.json"));
  REQUIRE_FALSE(demo.run.ranges.empty());
  for (std::size_t i = 0; i < demo.run.ranges.size(); ++i) {
    const std::string name = demo.run.ranges[i].name;
    CAPTURE(name);
    const Attribution& a = demo.analysis.ranges[i];
    CHECK(gates(fmt::format("range('{}').time == {}ns", name, demo.run.ranges[i].total_ns), demo).size() == 1);
    for (auto regime : {Regime::compute, Regime::memory, Regime::overhead}) {
      const std::string id(to_string(regime));
      const double share = a.fraction(a.regime_ns(regime));
      CHECK(gates(fmt::format("range('{}').{} >= {}%", name, id, std::max(0.0, share * 100 - 0.001)), demo).size() ==
            1);
      CHECK(gates(fmt::format("range('{}').{} > {}%", name, id, share * 100 + 0.001), demo).empty());
    }
  }
  // The demo's phases are bound by what each was built to be bound by.
  CHECK(gates("range('gemm').compute < 90%", demo).empty());
  CHECK(gates("range('fused').memory < 90%", demo).empty());
  CHECK(gates("range('overhead').overhead < 90%", demo).empty());
  CHECK(gates("range('no such range').time > 1ms", demo) ==
        std::vector<std::string>{"range('no such range').time: no NVTX range is named 'no such range'"});
}

TEST_CASE("gate: rule(…) holds exactly when the rule fired, on every recorded report") {
  for (const auto& entry : fs::directory_iterator(source_path("examples/reports"))) {
    CAPTURE(entry.path().filename().string());
    const Report r = read_analysed_report(entry.path());
    for (const auto& rule : rules()) {
      CAPTURE(rule.id);
      const auto finding = std::find_if(r.analysis.verdict.findings.begin(), r.analysis.verdict.findings.end(),
                                        [&](const Finding& f) { return f.rule_id == rule.id; });
      const auto failed = gates("rule(" + std::string(rule.id) + ")", r);
      CHECK(failed.size() == (finding != r.analysis.verdict.findings.end() ? 1U : 0U));
      if (!failed.empty()) CHECK(failed[0].rfind("rule(" + std::string(rule.id) + ") fired (saves up to ", 0) == 0);
    }
  }
}

TEST_CASE("gate: conditions on the change from eager to compiled PyTorch") {
  const Report eager = read_analysed_report(recorded("mlp-eager-h100.json"));
  const Report compiled = read_analysed_report(recorded("mlp-compiled-h100.json"));
  const double wall_change =
      static_cast<double>(compiled.run.timeline.wall_ns) / static_cast<double>(eager.run.timeline.wall_ns) - 1;
  CHECK(diff_gates(fmt::format("wall.change > {}%", wall_change * 100 - 0.1), eager, compiled).size() == 1);
  CHECK(diff_gates(fmt::format("wall.change > {}%", wall_change * 100 + 0.1), eager, compiled).empty());
  CHECK(diff_gates("wall.change > 5%", eager, compiled) ==
        std::vector<std::string>{fmt::format("wall.change +{:.1f}% > 5%", wall_change * 100)});
  // Compared the other way round, the change is negative.
  CHECK(diff_gates("wall.change < 0%", compiled, eager).size() == 1);

  const auto share = [](const Report& r, Part p) { return r.analysis.process.fraction(r.analysis.process.get(p)); };
  const double host_delta = share(compiled, Part::idle_host) - share(eager, Part::idle_host);
  CHECK(diff_gates(fmt::format("idle.host.delta < {}%", host_delta * 100 + 0.01), eager, compiled).size() == 1);
  CHECK(diff_gates(fmt::format("idle.host.delta < {}%", host_delta * 100 - 0.01), eager, compiled).empty());
  const int64_t host_delta_ns = static_cast<int64_t>(compiled.analysis.process.get(Part::idle_host)) -
                                static_cast<int64_t>(eager.analysis.process.get(Part::idle_host));
  CHECK(diff_gates(fmt::format("idle.host.delta == {}ns", host_delta_ns), eager, compiled).size() == 1);
  CHECK(diff_gates(fmt::format("overhead.before == {}ns", eager.analysis.process.regime_ns(Regime::overhead)), eager,
                   compiled)
            .size() == 1);
  CHECK(diff_gates(fmt::format("overhead.after == {}ns", compiled.analysis.process.regime_ns(Regime::overhead)), eager,
                   compiled)
            .size() == 1);

  // Eager PyTorch is launch-bound; compiled, it is not: the rule fired before, and is not new after.
  const auto fired = [](const Report& r, const std::string& id) {
    return std::any_of(r.analysis.verdict.findings.begin(), r.analysis.verdict.findings.end(),
                       [&](const Finding& f) { return f.rule_id == id; });
  };
  REQUIRE(fired(eager, "overhead.launch-bound"));
  REQUIRE_FALSE(fired(compiled, "overhead.launch-bound"));
  CHECK(diff_gates("rule(overhead.launch-bound).before", eager, compiled).size() == 1);
  CHECK(diff_gates("rule(overhead.launch-bound).after", eager, compiled).empty());
  CHECK(diff_gates("rule(overhead.launch-bound).new", eager, compiled).empty());
  CHECK(diff_gates("rule(overhead.launch-bound).new", compiled, eager).size() == 1);

  CHECK(diff_gates(fmt::format("regime.before == {}", to_string(eager.analysis.verdict.regime)), eager, compiled)
            .size() == 1);
  // The training step, an NVTX range both runs have.
  const auto step = [](const Report& r) {
    for (const auto& range : r.run.ranges)
      if (range.name == "step") return static_cast<double>(range.total_ns);
    FAIL("no step range");
    return 0.0;
  };
  const double step_change = step(compiled) / step(eager) - 1;
  CHECK(diff_gates(fmt::format("range('step').time.change > {}%", step_change * 100 - 0.1), eager, compiled).size() ==
        1);
  CHECK(diff_gates(fmt::format("range('step').time.change > {}%", step_change * 100 + 0.1), eager, compiled).empty());
  // A kernel that only the compiled run has grows from nothing.
  const auto triton = diff_gates("kernel('triton_').time.change > 1000%", eager, compiled);
  REQUIRE(triton.size() == 1);
  CHECK(triton[0].rfind("kernel('triton_').time.change grew from 0 to ", 0) == 0);
  CHECK(diff_gates("kernel('triton_').launches.delta > 0", eager, compiled).size() == 1);
  CHECK(diff_gates("kernel('no such kernel').time.delta > 0ns", eager, compiled) ==
        std::vector<std::string>{
            "kernel('no such kernel').time.delta: no kernel's name contains 'no such kernel' in either report"});
}

TEST_CASE("gate: --fail-if-slower is wall.change for a percentage, wall.delta for a time") {
  const auto slower = [](const std::string& text) {
    const ParsedCondition p = parse_slower_threshold(text);
    INFO(text, " → ", p.error.message);
    REQUIRE(p.condition);
    return *p.condition;
  };
  CHECK(slower("5%").metric.suffix == DiffSuffix::change);
  CHECK(slower("5%").threshold == doctest::Approx(0.05));
  CHECK(slower("100ms").metric.suffix == DiffSuffix::delta);
  CHECK(slower("100ms").threshold == doctest::Approx(100e6));
  CHECK(slower("100ms").metric.source == MetricSource::wall);
  for (const char* bad : {"", "5", "abc", "-5%", "5% extra", "5 parsecs"}) {
    CAPTURE(bad);
    const ParsedCondition p = parse_slower_threshold(bad);
    CHECK_FALSE(p.condition);
    CHECK_FALSE(p.error.message.empty());
  }
}

TEST_CASE("cli: explain --fail-if exits 1 with one line per failed condition, after the report") {
  const std::string demo = recorded("demo-h100.json").string();
  const Report report = read_analysed_report(demo);
  const auto r = run_brrr({"explain", "--fail-if", "overhead > 30%", demo, "--fail-if", "rule(overhead.launch-bound)",
                           "--fail-if", "compute > 99%"});
  CHECK(r.status == 1);
  CHECK(r.out.find("\nVERDICT\n") != std::string::npos);
  CAPTURE(r.err);
  REQUIRE(count_lines(r.err) == 2);
  const Attribution& a = report.analysis.process;
  CHECK(r.err.rfind(fmt::format("brrr: gate failed: overhead {:.1f}% > 30%\n"
                                "brrr: gate failed: rule(overhead.launch-bound) fired (saves up to ",
                                a.fraction(a.regime_ns(Regime::overhead)) * 100),
                    0) == 0);
  // Conditions that do not hold pass; so does a run without conditions.
  const auto pass =
      run_brrr({"explain", demo, "--fail-if", "compute > 99%", "--fail-if", "regime == memory", "-f", "json"});
  CHECK(pass.status == 0);
  CHECK(pass.err.empty());
  CHECK(run_brrr({"explain", demo}).status == 0);
}

TEST_CASE("cli: every grammar error exits 2 with one line naming the condition and the column") {
  const std::string before = recorded("cos-eager-h100.json").string();
  const std::string after = recorded("cos-compiled-h100.json").string();
  for (const auto& e : grammar_errors) {
    CAPTURE(e.text);
    const auto r = e.context == GateContext::report ? run_brrr({"explain", before, "--fail-if", e.text})
                                                    : run_brrr({"diff", before, after, "--fail-if", e.text});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind(fmt::format("brrr: error: --fail-if '{}': column {}: ", e.text, e.column), 0) == 0);
    CHECK(r.err.find(e.message) != std::string::npos);
  }
  // A malformed condition is refused before the report is read: exit 2 even for a good one.
  const auto late = run_brrr({"explain", before, "--fail-if", "overhead > 30%", "--fail-if", "bogus > 1%"});
  CHECK(late.status == 2);
  CHECK(late.out.empty());
  for (const char* bad : {"5", "-5%", "fast"}) {
    CAPTURE(bad);
    const auto r = run_brrr({"diff", before, after, "--fail-if-slower", bad});
    CHECK(r.status == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind(fmt::format("brrr: error: --fail-if-slower '{}': ", bad), 0) == 0);
  }
}

TEST_CASE("cli: diff --fail-if-slower and --fail-if on the change") {
  const std::string eager = recorded("cos-eager-h100.json").string();
  const std::string compiled = recorded("cos-compiled-h100.json").string();
  const Report before = read_analysed_report(eager);
  const Report after = read_analysed_report(compiled);
  const double change =
      static_cast<double>(after.run.timeline.wall_ns) / static_cast<double>(before.run.timeline.wall_ns) - 1;
  const auto slower = run_brrr({"diff", eager, compiled, "--fail-if-slower", "5%"});
  CHECK(slower.status == 1);
  CHECK(slower.out.find("\nVERDICT\n") != std::string::npos);
  CHECK(slower.err == fmt::format("brrr: gate failed: wall.change +{:.1f}% > 5%\n", change * 100));
  // The other way round the run got faster, and the gate passes.
  const auto faster = run_brrr({"diff", compiled, eager, "--fail-if-slower", "5%", "--fail-if", "wall.delta > 0s"});
  CHECK(faster.status == 0);
  CHECK(faster.err.empty());
  const auto both = run_brrr({"diff", eager, compiled, "--fail-if-slower", "1s", "--fail-if",
                              "gpu_active.overhead.delta > 5%", "--fail-if", "rule(overhead.host-work).new"});
  CHECK(both.status == 1);
  CHECK(count_lines(both.err) == 2);
  CHECK(both.err.find("brrr: gate failed: gpu_active.overhead.delta +") != std::string::npos);
  CHECK(both.err.find("brrr: gate failed: wall.delta +") != std::string::npos);
}
