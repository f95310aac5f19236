#!/usr/bin/env bash
# On a machine with several GPUs, PyTorch and a carried build (build-device/bin): brrr on a
# multi-GPU PyTorch job (bench/multigpu.py): tracing overhead per rank, an imbalanced job
# merged (the straggler found and quantified), brrr in front of torchrun, and the NCCL
# all-reduce time against CUDA-event timing. Writes under $OUT: multigpu-h100.md (for
# bench/results/), multigpu-log.txt, and multigpu-reports.tar.gz (every report and merged
# report), three files.
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
# The GPU test of two ranks under torchrun first: it says quickly whether the rest can work.
BRRR_SOURCE_DIR=$PWD timeout "${MULTIGPU_TEST_LIMIT:-150}" "$bin/brrr_gpu_tests" -tc='two ranks*' >> "$log" 2>&1
echo "== gpu test (two ranks under torchrun): exit $?" | tee -a "$log"
reports=$(mktemp -d)
timeout "${MULTIGPU_BENCH_LIMIT:-420}" python3 bench/multigpu.py --bin "$bin" --nproc "$nproc" --rounds "${ROUNDS:-2}" --limit "${MULTIGPU_RUN_LIMIT:-150}" \
  --out "$out/multigpu-h100.md" --reports "$reports" --log "$log"
status=$?
tar -czf "$out/multigpu-reports.tar.gz" -C "$reports" .
echo "== bench/multigpu.py: exit $status; reports: $(find "$reports" -name '*.json' | wc -l) files" | tee -a "$log"
exit $status
