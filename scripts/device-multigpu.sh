#!/usr/bin/env bash
# On a machine with several GPUs, PyTorch and a carried build (build-device/bin): brrr on a
# multi-GPU PyTorch job. First the GPU test of two ranks under torchrun (rank-named reports,
# NCCL as communication, the straggler found and its cause), then bench/multigpu.py: tracing
# overhead per rank, the imbalanced and balanced jobs merged, brrr in front of torchrun, and
# the NCCL all-reduce time of several sizes against CUDA-event timing (each all-reduce between
# its own events, back to back, and replayed from a CUDA graph: MULTIGPU_NCCL_MODES), and from C++
# (the part nccl-c: build-device/bin/brrr-nccl-perf, nccl-tests' timing in one process over every
# GPU, NCCL loaded from BRRR_NCCL_LIB, by default PyTorch's copy in its venv). Writes under $OUT:
# multigpu-h100.md (for bench/results/), multigpu-log.txt, and multigpu-reports.tar.gz (every
# report and merged report, and the GPU test's folder), three files.
#
# Time: every torchrun job takes 12 to 18 s on 2×H100 (mostly start-up). The GPU test is one
# job; the parts of bench/multigpu.py (MULTIGPU_PARTS, comma-separated) take: overhead 3 jobs a
# round (ROUNDS), jobs 2, outside 1, nccl 2 (1 without MULTIGPU_NCCL_PLAIN=1), nccl-c 2 C++ runs of
# a few seconds each. MULTIGPU_PARTS=nccl-c alone skips the GPU test (MULTIGPU_TEST=1 runs it)
# and stops at 60 s (MULTIGPU_BENCH_LIMIT). Each job stops at
# MULTIGPU_RUN_LIMIT s, the test at MULTIGPU_TEST_LIMIT s, the benchmark at MULTIGPU_BENCH_LIMIT s
# or at what is left of MULTIGPU_BUDGET s, less 10 s for the archive, if that is sooner; the
# page holds every part finished before a limit.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${BRRR_BIN:-build-device/bin}
out=${OUT:-out}
mkdir -p "$out"
# NVLink multicast stays off: on shared hosts it can take the GPUs out of service.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
gpus=$(nvidia-smi -L | wc -l)
nproc=${NPROC:-$((gpus < 8 ? gpus : 8))}
if [ "$nproc" -lt 2 ]; then
  echo "device-multigpu.sh: $gpus GPU(s) here; a multi-GPU job needs at least 2" >&2
  exit 1
fi
log=$out/multigpu-log.txt
{ nvidia-smi; python3 -c 'import torch; print("torch", torch.__version__, "nccl", torch.cuda.nccl.version())'; } > "$log" 2>&1
if command -v torchrun > /dev/null; then echo "torchrun: $(command -v torchrun)" >> "$log"; else
  echo "torchrun not on PATH: python3 -m torch.distributed.run" >> "$log"; fi
reports=$(mktemp -d)
parts=${MULTIGPU_PARTS:-overhead,jobs,outside,nccl}
test_default=1
bench_default=420
run_default=150
if [ "$parts" = nccl-c ]; then
  test_default=0
  bench_default=60
  run_default=25
fi
# brrr-nccl-perf loads NCCL at run time: PyTorch's copy, unless BRRR_NCCL_LIB names one.
if [ -z "${BRRR_NCCL_LIB:-}" ]; then
  purelib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2> /dev/null)
  for lib in "$purelib"/nvidia/nccl/lib/libnccl.so.2 /opt/torch/.venv/lib/python3*/site-packages/nvidia/nccl/lib/libnccl.so.2; do
    if [ -f "$lib" ]; then
      export BRRR_NCCL_LIB=$lib
      break
    fi
  done
fi
echo "BRRR_NCCL_LIB: ${BRRR_NCCL_LIB:-none found; brrr-nccl-perf tries libnccl.so.2}" >> "$log"
# The GPU test of two ranks under torchrun first: it says quickly whether the rest can work.
# With it, the test that a CUDA graph's kernels are traced one by one (the nccl part's graph
# mode counts on it), a second or two.
if [ "${MULTIGPU_TEST:-$test_default}" = 1 ]; then
  mkdir -p "$reports/gpu-test"
  BRRR_GPU_TEST_KEEP="$reports/gpu-test" BRRR_SOURCE_DIR=$PWD timeout "${MULTIGPU_TEST_LIMIT:-150}" \
    "$bin/brrr_gpu_tests" -tc='two ranks*,kernels replayed from a CUDA graph*' >> "$log" 2>&1
  echo "== gpu tests (two ranks under torchrun; a CUDA graph's kernels): exit $?" | tee -a "$log"
  grep -a 'MESSAGE:' "$log" | sed 's/.*MESSAGE: /   /' | tail -2
fi
plain=--nccl-plain
[ "${MULTIGPU_NCCL_PLAIN:-1}" = 1 ] || plain=--no-nccl-plain
bench_limit=${MULTIGPU_BENCH_LIMIT:-$bench_default}
left=$((${MULTIGPU_BUDGET:-100000} - SECONDS - 10))
[ "$left" -lt "$bench_limit" ] && bench_limit=$left
if [ "$bench_limit" -lt 20 ]; then
  echo "== bench/multigpu.py: skipped, $bench_limit s left of MULTIGPU_BUDGET" | tee -a "$log"
  status=124
else
  timeout "$bench_limit" python3 bench/multigpu.py --bin "$bin" --nproc "$nproc" \
    --parts "$parts" --rounds "${ROUNDS:-2}" --limit "${MULTIGPU_RUN_LIMIT:-$run_default}" \
    --sizes "${MULTIGPU_SIZES:-1:200,16:100,64:50,256:20}" --nccl-modes "${MULTIGPU_NCCL_MODES:-per-op,loop,graph}" \
    $plain --out "$out/multigpu-h100.md" --reports "$reports" --log "$log"
  status=$?
fi
tar -czf "$out/multigpu-reports.tar.gz" -C "$reports" .
echo "== bench/multigpu.py: exit $status; reports: $(find "$reports" -name '*.json' | wc -l) files" | tee -a "$log"
exit $status
