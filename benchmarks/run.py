"""Benchmark minigrad against the hand-written NumPy floor and PyTorch; see README.md.

    python benchmarks/run.py                       # every workload x engine, 5 rounds
    python benchmarks/run.py --rounds 2 --quick --out benchmarks/results/smoke.json
    python benchmarks/run.py --workloads mlp_step mlp_small --engines numpy minigrad
    python benchmarks/run.py --check               # do the engines compute the same thing?

Each (round, workload, engine) runs in a fresh worker process. Rounds are interleaved: round 1
runs every workload for every engine, then round 2, and so on, so a noisy stretch of time hits
all engines alike. The engine order rotates from round to round. The table shows medians over
rounds (each round's figure is the median over that worker's timed calls).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

from benchmarks import harness, workloads  # noqa: E402, F401  (registers the workloads)

WORKER = os.path.join(ROOT, "benchmarks", "worker.py")
DEFAULT_OUT = os.path.join("benchmarks", "results", "cpu.json")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6}


# ---------------------------------------------------------------------------------------------
# Machine description


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _first_field(text, name):
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info(env) -> dict:
    """CPU, memory, OS, library versions, BLAS and thread settings, and the code's commit."""
    import numpy as np

    meminfo = _first_field(_read("/proc/meminfo"), "MemTotal")
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception:  # older NumPy: no dict form
        blas = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": _first_field(_read("/proc/cpuinfo"), "model name") or platform.processor(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "memory_total": meminfo,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "torch": _version("torch"),
        "thread_env": {name: env.get(name) for name in THREAD_VARS},
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain")),
    }


# ---------------------------------------------------------------------------------------------
# Running the workers


