"""The benchmark harness: the NumPy floor computes what minigrad computes, and a short run of
``benchmarks/run.py`` writes the JSON it promises. (Timings live in benchmarks/, never here.)"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the benchmarks package is not installed with minigrad

from benchmarks import harness, workloads  # noqa: E402, F401


def _failures(rows):
    return [(engine, key, err) for engine, key, err, ok in rows if not ok]


@pytest.mark.parametrize("name, overrides", [
    ("mlp_small", {}),
    ("mlp_step", {}),
    ("op_overhead", {"n_ops": 40}),
    ("deep_chain", {"n_ops": 400}),
])
def test_numpy_floor_matches_minigrad(name, overrides):
    rows = harness.check_workload(name, ("numpy", "minigrad"), **overrides)
    assert rows, "the check compared nothing"
    assert not _failures(rows)
    if name.startswith("mlp"):
        keys = {key for _, key, _, _ in rows}
        assert {"loss", "W0", "W0 step", "b1 step"} <= keys


def test_check_catches_a_one_percent_gradient_error(monkeypatch):
    workload = harness.WORKLOADS["mlp_small"]
    good = workload.engines["minigrad"]

    def skewed(**config):  # minigrad's step made 1% too long
        return good(**{**config, "lr": config["lr"] * 1.01})

    monkeypatch.setitem(workload.engines, "minigrad", skewed)
    failures = _failures(harness.check_workload("mlp_small", ("numpy", "minigrad")))
    assert any(key.endswith(" step") for _, key, _ in failures)


def test_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--workloads",
               "op_overhead", "--engines", "numpy", "minigrad", "--rounds", "1", "--quick",
               "--out", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "op_overhead" in proc.stdout
    result = json.loads(out.read_text())
    assert {"date", "machine", "threads", "workloads"} <= set(result)
    assert result["machine"]["cpu_count"] >= 1
    entry = result["workloads"]["op_overhead"]
    for engine in ("numpy", "minigrad"):
        record = entry["engines"][engine]
        assert len(record["samples"]) == 1 and record["median"] > 0
        assert record["peak_rss_mb"][0] > 0
    assert entry["ratios"]["minigrad/numpy"] > 0
