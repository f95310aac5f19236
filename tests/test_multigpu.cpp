// Multi-process jobs: the rank a process is (from each launcher's variables), report names
// that never collide between ranks, communication kernels as their own part, and `brrr merge`
// on synthetic ranks made from traces: a balanced pair, and an imbalanced one in which rank 1
// does twice the work and rank 0's all-reduces wait for it.

#include <doctest/doctest.h>

#include "process_runner.hpp"
#include "trace_builder.hpp"

#include "analyse/merge.hpp"
#include "collect/rank.hpp"
#include "collect/rank_variables.hpp"
#include "collect/session.hpp"
#include "model/communication.hpp"
#include "render/render.hpp"
#include "report/merged.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace brrr;
using namespace brrr::testing;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* all_reduce = "_Z39ncclDevKernel_AllReduce_Sum_f32_RING_LL24ncclDevKernelArgsStorageILm4096EE";

std::optional<RankInfo> rank_of(const std::map<std::string, std::string>& environment) {
  return detect_rank([&](std::string_view name) -> std::optional<std::string> {
    const auto it = environment.find(std::string(name));
    if (it == environment.end()) return std::nullopt;
    return it->second;
  });
}

// One rank of a training-like job: each step a bf16 GEMM of `gemm_us` (compute-bound at 80% of
// the test profile's peak), then an all-reduce on another stream that ends when the slowest
// rank's GEMM has ended and 20 µs of transfer have passed, then 100 µs of idle before the next step.
struct JobShape {
  int steps = 10;
  std::vector<int64_t> gemm_us; // per rank
  int64_t transfer_us = 20;
  int64_t gap_us = 100;
};

Report rank_report(const JobShape& job, uint32_t rank, const std::string& host = "node-a") {
  const int64_t slowest = *std::max_element(job.gemm_us.begin(), job.gemm_us.end());
  const int64_t period = 10 + slowest + job.transfer_us + job.gap_us - 10;
  const int64_t end_us = job.steps * period + 500;
  TraceBuilder b(end_us * 1000);
  b.facts.info.host = host;
  b.facts.info.start_time = "2026-11-26T10:00:00Z";
  b.facts.info.rank = RankInfo{"torchrun", "RANK", rank, rank, static_cast<uint32_t>(job.gemm_us.size())};
  b.facts.collection.counters_mode = "first:1";
  b.process(static_cast<int32_t>(5000 + rank), 0);
  b.device("Test GPU", 9, 0, 132);
  const int64_t gemm_us = job.gemm_us[rank];
  for (int s = 0; s < job.steps; ++s) {
    const int64_t t = s * period + 10;
    const uint32_t gemm =
        b.launch("_Z4gemmv", (t - 5) * 1000, (t - 4) * 1000, t * 1000, (t + gemm_us) * 1000, {.grid = {264, 1, 1}});
    if (s == 0)
      b.counters(gemm, "_Z4gemmv",
                 {{"sm__ops_path_tensor_src_bf16_dst_fp32.sum", 0.8 * 800e12 * static_cast<double>(gemm_us) * 1e-6},
                  {"dram__bytes_read.sum", 1e6},
                  {"dram__bytes_write.sum", 1e6}});
    b.launch(all_reduce, (t + 1) * 1000, (t + 2) * 1000, (t + gemm_us) * 1000, (t + slowest + job.transfer_us) * 1000,
             {.stream = 1, .grid = {2, 1, 1}, .block = {640, 1, 1}});
  }
  Report report;
  report.run = b.build();
  report.profile = small_profile();
  reanalyse(report);
  return report;
}

std::vector<RankReport> job_reports(const JobShape& job) {
  std::vector<RankReport> out;
  for (uint32_t r = 0; r < job.gemm_us.size(); ++r)
    out.push_back({"rank" + std::to_string(r) + ".json", rank_report(job, r)});
  return out;
}

fs::path write_report(const TempDir& dir, const std::string& name, const Report& report) {
  return dir.write(name, report_to_json(report).dump(2) + "\n");
}

// Every launcher variable cleared, so that the test machine's own (a CI runner under Slurm)
// cannot leak in; then the given ones set.
ProcessOptions launcher_environment(const fs::path& cwd, const std::map<std::string, std::string>& set) {
  ProcessOptions o;
  o.cwd = cwd;
  if (!fs::exists(fs::path(BRRR_BINARY).parent_path() / "libbrrr-inject.so"))
    o.environment["BRRR_INJECTION_LIBRARY"] = "/nonexistent/libbrrr-inject.so";
  for (auto name : rank_environment_variables) o.environment[std::string(name)] = std::nullopt;
  for (const auto& [key, value] : set) o.environment[key] = value;
  return o;
}

