// The documentation keeps up with the code: every option `brrr <sub> --help` prints is in the
// subcommand's man page, every rule id (and its saving formula, as the rule table states it)
// is in docs/rules.md, every key of the JSON report is in docs/report-format.md, and every
// line docs/walkthrough.md quotes from `brrr explain` is what it prints today.

#include <doctest/doctest.h>

#include "process_runner.hpp"

#include "analyse/analysis.hpp"
#include "analyse/rules.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;

// A man page's text as a reader sees it: roff writes a hyphen in an option as "\-".
std::string man_page_text(const std::string& name) {
  const fs::path path = source_path("man/" + name);
  INFO("man page: ", path.string());
  REQUIRE(fs::exists(path));
  std::string text = read_text(path);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '-') {
      out += '-';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The long options (--name) of a --help text.
std::set<std::string> long_options(const std::string& help) {
  std::set<std::string> out;
  const std::regex option("--[A-Za-z0-9][A-Za-z0-9-]*");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option); it != std::sregex_iterator(); ++it)
    out.insert(it->str());
  return out;
}

// The subcommands `brrr --help` lists, from its "Subcommands:" section.
std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> out;
  const auto start = help.find("Subcommands:");
  if (start == std::string::npos) return out;
  const std::regex line(R"(\n  ([a-z][a-z-]*) )");
  const std::string rest = help.substr(start);
  for (auto it = std::sregex_iterator(rest.begin(), rest.end(), line); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

bool mentions_key(const std::string& doc, const std::string& key) {
  return doc.find("`" + key + "`") != std::string::npos;
}

// Every object key at every depth of a report, by where it must be documented: the evidence
// keys of findings in docs/rules.md, all others in docs/report-format.md.
void collect_keys(const nlohmann::ordered_json& j, bool in_finding_evidence, std::set<std::string>& report_keys,
                  std::set<std::string>& evidence_keys) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      (in_finding_evidence ? evidence_keys : report_keys).insert(key);
      collect_keys(value, false, report_keys, evidence_keys);
    }
  } else if (j.is_array()) {
    for (const auto& item : j) collect_keys(item, false, report_keys, evidence_keys);
  }
}

// A recorded report, read back and analysed again, as `brrr explain --format json` prints it.
nlohmann::ordered_json reanalysed(const fs::path& path) {
  Report report = read_report(path);
  report.analysis = analyse(report.run, report.profile ? &*report.profile : nullptr, {report.analysis.ceilings, {}});
  return report_to_json(report);
}

std::vector<fs::path> example_reports() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(source_path("examples/reports")))
    if (entry.path().extension() == ".json") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// A block of `brrr explain` output quoted in a document: the report it comes from and its lines.
struct QuotedOutput {
  std::string report;
  std::vector<std::string> lines;
  std::size_t line_number = 0; // of the marker in the document, for failure messages
};

std::string without_trailing_space(std::string s) {
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

// The fenced blocks that follow a marker line `<!-- brrr explain REPORT -->`.
std::vector<QuotedOutput> quoted_outputs(const std::string& doc) {
  const std::string marker = "<!-- brrr explain ";
  std::vector<QuotedOutput> out;
  std::istringstream in(doc);
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind(marker, 0) != 0) continue;
    QuotedOutput q;
    q.line_number = number;
    q.report = line.substr(marker.size(), line.find(" -->") - marker.size());
    REQUIRE_MESSAGE(std::getline(in, line), "marker without a block at line " << number);
    ++number;
    REQUIRE_MESSAGE(line.rfind("```", 0) == 0, "marker not followed by a fenced block at line " << number);
    while (std::getline(in, line) && line.rfind("```", 0) != 0) {
      ++number;
      q.lines.push_back(without_trailing_space(line));
    }
    ++number;
    out.push_back(std::move(q));
  }
  return out;
}

// The lines of a command's output, without trailing spaces, as the walkthrough quotes them.
std::vector<std::string> output_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(without_trailing_space(line));
  return out;
}

} // namespace

