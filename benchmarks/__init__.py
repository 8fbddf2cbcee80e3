"""Benchmarks: minigrad against a hand-written NumPy floor and PyTorch (see README.md).

``python benchmarks/run.py`` runs them; ``benchmarks/worker.py`` runs one workload for one
engine in a fresh process; ``harness.py`` holds the registry, the timing helper and the
engine-agreement check; ``workloads/`` holds the workloads, one module each family, every
engine's version of a workload side by side.
"""
