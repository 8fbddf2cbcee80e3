"""examples/tabular_pipeline.py runs (--quick) and prints what it promises: one F1 per
variant, the checkpoint round trip and the columns an L1 model keeps."""

import os
import re
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                       "tabular_pipeline.py")


def test_tabular_pipeline_example():
    proc = subprocess.run([sys.executable, EXAMPLE, "--quick"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    scores = dict(re.findall(r"^((?:all steps|without [^\n]*?))\s+([01]\.\d{3})$", out, re.M))
    assert len(scores) == 7 and "all steps" in scores and "without SMOTE" in scores
    assert all(0.0 <= float(v) <= 1.0 for v in scores.values())
    assert "reloaded checkpoint gives the same test predictions: True" in out
    assert re.search(r"L1 \(alpha=0.02\) keeps \d+ of 10 columns: ", out)