TEST_CASE("docs: the walkthrough quotes brrr explain as it prints today") {
  // Each quoted line must be a whole line of the real output, in the output's order; a line
  // that is only "…" stands for lines left out. So a figure that changes breaks this test.
  const std::string doc = read_text(source_path("docs/walkthrough.md"));
  const auto quotes = quoted_outputs(doc);
  std::map<std::string, std::vector<std::string>> outputs;
  for (const auto& q : quotes) {
    CAPTURE(q.line_number);
    CAPTURE(q.report);
    if (!outputs.count(q.report)) {
      const auto result = run_brrr({"explain", source_path(q.report).string()});
      REQUIRE(result.status == 0);
      outputs[q.report] = output_lines(result.out);
    }
    const auto& output = outputs[q.report];
    REQUIRE(!q.lines.empty());
    std::size_t at = 0;
    std::size_t checked = 0;
    for (const auto& line : q.lines) {
      if (line.find_first_not_of(" ") != std::string::npos && line.substr(line.find_first_not_of(" ")) == "…") continue;
      CAPTURE(line);
      const auto found = std::find(output.begin() + static_cast<std::ptrdiff_t>(at), output.end(), line);
      CHECK_MESSAGE(found != output.end(),
                    "not in the output of brrr explain " << q.report << " (after line " << at << "), or out of order");
      if (found != output.end()) at = static_cast<std::size_t>(found - output.begin()) + 1;
      ++checked;
    }
    CHECK(checked > 0);
  }
  // The walkthrough reads every recorded report.
  for (const auto& path : example_reports()) {
    CAPTURE(path.string());
    CHECK(outputs.count("examples/reports/" + path.filename().string()) == 1);
  }
}

TEST_CASE("docs: every option of brrr --help is in man/brrr.1") {
  const auto help = run_brrr({"--help"});
  REQUIRE(help.status == 0);
  const std::string page = man_page_text("brrr.1");
  const auto options = long_options(help.out);
  CHECK(options.count("--help") == 1);
  for (const auto& option : options) {
    CAPTURE(option);
    CHECK(page.find(option) != std::string::npos);
  }
}

TEST_CASE("docs: every long option of brrr <sub> --help is in man/brrr-<sub>.1") {
  const auto help = run_brrr({"--help"});
  REQUIRE(help.status == 0);
  const auto subs = subcommands(help.out);
  CHECK(std::find(subs.begin(), subs.end(), "profile") != subs.end());
  CHECK(std::find(subs.begin(), subs.end(), "explain") != subs.end());
  for (const auto& sub : subs) {
    CAPTURE(sub);
    const auto sub_help = run_brrr({sub, "--help"});
    REQUIRE(sub_help.status == 0);
    const std::string page = man_page_text("brrr-" + sub + ".1");
    const auto options = long_options(sub_help.out);
    CHECK(options.size() >= 2); // --help and at least one of the subcommand's own
    for (const auto& option : options) {
      CAPTURE(option);
      CHECK(page.find(option) != std::string::npos);
    }
    // The page documents the exit statuses and the environment, and names the subcommand.
    CHECK(page.find(".SH EXIT STATUS") != std::string::npos);
    CHECK(page.find(".SH ENVIRONMENT") != std::string::npos);
    CHECK(page.find("brrr " + sub) != std::string::npos);
  }
}

TEST_CASE("docs: every rule id and saving formula is in docs/rules.md") {
  const std::string doc = read_text(source_path("docs/rules.md"));
  REQUIRE(!doc.empty());
  REQUIRE(!rules().empty());
  for (const auto& rule : rules()) {
    CAPTURE(rule.id);
    CHECK(doc.find("### `" + std::string(rule.id) + "`") != std::string::npos);
    CHECK(doc.find("`" + std::string(rule.saving_formula) + "`") != std::string::npos);
  }
}