std::vector<std::string> json_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

// ---------------------------------------------------------------------------------------
// Ranks from the launchers' variables

TEST_CASE("rank: each launcher's variables name the rank, with its local rank and world size") {
  struct Case {
    std::map<std::string, std::string> environment;
    std::string launcher;
    std::string variable;
    uint32_t rank;
    std::optional<uint32_t> local_rank;
    std::optional<uint32_t> world_size;
  };
  const std::vector<Case> cases{
      {{{"RANK", "3"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "8"}, {"TORCHELASTIC_RUN_ID", "x"}},
       "torchrun",
       "RANK",
       3,
       1,
       8},
      {{{"RANK", "3"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "8"}}, "torch", "RANK", 3, 1, 8},
      {{{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "6"}},
       "openmpi",
       "OMPI_COMM_WORLD_RANK",
       5,
       1,
       6},
      {{{"PMI_RANK", "2"}, {"PMI_SIZE", "4"}, {"MPI_LOCALRANKID", "0"}}, "pmi", "PMI_RANK", 2, 0, 4},
      {{{"SLURM_PROCID", "7"}, {"SLURM_LOCALID", "3"}, {"SLURM_NTASKS", "16"}}, "slurm", "SLURM_PROCID", 7, 3, 16},
      {{{"LOCAL_RANK", "2"}}, "local", "LOCAL_RANK", 2, 2, std::nullopt},
      {{{"SLURM_PROCID", "1"}}, "slurm", "SLURM_PROCID", 1, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.variable);
    CAPTURE(c.launcher);
    const auto rank = rank_of(c.environment);
    REQUIRE(rank);
    CHECK(rank->launcher == c.launcher);
    CHECK(rank->variable == c.variable);
    CHECK(rank->rank == c.rank);
    CHECK(rank->local_rank == c.local_rank);
    CHECK(rank->world_size == c.world_size);
  }
  CHECK_FALSE(rank_of({}));
  CHECK_FALSE(rank_of({{"WORLD_SIZE", "8"}, {"TORCHELASTIC_RUN_ID", "x"}}));
}

TEST_CASE("rank: the innermost launcher wins, and invalid values are passed over") {
  // torchrun inside srun inside mpirun: RANK is the worker's own.
  auto rank = rank_of({{"RANK", "9"}, {"OMPI_COMM_WORLD_RANK", "1"}, {"PMI_RANK", "1"}, {"SLURM_PROCID", "0"}});
  REQUIRE(rank);
  CHECK(rank->variable == "RANK");
  CHECK(rank->rank == 9);
  // mpirun inside a Slurm batch script, whose SLURM_PROCID is 0 in every rank.
  rank = rank_of({{"OMPI_COMM_WORLD_RANK", "4"}, {"SLURM_PROCID", "0"}});
  REQUIRE(rank);
  CHECK(rank->launcher == "openmpi");
  CHECK(rank->rank == 4);
  rank = rank_of({{"PMI_RANK", "2"}, {"SLURM_PROCID", "0"}});
  REQUIRE(rank);
  CHECK(rank->launcher == "pmi");
  // A rank variable that is not a number is as good as unset.
  for (const char* bad : {"", "abc", "-1", "+2", "1.5", " 3", "3 ", "2147483648", "99999999999999999999"}) {
    CAPTURE(bad);
    rank = rank_of({{"RANK", bad}, {"SLURM_PROCID", "6"}});
    REQUIRE(rank);
    CHECK(rank->launcher == "slurm");
    CHECK(rank->rank == 6);
  }
  CHECK(rank_of({{"RANK", "2147483647"}})->rank == 2147483647u);
  // A world size that cannot hold the rank, or a local rank that is not a number, is unknown.
  rank = rank_of({{"RANK", "4"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "x"}});
  REQUIRE(rank);
  CHECK_FALSE(rank->world_size);
  CHECK_FALSE(rank->local_rank);
}

TEST_CASE("rank: the injection library copies every launcher variable") {
  const std::set<std::string_view> copied(rank_environment_variables.begin(), rank_environment_variables.end());
  CHECK(copied.size() == rank_environment_variables.size());
  for (const auto& l : launcher_variables) {
    CHECK(copied.count(l.rank) == 1);
    CHECK(copied.count(l.local_rank) == 1);
    CHECK(copied.count(l.world_size) == 1);
  }
  CHECK(copied.count(torchrun_marker_variable) == 1);
  const auto rank = rank_from_variables({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}});
  REQUIRE(rank);
  CHECK(rank->launcher == "pmi");
}

