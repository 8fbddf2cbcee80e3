"""The workloads. Importing this package registers them all, in the order the table shows.

To add one: write a module here with one builder per engine (each returning a
``harness.Case``), call ``harness.register(Workload(...))`` at its end, and import it below.
Builders import their engine's library inside, never at module level.
"""

from . import mlp, lenet, optim, chain, imports  # noqa: F401  (registration happens on import)
from . import sequence  # noqa: F401