TEST_CASE("docs: every top-level and kernel key of the report is in docs/report-format.md") {
  const std::string doc = read_text(source_path("docs/report-format.md"));
  REQUIRE(!doc.empty());
  const auto j = reanalysed(source_path("examples/reports/demo-h100.json"));
  REQUIRE(j.is_object());
  for (const auto& item : j.items()) {
    // CAPTURE is a lambda, and clang before 16 cannot capture a structured binding in one.
    const std::string& key = item.key();
    CAPTURE(key);
    CHECK(mentions_key(doc, key));
  }
  REQUIRE(!j.at("kernels").empty());
  std::set<std::string> kernel_keys;
  for (const auto& kernel : j.at("kernels"))
    for (const auto& [key, value] : kernel.items()) kernel_keys.insert(key);
  CHECK(kernel_keys.count("analysis") == 1); // the analysis was derived again
  for (const auto& key : kernel_keys) {
    CAPTURE(key);
    CHECK(mentions_key(doc, key));
  }
}

TEST_CASE("docs: every key of the example reports is documented, evidence keys in docs/rules.md") {
  const std::string format_doc = read_text(source_path("docs/report-format.md"));
  const std::string rules_doc = read_text(source_path("docs/rules.md"));
  const auto reports = example_reports();
  REQUIRE(!reports.empty());
  std::set<std::string> report_keys;
  std::set<std::string> evidence_keys;
  for (const auto& path : reports) {
    const auto j = reanalysed(path);
    for (const auto& finding : j.at("verdict").at("findings"))
      for (const auto& [key, value] : finding.at("evidence").items()) evidence_keys.insert(key);
    auto without_findings = j;
    without_findings["verdict"]["findings"] = nlohmann::ordered_json::array();
    collect_keys(without_findings, false, report_keys, evidence_keys);
    for (const auto& finding : j.at("verdict").at("findings")) {
      auto rest = finding;
      rest.erase("evidence");
      collect_keys(rest, false, report_keys, evidence_keys);
    }
  }
  for (const auto& key : report_keys) {
    CAPTURE(key);
    CHECK(mentions_key(format_doc, key));
  }
  for (const auto& key : evidence_keys) {
    CAPTURE(key);
    CHECK(mentions_key(rules_doc, key));
  }
}

namespace {

// Every test case title in the test sources (CPU and GPU).
std::set<std::string> test_case_titles() {
  std::set<std::string> titles;
  const std::regex title(R"re(TEST_CASE\("((?:[^"\\]|\\.)*)"\))re");
  for (const char* folder : {"tests", "tests/gpu"})
    for (const auto& entry : fs::directory_iterator(source_path(folder))) {
      if (entry.path().extension() != ".cpp") continue;
      const std::string text = read_text(entry.path());
      for (std::sregex_iterator m(text.begin(), text.end(), title), end; m != end; ++m) titles.insert((*m)[1].str());
    }
  return titles;
}

} // namespace

TEST_CASE("docs: every promise in docs/reliability.md names tests that exist") {
  const auto titles = test_case_titles();
  REQUIRE(titles.count("reliability: runs at once in one folder each write a report of their own") == 1);
  std::istringstream doc(read_text(source_path("docs/reliability.md")));
  bool in_promises = false;
  std::size_t promises = 0;
  const std::regex quoted("`([^`]+)`");
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("|", 0) != 0) {
      in_promises = false;
      continue;
    }
    const std::string last = line.substr(line.rfind('|', line.size() - 2) + 1);
    // A table whose last column is "test" lists promises; its separator row follows the header.
    if (last.find(" test |") == 0) {
      in_promises = true;
      continue;
    }
    if (!in_promises || line.rfind("|---", 0) == 0) continue;
    ++promises;
    CAPTURE(line);
    std::size_t named = 0;
    for (std::sregex_iterator m(last.begin(), last.end(), quoted), end; m != end; ++m, ++named) {
      const std::string name = (*m)[1].str();
      CAPTURE(name);
      const bool exists = titles.count(name) == 1 ||
                          (name.rfind("fuzz_", 0) == 0 && fs::exists(source_path("tests/fuzz/" + name + ".cpp"))) ||
                          fs::exists(source_path(name));
      CHECK(exists);
    }
    CHECK(named > 0);
  }
  CHECK(promises >= 20);
}
