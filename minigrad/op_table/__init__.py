"""Every op listed once: how to draw sample inputs, the minigrad call and a plain NumPy
reference. The tests (with hypothesis drawing the samples) and ``python -m minigrad gradcheck``
(with a seeded NumPy generator) both read this table, so an op added here is checked
everywhere.

``OPS`` holds the differentiable ops (forward against the reference, float64 gradcheck and
gradgradcheck, float32 kept); ``VALUE_OPS`` the ops without a gradient (comparisons, logical
ops, orderings), whose outputs are compared with the reference exactly. One module per
category; importing this package fills both lists in a fixed order.

A sample is drawn through a :class:`Drawer`, which has two implementations: ``RandomDrawer``
here (NumPy RNG, for the command line) and a hypothesis-backed one in the tests.
"""

from __future__ import annotations

# isort: off  (each module appends its ops: this is the table's order)
from . import elementwise, reduction, shape, indexing, linalg, layers, losses, values  # noqa: F401
from . import recurrent  # noqa: F401
from . import quantization  # noqa: F401,E402  (fake quantization's straight-through gradient)
# isort: on
from ._core import OPS, VALUE_OPS, Drawer, OpSpec, RandomDrawer, by_name, make_values

__all__ = ["OpSpec", "OPS", "VALUE_OPS", "Drawer", "RandomDrawer", "make_values", "by_name"]
