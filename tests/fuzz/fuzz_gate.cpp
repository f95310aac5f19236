// libFuzzer target: the condition parser of the CI gates (`--fail-if`, `--fail-if-slower`;
// docs/ci.md), and the evaluation of every condition it accepts. A condition is typed by a
// person into a CI file, so any text must end in one clear problem with its column, or in a
// condition that evaluates on real reports. Each input is parsed for brrr explain and for
// brrr diff, and as the threshold of --fail-if-slower.

#include "analyse/analysis.hpp"
#include "analyse/gate.hpp"
#include "report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Recorded H100 reports with kernels, NVTX ranges and findings: the eager run as the first
// report of brrr diff, the compiled one as the second and as the report of brrr explain.
brrr::Report before;
brrr::Report after;

// Prints what went wrong, the condition byte for byte, and the message, then aborts: libFuzzer
// keeps the input.
[[noreturn]] void fail(const char* what, std::string_view text, std::string_view detail) {
  std::fprintf(stderr, "%s\n  condition: ", what);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fprintf(stderr, "\n  ");
  std::fwrite(detail.data(), 1, detail.size(), stderr);
  std::fprintf(stderr, "\n");
  std::abort();
}

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), as a terminal and a JSON document need it.
bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    uint32_t lowest = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      lowest = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      lowest = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      lowest = 0x10000;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    uint32_t code = c & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < lowest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// The columns a problem may be at: each character of the text, or just past its end.
std::size_t characters(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// What the parser says when it caught an exception: under the fuzzer's memory limit, a bug (an
// index out of range).
bool parser_threw(const brrr::ConditionError& error) {
  return error.message == "cannot parse the condition (out of memory)";
}

// A problem is one line that names a column of the condition.
void check_error(const brrr::ConditionError& error, std::string_view text) {
  const std::string line = brrr::describe(error);
  if (error.message.empty()) fail("a problem without a message", text, line);
  if (error.column < 1 || error.column > characters(text) + 1) fail("a problem outside the condition", text, line);
  if (parser_threw(error)) fail("the parser threw", text, line);
  if (text.find('\n') == std::string_view::npos && line.find('\n') != std::string::npos)
    fail("a problem of more than one line", text, line);
  if (valid_utf8(text) && !valid_utf8(line)) fail("a problem that is not UTF-8 for a condition that is", text, line);
}

// A condition evaluates on real reports, and every gate that holds is one line (a line that
// quotes a name may hold the newline the name was given with).
void check_evaluates(const brrr::Condition& c, brrr::GateContext context, std::string_view text) {
  const std::vector<std::string> failures =
      context == brrr::GateContext::report ? brrr::check_gates({c}, after) : brrr::check_gates({c}, before, after);
  const bool one_line = text.find('\n') == std::string_view::npos;
  for (const auto& line : failures)
    if (line.empty() || (one_line && line.find('\n') != std::string::npos))
      fail("a gate's line that is not one line", text, line);
}

// An accepted condition is consistent with the grammar, and evaluates.
void check_condition(const brrr::Condition& c, brrr::GateContext context, std::string_view text) {
  const brrr::Metric& m = c.metric;
  if (m.text.empty() || text.find(m.text) == std::string_view::npos)
    fail("a metric not in the condition", text, m.text);
  if ((m.kind == brrr::MetricKind::flag) == c.op.has_value()) fail("a comparison that does not fit", text, m.text);
  if ((context == brrr::GateContext::report) != (m.suffix == brrr::DiffSuffix::none))
    fail("a suffix that does not fit the command", text, m.text);
  if (!std::isfinite(c.threshold)) fail("a threshold that is not a number", text, c.threshold_text);
  check_evaluates(c, context, text);
}

void check(const brrr::ParsedCondition& parsed, brrr::GateContext context, std::string_view text) {
  if (parsed.condition)
    check_condition(*parsed.condition, context, text);
  else
    check_error(parsed.error, text);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  before = brrr::read_analysed_report(BRRR_SOURCE_DIR "/examples/reports/cos-eager-h100.json");
  after = brrr::read_analysed_report(BRRR_SOURCE_DIR "/examples/reports/cos-compiled-h100.json");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto context : {brrr::GateContext::report, brrr::GateContext::diff})
    check(brrr::parse_condition(text, context), context, text);
  const brrr::ParsedCondition slower = brrr::parse_slower_threshold(text);
  if (slower.condition)
    check_evaluates(*slower.condition, brrr::GateContext::diff, text);
  else if (parser_threw(slower.error))
    fail("the parser threw", text, slower.error.message);
  return 0;
}