// ---------------------------------------------------------------------------------------
// Report names

TEST_CASE("report names: the rank and the host are in the name of a rank's report") {
  const RankInfo rank{"torchrun", "RANK", 1, 1, 2};
  CHECK(default_report_stem({"./app", "--x"}, std::nullopt, "node-7") == "brrr-app");
  CHECK(default_report_stem({"python3", "train.py"}, rank, "node-7.cluster.example") == "brrr-train-node-7-rank1");
  CHECK(default_report_stem({"./app"}, RankInfo{"slurm", "SLURM_PROCID", 12, {}, {}}, "gpu/host 1") ==
        "brrr-app-gpu_host_1-rank12");
  CHECK(default_report_stem({"./app"}, rank, "") == "brrr-app-host-rank1");
}

TEST_CASE("report names: numbered files never replace one another, even written at once") {
  const TempDir dir("names");
  const std::string stem = (dir / "brrr-app-node-rank0").string();
  CHECK(write_numbered_file(stem, "one") == stem + ".json");
  CHECK(write_numbered_file(stem, "two") == stem + "-2.json");
  CHECK(read_text(stem + ".json") == "one");
  CHECK(read_text(stem + "-2.json") == "two");

  // Four processes write 25 files each under one stem: 100 files, each whole and its own.
  const std::string shared = (dir / "brrr-shared").string();
  std::vector<pid_t> children;
  for (int writer = 0; writer < 4; ++writer) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int status = 0;
      try {
        for (int i = 0; i < 25; ++i) (void)write_numbered_file(shared, fmt::format("{}:{}", writer, i));
      } catch (...) {
        status = 1;
      }
      _exit(status);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::set<std::string> contents;
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    CAPTURE(name);
    CHECK(name.front() != '.'); // no temporary file left behind
    if (name.rfind("brrr-shared", 0) != 0) continue;
    ++files;
    contents.insert(read_text(e.path()));
  }
  CHECK(files == 100);
  CHECK(contents.size() == 100);
}

TEST_CASE("cli: profile under a launcher names the report by host and rank, and records the rank") {
  const TempDir dir("launcher");
  const auto r1 =
      run_brrr({"profile", "--", "/bin/true"}, launcher_environment(dir.path(), {{"RANK", "1"},
                                                                                 {"LOCAL_RANK", "1"},
                                                                                 {"WORLD_SIZE", "2"},
                                                                                 {"TORCHELASTIC_RUN_ID", "job"},
                                                                                 {"SLURM_PROCID", "0"}}));
  CAPTURE(r1.err);
  REQUIRE(r1.status == 0);
  const std::string stem = default_report_stem({"/bin/true"}, RankInfo{"torchrun", "RANK", 1, {}, {}}, host_name());
  REQUIRE(fs::exists(dir / (stem + ".json")));
  // Only rank 0 prints the verdict; every rank says where its report went.
  CHECK(r1.err.find("VERDICT") == std::string::npos);
  CHECK(r1.err.find("brrr: rank 1: report written to " + stem + ".json") != std::string::npos);
  const Report report = read_report(dir / (stem + ".json"));
  REQUIRE(report.run.info.rank);
  CHECK(report.run.info.rank->launcher == "torchrun");
  CHECK(report.run.info.rank->rank == 1);
  CHECK(report.run.info.rank->local_rank == 1u);
  CHECK(report.run.info.rank->world_size == 2u);
  CHECK(report.run.info.host == host_name());

  // The same rank again in the same folder gets the next number; rank 0 its own name.
  const auto again = run_brrr({"profile", "-q", "--", "/bin/true"}, launcher_environment(dir.path(), {{"RANK", "1"}}));
  REQUIRE(again.status == 0);
  CHECK(fs::exists(dir / (stem + "-2.json")));
  const auto r0 =
      run_brrr({"profile", "--", "/bin/true"}, launcher_environment(dir.path(), {{"OMPI_COMM_WORLD_RANK", "0"}}));
  REQUIRE(r0.status == 0);
  CHECK(r0.err.find("VERDICT") != std::string::npos);
  const std::string stem0 = default_report_stem({"/bin/true"}, RankInfo{"openmpi", "", 0, {}, {}}, host_name());
  CHECK(json_files(dir.path()) == std::vector<std::string>{stem0 + ".json", stem + "-2.json", stem + ".json"});
}

