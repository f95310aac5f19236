// Reports and hardware profiles on disk: the JSON round trip, every kind of bad input (each
// one InputError whose one-line message starts with the file name), the built-in profiles and
// how a GPU finds its profile, and the atomic write.

#include <doctest/doctest.h>

#include "trace_builder.hpp"

#include "report/json_reader.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace brrr;
using namespace brrr::testing;
using nlohmann::json;
namespace fs = std::filesystem;

const HardwareProfile& h100() {
  static const HardwareProfile p = [] {
    auto m = match_profile(builtin_profiles(), "NVIDIA H100 80GB HBM3", "9.0");
    REQUIRE(m);
    return m->profile;
  }();
  return p;
}

// A run with something in every section: kernels with and without counters, transfers,
// every kind of gap, ranges and successions.
Report sample_report() {
  TraceBuilder b(2'000'000);
  b.facts.info.start_time = "2024-06-01T12:00:00Z";
  b.facts.info.host = "gpu-1";
  b.facts.info.rank = RankInfo{"torchrun", "RANK", 1, 1, 2};
  b.facts.info.exit = {ExitStatus::Kind::exited, 0, 0};
  b.facts.collection.counters_mode = "first:2";
  b.facts.collection.counters_available = true;
  b.process(4242, 10'000);
  b.trace.processes.back().rank = RankInfo{"slurm", "SLURM_PROCID", 3, std::nullopt, 8};
  b.device("NVIDIA H100 80GB HBM3", 9, 0, 132);
  int64_t t = 100'000;
  for (int i = 0; i < 5; ++i) {
    const uint32_t a = b.launch("_Z10cos_kernelPKfPfm", t - 3000, t - 1000, t, t + 20'000, {.grid = {264, 1, 1}});
    const uint32_t c =
        b.launch("_Z10cos_kernelPKfPfm", t + 20'100, t + 20'200, t + 21'000, t + 41'000, {.grid = {528, 1, 1}});
    if (i < 2) {
      b.counters(a, "_Z10cos_kernelPKfPfm",
                 {{"dram__bytes_read.sum", 268435456.0 / 3},
                  {"dram__bytes_write.sum", 268435456},
                  {"lts__t_bytes.sum", 1.5e9},
                  {"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 1.0e8 + i}});
      b.counters(c, "_Z10cos_kernelPKfPfm", {{"dram__bytes_read.sum", 2.5e8}, {"dram__bytes_write.sum", 2.5e8 + i}});
    }
    t += 50'000;
  }
  b.sync(t - 8'000, t + 10'000);
  b.launch("tiny", t + 12'000, t + 13'000, t + 20'000, t + 23'000);
  const uint32_t copy = b.copy(t + 300'000, t + 500'000, 64 << 20,
                               {.kind = CopyKind::host_to_device, .source = MemoryKind::pageable, .async = false});
  b.api(copy, t + 250'000, t + 510'000, ApiKind::memcpy);
  b.set(t + 520'000, t + 530'000, 1 << 20);
  b.range("loop", 90'000, t);
  b.range("copies", t + 250'000, t + 600'000);
  b.tool(1'800'000, 1'850'000);
  Report report;
  report.run = b.build();
  report.profile = h100();
  report.analysis = analyse(report.run, &*report.profile);
  return report;
}

json sample_json() {
  static const json j = json::parse(report_to_json(sample_report()).dump(2));
  return j;
}

// Reading `text` as a report must fail with one line that starts with the file's name and
// contains `expected`.
void check_bad_report(const std::string& text, const std::string& expected) {
  TempDir dir("report");
  const auto path = dir.write("bad.json", text);
  CAPTURE(expected);
  try {
    (void)read_report(path);
    FAIL("no error for a report that should be rejected");
  } catch (const InputError& e) {
    const std::string message = e.what();
    CAPTURE(message);
    CHECK(message.rfind(path.string() + ": ", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find(expected) != std::string::npos);
  }
}

void check_bad_report(const std::function<void(json&)>& edit, const std::string& expected) {
  json j = sample_json();
  edit(j);
  check_bad_report(j.dump(2), expected);
}

} // namespace

TEST_CASE("report: the JSON round trip gives back an equal run and profile") {
  const Report original = sample_report();
  REQUIRE(original.run.kernels.size() == 3);
  REQUIRE(original.run.kernels[0].counters);
  REQUIRE_FALSE(original.run.transfers.empty());
  REQUIRE_FALSE(original.run.ranges.empty());
  REQUIRE_FALSE(original.run.successions.empty());
  REQUIRE(original.run.collection.tool_ns == 50'000);

  const std::string text = report_to_json(original).dump(2);
  const Report back = report_from_json(json::parse(text), "sample.json");
  CHECK(back.run.info == original.run.info);
  CHECK(back.run.gpus == original.run.gpus);
  CHECK(back.run.processes == original.run.processes);
  CHECK(back.run.collection == original.run.collection);
  CHECK(back.run.timeline == original.run.timeline);
  CHECK(back.run.kernels == original.run.kernels);
  CHECK(back.run.transfers == original.run.transfers);
  CHECK(back.run.idle == original.run.idle);
  CHECK(back.run.largest_gaps == original.run.largest_gaps);
  CHECK(back.run.ranges == original.run.ranges);
  CHECK(back.run.successions == original.run.successions);
  CHECK(back.run == original.run);
  REQUIRE(back.profile);
  CHECK(*back.profile == *original.profile);

  // Analysing again gives the same verdict, and writing again the same text.
  Report again = back;
  again.analysis = analyse(again.run, &*again.profile);
  CHECK(again.analysis.verdict.headline == original.analysis.verdict.headline);
  CHECK(report_to_json(again).dump(2) == text);
}

TEST_CASE("report: schema_version is the first key, then the tool and the run") {
  const std::string text = report_to_json(sample_report()).dump(2);
  CHECK(text.rfind("{\n  \"schema_version\": 1,\n  \"tool\": {", 0) == 0);
  const json j = json::parse(text);
  CHECK(j["schema_version"] == report_schema_version);
  CHECK(j["verdict"]["regime"].is_string());
  CHECK(j["attribution"]["process"]["wall_ns"] == j["run"]["wall_ns"]);
}

TEST_CASE("report: a transfer without alone_ns (an older report) counts all its time as alone") {
  json j = sample_json();
  REQUIRE_FALSE(j["transfers"].empty());
  for (auto& t : j["transfers"]) t.erase("alone_ns");
  const Report back = report_from_json(j, "old.json");
  for (const auto& t : back.run.transfers) CHECK(t.alone_ns == t.attributed_ns);
}

TEST_CASE("report: a report without a profile keeps the reason") {
  Report r = sample_report();
  r.profile.reset();
  r.profile_missing_reason = "no built-in profile for NVIDIA X (compute capability 1.0); pass --profile FILE";
  r.analysis = analyse(r.run, nullptr);
  const Report back = report_from_json(json::parse(report_to_json(r).dump()), "r.json");
  CHECK_FALSE(back.profile);
  CHECK(back.profile_missing_reason == r.profile_missing_reason);
  CHECK(back.run == r.run);
}

TEST_CASE("report: property: random runs survive the round trip unchanged") {
  const HardwareProfile profile = small_profile();
  for (uint32_t seed = 7'000; seed < 7'150; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    Report r;
    r.run = random_trace(rng).build();
    r.profile = profile;
    r.analysis = analyse(r.run, &profile);
    const Report back = report_from_json(json::parse(report_to_json(r).dump()), "random.json");
    REQUIRE(back.run == r.run);
  }
}

TEST_CASE("report: files that are not reports") {
  TempDir dir("report");
  auto check = [&](const fs::path& path, const std::string& expected) {
    CAPTURE(path);
    try {
      (void)read_report(path);
      FAIL("no error");
    } catch (const InputError& e) {
      const std::string message = e.what();
      CAPTURE(message);
      CHECK(message.rfind(path.string() + ": ", 0) == 0);
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.find(expected) != std::string::npos);
    }
  };
  check(dir / "missing.json", "no such file");
  check(dir.path(), "is a directory");
  check(dir.write("empty.json", ""), "is empty");
  check(dir.write("blank.json", " \n\t\r\n"), "is empty");
  check(dir.write("text.json", "hello, world\n"), "not valid JSON");
  check(dir.write("garbage.json", "{\"a\": 1} trailing"), "not valid JSON");
  const std::string good = sample_json().dump(2);
  check(dir.write("half.json", good.substr(0, good.size() / 2)), "cut short");
  // Cut inside a string, a number and a literal.
  const auto quote = good.find("\"NVIDIA H100");
  check(dir.write("in-string.json", good.substr(0, quote + 5)), "cut short");
  const auto number = good.find("\"wall_ns\": ") + 12;
  check(dir.write("in-number.json", good.substr(0, number)), "cut short");
  const auto literal = good.find("true");
  check(dir.write("in-literal.json", good.substr(0, literal + 2)), "cut short");
}

TEST_CASE("report: JSON of the wrong shape names the field") {
  check_bad_report("[1, 2, 3]", "expected a JSON object");
  check_bad_report("42", "expected a JSON object");
  check_bad_report([](json& j) { j.erase("schema_version"); }, "no schema_version");
  check_bad_report([](json& j) { j["schema_version"] = 2; }, "newer");
  check_bad_report([](json& j) { j["schema_version"] = 0; }, "schema_version: must be 1 or more");
  check_bad_report([](json& j) { j["schema_version"] = "1"; }, "schema_version: expected a non-negative integer");
  check_bad_report([](json& j) { j["kernels"][0].erase("launches"); }, "kernels[0].launches: missing");
  check_bad_report([](json& j) { j["kernels"] = json::object(); }, "kernels: expected an array");
  check_bad_report([](json& j) { j["run"]["wall_ns"] = "12"; }, "run.wall_ns: expected a non-negative integer");
  check_bad_report([](json& j) { j["run"].erase("exit"); }, "run.exit: missing");
  check_bad_report([](json& j) { j["run"]["exit"]["kind"] = "vanished"; }, "run.exit.kind: expected exited");
  check_bad_report([](json& j) { j["run"]["complete"] = 1; }, "run.complete: expected true or false");
  check_bad_report([](json& j) { j["gpus"][0]["name"] = 7; }, "gpus[0].name: expected a string");
  check_bad_report(
      [](json& j) {
        j["kernels"][0]["grid"] = json::array({1, 2});
      },
      "kernels[0].grid: expected [x, y, z]");
  check_bad_report([](json& j) { j["kernels"][0]["grid"][0] = 5'000'000'000LL; }, "kernels[0].grid[0]: is too large");
  check_bad_report([](json& j) { j["transfers"][0]["kind"] = "warp"; }, "transfers[0].kind: unknown transfer kind");
  check_bad_report(
      [](json& j) { j["transfers"][0]["alone_ns"] = j["transfers"][0]["attributed_ns"].get<uint64_t>() + 1; },
      "transfers[0].alone_ns: is larger than attributed_ns");
  check_bad_report([](json& j) { j["idle"][0]["cause"] = "boredom"; }, "idle[0].cause: unknown idle cause");
  check_bad_report([](json& j) { j["kernels"][0]["counters"]["flops_per_launch"]["fp12"] = json::object(); },
                   "unknown precision");
  check_bad_report([](json& j) { j["hardware_profile"].erase("dram_bytes_per_s"); }, "dram_bytes_per_s is required");
}

TEST_CASE("report: values out of range") {
  check_bad_report([](json& j) { j["kernels"][0]["duration_ns"]["total"] = -5; },
                   "kernels[0].duration_ns.total: is negative (-5)");
  check_bad_report([](json& j) { j["run"]["wall_ns"] = 1.5; }, "run.wall_ns: expected a non-negative integer");
  check_bad_report([](json& j) { j["run"]["wall_ns"] = -1.5; }, "run.wall_ns: is negative");
  check_bad_report([](json& j) { j["kernels"][0]["counters"]["dram_read_bytes_per_launch"] = -1.0; }, "is negative");
  check_bad_report(
      [](json& j) {
        auto& d = j["kernels"][0]["duration_ns"];
        d["min"] = d["max"].get<uint64_t>() + 1;
      },
      "kernels[0].duration_ns: min <= median <= max does not hold");
  check_bad_report([](json& j) { j["run"]["gpu_active"]["end_ns"] = j["run"]["wall_ns"].get<uint64_t>() + 1; },
                   "run.gpu_active: the GPU-active span must lie within the run");
}

TEST_CASE("report: times that do not add up") {
  check_bad_report(
      [](json& j) { j["kernels"][0]["attributed_ns"] = j["kernels"][0]["attributed_ns"].get<uint64_t>() + 1; },
      "the attributed times sum to");
  check_bad_report([](json& j) { j["run"]["wall_ns"] = j["run"]["wall_ns"].get<uint64_t>() - 1; },
                   "the attributed times sum to");
  check_bad_report([](json& j) { j["ranges"][0]["total_ns"] = j["ranges"][0]["total_ns"].get<uint64_t>() + 1; },
                   "range 'loop' parts sum to");
}

TEST_CASE("report: indices out of range") {
  check_bad_report([](json& j) { j["successions"][0]["from"] = 99; },
                   "successions[0]: refers to a kernel that does not exist");
  check_bad_report([](json& j) { j["successions"][0]["to"] = 3; }, "refers to a kernel that does not exist");
  check_bad_report([](json& j) { j["ranges"][0]["kernels_ns"][0]["index"] = 99; },
                   "ranges[0].kernels_ns[0].index: refers to an entry that does not exist");
}

// ---------------------------------------------------------------------------------------
// Hardware profiles

TEST_CASE("profiles: every built-in profile loads and survives a round trip") {
  const auto& profiles = builtin_profiles();
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(source_path("profiles")))
    files += entry.path().extension() == ".json";
  CHECK(profiles.size() == files);
  CHECK(files >= 10);
  std::set<std::string> ids;
  for (const auto& p : profiles) {
    CAPTURE(p.id);
    CHECK(ids.insert(p.id).second);
    CHECK(p.origin.rfind("builtin:", 0) == 0);
    CHECK_FALSE(p.name.empty());
    CHECK_FALSE(p.compute_capability.empty());
    CHECK_FALSE(p.match_names.empty());
    REQUIRE(p.dram_bytes_per_s);
    CHECK(p.dram_bytes_per_s->value > 1e11);
    CHECK_FALSE(p.peak_flops_per_s.empty());
    CHECK(p.peak(Precision::fp32, Pipe::cuda_core, Ceilings::datasheet).value_or(0) > 1e12);
    for (const auto& [key, figure] : p.peak_flops_per_s) CHECK_FALSE(figure.source.empty());
    HardwareProfile back = profile_from_json(json::parse(profile_to_json(p).dump()), p.origin);
    CHECK(back == p);
    // Every profile is found by its own names.
    for (const auto& name : p.match_names) {
      auto m = match_profile(profiles, name, p.compute_capability);
      REQUIRE(m);
      CHECK(m->profile.id == p.id);
      CHECK(m->exact);
    }
  }
}

TEST_CASE("profiles: matching a GPU to its profile") {
  const auto& profiles = builtin_profiles();
  SUBCASE("an exact name") {
    auto m = match_profile(profiles, "NVIDIA H100 80GB HBM3", "9.0");
    REQUIRE(m);
    CHECK(m->profile.id == "h100-sxm");
    CHECK(m->exact);
    auto lower = match_profile(profiles, "nvidia h100 80gb hbm3", "9.0");
    REQUIRE(lower);
    CHECK(lower->profile.id == "h100-sxm");
  }
  SUBCASE("an L40 is not an L4") {
    auto m = match_profile(profiles, "NVIDIA L40", "8.9");
    CHECK((!m || m->profile.id != "l4"));
    CHECK_FALSE(m);
  }
  SUBCASE("an H200 NVL gets the H200 profile, flagged as not exact") {
    auto m = match_profile(profiles, "NVIDIA H200 NVL", "9.0");
    REQUIRE(m);
    CHECK(m->profile.id == "h200");
    CHECK_FALSE(m->exact);
  }
  SUBCASE("the longest name found wins") {
    auto m = match_profile(profiles, "NVIDIA H100 80GB HBM3 (rev 2)", "9.0");
    REQUIRE(m);
    CHECK(m->profile.id == "h100-sxm");
    CHECK_FALSE(m->exact);
  }
  SUBCASE("another compute capability does not match") {
    CHECK_FALSE(match_profile(profiles, "NVIDIA H100 80GB HBM3", "8.0"));
    CHECK_FALSE(match_profile(profiles, "NVIDIA Something Else", "9.0"));
    CHECK_FALSE(match_profile(profiles, "", "9.0"));
  }
}

namespace {

json profile_json() { return json::parse(profile_to_json(h100()).dump()); }

void check_bad_profile(const std::function<void(json&)>& edit, const std::string& expected) {
  json j = profile_json();
  edit(j);
  CAPTURE(expected);
  try {
    (void)profile_from_json(j, "my-gpu.json");
    FAIL("no error");
  } catch (const InputError& e) {
    const std::string message = e.what();
    CAPTURE(message);
    CHECK(message.rfind("my-gpu.json: ", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find(expected) != std::string::npos);
  }
}

} // namespace

TEST_CASE("profiles: a bad profile names the field") {
  check_bad_profile([](json& j) { j.erase("dram_bytes_per_s"); }, "dram_bytes_per_s is required");
  check_bad_profile([](json& j) { j["peak_flops_per_s"]["fp12"] = j["peak_flops_per_s"]["fp32"]; },
                    "peak_flops_per_s.fp12: unknown precision");
  check_bad_profile([](json& j) { j["peak_flops_per_s"]["fp32"]["simd"] = j["peak_flops_per_s"]["fp32"]["cuda_core"]; },
                    "peak_flops_per_s.fp32.simd: unknown pipe");
  check_bad_profile([](json& j) { j["dram_bytes_per_s"]["value"] = 0; }, "dram_bytes_per_s.value: must be positive");
  check_bad_profile([](json& j) { j["peak_flops_per_s"]["bf16"]["tensor"]["value"] = -1e12; }, "must be positive");
  check_bad_profile([](json& j) { j["dram_bytes_per_s"].erase("source"); }, "dram_bytes_per_s.source: missing");
  check_bad_profile([](json& j) { j["dram_bytes_per_s"]["source"] = ""; }, "must name where the figure comes from");
  check_bad_profile([](json& j) { j["schema_version"] = 9; }, "newer");
  check_bad_profile([](json& j) { j.erase("id"); }, "id: missing");
  check_bad_profile([](json& j) { j = json::array(); }, "must be a JSON object");
}

TEST_CASE("profiles: read from a file, the file's name leads the errors") {
  TempDir dir("profile");
  const auto good = dir.write("gpu.json", profile_json().dump(2));
  const HardwareProfile p = read_profile(good);
  CHECK(p.id == "h100-sxm");
  CHECK(p.origin == good.string());
  try {
    (void)read_profile(dir / "nope.json");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == (dir / "nope.json").string() + ": no such file");
  }
}

// ---------------------------------------------------------------------------------------
// Writing files

namespace {

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("write_file_atomically") {
  TempDir dir("write");
  const auto path = dir / "report.json";
  SUBCASE("writes the text, readable by others as the umask allows") {
    write_file_atomically(path, "{}\n", false);
    CHECK(read_text(path) == "{}\n");
    CHECK(entries(dir.path()) == std::vector<std::string>{"report.json"});
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    const mode_t mask = ::umask(0);
    ::umask(mask);
    CHECK((st.st_mode & 0777) == (0666 & ~mask));
  }
  SUBCASE("refuses to replace a file unless asked") {
    dir.write("report.json", "old");
    try {
      write_file_atomically(path, "new", false);
      FAIL("no error");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("exists") != std::string::npos);
    }
    CHECK(read_text(path) == "old");
    CHECK(entries(dir.path()) == std::vector<std::string>{"report.json"});
    write_file_atomically(path, "new", true);
    CHECK(read_text(path) == "new");
    CHECK(entries(dir.path()) == std::vector<std::string>{"report.json"});
  }
  SUBCASE("a failed replace leaves no temporary file behind") {
    fs::create_directories(dir / "report.json" / "inside");
    CHECK_THROWS_AS(write_file_atomically(path, "text", true), std::runtime_error);
    CHECK(entries(dir.path()) == std::vector<std::string>{"report.json"});
    CHECK(fs::is_directory(path));
  }
  SUBCASE("a folder that does not exist") {
    CHECK_THROWS_WITH_AS(write_file_atomically(dir / "no" / "r.json", "text", false),
                         doctest::Contains("cannot write in"), std::runtime_error);
    CHECK(entries(dir.path()).empty());
  }
  SUBCASE("a read-only folder leaves nothing behind") {
    fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
    if (::geteuid() == 0) {
      // Root writes through permissions, so the failure cannot be provoked; the write
      // must then simply succeed.
      write_file_atomically(path, "text", false);
      CHECK(read_text(path) == "text");
    } else {
      CHECK_THROWS_AS(write_file_atomically(path, "text", false), std::runtime_error);
      CHECK(entries(dir.path()).empty());
    }
    fs::permissions(dir.path(), fs::perms::owner_all);
  }
}

TEST_CASE("JsonReader: typed access with the path of the field") {
  const json j = json::parse(R"({"a": {"b": [1, -2, 3.5, "x", 4294967296]}, "n": null})");
  JsonReader r(j, "doc.json");
  auto items = r.at("a").at("b").items();
  REQUIRE(items.size() == 5);
  CHECK(items[0].u64() == 1);
  CHECK(items[1].i32() == -2);
  CHECK(items[2].number() == 3.5);
  CHECK(items[3].str() == "x");
  CHECK(items[4].u64() == 4294967296ULL);
  CHECK_THROWS_WITH_AS((void)items[4].u32(), "doc.json: a.b[4]: is too large", InputError);
  CHECK_THROWS_WITH_AS((void)items[1].u64(), "doc.json: a.b[1]: is negative (-2)", InputError);
  CHECK_THROWS_WITH_AS((void)items[3].number(), "doc.json: a.b[3]: expected a number", InputError);
  CHECK_THROWS_WITH_AS((void)r.at("missing"), "doc.json: missing: missing", InputError);
  CHECK_FALSE(r.has("n"));
  CHECK_FALSE(r.optional("n"));
  CHECK(r.has("a"));
}
