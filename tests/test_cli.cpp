// The command line, run as a user runs it: the real brrr executable (BRRR_BINARY) with its
// standard output, standard error and exit status captured. explain's formats and options,
// bad input (exit 2, one line "brrr: error: ..."), and profile's exit statuses, which follow
// env(1): the target's own, 128+N for signal N, 126/127 when it cannot run, 125 for brrr's
// own failures.

#include <doctest/doctest.h>

#include "process_runner.hpp"
#include "trace_builder.hpp"

#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sys/stat.h>

namespace {

using namespace brrr;
using namespace brrr::testing;
using nlohmann::json;
namespace fs = std::filesystem;

const fs::path demo = fixture_path("synthetic-demo.json");

// A usage or input error: exit 2, nothing on stdout, and stderr starting "brrr: error: ".
void check_error(const ProcessResult& r, const std::string& expected, bool one_line = true) {
  CAPTURE(r.err);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("brrr: error: ", 0) == 0);
  CHECK(r.err.find(expected) != std::string::npos);
  if (one_line) {
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.back() == '\n');
  }
}

} // namespace

TEST_CASE("cli: explain prints the text report") {
  const auto r = run_brrr({"explain", demo.string()});
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.rfind("brrr  ./brrr-demo --scale 0.1\n", 0) == 0);
  for (const char* section : {"\nVERDICT\n", "\nWHERE THE TIME WENT", "\nTOP KERNELS", "\nSUGGESTIONS", "\nPHASES"})
    CHECK(r.out.find(section) != std::string::npos);
  for (const auto& line : lines_of(r.out)) {
    CAPTURE(line);
    // One column per code point; the default width is 100.
    CHECK(static_cast<std::size_t>(
              std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; })) <= 100);
  }
}

TEST_CASE("cli: explain --format json is the report, schema_version first") {
  const auto r = run_brrr({"explain", demo.string(), "--format", "json"});
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind("{\n  \"schema_version\": 1,", 0) == 0);
  const json j = json::parse(r.out);
  const json fixture = json::parse(read_text(demo));
  CHECK(j["kernels"].size() == fixture["kernels"].size());
  CHECK(j["run"]["wall_ns"] == fixture["run"]["wall_ns"]);
  CHECK(j["verdict"]["headline"] == fixture["verdict"]["headline"]);
  // It reads back as a report.
  CHECK(report_from_json(j, "stdout").run.timeline.wall_ns == j["run"]["wall_ns"].get<uint64_t>());
}

TEST_CASE("cli: explain --format md and csv") {
  const auto md = run_brrr({"explain", demo.string(), "-f", "md"});
  REQUIRE(md.status == 0);
  CHECK(md.out.rfind("## brrr: `./brrr-demo --scale 0.1`\n", 0) == 0);
  CHECK(run_brrr({"explain", demo.string(), "-f", "markdown"}).out == md.out);

  const auto csv = run_brrr({"explain", demo.string(), "--format", "csv"});
  REQUIRE(csv.status == 0);
  const auto rows = lines_of(csv.out);
  REQUIRE(rows.size() == 5); // the header and four kernel groups
  CHECK(rows[0] ==
        "name,grid,block,launches,total_ns,min_ns,median_ns,max_ns,attributed_ns,bound,roof_fraction,flops,dram_bytes,"
        "arithmetic_intensity,achieved_flops_per_s,achieved_dram_bytes_per_s,precision,pipe,measured_launches");
  for (const auto& row : rows) CHECK(std::count(row.begin(), row.end(), ',') >= 18);
  CHECK(csv.out.find("\"cos_kernel(float4 const*, float4*, unsigned long)\",1056x1x1,256x1x1,40,") !=
        std::string::npos);
}

