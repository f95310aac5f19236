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

} // namespace

TEST_CASE("two ranks under torchrun: rank-named reports, NCCL as communication, the straggler found") {
  if (shell("python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.device_count() >= 2 else 1)' 2>/dev/null") != 0) {
    MESSAGE("PyTorch with two GPUs is not available here: skipped");
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / "brrr-gpu-ranks-XXXXXX").string();
  const fs::path dir = mkdtemp(tmpl.data());
  const std::string launcher =
      shell("command -v torchrun > /dev/null") == 0 ? "torchrun" : "python3 -m torch.distributed.run";
  const std::string script = (source_dir() / "examples" / "multigpu" / "allreduce.py").string();
  const std::string brrr = (bin_dir() / "brrr").string();
  const int status =
      shell("cd '" + dir.string() + "' && NCCL_NVLS_ENABLE=0 " + launcher + " --nproc-per-node 2 --no-python '" + brrr +
            "' profile -- python3 '" + script + "' --steps 20 --imbalance 2 > log.txt 2>&1");
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
  const brrr::MergedReport merged = brrr::merge_reports(ranks, "test");
  const auto& m = merged.analysis;
  REQUIRE(m.straggler);
  CHECK(merged.ranks[m.straggler->index].report.run.info.rank->rank == 1);
  CHECK(m.straggler->cause == brrr::StragglerCause::kernels);
  CHECK(m.load_imbalance_fraction > 0.1);
  CHECK(m.ranks[0].communication_wait_ns > m.ranks[1].communication_wait_ns);
  fs::remove_all(dir);
}
