// The HTML report of the recorded demo (examples/reports/demo-h100.json), loaded in a real
// headless Chromium from a file, as a user opens it:
// - the page's script runs to its end (it marks <body data-ready="true">), no script error
//   reaches the page's error list (window.onerror writes there), and Chromium logs no
//   console message at all;
// - the roofline in the rendered DOM has exactly one dot per kernel group with counters, each
//   with a hover title;
// - a copy of the page with a test script appended clicks every column of the kernel table
//   twice (ascending, then descending) and checks the order of the rows, picks each phase in
//   the roofline's filter and counts the dots left, and hovers a dot to see its table row
//   highlighted; the script writes what it found into the DOM, which --dump-dom returns;
// - a screenshot at 1400×1800 is kept as a test artifact, beside the page:
//   <build>/test-artifacts/demo-h100.png and demo-h100.html.

#include <doctest/doctest.h>

#include "browser.hpp"

#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;

const fs::path demo_report = source_path("examples/reports/demo-h100.json");

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The text of the element with this id in a serialized DOM, with the entities the serializer
// writes in text turned back into characters.
std::string element_text(const std::string& dom, const std::string& id, const std::string& tag) {
  const auto open = dom.find("id=\"" + id + "\"");
  if (open == std::string::npos) return {};
  const auto start = dom.find('>', open) + 1;
  const auto end = dom.find("</" + tag + ">", start);
  std::string text = dom.substr(start, end - start);
  for (const auto& [entity, c] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&nbsp;", " "}, {"&amp;", "&"}})
    for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1))
      text.replace(at, std::string(entity).size(), c);
  return text;
}

// What the test script reports, read back by the C++ test: sorting, filtering, highlighting.
const char* test_script = R"(<script>
(function () {
  var result = { columns: 0, sorted: [], phases: {}, highlighted: false };
  var table = document.getElementById('kernel-table');
  var headers = table.tHead.rows[0].cells;
  result.columns = headers.length;
  for (var c = 0; c < headers.length; c++) {
    for (var pass = 0; pass < 2; pass++) {
      headers[c].click();
      var direction = headers[c].getAttribute('aria-sort');
      var numeric = headers[c].dataset.type === 'number';
      var values = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[c].dataset.v; });
      var ok = direction === (pass === 0 ? 'ascending' : 'descending');
      var seenMissing = false;
      for (var i = 0; i < values.length; i++) {
        if (values[i] === '') { seenMissing = true; continue; }
        if (seenMissing) ok = false;  // figures that were not measured come last
        if (i === 0 || values[i - 1] === '') continue;
        var order = numeric ? parseFloat(values[i - 1]) - parseFloat(values[i]) : values[i - 1].localeCompare(values[i]);
        if (direction === 'ascending' ? order > 0 : order < 0) ok = false;
      }
      result.sorted.push(headers[c].textContent + ' ' + direction + ': ' + (ok ? 'ok' : 'WRONG'));
    }
  }
  var filter = document.getElementById('phase-filter');
  Array.prototype.forEach.call(filter.options, function (option) {
    filter.value = option.value;
    filter.dispatchEvent(new Event('change'));
    result.phases[option.textContent] = document.querySelectorAll('#roofline-chart circle.dot:not(.dim)').length;
  });
  var dot = document.querySelector('#roofline-chart circle.dot');
  dot.dispatchEvent(new MouseEvent('mouseenter'));
  var row = document.querySelector('#kernel-table tr[data-k="' + dot.dataset.k + '"]');
  result.highlighted = row.classList.contains('hl') && dot.classList.contains('hl');
  var out = document.createElement('pre');
  out.id = 'brrr-test';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
})();
</script>
)";

} // namespace