TEST_CASE("cli: two ranks on one host profiling at once in one folder write two reports") {
  const TempDir dir("two-ranks");
  // Started together through a shell, so that both run at the same time.
  const std::string brrr = BRRR_BINARY;
  const auto r =
      run_process({"/bin/sh", "-c",
                   "RANK=0 " + brrr + " profile -q -- /bin/sleep 0.2 & RANK=1 " + brrr +
                       " profile -q -- /bin/sleep 0.2 & RANK=1 " + brrr + " profile -q -- /bin/sleep 0.2 & wait"},
                  launcher_environment(dir.path(), {}));
  CAPTURE(r.err);
  CHECK(r.status == 0);
  const auto files = json_files(dir.path());
  CHECK(files.size() == 3);
  std::set<uint32_t> ranks;
  for (const auto& f : files) ranks.insert(read_report(dir / f).run.info.rank->rank);
  CHECK(ranks == std::set<uint32_t>{0, 1});
}

// ---------------------------------------------------------------------------------------
// Communication kernels

TEST_CASE("communication: NCCL's kernels are recognised by their library's prefix, mangled or not") {
  CHECK(is_communication_kernel(all_reduce));
  CHECK(is_communication_kernel("ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevKernelArgsStorage<4096ul>)"));
  CHECK(is_communication_kernel("ncclKernel_AllReduce_RING_LL_Sum_float"));
  CHECK(is_communication_kernel("_ZL39ncclKernel_AllGather_RING_LL_Sum_int8_tP11ncclDevComm"));
  CHECK_FALSE(is_communication_kernel("_Z4gemmv"));
  CHECK_FALSE(is_communication_kernel("my_ncclDevKernel_copy"));
  CHECK_FALSE(is_communication_kernel("_ZN4nccl13ncclDevKernelEv")); // inside a namespace: not NCCL's
  CHECK_FALSE(is_communication_kernel("_Z99ncclDevKernel"));         // a length past the end
  CHECK_FALSE(is_communication_kernel("_Z"));
  CHECK_FALSE(is_communication_kernel(""));
  CHECK(leading_function_name("_Z4gemmv") == "gemm");
  CHECK(demangle(all_reduce) == "ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevKernelArgsStorage<4096ul>)");
}

TEST_CASE("communication: a collective's time is the communication part, and the parts still sum to the wall") {
  const Report r = rank_report({.steps = 4, .gemm_us = {100, 200}}, 0);
  std::size_t index = 0;
  const auto* collective = find_kernel(r.run, demangle(all_reduce), &index);
  REQUIRE(collective != nullptr);
  CHECK(r.analysis.kernels[index].bound == BoundClass::communication);
  CHECK(kernel_part(BoundClass::communication) == Part::communication);
  CHECK(regime_of(Part::communication) == Regime::communication);
  CHECK(regime_of(Part::communication_wait) == Regime::communication);
  const Attribution& p = r.analysis.process;
  CHECK(p.sum() == p.wall_ns);
  CHECK(p.get(Part::communication) == collective->attributed_ns);
  CHECK(p.get(Part::communication_wait) == 0);
  CHECK(p.gpu_busy_ns() >= p.get(Part::communication));
  // One rank alone cannot tell transfer from wait: the verdict's note says so.
  const auto& notes = r.analysis.verdict.notes;
  CHECK(std::any_of(notes.begin(), notes.end(),
                    [](const std::string& n) { return n.find("brrr merge") != std::string::npos; }));
  const json j = report_to_json(r);
  CHECK(j["attribution"]["process"]["parts_ns"].contains("communication.wait"));
  CHECK(j["attribution"]["process"]["regimes_ns"]["communication"] == p.regime_ns(Regime::communication));
  CHECK(j["kernels"][index]["analysis"]["bound"] == "communication");
}

