// The roofline in the text report: drawn on a terminal or with --roofline, never with
// --no-roofline or into a pipe; Unicode in a UTF-8 locale, plain ASCII otherwise or with
// --ascii. The section of the recorded demo is compared byte for byte with
// tests/golden/demo-h100-roofline.txt and demo-h100-roofline-ascii.txt (BRRR_UPDATE_GOLDEN=1
// rewrites them).

#include <doctest/doctest.h>

#include "process_runner.hpp"

#include "render/render.hpp"
#include "report/report.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;

const fs::path demo_report = source_path("examples/reports/demo-h100.json");

// The ROOFLINE section of a text report: from its heading to the blank line after it.
std::string roofline_section(const std::string& text) {
  const auto start = text.find("ROOFLINE");
  if (start == std::string::npos) return {};
  const auto end = text.find("\n\n", start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
}

void check_golden(const std::string& actual, const std::string& name) {
  const fs::path golden = source_path("tests/golden/" + name);
  if (const char* update = std::getenv("BRRR_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    write_file_atomically(golden, actual, true);
    MESSAGE("rewrote ", golden.string());
  }
  INFO("run the tests with BRRR_UPDATE_GOLDEN=1 to accept the new output");
  CHECK(actual == read_text(golden));
}

std::size_t columns(const std::string& line) {
  return static_cast<std::size_t>(std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool is_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

Report analysed_report(const fs::path& path) {
  Report r = read_report(path);
  r.analysis = analyse(r.run, r.profile ? &*r.profile : nullptr);
  return r;
}

} // namespace

TEST_CASE("golden: the terminal roofline of the recorded demo, Unicode and ASCII") {
  const auto unicode = run_brrr({"explain", demo_report.string(), "--roofline"});
  REQUIRE(unicode.status == 0);
  const std::string section = roofline_section(unicode.out);
  REQUIRE_FALSE(section.empty());
  // Under the verdict, before the attribution.
  CHECK(unicode.out.find("VERDICT") < unicode.out.find("ROOFLINE"));
  CHECK(unicode.out.find("ROOFLINE") < unicode.out.find("WHERE THE TIME WENT"));
  check_golden(section, "demo-h100-roofline.txt");

  const auto ascii = run_brrr({"explain", demo_report.string(), "--roofline", "--ascii"});
  REQUIRE(ascii.status == 0);
  const std::string ascii_section = roofline_section(ascii.out);
  CHECK(is_ascii(ascii_section));
  check_golden(ascii_section, "demo-h100-roofline-ascii.txt");

  // A locale without UTF-8 draws the same ASCII roofline.
  for (const char* locale : {"C", "POSIX", "en_US.ISO-8859-1"}) {
    CAPTURE(locale);
    ProcessOptions o;
    o.environment["LC_ALL"] = locale;
    const auto r = run_brrr({"explain", demo_report.string(), "--roofline"}, o);
    REQUIRE(r.status == 0);
    CHECK(roofline_section(r.out) == ascii_section);
  }
}

TEST_CASE("cli: the roofline is drawn on a terminal, and not into a pipe, unless asked") {
  CHECK(roofline_section(run_brrr({"explain", demo_report.string()}).out).empty());
  CHECK(roofline_section(run_brrr({"explain", demo_report.string(), "--no-roofline"}).out).empty());
  CHECK(roofline_section(run_brrr({"explain", demo_report.string(), "-f", "md", "--roofline"}).out).empty());

  ProcessOptions terminal;
  terminal.terminal = true;
  const auto on_terminal = run_brrr({"explain", demo_report.string()}, terminal);
  REQUIRE(on_terminal.status == 0);
  CHECK(on_terminal.out.find("ROOFLINE") != std::string::npos);
  CHECK(on_terminal.out.find("\r\n") != std::string::npos); // it really went through a terminal
  const auto refused = run_brrr({"explain", demo_report.string(), "--no-roofline"}, terminal);
  CHECK(refused.out.find("ROOFLINE") == std::string::npos);

  const auto both = run_brrr({"explain", demo_report.string(), "--roofline", "--no-roofline"});
  CHECK(both.status == 2);
  CHECK(both.err.rfind("brrr: error: ", 0) == 0);
}

TEST_CASE("terminal roofline: every recorded report fits the width and numbers its top kernels") {
  for (const auto& entry : fs::directory_iterator(source_path("examples/reports"))) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().filename().string());
    const Report r = analysed_report(entry.path());
    std::size_t placeable = 0;
    for (const auto& a : r.analysis.kernels) placeable += a.has_counters && a.flops > 0 && a.dram_bytes > 0;
    for (std::size_t width : {100, 80}) {
      for (bool unicode : {true, false}) {
        CAPTURE(width);
        CAPTURE(unicode);
        RenderOptions o;
        o.width = width;
        o.unicode = unicode;
        const std::string text = render_terminal_roofline(r, o);
        if (!unicode) CHECK(is_ascii(text));
        for (const auto& line : lines_of(text)) {
          CAPTURE(line);
          CHECK(columns(line) <= width);
        }
        // One legend line per numbered mark, in the order of time.
        const std::string mark = unicode ? "●" : "o";
        const std::size_t marks = std::min<std::size_t>(5, placeable);
        for (std::size_t i = 1; i <= marks; ++i)
          CHECK(text.find("\n  " + mark + std::to_string(i) + " ") != std::string::npos);
        CHECK(text.find("\n  " + mark + std::to_string(marks + 1) + " ") == std::string::npos);
      }
    }
  }
}

TEST_CASE("terminal roofline: without counters or a profile") {
  Report r = read_report(demo_report);
  r.profile.reset();
  r.analysis = analyse(r.run, nullptr);
  const std::string no_roofs = render_terminal_roofline(r, {});
  CHECK(no_roofs.find("●1") != std::string::npos);
  CHECK(no_roofs.find("ridge") == std::string::npos);

  for (auto& k : r.run.kernels) k.counters.reset();
  r.analysis = analyse(r.run, nullptr);
  CHECK(render_terminal_roofline(r, {}).find("No kernel has counters") != std::string::npos);
}