TEST_CASE("browser: the HTML report of the recorded demo in headless Chromium") {
  Report report = read_report(demo_report);
  report.analysis = analyse(report.run, &*report.profile);
  std::size_t with_counters = 0;
  for (const auto& a : report.analysis.kernels) with_counters += a.has_counters;
  REQUIRE(with_counters == report.run.kernels.size()); // the demo measured every kernel

  const auto rendered = run_brrr({"explain", demo_report.string(), "--format", "html"});
  REQUIRE(rendered.status == 0);
  const fs::path artifacts = BRRR_ARTIFACT_DIR;
  fs::create_directories(artifacts);
  const fs::path page = artifacts / "demo-h100.html";
  write_file_atomically(page, rendered.out, true);
  TempDir dir("browser");

  SUBCASE("it loads without errors and has one roofline dot per kernel with counters") {
    const auto r = run_chromium(page, dir / "profile", {"--dump-dom"});
    CAPTURE(r.err.substr(0, 4000));
    REQUIRE(r.status == 0);
    const std::string& dom = r.out;
    REQUIRE(dom.find("</html>") != std::string::npos);
    CHECK(console_messages(r.err).empty());
    CHECK(dom.find("<body data-ready=\"true\">") != std::string::npos);
    CHECK(element_text(dom, "brrr-errors", "ul").empty());
    CHECK(occurrences(dom, "<circle class=\"dot") == with_counters);
    CHECK(occurrences(dom, "</title></circle>") == with_counters);
  }

  SUBCASE("its tables sort, its phase filter filters and a dot highlights its row") {
    std::string instrumented = rendered.out;
    instrumented.insert(instrumented.rfind("</body>"), test_script);
    const fs::path copy = dir.write("instrumented.html", instrumented);
    const auto r = run_chromium(copy, dir / "profile", {"--dump-dom"});
    CAPTURE(r.err.substr(0, 4000));
    REQUIRE(r.status == 0);
    CHECK(console_messages(r.err).empty());
    CHECK(element_text(r.out, "brrr-errors", "ul").empty());
    const std::string found = element_text(r.out, "brrr-test", "pre");
    INFO("the test script found: ", found);
    REQUIRE_FALSE(found.empty());
    const auto result = nlohmann::json::parse(found);
    CHECK(result["columns"] == 13);
    REQUIRE(result["sorted"].size() == 26);
    for (const auto& column : result["sorted"]) CHECK(column.get<std::string>().find(": ok") != std::string::npos);
    CHECK(result["phases"]["all phases"] == with_counters);
    for (const auto& range : report.run.ranges) {
      CAPTURE(range.name);
      std::size_t ran = 0;
      for (const auto& [kernel, ns] : range.kernel_ns) ran += ns > 0;
      CHECK(result["phases"][range.name] == ran);
    }
    CHECK(result["highlighted"] == true);
  }

  SUBCASE("a screenshot is kept as a test artifact") {
    const fs::path screenshot = artifacts / "demo-h100.png";
    fs::remove(screenshot);
    const auto r =
        run_chromium(page, dir / "profile", {"--screenshot=" + screenshot.string(), "--window-size=1400,1800"});
    REQUIRE_MESSAGE(r.status == 0, r.err.substr(0, 4000));
    CHECK(console_messages(r.err).empty());
    REQUIRE(fs::exists(screenshot));
    // A PNG of the window's size: the signature, then the IHDR chunk's width and height.
    const std::string png = read_text(screenshot);
    REQUIRE(png.size() > 24);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    auto be32 = [&](std::size_t at) {
      return (static_cast<uint32_t>(static_cast<unsigned char>(png[at])) << 24) |
             (static_cast<uint32_t>(static_cast<unsigned char>(png[at + 1])) << 16) |
             (static_cast<uint32_t>(static_cast<unsigned char>(png[at + 2])) << 8) |
             static_cast<uint32_t>(static_cast<unsigned char>(png[at + 3]));
    };
    CHECK(be32(16) == 1400);
    CHECK(be32(20) == 1800);
    MESSAGE("screenshot of the HTML report: ", screenshot.string());
  }
}
