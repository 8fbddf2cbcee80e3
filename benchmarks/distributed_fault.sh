#!/usr/bin/env bash
# A rank killed outright (kill -9) mid-epoch: how long until the whole job has ended, and with
# which exit status. The MPI launcher (MPICH's Hydra) sees the dead rank and ends the others.
#   bash benchmarks/distributed_fault.sh [N=2]     (needs the MNIST files: MINIGRAD_DATA)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
export OPENBLAS_NUM_THREADS=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
log=$(mktemp)
( mpiexec -n "$n" python examples/distributed_mnist.py --epochs 20 --quiet >"$log" 2>&1
  echo "mpiexec exit status $?" >>"$log" ) &
sleep 4
victim=$(pgrep -f "python examples/distributed_mnist.py" | tail -1)
echo "kill -9 of one of the $n ranks (pid $victim), 4 s into training"
start=$(date +%s.%N)
kill -9 "$victim"
while pgrep -f "python examples/distributed_mnist.py" >/dev/null; do sleep 0.05; done
wait
end=$(date +%s.%N)
echo "every rank gone $(python3 -c "print(f'{$end - $start:.2f}')") s later"
grep -E "exit status|EXIT CODE|signal" "$log" | sed 's/^[= ]*//' | sort -u
rm -f "$log"
