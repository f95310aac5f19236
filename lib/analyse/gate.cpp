// The condition grammar of the CI gates (docs/ci.md) and its evaluation on analysed reports.
// The parser is a hand-written scanner over the text: it returns the first problem with its
// column instead of throwing, and it checks each threshold's unit against the metric's kind
// so that `wall > 30%` is refused before any report is read.

#include "analyse/gate.hpp"

#include "analyse/rules.hpp"
#include "model/format.hpp"
#include "report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace brrr {

namespace {

constexpr std::string_view operator_list = ">, >=, <, <=, == or !=";
constexpr std::string_view unit_list = "%, s, ms, us (or µs) or ns";

// The attribution groups beside the parts: a regime's parts, all idle parts, all busy parts.
// `compute` and `memory` are parts, and each is also its regime's only part.
struct GroupName {
  std::string_view name;
  PartSelector selector;
};
constexpr std::array<GroupName, 4> group_names{{
    {"overhead", {PartSelector::Kind::regime, Part::compute, Regime::overhead}},
    {"unknown", {PartSelector::Kind::regime, Part::compute, Regime::unknown}},
    {"idle", {PartSelector::Kind::idle, Part::compute, Regime::unknown}},
    {"busy", {PartSelector::Kind::busy, Part::compute, Regime::unknown}},
}};

// The metrics named by a word alone, and the fields of kernel('…').
struct NamedMetric {
  std::string_view name;
  MetricSource source;
  MetricKind kind;
};
constexpr std::array<NamedMetric, 4> plain_metrics{{{"wall", MetricSource::wall, MetricKind::duration},
                                                    {"gpu_active", MetricSource::gpu_active, MetricKind::duration},
                                                    {"launches", MetricSource::launches, MetricKind::count},
                                                    {"regime", MetricSource::regime, MetricKind::regime}}};
constexpr std::array<NamedMetric, 3> kernel_fields{{{"time", MetricSource::kernel_time, MetricKind::duration},
                                                    {"share", MetricSource::kernel_share, MetricKind::share},
                                                    {"launches", MetricSource::kernel_launches, MetricKind::count}}};

template <std::size_t N> const NamedMetric* find_named(const std::array<NamedMetric, N>& table, std::string_view name) {
  const auto it = std::find_if(table.begin(), table.end(), [&](const NamedMetric& m) { return m.name == name; });
  return it == table.end() ? nullptr : &*it;
}

struct SuffixName {
  std::string_view name;
  DiffSuffix suffix;
};
constexpr std::array<SuffixName, 5> suffix_names{{{"before", DiffSuffix::before},
                                                  {"after", DiffSuffix::after},
                                                  {"delta", DiffSuffix::delta},
                                                  {"change", DiffSuffix::change},
                                                  {"new", DiffSuffix::appeared}}};

struct UnitName {
  std::string_view name;
  ThresholdUnit unit;
  double scale; // to a fraction, or to nanoseconds
};
constexpr std::array<UnitName, 6> unit_names{{{"%", ThresholdUnit::percent, 0.01},
                                              {"s", ThresholdUnit::time, 1e9},
                                              {"ms", ThresholdUnit::time, 1e6},
                                              {"us", ThresholdUnit::time, 1e3},
                                              {"µs", ThresholdUnit::time, 1e3},
                                              {"ns", ThresholdUnit::time, 1}}};

constexpr std::array<Regime, 4> all_regimes{Regime::compute, Regime::memory, Regime::overhead, Regime::unknown};

std::optional<PartSelector> find_parts(std::string_view name) {
  for (std::size_t i = 0; i < part_count; ++i)
    if (to_string(static_cast<Part>(i)) == name)
      return PartSelector{PartSelector::Kind::part, static_cast<Part>(i), Regime::unknown};
  for (const auto& g : group_names)
    if (g.name == name) return g.selector;
  return std::nullopt;
}

// Every plain metric name, for suggestions.
std::vector<std::string> metric_names() {
  std::vector<std::string> out;
  for (const auto& m : plain_metrics) out.emplace_back(m.name);
  for (std::size_t i = 0; i < part_count; ++i) out.emplace_back(to_string(static_cast<Part>(i)));
  for (const auto& g : group_names) out.emplace_back(g.name);
  const std::size_t plain = out.size();
  for (std::size_t i = plain_metrics.size(); i < plain; ++i) out.push_back("gpu_active." + out[i]);
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest candidate within a third of the word's length, for "did you mean".
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

bool is_identifier_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }
bool is_rule_id_char(char c) { return is_identifier_char(c) || c == '-'; }
bool is_operator_char(char c) { return c == '<' || c == '>' || c == '=' || c == '!'; }

// The suffixes a metric of each kind takes in brrr diff, for messages.
std::string_view suffixes_for(MetricKind kind) {
  switch (kind) {
  case MetricKind::duration:
  case MetricKind::count:
    return ".before, .after, .delta or .change";
  case MetricKind::time_share:
  case MetricKind::share:
    return ".before, .after or .delta";
  case MetricKind::regime:
    return ".before or .after";
  case MetricKind::flag:
    break;
  }
  return ".before, .after or .new";
}

// A scanner over the condition's text that keeps the first problem it meets.
class Parser {
public:
  Parser(std::string_view text, GateContext context) : text_(text), context_(context) {}

