#pragma once
// The environment variables by which launchers (torchrun, mpirun, srun) tell a process its
// place in a job. Shared by brrr, which reads its own environment to name the report, and the
// injection library, which copies these variables of every traced process into its stream.
// Header-only and exception-free, because the injection library includes it.

#include <array>
#include <string_view>

namespace brrr {

// One launcher's variables. The strings are literals, so each is NUL-terminated and can be
// passed to getenv as it is.
struct LauncherVariables {
  // The launcher's stable id, as the report writes it.
  std::string_view launcher;
  // The process's rank in the job.
  std::string_view rank;
  // Its rank among the processes on its host.
  std::string_view local_rank;
  // How many processes the job has.
  std::string_view world_size;
};

// In order of precedence: the first launcher whose rank variable is set to a valid number
// names the rank. The innermost launcher comes first, because a process inherits the
// variables of every launcher above it unchanged: torchrun started by srun or mpirun sets RANK
// for each of its workers, which all still carry the node's SLURM_PROCID or
// OMPI_COMM_WORLD_RANK; an MPI launcher inside a Slurm allocation likewise leaves the batch
// step's SLURM_PROCID (0) in every rank.
inline constexpr std::array<LauncherVariables, 4> launcher_variables{{
    {"torchrun", "RANK", "LOCAL_RANK", "WORLD_SIZE"},
    {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_SIZE"},
    {"pmi", "PMI_RANK", "MPI_LOCALRANKID", "PMI_SIZE"},
    {"slurm", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS"},
}};

// Set by torchrun (torch elastic) alone: RANK without it comes from another launcher that
// follows PyTorch's convention (DeepSpeed's, a hand-written one).
inline constexpr std::string_view torchrun_marker_variable = "TORCHELASTIC_RUN_ID";

// Every variable above, which the injection library copies into the stream when set.
inline constexpr std::array<std::string_view, 13> rank_environment_variables{
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "TORCHELASTIC_RUN_ID",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "PMI_RANK",
    "MPI_LOCALRANKID",
    "PMI_SIZE",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NTASKS",
};

} // namespace brrr
