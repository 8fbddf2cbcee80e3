"""Run one workload for one engine in this process and print one JSON line.

    python benchmarks/worker.py WORKLOAD ENGINE [--quick]

``run.py`` starts one fresh worker per (round, workload, engine), so every measurement starts
from a clean interpreter that holds only the library it measures; the peak RSS it reports is
the process's own.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the repository's minigrad and the benchmarks package

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402

from benchmarks import harness, workloads  # noqa: E402, F401  (registers the workloads)


def library_info(engine: str) -> dict:
    """The measured library's version (and thread count for torch), read only if loaded."""
    module = sys.modules.get(harness.ENGINES[engine])
    if module is None:  # the import workload measures a child process, not this one
        return {}
    info = {"version": str(getattr(module, "__version__", "unknown"))}
    if engine == "torch":
        info["num_threads"] = module.get_num_threads()
        info["num_interop_threads"] = module.get_num_interop_threads()
    return info


def measure(name: str, engine: str, quick: bool = False) -> dict:
    """Build the workload for the engine, time it, and return the worker's result."""
    workload = harness.WORKLOADS[name]
    case = workload.build(engine)
    timing = workload.timing.quick() if quick else workload.timing
    times = [t / workload.calls_per_unit for t in harness.time_calls(case.step, timing)]
    return {
        "workload": name,
        "engine": engine,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "calls": len(times),
        "peak_rss_mb": round(harness.peak_rss_mb(), 1),
        "library": library_info(engine),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=list(harness.WORKLOADS))
    parser.add_argument("engine", choices=list(harness.ENGINES))
    parser.add_argument("--quick", action="store_true", help="a short timing budget (smoke runs)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.workload, args.engine, args.quick)))


if __name__ == "__main__":
    main()