  bool parse(Condition& c) {
    skip_spaces();
    if (at_end()) return fail(pos_, "empty condition; expected one such as 'overhead > 30%'");
    const std::size_t metric_start = pos_;
    if (!parse_metric(c.metric)) return false;
    c.metric.text = std::string(text_.substr(metric_start, pos_ - metric_start));
    if (!check_suffix(c.metric, pos_)) return false;
    skip_spaces();
    if (c.metric.kind == MetricKind::flag) {
      if (at_end()) return true;
      if (is_operator_char(peek()))
        return fail(pos_, fmt::format("{} is true when the rule fires and takes no comparison", c.metric.text));
      return fail(pos_, fmt::format("unexpected {} after {}", found(pos_), c.metric.text));
    }
    if (!parse_operator(c)) return false;
    skip_spaces();
    const std::size_t value_start = pos_;
    if (!(c.metric.kind == MetricKind::regime ? parse_regime_value(c) : parse_number_value(c))) return false;
    c.threshold_text = std::string(text_.substr(value_start, pos_ - value_start));
    while (!c.threshold_text.empty() && c.threshold_text.back() == ' ') c.threshold_text.pop_back();
    skip_spaces();
    if (!at_end()) return fail(pos_, fmt::format("unexpected {} after the value", found(pos_)));
    return true;
  }

  [[nodiscard]] const ConditionError& error() const { return error_; }

private:
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_spaces() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  // What stands at `at`, for "found …": the text up to the next space, shortened and quoted,
  // or the end of the condition.
  [[nodiscard]] std::string found(std::size_t at) const {
    if (at >= text_.size()) return "the end of the condition";
    std::size_t end = at;
    while (end < text_.size() && text_[end] != ' ' && end - at < 24) ++end;
    // Shortened between characters, never inside one (found by fuzz_gate).
    while (end > at + 1 && end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) --end;
    return fmt::format("'{}'", text_.substr(at, end - at));
  }

