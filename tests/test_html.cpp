// The HTML report: byte for byte on the recorded demo (tests/golden/demo-h100.html,
// BRRR_UPDATE_GOLDEN=1 rewrites it), and on every recorded report a page that fetches nothing,
// escapes kernel names, has one roofline dot per kernel with counters, FLOPs and DRAM bytes,
// and lists every other kernel under the chart. The page in a real browser is tested by
// tests/browser/.

#include <doctest/doctest.h>

#include "process_runner.hpp"

#include "render/render.hpp"
#include "report/report.hpp"

#include <cstdlib>
#include <set>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

Report analysed_report(const fs::path& path) {
  Report r = read_report(path);
  r.analysis = analyse(r.run, r.profile ? &*r.profile : nullptr);
  return r;
}

// The kernels the roofline can place: counters with FLOPs and DRAM bytes, and a measured time.
std::size_t placeable(const Report& r) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < r.run.kernels.size(); ++i) {
    const auto& a = r.analysis.kernels[i];
    n += a.has_counters && a.flops > 0 && a.dram_bytes > 0 && r.run.kernels[i].total_ns > 0;
  }
  return n;
}

std::string html_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// Nothing in the page refers to anything outside it.
void check_self_contained(const std::string& html) {
  for (const char* outside : {"http:", "https:", "<link", " src=", "@import", "//cdn", "<iframe", "<img"}) {
    CAPTURE(outside);
    CHECK(html.find(outside) == std::string::npos);
  }
  for (auto at = html.find("url("); at != std::string::npos; at = html.find("url(", at + 1))
    CHECK(html.compare(at, 5, "url(#") == 0); // only the page's own SVG clip path
}

const fs::path demo_report = source_path("examples/reports/demo-h100.json");
const fs::path demo_golden = source_path("tests/golden/demo-h100.html");

} // namespace

TEST_CASE("golden: brrr explain --format html of the recorded demo, byte for byte") {
  const auto result = run_brrr({"explain", demo_report.string(), "--format", "html"});
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  if (const char* update = std::getenv("BRRR_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    write_file_atomically(demo_golden, result.out, true);
    MESSAGE("rewrote ", demo_golden.string());
  }
  INFO("run the tests with BRRR_UPDATE_GOLDEN=1 to accept the new output");
  CHECK(result.out == read_text(demo_golden));
}

TEST_CASE("html: every recorded report is one self-contained page with one dot per placeable kernel") {
  int reports = 0;
  for (const auto& entry : fs::directory_iterator(source_path("examples/reports"))) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().filename().string());
    ++reports;
    const Report r = analysed_report(entry.path());
    const std::string html = render_html(r);
    CHECK(html.rfind("<!DOCTYPE html>\n", 0) == 0);
    CHECK(html.size() > 1000);
    CHECK(html.substr(html.size() - 8) == "</html>\n");
    check_self_contained(html);

    const std::size_t dots = occurrences(html, "<circle class=\"dot\"");
    CHECK(dots == placeable(r));
    CHECK(occurrences(html, "</title></circle>") == dots); // each dot says what it is on hover
    CHECK(occurrences(html, "<li class=\"unplaced\"") == r.run.kernels.size() - dots);
    CHECK(occurrences(html, "<tr data-k=") == r.run.kernels.size());
    // A roof per distinct peak of the profile, and one per memory level.
    std::set<double> peaks;
    for (const auto& [key, figure] : r.profile->peak_flops_per_s) peaks.insert(figure.value);
    CHECK(occurrences(html, "<line class=\"roof") == peaks.size() + 2);
    CHECK(occurrences(html, "<section id=") == (r.run.ranges.empty() ? 6U : 7U)); // phases only with NVTX ranges

    // Kernel names are text, never markup: every C++ template argument list is escaped.
    for (const auto& k : r.run.kernels) {
      if (k.name.find('<') == std::string::npos) continue;
      CHECK(html.find(k.name) == std::string::npos);
      CHECK(html.find(html_escaped(k.name)) != std::string::npos);
    }
  }
  CHECK(reports >= 6);
}

