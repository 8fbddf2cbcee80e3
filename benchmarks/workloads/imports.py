"""``import``: the wall time of a fresh ``python -c 'import X'``.

X is numpy for the numpy engine, minigrad and torch for the others. Each timed call starts a
new interpreter, so the figure includes interpreter start-up (the same for every engine); the
figure that matters is minigrad's time minus numpy's (minigrad imports numpy itself). The
untimed warm-up call brings the files into the OS cache and, as in any installation, leaves
compiled bytecode behind: the child runs without ``PYTHONDONTWRITEBYTECODE``, which would
otherwise make every import of minigrad compile its sources again (~40 ms here) while numpy
and torch load the bytecode pip compiled when it installed them.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ..harness import ROOT, Case, Goal, Timing, Workload, register


def importer(module):
    """A builder whose step starts a fresh interpreter that imports ``module`` and exits."""

    def build():
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [sys.executable, "-c", f"import {module}"]

        def step():
            subprocess.run(command, env=env, cwd=ROOT, check=True)

        return Case(step)

    return build


register(Workload(
    name="import",
    description="wall time of a fresh `python -c 'import X'` (X = numpy, minigrad, torch)",
    per="import", display="ms",
    engines={"numpy": importer("numpy"), "minigrad": importer("minigrad"),
             "torch": importer("torch")},
    timing=Timing(warmup=1, min_reps=3, seconds=0.0),
    goal=Goal("numpy", plus=0.050),
))