  [[nodiscard]] std::size_t column(std::size_t at) const {
    const std::string_view before = text_.substr(0, std::min(at, text_.size()));
    return 1 + static_cast<std::size_t>(
                   std::count_if(before.begin(), before.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
  }

  // Keeps the problem and returns false, so that every step can `return fail(...)`.
  bool fail(std::size_t at, std::string message) {
    error_ = {column(at), std::move(message)};
    return false;
  }

  std::string read_while(bool (*accept)(char)) {
    const std::size_t start = pos_;
    while (!at_end() && accept(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  // A quoted string, ' or ", with \ escaping the next character.
  bool read_quoted(std::string& out) {
    const std::size_t open = pos_;
    const char quote = text_[pos_++];
    while (!at_end() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (at_end()) return fail(open, "this quote is not closed");
    ++pos_;
    return true;
  }

  // Splits a trailing diff suffix (".delta") off a dotted word; returns the suffix's offset
  // in the word, or npos when it has none.
  static std::size_t split_suffix(const std::string& word, DiffSuffix& suffix) {
    const std::size_t dot = word.rfind('.');
    if (dot == std::string::npos) return std::string::npos;
    const std::string_view last = std::string_view(word).substr(dot + 1);
    for (const auto& s : suffix_names)
      if (s.name == last) {
        suffix = s.suffix;
        return dot;
      }
    return std::string::npos;
  }

  bool parse_metric(Metric& m) {
    const std::size_t start = pos_;
    if (!is_identifier_start(peek()))
      return fail(
          pos_, fmt::format("expected a metric, such as overhead, wall or kernel('NAME').time, found {}", found(pos_)));
    const std::string word = read_while(is_identifier_char);
    if (peek() == '(') {
      if (word == "kernel") return parse_kernel(m);
      if (word == "range") return parse_range(m);
      if (word == "rule") return parse_rule(m);
      return fail(start, fmt::format("unknown function '{}('; the functions are kernel('NAME'), range('NAME') and "
                                     "rule(ID)",
                                     word));
    }
    if (word.back() == '.') return fail(pos_ - 1, fmt::format("'{}' ends with a dot", word));
    suffix_offset_ = split_suffix(word, m.suffix);
    const std::string base = suffix_offset_ == std::string::npos ? word : word.substr(0, suffix_offset_);
    if (suffix_offset_ != std::string::npos) suffix_offset_ += start;
    if (const auto* named = find_named(plain_metrics, base)) {
      m.source = named->source;
      m.kind = named->kind;
    } else {
      const bool span = base.rfind("gpu_active.", 0) == 0;
      const auto parts = find_parts(span ? std::string_view(base).substr(11) : std::string_view(base));
      if (!parts) {
        const auto suggestion = closest(base, metric_names());
        return fail(start, fmt::format("unknown metric '{}'{}; docs/ci.md lists the metrics", base,
                                       suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : ""));
      }
      m.source = MetricSource::attribution;
      m.kind = MetricKind::time_share;
      m.parts = *parts;
      m.gpu_active_span = span;
    }
    return true;
  }

  // The quoted name of kernel('…') or range('…') and the closing parenthesis, then the dot
  // before the field; `fields` lists the fields for the message when the dot is missing.
  bool parse_name_argument(Metric& m, std::string_view function, std::string_view fields) {
    ++pos_; // (
    skip_spaces();
    if (peek() != '\'' && peek() != '"')
      return fail(pos_, fmt::format("{0}(…) takes a quoted name, such as {0}('gemm')", function));
    const std::size_t name_at = pos_;
    if (!read_quoted(m.argument)) return false;
    if (m.argument.empty()) return fail(name_at, fmt::format("{}('') names nothing; give a name", function));
    skip_spaces();
    if (peek() != ')')
      return fail(pos_, fmt::format("expected ')' after the {} name, found {}", function, found(pos_)));
    ++pos_;
    if (peek() != '.') return fail(pos_, fmt::format("{}('{}') needs a field: {}", function, m.argument, fields));
    ++pos_;
    return true;
  }

  bool parse_kernel(Metric& m) {
    if (!parse_name_argument(m, "kernel", ".time, .share or .launches")) return false;
    const std::size_t field_at = pos_;
    const std::string rest = read_while(is_identifier_char);
    const std::string field = rest.substr(0, rest.find('.'));
    const auto* named = find_named(kernel_fields, field);
    if (!named)
      return fail(field_at, fmt::format("unknown field '.{}' of kernel(…); use .time, .share or .launches", field));
    m.source = named->source;
    m.kind = named->kind;
    return parse_suffix_after(m, field_at + field.size(), rest.substr(field.size()));
  }

  bool parse_range(Metric& m) {
    constexpr std::string_view fields = ".time, or a part or group of the attribution such as .compute or .idle.launch";
    if (!parse_name_argument(m, "range", fields)) return false;
    const std::size_t field_at = pos_;
    const std::string rest = read_while(is_identifier_char);
    const std::size_t suffix_at = split_suffix(rest, m.suffix);
    const std::string field = rest.substr(0, suffix_at);
    if (suffix_at != std::string::npos) suffix_offset_ = field_at + suffix_at;
    if (field == "time") {
      m.source = MetricSource::range_time;
      m.kind = MetricKind::duration;
      return true;
    }
    const auto parts = find_parts(field);
    if (!parts) return fail(field_at, fmt::format("unknown field '.{}' of range(…); use {}", field, fields));
    m.source = MetricSource::range_attribution;
    m.kind = MetricKind::time_share;
    m.parts = *parts;
    return true;
  }

  bool parse_rule(Metric& m) {
    ++pos_; // (
    skip_spaces();
    const std::size_t id_at = pos_;
    if (peek() == '\'' || peek() == '"') {
      if (!read_quoted(m.argument)) return false;
    } else {
      m.argument = read_while(is_rule_id_char);
    }
    if (m.argument.empty()) return fail(id_at, "rule(…) takes a rule id, such as rule(overhead.launch-bound)");
    skip_spaces();
    if (peek() != ')') return fail(pos_, fmt::format("expected ')' after the rule id, found {}", found(pos_)));
    ++pos_;
    std::vector<std::string> ids;
    for (const auto& rule : rules()) ids.emplace_back(rule.id);
    if (std::find(ids.begin(), ids.end(), m.argument) == ids.end()) {
      const auto suggestion = closest(m.argument, ids);
      return fail(id_at, fmt::format("unknown rule '{}'{}; docs/rules.md lists the rules", m.argument,
                                     suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : ""));
    }
    m.source = MetricSource::rule;
    m.kind = MetricKind::flag;
    const std::size_t rest_at = pos_;
    return parse_suffix_after(m, rest_at, read_while(is_identifier_char));
  }

  // After kernel('…').field or rule(…): nothing, or exactly one diff suffix.
  bool parse_suffix_after(Metric& m, std::size_t at, const std::string& rest) {
    if (rest.empty()) return true;
    for (const auto& s : suffix_names)
      if (rest == "." + std::string(s.name)) {
        m.suffix = s.suffix;
        suffix_offset_ = at;
        return true;
      }
    return fail(at, fmt::format("unexpected '{}'; a suffix is one of .before, .after, .delta, .change or .new", rest));
  }

  // Whether the suffix suits the context and the metric's kind.
  bool check_suffix(const Metric& m, std::size_t metric_end) {
    const std::size_t at = suffix_offset_ == std::string::npos ? metric_end : suffix_offset_;
    const std::string name = m.text.substr(0, m.text.size() - (metric_end - at));
    const std::string suffix(text_.substr(at, metric_end - at));
    if (context_ == GateContext::report) {
      if (m.suffix == DiffSuffix::none) return true;
      return fail(at, fmt::format("'{}' compares two reports; use it with brrr diff", suffix));
    }
    switch (m.suffix) {
    case DiffSuffix::none:
      return fail(
          at, fmt::format("brrr diff compares two reports: say which value of {} with {}", name, suffixes_for(m.kind)));
    case DiffSuffix::before:
    case DiffSuffix::after:
      return true;
    case DiffSuffix::delta:
      if (m.kind != MetricKind::regime && m.kind != MetricKind::flag) return true;
      break;
    case DiffSuffix::change:
      if (m.kind == MetricKind::duration || m.kind == MetricKind::count) return true;
      if (m.kind == MetricKind::time_share || m.kind == MetricKind::share)
        return fail(at, fmt::format("{} is a share: its change is {}.delta, in percentage points", name, name));
      break;
    case DiffSuffix::appeared:
      if (m.kind == MetricKind::flag) return true;
      return fail(at, fmt::format("'.new' is for rule(…) only; {} takes {}", name, suffixes_for(m.kind)));
    }
    return fail(at, fmt::format("{} has no '{}'; it takes {}", name, suffix, suffixes_for(m.kind)));
  }

  bool parse_operator(Condition& c) {
    const std::size_t at = pos_;
    if (at_end()) return fail(at, fmt::format("expected a comparison ({}) after {}", operator_list, c.metric.text));
    if (!is_operator_char(peek()))
      return fail(
          at, fmt::format("expected a comparison ({}) after {}, found {}", operator_list, c.metric.text, found(at)));
    const std::string op = read_while(is_operator_char);
    static constexpr std::array<std::pair<std::string_view, CompareOp>, 6> ops{{{">", CompareOp::greater},
                                                                                {">=", CompareOp::greater_equal},
                                                                                {"<", CompareOp::less},
                                                                                {"<=", CompareOp::less_equal},
                                                                                {"==", CompareOp::equal},
                                                                                {"!=", CompareOp::not_equal}}};
    for (const auto& [spelling, value] : ops)
      if (op == spelling) c.op = value;
    if (!c.op)
      return fail(at, fmt::format("unknown operator '{}'{}; use {}", op, op == "=" ? " (did you mean '=='?)" : "",
                                  operator_list));
    if (c.metric.kind == MetricKind::regime && *c.op != CompareOp::equal && *c.op != CompareOp::not_equal)
      return fail(at, fmt::format("{} is a word: compare it with == or != only", c.metric.text));
    return true;
  }

  bool parse_regime_value(Condition& c) {
    const std::size_t at = pos_;
    const std::string word = read_while([](char ch) { return std::isalpha(static_cast<unsigned char>(ch)) != 0; });
    for (auto r : all_regimes)
      if (word == to_string(r)) {
        c.regime = r;
        return true;
      }
    if (word.empty())
      return fail(at, fmt::format("expected a regime (compute, memory, overhead or unknown), found {}", found(at)));
    return fail(at, fmt::format("unknown regime '{}'; use compute, memory, overhead or unknown", word));
  }

  // The units a metric takes, as the message that says so when they are not given.
  static std::string_view wanted_units(const Metric& m) {
    if (m.suffix == DiffSuffix::change) return "is a relative change: give a percentage, such as 5%";
    switch (m.kind) {
    case MetricKind::time_share:
      return "is a share of the time or a time: give a unit, such as 30% or 200ms";
    case MetricKind::duration:
      return "is a time: give a unit, such as 2s, 500ms, 20us or 800ns";
    case MetricKind::share:
      return "is a share of the wall time: give a percentage, such as 10%";
    default:
      break;
    }
    return "is a count: give a plain number, such as 1000";
  }

  static bool unit_fits(const Metric& m, ThresholdUnit unit) {
    if (m.suffix == DiffSuffix::change) return unit == ThresholdUnit::percent;
    switch (m.kind) {
    case MetricKind::time_share:
      return unit != ThresholdUnit::none;
    case MetricKind::duration:
      return unit == ThresholdUnit::time;
    case MetricKind::share:
      return unit == ThresholdUnit::percent;
    default:
      break;
    }
    return unit == ThresholdUnit::none;
  }

  bool parse_number_value(Condition& c) {
    const std::size_t at = pos_;
    if (at_end())
      return fail(at, fmt::format("expected a value after '{}': {} {}", to_string(*c.op), c.metric.text,
                                  wanted_units(c.metric)));
    std::size_t end = pos_;
    if (end < text_.size() && (text_[end] == '-' || text_[end] == '+')) ++end;
    std::size_t digits = 0;
    bool point = false;
    for (; end < text_.size(); ++end) {
      if (std::isdigit(static_cast<unsigned char>(text_[end]))) {
        ++digits;
      } else if (text_[end] == '.' && !point) {
        point = true;
      } else {
        break;
      }
    }
    if (digits == 0) return fail(at, fmt::format("expected a number, found {}", found(at)));
    const std::size_t sign = text_[pos_] == '+' ? 1 : 0;
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text_.data() + pos_ + sign, text_.data() + end, value);
    if (ec != std::errc() || ptr != text_.data() + end || !std::isfinite(value))
      return fail(at, fmt::format("'{}' is not a number brrr can use", text_.substr(at, end - at)));
    pos_ = end;
    skip_spaces();
    const std::size_t unit_at = pos_;
    std::string unit_text;
    while (!at_end()) {
      if (text_.substr(pos_, 2) == "µ") {
        unit_text += "µ";
        pos_ += 2;
      } else if (std::isalpha(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '%') {
        unit_text += text_[pos_++];
      } else {
        break;
      }
    }
    double scale = 1;
    if (!unit_text.empty()) {
      const auto* unit =
          std::find_if(unit_names.begin(), unit_names.end(), [&](const UnitName& u) { return u.name == unit_text; });
      if (unit == unit_names.end())
        return fail(unit_at, fmt::format("unknown unit '{}'; use {}", unit_text, unit_list));
      c.unit = unit->unit;
      scale = unit->scale;
    }
    if (!unit_fits(c.metric, c.unit)) return fail(at, fmt::format("{} {}", c.metric.text, wanted_units(c.metric)));
    if (value < 0 && c.metric.suffix != DiffSuffix::delta && c.metric.suffix != DiffSuffix::change)
      return fail(at, fmt::format("{} cannot be negative; only .delta and .change can", c.metric.text));
    c.threshold = value * scale;
    return true;
  }

  std::string_view text_;
  GateContext context_;
  std::size_t pos_ = 0;
  // Where the diff suffix starts in the text, when the metric has one.
  std::size_t suffix_offset_ = std::string::npos;
  ConditionError error_;
};

// ---- evaluation ----

uint64_t selected_ns(const Attribution& a, const PartSelector& s) {
  switch (s.kind) {
  case PartSelector::Kind::part:
    return a.get(s.part);
  case PartSelector::Kind::regime:
    return a.regime_ns(s.regime);
  case PartSelector::Kind::idle:
    return a.gpu_idle_ns();
  case PartSelector::Kind::busy:
    break;
  }
  return a.gpu_busy_ns();
}

// A metric's value in one report.
struct Reading {
  bool found = true;                // false when kernel('…') matches no kernel
  double value = 0;                 // in the unit asked for
  Regime regime = Regime::unknown;  // for the regime
  const Finding* finding = nullptr; // for a rule: its finding when it fired
};

Reading read(const Metric& m, ThresholdUnit unit, const Report& r) {
  Reading out;
  const Run& run = r.run;
  const auto as_double = [](uint64_t v) { return static_cast<double>(v); };
  switch (m.source) {
  case MetricSource::wall:
    out.value = as_double(run.timeline.wall_ns);
    break;
  case MetricSource::gpu_active:
    out.value = as_double(run.timeline.gpu_end_ns - run.timeline.gpu_begin_ns);
    break;
  case MetricSource::launches:
    out.value = as_double(run.kernel_launches());
    break;
  case MetricSource::attribution: {
    const Attribution& a = m.gpu_active_span ? r.analysis.gpu_active : r.analysis.process;
    const uint64_t ns = selected_ns(a, m.parts);
    out.value = unit == ThresholdUnit::percent ? a.fraction(ns) : as_double(ns);
    break;
  }
  case MetricSource::kernel_time:
  case MetricSource::kernel_share:
  case MetricSource::kernel_launches: {
    out.found = false;
    uint64_t total = 0;
    for (const auto& k : run.kernels) {
      if (k.name.find(m.argument) == std::string::npos) continue;
      out.found = true;
      total += m.source == MetricSource::kernel_time    ? k.total_ns
               : m.source == MetricSource::kernel_share ? k.attributed_ns
                                                        : k.launches;
    }
    out.value = m.source == MetricSource::kernel_share ? r.analysis.process.fraction(total) : as_double(total);
    break;
  }
  case MetricSource::range_time:
  case MetricSource::range_attribution: {
    const auto it = std::find_if(run.ranges.begin(), run.ranges.end(),
                                 [&](const RangeSummary& range) { return range.name == m.argument; });
    out.found = it != run.ranges.end();
    if (!out.found) break;
    const Attribution& a = r.analysis.ranges[static_cast<std::size_t>(it - run.ranges.begin())];
    const uint64_t ns = m.source == MetricSource::range_time ? a.wall_ns : selected_ns(a, m.parts);
    out.value = unit == ThresholdUnit::percent ? a.fraction(ns) : as_double(ns);
    break;
  }
  case MetricSource::regime:
    out.regime = r.analysis.verdict.regime;
    break;
  case MetricSource::rule:
    for (const auto& f : r.analysis.verdict.findings)
      if (f.rule_id == m.argument) {
        out.finding = &f;
        break;
      }
    break;
  }
  return out;
}

bool compare(double value, CompareOp op, double threshold) {
  switch (op) {
  case CompareOp::greater:
    return value > threshold;
  case CompareOp::greater_equal:
    return value >= threshold;
  case CompareOp::less:
    return value < threshold;
  case CompareOp::less_equal:
    return value <= threshold;
  case CompareOp::equal:
    return value == threshold;
  case CompareOp::not_equal:
    break;
  }
  return value != threshold;
}

// A value in the unit of its threshold; signed for differences. Where one decimal would show
// a value equal to its threshold, three are shown, so that "30.0% > 30%" does not happen.
std::string format_value(double v, ThresholdUnit unit, bool difference, double threshold) {
  const std::string sign = difference && v > 0 ? "+" : "";
  switch (unit) {
  case ThresholdUnit::percent: {
    std::string shown = fmt::format("{:.1f}", v * 100);
    if (shown == fmt::format("{:.1f}", threshold * 100) && v != threshold) shown = fmt::format("{:.3f}", v * 100);
    return sign + shown + "%";
  }
  case ThresholdUnit::time:
    return sign + format_duration(v);
  case ThresholdUnit::none:
    break;
  }
  return sign + (v == std::floor(v) && std::fabs(v) < 1e15 ? fmt::format("{:.0f}", v) : fmt::format("{:.4g}", v));
}

std::string saving_text(const Finding& f) {
  return fmt::format("saves up to {}, {} of the run", format_duration(static_cast<double>(f.saving_ns)),
                     format_percent(f.saving_fraction));
}

// The message of a condition that holds, or nothing.
std::optional<std::string> evaluate(const Condition& c, const Report* before, const Report& after) {
  const Metric& m = c.metric;
  const bool diff = before != nullptr;
  if (m.kind == MetricKind::flag) {
    const Reading now = read(m, c.unit, after);
    const Reading then = diff ? read(m, c.unit, *before) : Reading{};
    switch (m.suffix) {
    case DiffSuffix::before:
      if (then.finding) return fmt::format("{}: fired in the first report ({})", m.text, saving_text(*then.finding));
      return std::nullopt;
    case DiffSuffix::appeared:
      if (now.finding && !then.finding)
        return fmt::format("{}: fires in the second report and not in the first ({})", m.text,
                           saving_text(*now.finding));
      return std::nullopt;
    default:
      if (now.finding) return fmt::format("{} fired ({})", m.text, saving_text(*now.finding));
      return std::nullopt;
    }
  }
  if (m.kind == MetricKind::regime) {
    const Report& r = m.suffix == DiffSuffix::before ? *before : after;
    const Regime regime = read(m, c.unit, r).regime;
    const bool holds = (regime == c.regime) == (*c.op == CompareOp::equal);
    if (!holds) return std::nullopt;
    return fmt::format("{} {} {} {}", m.text, to_string(regime), to_string(*c.op), c.threshold_text);
  }

  const ThresholdUnit unit = m.suffix == DiffSuffix::change
                                 ? (m.kind == MetricKind::duration ? ThresholdUnit::time : ThresholdUnit::none)
                                 : c.unit;
  const Reading now = read(m, unit, after);
  const Reading then = diff ? read(m, unit, *before) : Reading{};
  if (!now.found && !(diff && then.found))
    return fmt::format("{}: {} '{}'{}", m.text,
                       m.source == MetricSource::range_time || m.source == MetricSource::range_attribution
                           ? "no NVTX range is named"
                           : "no kernel's name contains",
                       m.argument, diff ? " in either report" : "");
  double value = now.value;
  switch (m.suffix) {
  case DiffSuffix::before:
    value = then.value;
    break;
  case DiffSuffix::delta:
    value = now.value - then.value;
    break;
  case DiffSuffix::change:
    if (then.value == 0) {
      if (now.value == 0) {
        value = 0;
        break;
      }
      // Growth from nothing is larger than any percentage.
      if (!compare(std::numeric_limits<double>::infinity(), *c.op, c.threshold)) return std::nullopt;
      return fmt::format("{} grew from 0 to {} {} {}", m.text, format_value(now.value, unit, false, 0),
                         to_string(*c.op), c.threshold_text);
    }
    value = (now.value - then.value) / then.value;
    break;
  default:
    break;
  }
  if (!compare(value, *c.op, c.threshold)) return std::nullopt;
  const bool difference = m.suffix == DiffSuffix::delta || m.suffix == DiffSuffix::change;
  return fmt::format("{} {} {} {}", m.text, format_value(value, c.unit, difference, c.threshold), to_string(*c.op),
                     c.threshold_text);
}

template <typename Parse> ParsedCondition guarded(Parse parse) noexcept {
  try {
    return parse();
  } catch (...) {
    ParsedCondition out;
    out.error = {1, "cannot parse the condition (out of memory)"};
    return out;
  }
}

} // namespace

std::string_view to_string(CompareOp op) {
  switch (op) {
  case CompareOp::greater:
    return ">";
  case CompareOp::greater_equal:
    return ">=";
  case CompareOp::less:
    return "<";
  case CompareOp::less_equal:
    return "<=";
  case CompareOp::equal:
    return "==";
  case CompareOp::not_equal:
    break;
  }
  return "!=";
}

ParsedCondition parse_condition(std::string_view text, GateContext context) noexcept {
  return guarded([&] {
    Parser parser(text, context);
    ParsedCondition out;
    Condition c;
    if (parser.parse(c))
      out.condition = std::move(c);
    else
      out.error = parser.error();
    return out;
  });
}

ParsedCondition parse_slower_threshold(std::string_view text) noexcept {
  return guarded([&] {
    // The threshold alone decides between a relative and an absolute growth.
    const bool percent = !text.empty() && text.find('%') != std::string_view::npos;
    const std::string prefix = percent ? "wall.change > " : "wall.delta > ";
    ParsedCondition out = parse_condition(prefix + std::string(text), GateContext::diff);
    if (out.condition) {
      if (out.condition->threshold < 0) {
        out.condition.reset();
        out.error = {1, "the threshold cannot be negative: give how much slower, such as 5% or 100ms"};
      }
      return out;
    }
    out.error = {1, "expected how much slower the second run may be: a percentage of the wall time, such as 5%, "
                    "or a time, such as 100ms"};
    return out;
  });
}

std::string describe(const ConditionError& error) { return fmt::format("column {}: {}", error.column, error.message); }

std::vector<std::string> check_gates(const std::vector<Condition>& conditions, const Report& report) {
  std::vector<std::string> out;
  for (const auto& c : conditions)
    if (auto message = evaluate(c, nullptr, report)) out.push_back(std::move(*message));
  return out;
}

std::vector<std::string> check_gates(const std::vector<Condition>& conditions, const Report& before,
                                     const Report& after) {
  std::vector<std::string> out;
  for (const auto& c : conditions)
    if (auto message = evaluate(c, &before, after)) out.push_back(std::move(*message));
  return out;
}

} // namespace brrr
