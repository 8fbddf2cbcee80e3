#!/usr/bin/env bash
# A rank killed outright (kill -9) mid-training, and the rerun from the last checkpoint.
#   MINIGRAD_DATA=DIR bash benchmarks/distributed_fault.sh [N=2]    (MNIST IDX files in DIR)
# 1. the time from the kill until every rank has gone, and mpiexec's exit status (the MPI
#    launcher, MPICH's Hydra, sees the dead rank and ends the others);
# 2. python -m minigrad train on MNIST under mpiexec -n N for 4 epochs, uninterrupted, and the
#    same run killed after its first checkpoint and resumed with --resume: both test accuracies.
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
: "${MINIGRAD_DATA:?set MINIGRAD_DATA to the folder of the MNIST IDX files}"
export OPENBLAS_NUM_THREADS=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
tmp=$(mktemp -d)
flags="--data mnist --epochs 4 --no-progress --quiet"
mpiexec -n "$n" python -m minigrad train $flags --out "$tmp/full" >/dev/null 2>&1
( mpiexec -n "$n" python -m minigrad train $flags --out "$tmp/killed" --checkpoint "$tmp/run.ckpt" \
    >"$tmp/killed.log" 2>&1; echo "mpiexec exit status $?" >>"$tmp/killed.log" ) &
while [ ! -f "$tmp/run.ckpt" ]; do sleep 0.2; done
sleep 2
victim=$(pgrep -f "minigrad train $flags --out $tmp/killed" | tail -1)
echo "kill -9 of one of the $n ranks (pid $victim), mid-epoch after the first checkpoint"
start=$(date +%s.%N)
kill -9 "$victim"
while pgrep -f "minigrad train $flags --out $tmp/killed" >/dev/null; do sleep 0.02; done
wait
end=$(date +%s.%N)
echo "every rank gone $(python3 -c "print(f'{$end - $start:.2f}')") s later; $(tail -1 "$tmp/killed.log")"
mpiexec -n "$n" python -m minigrad train $flags --out "$tmp/resumed" --resume "$tmp/run.ckpt" \
    >/dev/null 2>&1
python3 - "$tmp" <<'PY'
import json, sys
full, resumed = (json.load(open(f"{sys.argv[1]}/{k}/results.json")) for k in ("full", "resumed"))
print(f"test accuracy uninterrupted {full['test_accuracy']:.4f}, killed and resumed "
      f"{resumed['test_accuracy']:.4f} (loss {full['test_loss']:.6f} / {resumed['test_loss']:.6f})")
PY
rm -rf "$tmp"
