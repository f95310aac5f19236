// brrr profile on hostile targets (docs/reliability.md): programs that close or take over
// brrr's file descriptors, change their directory or their environment, leave brrr's session,
// ignore SIGTERM, start 64 CUDA processes at once, or launch kernels for a long time. Each
// must end with the right status and a report that says what happened.

#include "profiled.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

using namespace brrr::gpu_testing;

namespace {

// Waits until a file appears (the target reached a point), for at most 60 seconds.
bool appears(const fs::path& file) {
  for (int i = 0; i < 600 && !fs::exists(file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return fs::exists(file);
}

bool any_contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& line : lines)
    if (line.find(part) != std::string::npos) return true;
  return false;
}

const std::string target = program("brrr-test-target");

} // namespace

TEST_CASE("hostile: a target that closes every descriptor before CUDA starts is traced") {
  const fs::path result = scratch() / "close-fds.txt";
  auto p = profile("close-fds", {target, "close-fds", result.string()});
  CHECK(p.outcome.status == 0);
  CHECK(slurp(result) == "launched 10\n");
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == 10);
  CHECK(p.report.run.info.complete);
}

TEST_CASE("hostile: a target that puts /dev/null in place of brrr's stream is traced to its end") {
  auto p = profile("replace-files", {target, "replace-files"});
  CHECK(p.outcome.status == 0);
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == 20);
  CHECK(p.report.run.info.complete);
  REQUIRE(p.report.run.processes.size() == 1);
  CHECK(any_contains(p.report.run.processes[0].warnings, "brrr opened the file again"));
}

TEST_CASE("hostile: a target that changes directory, with TMPDIR relative") {
  auto command = profile_command("chdir", {target, "chdir", "/"});
  command.insert(command.begin(), {"sh", "-c", "cd \"$0\" && TMPDIR=. exec \"$@\"", scratch().string()});
  auto p = read_profiled("chdir", run(command));
  CHECK(p.outcome.status == 0);
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == 10);
}

TEST_CASE("hostile: a target that empties its environment before CUDA starts runs on, untraced, and brrr says so") {
  auto p = profile("clear-env", {target, "clear-env"});
  CHECK(p.outcome.status == 0);
  CHECK(p.outcome.out == "launched 10\n");
  CHECK(p.report.run.processes.empty());
  CHECK(p.outcome.err.find("brrr: note: no process of the program was traced") != std::string::npos);
}

TEST_CASE("hostile: a target in a session of its own still gets the interrupt brrr receives") {
  const fs::path marker = scratch() / "setsid.marker";
  const auto started = start(profile_command("setsid", {target, "setsid", marker.string()}));
  REQUIRE(appears(marker));
  ::kill(started.pid, SIGINT);
  auto p = read_profiled("setsid", finish(started));
  CHECK(p.outcome.status == 128 + SIGINT);
  CHECK(p.report.run.info.exit.signal == SIGINT);
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches >= 100);
}

TEST_CASE("hostile: a target that ignores SIGTERM is killed after --kill-after, and the report says why") {
  const fs::path marker = scratch() / "ignore-term.marker";
  const auto started =
      start(profile_command("ignore-term", {target, "ignore-term", marker.string()}, {"--kill-after", "2"}));
  REQUIRE(appears(marker));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(started.pid, SIGTERM);
  auto p = read_profiled("ignore-term", finish(started));
  const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  MESSAGE("brrr ended " << waited_s << " s after SIGTERM");
  CHECK(p.outcome.status == 128 + SIGKILL);
  CHECK(waited_s >= 2);
  CHECK(waited_s < 20);
  CHECK_FALSE(p.report.run.info.complete);
  CHECK(any_contains(p.report.run.info.incomplete_reasons, "after a request to stop that it did not follow"));
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches >= 100);
}

TEST_CASE("hostile: 64 CUDA processes at once are each traced") {
  auto p = profile("spawn-64", {target, "spawn", "64"}, {"--counters", "off"});
  CHECK(p.outcome.status == 0);
  CHECK(p.report.run.processes.size() == 64);
  const auto* k = find_kernel(p.report.run, "spin_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == 64 * 10);
  CHECK(p.report.run.info.complete);
  CHECK(p.report.run.collection.dropped_records == 0);
  MESSAGE("brrr's peak memory for 64 processes: " << p.report.run.collection.brrr_peak_rss_bytes / (1 << 20) << " MiB");
}

namespace {

// The target's resident memory over a long launch loop, from a fifth of the loop on (after
// CUDA's and CUPTI's start-up allocations), checking that every launch reached the report.
double long_loop_growth_mib(const std::string& name, long launches, const std::vector<std::string>& options) {
  auto p = profile(name, {target, "long-loop", std::to_string(launches)}, options);
  CHECK(p.outcome.status == 0);
  const auto figures = nlohmann::json::parse(p.outcome.out);
  const std::vector<double> rss_mib = figures.at("rss_mib");
  REQUIRE(rss_mib.size() == 10);
  MESSAGE(name << ": target resident memory over " << launches
               << " launches (MiB, each tenth): " << figures["rss_mib"].dump() << "; brrr's peak "
               << p.report.run.collection.brrr_peak_rss_bytes / (1 << 20) << " MiB");
  const auto* k = find_kernel(p.report.run, "tiny_kernel");
  REQUIRE(k != nullptr);
  CHECK(k->launches == static_cast<uint64_t>(launches));
  CHECK(p.report.run.collection.dropped_records == 0);
  return rss_mib.back() - rss_mib[1];
}

} // namespace

TEST_CASE("hostile: a long launch loop's memory stays flat when traced, and bounded with counters") {
  constexpr long launches = 2'000'000;
  // Tracing alone holds nothing per launch: measured 0.8 MiB over a million launches.
  CHECK(long_loop_growth_mib("long-loop-counters-off", launches, {"--counters", "off"}) < 32);
  // Once CUPTI has taken a kernel-replay sample it grows by about 45 bytes a launch, in a bare
  // CUPTI program too (bench/buffer_hold.cu, docs/reliability.md); issue 3 bounds that at 100 MB
  // a million launches. Before the forced periodic flush it was 330-380 bytes a launch.
  CHECK(long_loop_growth_mib("long-loop", launches, {}) < 100.0 * launches / 1e6);
}
