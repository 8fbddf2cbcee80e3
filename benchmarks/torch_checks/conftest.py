"""The pytest-style cross-checks against PyTorch: the tests' helpers (tests/) are importable."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests"))