TEST_CASE("communication: a job that mostly communicates gets the communication verdict") {
  TraceBuilder b(1'000'000);
  b.process(1, 0);
  b.kernel("_Z4gemmv", 1000, 101'000);
  b.kernel(all_reduce, 101'000, 990'000);
  Report r;
  r.run = b.build();
  r.profile = small_profile();
  reanalyse(r);
  CHECK(r.analysis.verdict.regime == Regime::communication);
  CHECK(r.analysis.verdict.headline.find("communication") != std::string::npos);
  const std::string text = render_text(r, {});
  CHECK(text.find("communication") != std::string::npos);
  CHECK(text.find(" comm ") != std::string::npos); // the kernel's class in the table
}

// ---------------------------------------------------------------------------------------
// brrr merge

TEST_CASE("merge: rank 1 doing twice the work is the straggler, and rank 0's all-reduces wait for it") {
  const MergedReport merged = merge_reports(job_reports({.gemm_us = {100, 200}}), "test");
  const MergeAnalysis& m = merged.analysis;
  REQUIRE(m.ranks.size() == 2);
  // Each rank's span: 10 steps of 320 µs, less the last step's idle 100 µs, less the first 10 µs.
  for (const auto& a : m.ranks) {
    CHECK(a.gpu_active.wall_ns == 3'100'000);
    CHECK(a.process.sum() == a.process.wall_ns);
    CHECK(a.gpu_active.sum() == a.gpu_active.wall_ns);
  }
  // Rank 0's all-reduces last 120 µs where 20 µs is the transfer: 100 µs of each is waiting.
  CHECK(m.ranks[0].communication_wait_ns == 10 * 100'000);
  CHECK(m.ranks[0].communication_ns == 10 * 20'000);
  CHECK(m.ranks[1].communication_wait_ns == 0);
  CHECK(m.ranks[1].communication_ns == 10 * 20'000);
  // Work: rank 0 has 1 ms of GEMM and 0.9 ms of gaps, rank 1 2 ms of GEMM and the same gaps.
  CHECK(m.ranks[0].work_ns == 1'900'000);
  CHECK(m.ranks[1].work_ns == 2'900'000);
  CHECK(m.mean_work_ns == 2'400'000);
  CHECK(m.max_work_ns == 2'900'000);
  CHECK(m.load_imbalance_fraction == doctest::Approx(500.0 / 2400.0));
  REQUIRE(m.straggler);
  CHECK(m.straggler->index == 1);
  CHECK(m.straggler->cause == StragglerCause::kernels);
  CHECK(m.straggler->cause_ns == 2'000'000);
  CHECK(m.straggler->others_cause_ns == 1'000'000);
  CHECK(m.straggler->excess_ns == 1'000'000);
  CHECK(m.straggler->part_excess_ns[static_cast<std::size_t>(Part::compute)] == 1'000'000);
  CHECK(merged.ranks[1].report.analysis.verdict.regime == Regime::compute);
  CHECK(merged.ranks[0].report.analysis.verdict.regime == Regime::communication);
  CHECK(m.verdict.headline.rfind("Rank 1 is the straggler (load imbalance 21%): its kernels run 2.0× as long", 0) == 0);
  REQUIRE(m.verdict.findings.size() == 1);
  const Finding& f = m.verdict.findings[0];
  CHECK(f.rule_id == "job.load-imbalance");
  CHECK(f.saving_ns == 500'000);
  CHECK(evidence(f.evidence, "others_wait_ns") == 1'000'000.0);
  CHECK(evidence(f.evidence, "straggler_index") == 1.0);
  CHECK(m.gpu_active.sum() == m.gpu_active.wall_ns);
  CHECK(m.gpu_active.wall_ns == 2 * 3'100'000);
}

TEST_CASE("merge: a balanced pair has no straggler, and its collectives have no wait") {
  const MergedReport merged = merge_reports(job_reports({.gemm_us = {150, 150}}), "test");
  const MergeAnalysis& m = merged.analysis;
  CHECK(m.load_imbalance_fraction == 0);
  CHECK_FALSE(m.straggler);
  CHECK(m.ranks[0].communication_wait_ns == 0);
  CHECK(m.ranks[1].communication_wait_ns == 0);
  CHECK(m.verdict.findings.empty());
  CHECK(m.verdict.headline.rfind("The 2 ranks are balanced (load imbalance 0%)", 0) == 0);
}

TEST_CASE("merge: a straggler held up by its host, and one slowed by copies, are told apart") {
  // Four ranks, equal GEMMs; rank 2's host adds 300 µs of its own work before each step.
  std::vector<RankReport> ranks = job_reports({.steps = 6, .gemm_us = {100, 100, 100, 100}});
  {
    const JobShape job{.steps = 6, .gemm_us = {100, 100, 100, 100}, .gap_us = 400};
    ranks[2].report = rank_report(job, 2);
  }
  const MergeAnalysis host = merge_reports(ranks, "test").analysis;
  REQUIRE(host.straggler);
  CHECK(host.straggler->index == 2);
  CHECK(host.straggler->cause == StragglerCause::host);
  CHECK(host.verdict.headline.find("waits") != std::string::npos);

  // Rank 3 copies 1 ms from pageable memory each step.
  TraceBuilder b(4'000'000);
  b.facts.info.host = "node-a";
  b.facts.info.rank = RankInfo{"torchrun", "RANK", 3, 3, 4};
  b.process(5003, 0);
  for (int s = 0; s < 3; ++s) {
    const int64_t t = s * 1'200'000 + 10'000;
    b.copy(t, t + 1'000'000, 1 << 26, {.source = MemoryKind::pageable, .async = false});
    b.kernel(all_reduce, t + 1'000'000, t + 1'020'000, {.stream = 1, .grid = {2, 1, 1}, .block = {640, 1, 1}});
  }
  ranks[3].report.run = b.build();
  ranks[3].report.profile = small_profile();
  reanalyse(ranks[3].report);
  ranks[2].report = rank_report({.steps = 6, .gemm_us = {100, 100, 100, 100}}, 2);
  const MergeAnalysis copies = merge_reports(ranks, "test").analysis;
  REQUIRE(copies.straggler);
  CHECK(copies.straggler->index == 3);
  CHECK(copies.straggler->cause == StragglerCause::copies);
}

TEST_CASE("merge: property: every rank's parts sum to its wall, with the wait moved out of communication") {
  const HardwareProfile profile = small_profile();
  for (uint32_t seed = 9'000; seed < 9'100; ++seed) {
    CAPTURE(seed);
    std::vector<RankReport> ranks;
    for (uint32_t r = 0; r < 3; ++r) {
      std::mt19937 rng(seed * 3 + r);
      TraceBuilder b = random_trace(rng);
      b.facts.info.rank = RankInfo{"torchrun", "RANK", r, std::nullopt, 3};
      b.facts.info.start_time = std::to_string(r);
      Report report;
      report.run = b.build();
      report.profile = profile;
      reanalyse(report);
      ranks.push_back({std::to_string(r) + ".json", std::move(report)});
    }
    const MergedReport merged = merge_reports(ranks, "test");
    for (std::size_t r = 0; r < 3; ++r) {
      const RankAnalysis& a = merged.analysis.ranks[r];
      const Attribution& own = merged.ranks[r].report.analysis.process;
      CHECK(a.process.sum() == a.process.wall_ns);
      CHECK(a.gpu_active.sum() == a.gpu_active.wall_ns);
      CHECK(a.process.get(Part::communication) + a.process.get(Part::communication_wait) ==
            own.get(Part::communication));
      CHECK(a.work_ns <= a.gpu_active.wall_ns);
    }
    CHECK(merged.analysis.gpu_active.sum() == merged.analysis.gpu_active.wall_ns);
    // The JSON round trip gives the same job back.
    const MergedReport back = merged_from_json(json::parse(merged_to_json(merged).dump()), "merged.json");
    CHECK(merged_to_json(back) == merged_to_json(merged));
  }
}

TEST_CASE("merge: inputs that are not the ranks of one job are refused") {
  auto expect_error = [](std::vector<RankReport> ranks, const std::string& expected) {
    CAPTURE(expected);
    try {
      (void)merge_reports(std::move(ranks), "test");
      FAIL("no error");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find(expected) != std::string::npos);
    }
  };
  const auto pair = job_reports({.steps = 2, .gemm_us = {100, 200}});
  expect_error({pair[0]}, "at least two ranks (1 given)");
  expect_error({pair[0], pair[0]}, "rank0.json and rank0.json are the same run");
  auto twin = pair[1];
  twin.report.run.info.rank->rank = 0;
  twin.source = "other.json";
  expect_error({pair[0], twin}, "rank0.json and other.json are both rank 0 on host node-a");
  auto bigger = pair[1];
  bigger.report.run.info.rank->world_size = 4;
  expect_error({pair[0], bigger}, "rank0.json is from a job of 2 ranks, rank1.json from one of 4");
  auto lone = pair[1];
  lone.report.run.info.rank.reset();
  expect_error({pair[0], lone}, "rank1.json was recorded outside any launcher");

  // The same rank on two hosts is two ranks of a job across hosts... of two jobs of one world
  // size, which merge cannot tell apart; reports without ranks merge in the order given.
  auto plain = job_reports({.steps = 2, .gemm_us = {100, 200}});
  for (auto& r : plain) r.report.run.info.rank.reset();
  const MergedReport merged = merge_reports(plain, "test");
  CHECK(rank_label(merged.ranks, 1) == "#1");
  CHECK(merged.ranks[1].source == "rank1.json");
}

TEST_CASE("merge: a job with missing ranks, counters' hold-ups and no collectives says so") {
  auto ranks = job_reports({.steps = 2, .gemm_us = {100, 100}});
  for (auto& r : ranks) r.report.run.info.rank->world_size = 4;
  ranks[0].report.run.collection.tool_ns = 5'000'000;
  const MergeAnalysis m = merge_reports(ranks, "test").analysis;
  auto has_note = [&](const std::string& part) {
    return std::any_of(m.verdict.notes.begin(), m.verdict.notes.end(),
                       [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  CHECK(has_note("The job has 4 ranks; 2 of them were merged (missing: 2, 3)"));
  CHECK(has_note("brrr held rank 0 up for 5.00 ms"));

  TraceBuilder b(100'000);
  b.process(1, 0);
  b.kernel("_Z4gemmv", 1000, 90'000);
  std::vector<RankReport> quiet;
  for (uint32_t r = 0; r < 2; ++r) {
    b.facts.info.rank = RankInfo{"slurm", "SLURM_PROCID", r, std::nullopt, 2};
    b.facts.info.start_time = std::to_string(r);
    Report report;
    report.run = b.build();
    reanalyse(report);
    quiet.push_back({"q" + std::to_string(r) + ".json", report});
  }
  const MergeAnalysis q = merge_reports(quiet, "test").analysis;
  CHECK(std::any_of(q.verdict.notes.begin(), q.verdict.notes.end(),
                    [](const std::string& n) { return n.find("No communication kernels") != std::string::npos; }));
}

TEST_CASE("merge: ranks across hosts are named with their host") {
  auto ranks = job_reports({.steps = 2, .gemm_us = {100, 200}});
  ranks[1].report.run.info.host = "node-b";
  const MergedReport merged = merge_reports(ranks, "test");
  CHECK(rank_label(merged.ranks, 0) == "rank 0 (node-a)");
  CHECK(rank_label(merged.ranks, 1) == "rank 1 (node-b)");
}

// ---------------------------------------------------------------------------------------
// The command line

TEST_CASE("cli: merge writes a merged report that explain understands, in every format") {
  const TempDir dir("merge");
  const auto reports = job_reports({.gemm_us = {100, 200}});
  // Given in reverse: the merged report orders the ranks.
  const fs::path r1 = write_report(dir, "brrr-train-node-a-rank1.json", reports[1].report);
  const fs::path r0 = write_report(dir, "brrr-train-node-a-rank0.json", reports[0].report);
  const fs::path out = dir / "run.json";
  const auto merged = run_brrr({"merge", r1.string(), r0.string(), "-o", out.string()});
  CAPTURE(merged.err);
  REQUIRE(merged.status == 0);
  CHECK(merged.out.find("Rank 1 is the straggler") != std::string::npos);
  CHECK(merged.out.find("RANKS") != std::string::npos);
  CHECK(merged.out.find("collectives: waiting") != std::string::npos);
  CHECK(merged.err == "brrr: merged report of 2 ranks written to " + out.string() + "\n");

  CHECK(read_text(out).rfind("{\n  \"schema_version\": 1,\n  \"kind\": \"merged\",", 0) == 0);
  const json j = json::parse(read_text(out));
  CHECK(j["kind"] == "merged");
  CHECK(j["job"]["straggler"]["rank"] == 1);
  CHECK(j["job"]["straggler"]["cause"] == "kernels");
  CHECK(j["ranks"][0]["source"] == r0.string());
  CHECK(j["ranks"][0]["communication_wait_ns"] == 1'000'000);
  CHECK(j["reports"].size() == 2);

  const auto text = run_brrr({"explain", out.string()});
  REQUIRE(text.status == 0);
  CHECK(text.out == merged.out);
  const auto md = run_brrr({"explain", out.string(), "--format", "md"});
  REQUIRE(md.status == 0);
  CHECK(md.out.rfind("## brrr: merged job", 0) == 0);
  CHECK(md.out.find("| rank 0 | rank 1* |") != std::string::npos);
  const auto csv = run_brrr({"explain", out.string(), "--format", "csv"});
  REQUIRE(csv.status == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 3);
  CHECK(csv.out.find("\n1,1,node-a,") != std::string::npos);
  const auto again = run_brrr({"explain", out.string(), "--format", "json"});
  REQUIRE(again.status == 0);
  CHECK(json::parse(again.out) == j);
  // The HTML page shows one run: a merged report is a usage error, in one line.
  const auto html = run_brrr({"explain", out.string(), "--format", "html"});
  CHECK(html.status == 2);
  CHECK(html.out.empty());
  CHECK(html.err == "brrr: error: a merged report has no HTML form; explain one rank's report with --format html\n");

  // The default name is numbered, never replacing a merged report.
  ProcessOptions in_dir;
  in_dir.cwd = dir.path();
  const auto first = run_brrr({"merge", "-q", r0.string(), r1.string()}, in_dir);
  const auto second = run_brrr({"merge", "-q", r0.string(), r1.string()}, in_dir);
  CHECK(first.status == 0);
  CHECK(second.status == 0);
  CHECK(fs::exists(dir / "brrr-merged.json"));
  CHECK(fs::exists(dir / "brrr-merged-2.json"));
  CHECK(second.out.empty());
}

TEST_CASE("cli: merge refuses bad input with one line and status 2") {
  const TempDir dir("merge-bad");
  const auto reports = job_reports({.steps = 2, .gemm_us = {100, 200}});
  const fs::path r0 = write_report(dir, "r0.json", reports[0].report);
  const fs::path r1 = write_report(dir, "r1.json", reports[1].report);
  const fs::path text = dir.write("notes.txt", "not json\n");
  const fs::path other = dir.write("other.json", "{\"hello\": 1}\n");
  auto check = [](const ProcessResult& r, const std::string& expected) {
    CAPTURE(r.err);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("brrr: error: ", 0) == 0);
    CHECK(r.err.find(expected) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  };
  check(run_brrr({"merge", r0.string(), text.string(), "-o", (dir / "m.json").string()}), "not valid JSON");
  check(run_brrr({"merge", r0.string(), other.string(), "-o", (dir / "m.json").string()}), "not a brrr report");
  check(run_brrr({"merge", r0.string(), (dir / "missing.json").string(), "-o", (dir / "m.json").string()}),
        "no such file");
  check(run_brrr({"merge", r0.string(), "-o", (dir / "m.json").string()}), "at least two ranks");
  check(run_brrr({"merge", r0.string(), r0.string(), "-o", (dir / "m.json").string()}), "are the same run");
  const auto ok = run_brrr({"merge", "-q", r0.string(), r1.string(), "-o", (dir / "m.json").string()});
  REQUIRE(ok.status == 0);
  check(run_brrr({"merge", r0.string(), r1.string(), "-o", (dir / "m.json").string()}), "exists; pass --force");
  check(run_brrr({"merge", (dir / "m.json").string(), r1.string(), "-o", (dir / "n.json").string()}),
        "is a merged report");
  const auto usage = run_brrr({"merge"});
  CHECK(usage.status == 2);
  CHECK(usage.err.rfind("brrr: error: reports is required", 0) == 0);
  CHECK(run_brrr({"merge", "-q", "--force", r0.string(), r1.string(), "-o", (dir / "m.json").string()}).status == 0);
  CHECK_FALSE(fs::exists(dir / "n.json"));

  // A merged report whose rank reports were edited is refused by explain like a report.
  json j = json::parse(read_text(dir / "m.json"));
  j["reports"][1]["report"]["run"]["wall_ns"] = 1;
  const fs::path edited = dir.write("edited.json", j.dump());
  check(run_brrr({"explain", edited.string()}), "edited.json: reports[1].report: ");
  j = json::parse(read_text(dir / "m.json"));
  j["schema_version"] = 99;
  check(run_brrr({"explain", dir.write("new.json", j.dump()).string()}), "merged report schema_version 99");
}

TEST_CASE("docs: every key of a merged report is in docs/report-format.md, evidence keys in docs/rules.md") {
  const std::string format_doc = read_text(source_path("docs/report-format.md"));
  const std::string rules_doc = read_text(source_path("docs/rules.md"));
  const auto j = merged_to_json(merge_reports(job_reports({.steps = 2, .gemm_us = {100, 200}}), "test"));
  std::set<std::string> keys;
  std::set<std::string> evidence_keys;
  std::function<void(const nlohmann::ordered_json&, bool)> collect = [&](const nlohmann::ordered_json& v,
                                                                        bool evidence) {
    if (v.is_object())
      for (const auto& [key, value] : v.items()) {
        (evidence ? evidence_keys : keys).insert(key);
        collect(value, key == "evidence" && !v.contains("cause"));
      }
    else if (v.is_array())
      for (const auto& item : v) collect(item, false);
  };
  auto job = j;
  job.erase("reports"); // a report's own keys are checked by test_docs.cpp
  collect(job, false);
  REQUIRE(evidence_keys.count("others_wait_ns") == 1);
  for (const auto& key : keys) {
    CAPTURE(key);
    CHECK(format_doc.find("`" + key + "`") != std::string::npos);
  }
  for (const auto& key : evidence_keys) {
    CAPTURE(key);
    CHECK(rules_doc.find("`" + key + "`") != std::string::npos);
  }
  CHECK(rules_doc.find("### `job.load-imbalance`") != std::string::npos);
}
