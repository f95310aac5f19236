#!/usr/bin/env bash
# The CI gate example of docs/ci.md, run on this repository's recorded H100 reports
# (examples/reports), so that scripts/test.sh proves it works. In a project of your own, the
# reports come from `brrr profile` of the main branch and of the pull request.
#
# Exit statuses of brrr explain and brrr diff: 0 all gates pass, 1 a gate failed (one line
# "brrr: gate failed: …" each on stderr), 2 bad usage, a malformed condition or a bad report.
set -euo pipefail
cd "$(dirname "$0")/.."
brrr=${BRRR:-build/bin/brrr}
reports=examples/reports
# On GitHub Actions the Markdown goes to the job's summary page; elsewhere nowhere.
summary=${GITHUB_STEP_SUMMARY:-/dev/null}

# 1. Gates on the phases of one run (its NVTX ranges): the bundled demo's GEMM phase must stay
#    compute-bound, and its fused elementwise phase memory-bound, each for 90% of its time.
"$brrr" explain "$reports/demo-h100.json" --format md --top 5 \
  --fail-if "range('gemm').compute < 90%" \
  --fail-if "range('fused').memory < 90%" >> "$summary"

# 2. Gates on one report. The compiled MLP's training steps must not be launch-bound, and the
#    GPU may wait for kernel launches at most 5% of its active time.
"$brrr" explain "$reports/mlp-compiled-h100.json" --format md --top 5 \
  --fail-if 'rule(overhead.launch-bound)' \
  --fail-if 'gpu_active.idle.launch > 5%' >> "$summary"

# 3. Gates on a change: the MLP before torch.compile (as on the main branch) and after it
#    (as in the pull request). No new finding of launch overhead, no more launch idle time,
#    and fewer launches of the cuBLAS kernel that torch.compile replaces.
"$brrr" diff "$reports/mlp-eager-h100.json" "$reports/mlp-compiled-h100.json" --format md --top 5 \
  --fail-if 'rule(overhead.launch-bound).new' \
  --fail-if 'gpu_active.idle.launch.delta > 0%' \
  --fail-if "kernel('sgemm_largek').launches.delta > 0" >> "$summary"

# 4. A gate that must fail, to show what a failure looks like: for a run this short,
#    torch.compile's compilation costs more than fusion saves, so the wall time grows by far
#    more than 5%. A CI job would stop here with exit status 1.
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
status=0
"$brrr" diff "$reports/cos-eager-h100.json" "$reports/cos-compiled-h100.json" --fail-if-slower 5% \
  > /dev/null 2> "$errors" || status=$?
cat "$errors" >&2
if [ "$status" -ne 1 ] || ! grep -q '^brrr: gate failed: wall.change +[0-9.]*% > 5%$' "$errors"; then
  echo "ci-gate-example: expected --fail-if-slower 5% to fail with exit status 1, got $status" >&2
  exit 1
fi
echo "ci-gate-example: all gates behaved as expected" >&2
