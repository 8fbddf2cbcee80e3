#!/usr/bin/env bash
# The first run on a machine with an NVIDIA GPU, prepared so that it takes under 10 minutes:
#
#   bash benchmarks/gpu_check.sh              # on the GPU machine, from the repository root
#   bash benchmarks/gpu_check.sh --cpu-only   # a dry run here: the same steps on the strict
#                                             # stand-in GPU and the cpu (short)
#
# 1. CuPy: the installed one, else the minigrad[cuda12|cuda13] extra for the driver's CUDA;
# 2. the test suite with MINIGRAD_TEST_DEVICES=cpu,cuda (cpu,strict for the dry run);
# 3. python -m minigrad gradcheck --device cuda (first and second order);
# 4. benchmarks/gpu_bench.py: minigrad on the GPU against PyTorch CUDA when installed.
# Everything it prints goes to $RESULTS/gpu-check.txt, the benchmark to $RESULTS/gpu.json;
# RESULTS defaults to $OUT (the device tool's folder that comes back) or benchmarks/results.
set -uo pipefail
cd "$(dirname "$0")/.."
CPU_ONLY=0
[ "${1:-}" = "--cpu-only" ] && CPU_ONLY=1
PY=${PYTHON:-python3}
RESULTS=${RESULTS:-${OUT:-benchmarks/results}}
mkdir -p "$RESULTS"
LOG="$RESULTS/gpu-check.txt"
: > "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

step() {  # step TITLE SECONDS COMMAND...: run with a time limit, log it, remember a failure
    local title=$1 limit=$2; shift 2
    echo "=== $title ($(date -u +%H:%M:%S), limit ${limit}s): $*" | tee -a "$LOG"
    timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    echo "=== $title: exit status $rc" | tee -a "$LOG"
    [ "$rc" -ne 0 ] && status=1
    return 0
}

if [ "$CPU_ONLY" = 1 ]; then
    DEVICES=cpu,strict
    DEVICE=cpu
    SUITE=(tests/test_strict_device.py tests/test_ops.py tests/test_training.py)
else
    if ! "$PY" -c "import cupy" 2>/dev/null; then
        major=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: \([0-9]*\).*/\1/p' | head -1)
        [ "${major:-12}" -ge 13 ] && extra=cuda13 || extra=cuda12
        step "install CuPy ($extra)" 300 "$PY" -m pip install -q -e ".[$extra]"
    fi
    DEVICES=cpu,cuda
    DEVICE=cuda
    SUITE=()
fi

step "machine" 30 bash -c "nvidia-smi 2>/dev/null || echo 'no nvidia-smi'; $PY -c \
'import sys, numpy; print(sys.version.split()[0], \"numpy\", numpy.__version__)'"
step "cupy" 60 "$PY" -c "import minigrad as mg; print('cuda available:', mg.cuda.is_available())"
step "tests on $DEVICES" 420 env MINIGRAD_TEST_DEVICES=$DEVICES "$PY" -m pytest -q \
    -p no:cacheprovider --maxfail=50 "${SUITE[@]}"
step "gradcheck on $DEVICE" 120 "$PY" -m minigrad gradcheck --device "$DEVICE" --cases 5 \
    --second-order
if [ "$CPU_ONLY" = 1 ]; then
    step "gpu_bench (dry run on cpu)" 120 "$PY" benchmarks/gpu_bench.py --device cpu --quick
else
    step "gpu_bench" 240 "$PY" benchmarks/gpu_bench.py --device cuda --out "$RESULTS/gpu.json"
fi
echo "gpu_check: $([ $status = 0 ] && echo 'every step passed' || echo 'a step FAILED'); log in $LOG"
exit $status