def run_worker(workload, engine, quick, env, timeout) -> dict:
    """One fresh worker process; its JSON result, or ``{"error": ...}``."""
    command = [sys.executable, WORKER, workload, engine] + (["--quick"] if quick else [])
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit code {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def fmt(value, digits=3) -> str:
    """A number with about ``digits`` significant figures, never in exponent form."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - int(f"{abs(value):e}".split("e")[1]))
    return f"{value:.{decimals}f}"


def run_rounds(names, engines, rounds, quick, env, timeout) -> dict:
    """Interleaved rounds; returns {workload: {engine: [worker result per round]}}."""
    raw = {w: {e: [] for e in engines} for w in names}
    for r in range(rounds):
        order = engines[r % len(engines):] + engines[:r % len(engines)]
        for name in names:
            workload = harness.WORKLOADS[name]
            for engine in order:
                if engine not in workload.engines:
                    continue
                result = run_worker(name, engine, quick, env, timeout)
                raw[name][engine].append(result)
                if "error" in result:
                    shown = "ERROR " + result["error"]
                else:
                    value = result["median_s"] * SCALE[workload.display]
                    shown = (f"{fmt(value):>9} {workload.display}/{workload.per}  "
                             f"({result['calls']} calls, peak {result['peak_rss_mb']:.0f} MB)")
                print(f"[round {r + 1}/{rounds}] {name:<12} {engine:<9} {shown}", flush=True)
    return raw


# ---------------------------------------------------------------------------------------------
# Summaries


def _ratio(a, b):
    return a / b if a is not None and b else None


def summarize(raw, engines, skipped) -> dict:
    """Per workload: each engine's samples and median, the ratios and the goal."""
    summary = {}
    for name, by_engine in raw.items():
        workload = harness.WORKLOADS[name]
        entry = {"description": workload.description, "per": workload.per, "unit": "s",
                 "display_unit": workload.display, "config": workload.config, "engines": {}}
        medians, memory = {}, {}
        for engine in engines:
            if engine in skipped:
                entry["engines"][engine] = {"skipped": skipped[engine]}
                continue
            results = by_engine.get(engine, [])
            good = [r for r in results if "error" not in r]
            samples = [r["median_s"] for r in good]
            rss = [r["peak_rss_mb"] for r in good]
            record = {"samples": samples,
                      "median": statistics.median(samples) if samples else None,
                      "min": min(r["min_s"] for r in good) if good else None,
                      "calls": [r["calls"] for r in good],
                      "peak_rss_mb": rss,
                      "peak_rss_mb_median": statistics.median(rss) if rss else None,
                      "library": good[-1]["library"] if good else None}
            errors = [r["error"] for r in results if "error" in r]
            if errors:
                record["errors"] = errors
            entry["engines"][engine] = record
            medians[engine] = record["median"]
            memory[engine] = record["peak_rss_mb_median"]
        mg = medians.get("minigrad")
        entry["ratios"] = {f"minigrad/{ref}": _ratio(mg, medians.get(ref))
                           for ref in ("numpy", "torch")}
        goal = workload.goal
        if goal and goal.plus is not None and None not in (mg, medians.get(goal.ref)):
            entry[f"minigrad_minus_{goal.ref}_s"] = mg - medians[goal.ref]  # import time
        entry["goal"] = _goal(workload.goal, mg, medians, SCALE[workload.display],
                              workload.display)
        if workload.memory_goal is not None:
            entry["peak_memory_mb"] = {
                "engines": memory,
                "ratios": {f"minigrad/{ref}": _ratio(memory.get("minigrad"), memory.get(ref))
                           for ref in ("numpy", "torch")},
                "goal": _goal(workload.memory_goal, memory.get("minigrad"), memory, 1.0, "MB"),
            }
        summary[name] = entry
    return summary


def _goal(goal, minigrad, values, scale, unit):
    if goal is None:
        return None
    ref = values.get(goal.ref)
    met = None if minigrad is None or ref is None else goal.met(minigrad, ref)
    return {"target": goal.describe(scale, unit), "met": met}


def print_table(summary, engines) -> None:
    """Medians (in each workload's display unit) and minigrad's ratios, one row per workload."""
    columns = [e for e in ("numpy", "torch", "minigrad") if e in engines]
    head = (f"{'workload':<13}{'unit':<10}" + "".join(f"{e:>10}" for e in columns)
            + f"{'mg/numpy':>10}{'mg/torch':>10}   goal")
    print("\n" + head + "\n" + "-" * len(head))

    def row(label, unit, values, ratios, goal):
        cells = "".join(f"{fmt(values.get(e)):>10}" if e in values else f"{'skip':>10}"
                        for e in columns)
        verdict = {True: "(met)", False: "(MISSED)", None: "(n/a)"}
        mark = "" if goal is None else f"{goal['target']} {verdict[goal['met']]}"
        print(f"{label:<13}{unit:<10}{cells}{fmt(ratios['minigrad/numpy'], 2):>10}"
              f"{fmt(ratios['minigrad/torch'], 2):>10}   {mark}")

    notes = []
    for name, entry in summary.items():
        scale = SCALE[entry["display_unit"]]
        values = {e: (r["median"] * scale if r.get("median") is not None else None)
                  for e, r in entry["engines"].items() if "skipped" not in r}
        row(name, f"{entry['display_unit']}/{entry['per']}", values, entry["ratios"],
            entry["goal"])
        memory = entry.get("peak_memory_mb")
        if memory:
            mem = {e: v for e, v in memory["engines"].items() if e in values}
            row("  peak RSS", "MB", mem, memory["ratios"], memory["goal"])
        for key, value in entry.items():
            if key.startswith("minigrad_minus_"):
                ref = key[len("minigrad_minus_"):-2]
                notes.append(f"{name}: minigrad - {ref} = {value * scale:+.1f} "
                             f"{entry['display_unit']}")
    for note in notes:
        print(note)


# ---------------------------------------------------------------------------------------------
# The agreement check


def run_check(names, engines) -> bool:
    """One step of every engine from the same start: same loss, weights and gradients?"""
    reference = "numpy" if "numpy" in engines else engines[0]
    ordered = [reference] + [e for e in engines if e != reference]
    ok = True
    for name in names:
        rows = harness.check_workload(name, tuple(ordered))
        if not rows:
            print(f"{name}: nothing to compare")
            continue
        bad = [r for r in rows if not r[3]]
        worst = {}
        for engine, key, err, _ in rows:
            worst[engine] = max(worst.get(engine, 0.0), err)
        detail = ", ".join(f"{e} worst {fmt(v, 2) if v >= 1e-2 else f'{v:.1e}'}"
                           for e, v in worst.items())
        print(f"{name}: {'OK' if not bad else 'MISMATCH'} against {reference} ({detail})")
        for engine, key, err, _ in bad:
            print(f"    {engine} {key}: relative error {err:.3g}")
        ok = ok and not bad
    return ok

def write_results(args, info, raw, summary, skipped, duration) -> None:
    """The JSON results file: how it was run, on what, and every workload's samples."""
    torch_threads = [r["library"]["num_threads"] for by_engine in raw.values()
                     for r in by_engine.get("torch", []) if "num_threads" in r.get("library", {})]
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/run.py", *args.argv]),
        "rounds": args.rounds,
        "quick": args.quick,
        "note": ("--quick: short timing budgets, a smoke run, NOT a measurement" if args.quick
                 else "a measurement"),
        "duration_s": round(duration, 1),
        "method": "each sample is one fresh worker process: the median over its timed calls "
                  "after warm-up; rounds are interleaved (every workload x engine per round, "
                  "engine order rotating); 'median' is the median over rounds",
        "threads": {"pinned": args.threads, "env": info["thread_env"],
                    "torch_num_threads": torch_threads[0] if torch_threads else None,
                    "note": "not pinned unless --threads is given: each library uses its "
                            "default (OpenBLAS and torch: one thread per core)"},
        "machine": info,
        "engines_skipped": skipped,
        "workloads": summary,
    }
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)  # never a half-written file
    print(f"\nwrote {args.out}")


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark minigrad against a hand-written NumPy floor and PyTorch.")
    parser.add_argument("--workloads", nargs="+", metavar="NAME", default=list(harness.WORKLOADS),
                        help=f"which workloads (default: all of {', '.join(harness.WORKLOADS)})")
    parser.add_argument("--engines", nargs="+", metavar="NAME", default=list(harness.ENGINES),
                        choices=list(harness.ENGINES), help="which engines (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="short timing budgets: a smoke run, not a measurement")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"JSON results file (default {DEFAULT_OUT}); '-' for none")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="set OMP/OPENBLAS/MKL_NUM_THREADS=N for every worker "
                             "(default: leave them as they are)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per worker")
    parser.add_argument("--check", action="store_true",
                        help="only check that the engines compute the same step, then exit")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    unknown = [w for w in args.workloads if w not in harness.WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {list(harness.WORKLOADS)}")
    if args.list:
        for name, workload in harness.WORKLOADS.items():
            print(f"{name:<13} {workload.description}")
        return 0

    engines = list(dict.fromkeys(args.engines))
    skipped = {e: f"{harness.ENGINES[e]} is not installed (not importable)" for e in engines
               if not harness.engine_available(e)}
    for engine, reason in skipped.items():
        print(f"skipping engine {engine}: {reason}")
    available = [e for e in engines if e not in skipped]

    if args.check:
        return 0 if run_check(args.workloads, available) else 1

    env = dict(os.environ)
    if args.threads:
        env.update({name: str(args.threads) for name in THREAD_VARS})
    info = machine_info(env)
    print(f"{info['cpu_model']} ({info['usable_cpus']} of {info['cpu_count']} CPUs usable), "
          f"Python {info['python']}, NumPy {info['numpy']}, torch {info['torch'] or 'absent'}; "
          f"threads: {info['thread_env']}")
    if args.quick:
        print("--quick: short timing budgets, a smoke run, not a measurement")

    start = time.time()
    raw = run_rounds(args.workloads, available, args.rounds, args.quick, env, args.timeout)
    summary = summarize(raw, engines, skipped)
    print_table(summary, engines)
    if args.quick:
        print("(--quick: a smoke run, not a measurement)")

    if args.out != "-":
        write_results(args, info, raw, summary, skipped, time.time() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
