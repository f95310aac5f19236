// brrr on a two-rank PyTorch job: each rank's report under torchrun, their merge naming the
// straggler, and NCCL's kernels as communication, never replayed for counters. Needs PyTorch
// with CUDA and at least two GPUs (NCCL refuses two ranks on one GPU); skipped otherwise.

#include "paths.hpp"

#include "report/merged.hpp"
#include "report/report.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
using brrr::gpu_testing::bin_dir;
using brrr::gpu_testing::source_dir;

// Runs a shell command; its status as the shell gives it.
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Removes the test's folder however the test ends (a failed REQUIRE throws). The device
// scripts first keep a copy in BRRR_GPU_TEST_KEEP, a folder, to read the figures behind a
// failed check.
struct Cleanup {
  explicit Cleanup(fs::path d) : dir(std::move(d)) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() {
    std::error_code ignored;
    if (const char* keep = std::getenv("BRRR_GPU_TEST_KEEP"); keep && *keep)
      fs::copy(dir, fs::path(keep) / dir.filename(), fs::copy_options::recursive, ignored);
    fs::remove_all(dir, ignored);
  }
  fs::path dir;
};

} // namespace

TEST_CASE("two ranks under torchrun: rank-named reports, NCCL as communication, the straggler found") {
  if (shell("python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.device_count() >= 2 else 1)' 2>/dev/null") != 0) {
    MESSAGE("PyTorch with two GPUs is not available here: skipped");
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / "brrr-gpu-ranks-XXXXXX").string();
  const fs::path dir = mkdtemp(tmpl.data());
  const Cleanup cleanup{dir};
  const std::string launcher =
      shell("command -v torchrun > /dev/null") == 0 ? "torchrun" : "python3 -m torch.distributed.run";
  const std::string script = (source_dir() / "examples" / "multigpu" / "allreduce.py").string();
  const std::string brrr = (bin_dir() / "brrr").string();
  // Rank 1 runs 2× the micro-batches. Rows of 8192 (the example's default is 2048) make each
  // step GPU-bound: 11 GEMMs of 8192×4096×4096 a micro-batch, 3 TFLOP (some 5 ms on an H100),
  // against well under 1 ms of Python to launch them, so rank 1's extra kernels hold rank 0 up
  // in every all-reduce and the merge's test that the others waited for the straggler can
  // confirm it. With the default rows the 25 steps (5 of them warm-up) were launch-bound: rank
  // 0's own host time hid most of rank 1's extra GPU work (it waited for 0.37× of it), and by
  // that rule no one was held up.
  const int status =
      shell("cd '" + dir.string() + "' && NCCL_NVLS_ENABLE=0 " + launcher + " --nproc-per-node 2 --no-python '" + brrr +
            "' profile -- python3 '" + script + "' --steps 20 --batch 8192 --imbalance 2 > log.txt 2>&1");
  CHECK(status == 0);
  std::vector<fs::path> reports;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find("-rank") != std::string::npos) reports.push_back(e.path());
  REQUIRE(reports.size() == 2);

  std::vector<brrr::RankReport> ranks;
  for (const auto& path : reports) ranks.push_back(brrr::read_rank_report(path));
  for (const auto& rank : ranks) {
    REQUIRE(rank.report.run.info.rank);
    CHECK(rank.report.run.info.rank->launcher == "torchrun");
    CHECK(rank.report.run.info.rank->world_size == 2u);
    bool collective = false;
    for (std::size_t i = 0; i < rank.report.run.kernels.size(); ++i) {
      if (rank.report.analysis.kernels[i].bound != brrr::BoundClass::communication) continue;
      collective = true;
      CHECK_FALSE(rank.report.run.kernels[i].counters); // never replayed
      CHECK(rank.report.run.kernels[i].counters_missing_reason.find("NCCL") != std::string::npos);
    }
    CHECK(collective);
  }
  // Every rank ran all-reduces, so the ranks are compared between their first and last one,
  // where the set-up before the first (rank 0's NCCL connection set-up waiting for rank 1, or
  // the reverse) cannot pass for the straggler's cause.
  for (const auto& rank : ranks) CHECK(rank.report.run.between_collectives);
  const brrr::MergedReport merged = brrr::merge_reports(ranks, "test");
  const auto& m = merged.analysis;
  MESSAGE(m.verdict.headline);
  if (m.slowest)
    MESSAGE("compared span " << brrr::to_string(m.compared) << ", decision " << brrr::to_string(m.decision)
                             << ", imbalance " << m.load_imbalance_fraction << ", slowest rank index "
                             << m.slowest->index << ", cause " << brrr::to_string(m.slowest->cause) << ", excess "
                             << m.slowest->excess_ns << " ns, others' wait beyond its own "
                             << m.slowest->others_wait_excess_ns << " ns, lead at the median "
                             << m.slowest->median_lead_ns << " ns, in the mean " << m.slowest->mean_lead_ns << " ns");
  CHECK(m.compared == brrr::ComparedSpan::between_collectives);
  CHECK(m.decision == brrr::StragglerDecision::straggler);
  const brrr::Straggler* straggler = m.straggler();
  REQUIRE(straggler != nullptr);
  CHECK(merged.ranks[straggler->index].report.run.info.rank->rank == 1);
  CHECK(straggler->cause == brrr::StragglerCause::kernels);
  CHECK(m.load_imbalance_fraction > 0.1);
  CHECK(m.ranks[0].communication_wait_ns > m.ranks[1].communication_wait_ns);
}