TEST_CASE("html: the recorded demo has every kernel on the roofline, each class in its color") {
  const Report r = analysed_report(demo_report);
  const std::string html = render_html(r);
  std::size_t with_counters = 0;
  for (const auto& a : r.analysis.kernels) with_counters += a.has_counters;
  CHECK(with_counters == r.run.kernels.size());
  CHECK(occurrences(html, "<circle class=\"dot\"") == with_counters);
  CHECK(html.find("Not on the chart") == std::string::npos);
  // The GEMM is compute-bound (vermillion), the cos kernels memory-bound (blue), the tiny
  // kernel latency-bound (orange).
  CHECK(occurrences(html, "fill=\"#D55E00\"><title>") == 1);
  CHECK(occurrences(html, "fill=\"#0072B2\"><title>") == 3);
  CHECK(occurrences(html, "fill=\"#E69F00\"><title>") == 2);
  // The phase filter offers each NVTX range.
  for (const auto& range : r.run.ranges) CHECK(html.find(">" + range.name + "</option>") != std::string::npos);
}

TEST_CASE("html: kernels without counters are listed under the chart with the reason") {
  const Report r = analysed_report(source_path("examples/reports/gpt-block-h100.json"));
  const std::string html = render_html(r);
  CHECK(html.find("Not on the chart: 45 kernel groups") != std::string::npos);
  CHECK(html.find("no hardware counters: cuptiGetDeviceId failed") != std::string::npos);
}

TEST_CASE("html: without a hardware profile the kernels are placed but there are no roofs") {
  Report r = read_report(demo_report);
  r.profile.reset();
  r.profile_missing_reason = "no profile for this GPU";
  r.analysis = analyse(r.run, nullptr);
  const std::string html = render_html(r);
  CHECK(html.find("No hardware profile (no profile for this GPU)") != std::string::npos);
  CHECK(occurrences(html, "<line class=\"roof") == 0);
  CHECK(occurrences(html, "<circle class=\"dot\"") == r.run.kernels.size());
  CHECK(occurrences(html, "fill=\"#999999\"><title>") == r.run.kernels.size()); // class unknown
}

TEST_CASE("html: a run without GPU work renders a page without charts' contents") {
  Report r;
  r.run.info.command = {"/bin/true"};
  r.analysis = analyse(r.run, nullptr);
  const std::string html = render_html(r);
  check_self_contained(html);
  CHECK(occurrences(html, "<circle class=\"dot\"") == 0);
  CHECK(html.find("id=\"verdict\"") != std::string::npos);
  CHECK(html.find("id=\"kernels\"") != std::string::npos);
}

TEST_CASE("cli: profile --html writes the page beside the report, and keeps an existing one") {
  TempDir dir("cli-html");
  ProcessOptions options;
  options.cwd = dir.path();
  if (!fs::exists(fs::path(BRRR_BINARY).parent_path() / "libbrrr-inject.so"))
    options.environment["BRRR_INJECTION_LIBRARY"] = "/nonexistent/libbrrr-inject.so";
  const auto r = run_process({BRRR_BINARY, "profile", "-q", "-o", "r.json", "--html", "r.html", "/bin/true"}, options);
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("brrr: HTML report written to r.html") != std::string::npos);
  const std::string html = read_text(dir / "r.html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<code>/bin/true</code>") != std::string::npos);
  CHECK(fs::exists(dir / "r.json"));

  const auto again =
      run_process({BRRR_BINARY, "profile", "-q", "-o", "s.json", "--html", "r.html", "/bin/true"}, options);
  CHECK(again.status == 125);
  CHECK(again.err.find("brrr: error: r.html: exists") == 0);
  CHECK_FALSE(fs::exists(dir / "s.json"));
  CHECK(read_text(dir / "r.html") == html);
}