TEST_CASE("cli: explain --top limits the kernel table") {
  const auto r = run_brrr({"explain", demo.string(), "--top", "3"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("TOP KERNELS  (3 of 4, by time)") != std::string::npos);
  CHECK(r.out.find("cos_cos_kernel") == std::string::npos);
  CHECK(r.out.find("tiny_kernel(float*)") != std::string::npos);
  check_error(run_brrr({"explain", demo.string(), "--top", "0"}), "--top", false);
}

TEST_CASE("cli: explain --profile re-analyses with another hardware profile") {
  TempDir dir("cli");
  json fixture = json::parse(read_text(demo));
  json profile = fixture["hardware_profile"];
  profile.erase("origin");
  // Halve the BF16 tensor peak: the GEMM now runs at 159% of it.
  profile["peak_flops_per_s"]["bf16"]["tensor"]["value"] =
      profile["peak_flops_per_s"]["bf16"]["tensor"]["value"].get<double>() / 2;
  const auto path = dir.write("slow.json", profile.dump());
  const auto r = run_brrr({"explain", demo.string(), "--profile", path.string(), "-f", "json"});
  REQUIRE(r.status == 0);
  const json j = json::parse(r.out);
  CHECK(j["hardware_profile"]["origin"] == path.string());
  for (const auto& k : j["kernels"])
    if (k["name"].get<std::string>().rfind("sm90_xmma_gemm", 0) == 0)
      CHECK(k["analysis"]["compute_roof_fraction"].get<double>() > 1.5);
  check_error(run_brrr({"explain", demo.string(), "--profile", (dir / "none.json").string()}),
              "none.json: no such file");
}

TEST_CASE("cli: bad input exits 2 with one line on stderr") {
  TempDir dir("cli");
  const std::string good = read_text(demo);
  json newer = json::parse(good);
  newer["schema_version"] = 99;
  json edited = json::parse(good);
  edited["kernels"][0]["attributed_ns"] = edited["kernels"][0]["attributed_ns"].get<uint64_t>() + 1;
  json missing = json::parse(good);
  missing["kernels"][1].erase("launches");
  struct Case {
    fs::path path;
    std::string expected;
  };
  const std::vector<Case> cases{
      {dir / "missing.json", "missing.json: no such file"},
      {dir.path(), "is a directory"},
      {dir.write("empty.json", ""), "empty.json: is empty"},
      {dir.write("blank.json", "\n \n"), "blank.json: is empty"},
      {dir.write("text.json", "not json"), "text.json: not valid JSON"},
      {dir.write("cut.json", good.substr(0, good.size() * 2 / 3)), "cut.json: JSON is cut short"},
      {dir.write("array.json", "[]"), "array.json: not a brrr report"},
      {dir.write("newer.json", newer.dump()), "newer.json: report schema_version 99 is newer"},
      {dir.write("edited.json", edited.dump()), "edited.json: the attributed times sum to"},
      {dir.write("missing-launches.json", missing.dump()), "missing-launches.json: kernels[1].launches: missing"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    check_error(run_brrr({"explain", c.path.string()}), c.expected);
  }
}

TEST_CASE("cli: usage errors exit 2") {
  check_error(run_brrr({}), "A subcommand is required", false);
  check_error(run_brrr({"frobnicate"}), "brrr: error: ", false);
  check_error(run_brrr({"explain"}), "report", false);
  check_error(run_brrr({"explain", demo.string(), "--bogus"}), "--bogus", false);
  check_error(run_brrr({"explain", demo.string(), "--format", "xml"}), "xml", false);
  const auto help = run_brrr({"--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("explain") != std::string::npos);
  const auto version = run_brrr({"--version"});
  CHECK(version.status == 0);
  CHECK(version.out.rfind("brrr ", 0) == 0);
}

TEST_CASE("cli: no color when stdout is not a terminal, with or without NO_COLOR") {
  ProcessOptions plain;
  plain.environment["NO_COLOR"] = std::nullopt;
  plain.environment["TERM"] = "xterm-256color";
  const auto colorless = run_brrr({"explain", demo.string()}, plain);
  REQUIRE(colorless.status == 0);
  CHECK(colorless.out.find('\033') == std::string::npos);
  ProcessOptions no_color;
  no_color.environment["NO_COLOR"] = "1";
  const auto r = run_brrr({"explain", demo.string()}, no_color);
  REQUIRE(r.status == 0);
  CHECK(r.out.find('\033') == std::string::npos);
  CHECK(r.out == colorless.out);
}

TEST_CASE("cli: ASCII bars when the locale is not UTF-8") {
  ProcessOptions c_locale;
  c_locale.environment["LC_ALL"] = "C";
  const auto r = run_brrr({"explain", demo.string()}, c_locale);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("█") == std::string::npos);
  CHECK(r.out.find("#") != std::string::npos);
}

TEST_CASE("cli: profile a program without CUDA") {
  TempDir dir("cli-profile");
  const auto r = run_process({BRRR_BINARY, "profile", "--", "/bin/true"}, profile_options(dir.path()));
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const auto report_path = dir / "brrr-true.json";
  REQUIRE(fs::exists(report_path));
  CHECK(r.err.find("brrr: report written to brrr-true.json") != std::string::npos);
  const Report report = read_report(report_path);
  CHECK(report.run.info.command == std::vector<std::string>{"/bin/true"});
  CHECK(report.run.info.exit == ExitStatus{ExitStatus::Kind::exited, 0, 0});
  CHECK(report.run.info.complete);
  CHECK(report.run.kernels.empty());
  const json j = json::parse(read_text(report_path));
  CHECK(j["verdict"]["headline"].get<std::string>().find("No CUDA activity was recorded") == 0);
  CHECK(j["verdict"]["regime"] == "unknown");

  // A second run does not overwrite the first report.
  const auto again = run_process({BRRR_BINARY, "profile", "-q", "/bin/true"}, profile_options(dir.path()));
  CHECK(again.status == 0);
  CHECK(fs::exists(dir / "brrr-true-2.json"));
  CHECK(again.err.find("VERDICT") == std::string::npos);
}

TEST_CASE("cli: profile passes the target's exit status on") {
  TempDir dir("cli-profile");
  SUBCASE("an exit code") {
    const auto r =
        run_process({BRRR_BINARY, "profile", "-o", (dir / "r.json").string(), "sh", "-c", "exit 3"}, profile_options());
    CHECK(r.status == 3);
    const Report report = read_report(dir / "r.json");
    CHECK(report.run.info.exit == ExitStatus{ExitStatus::Kind::exited, 3, 0});
    CHECK(report.run.info.command == std::vector<std::string>{"sh", "-c", "exit 3"});
  }
  SUBCASE("a program that does not exist: 127") {
    const auto r =
        run_process({BRRR_BINARY, "profile", "-o", (dir / "r.json").string(), "/nonexistent/x"}, profile_options());
    CHECK(r.status == 127);
    CHECK(r.err.find("brrr: error: /nonexistent/x: command not found") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "r.json"));
  }
  SUBCASE("a file that is not executable: 126") {
    const auto script = dir.write("script.sh", "#!/bin/sh\nexit 0\n");
    fs::permissions(script, fs::perms::owner_read | fs::perms::owner_write);
    const auto r =
        run_process({BRRR_BINARY, "profile", "-o", (dir / "r.json").string(), script.string()}, profile_options());
    CHECK(r.status == 126);
    CHECK(r.err.find("brrr: error: " + script.string()) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "r.json"));
  }
  SUBCASE("killed by a signal: 128 + 9, and the report says it is incomplete") {
    const auto r = run_process({BRRR_BINARY, "profile", "-o", (dir / "r.json").string(), "sh", "-c", "kill -9 $$"},
                               profile_options());
    CHECK(r.status == 137);
    const Report report = read_report(dir / "r.json");
    CHECK(report.run.info.exit == ExitStatus{ExitStatus::Kind::signaled, 0, 9});
    CHECK_FALSE(report.run.info.complete);
    REQUIRE(report.run.info.incomplete_reasons.size() == 1);
    CHECK(report.run.info.incomplete_reasons[0].find("SIGKILL") != std::string::npos);
    const json j = json::parse(read_text(dir / "r.json"));
    CHECK(j["run"]["complete"] == false);
    CHECK(j["run"]["exit"]["signal_name"] == "SIGKILL");
  }
  SUBCASE("an existing report without --force: 125, and the file untouched") {
    const auto existing = dir.write("r.json", "precious");
    const auto r = run_process({BRRR_BINARY, "profile", "-o", existing.string(), "/bin/true"}, profile_options());
    CHECK(r.status == 125);
    CHECK(r.err.rfind("brrr: error: ", 0) == 0);
    CHECK(r.err.find("exists") != std::string::npos);
    CHECK(read_text(existing) == "precious");
    const auto forced =
        run_process({BRRR_BINARY, "profile", "--force", "-o", existing.string(), "/bin/true"}, profile_options());
    CHECK(forced.status == 0);
    CHECK(read_report(existing).run.info.exit.code == 0);
  }
  SUBCASE("profile without a program is a usage error: 125") {
    const auto r = run_process({BRRR_BINARY, "profile"}, profile_options());
    CHECK(r.status == 125);
    CHECK(r.err.rfind("brrr: error: ", 0) == 0);
  }
}
