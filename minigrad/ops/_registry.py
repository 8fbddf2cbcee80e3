"""The one table of user-facing ops: each op is written once, as a function of a tensor, and
registered here with how it is exposed (a Tensor method, a ``minigrad.<name>`` function, or
both). :func:`minigrad.ops.bind` turns the table into Tensor attributes and module functions.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["op", "register", "TABLE", "lazy_module"]

# (public name, function, as a Tensor method, as a minigrad.<name> function)
TABLE: list = []


def register(function, *names, method=True, module=True):
    """Expose ``function`` under ``names`` (its own name when none are given)."""
    for name in names or (function.__name__,):
        TABLE.append((name, function, method, module))
    return function


def op(*names, method=True, module=True):
    """Decorator form of :func:`register`: ``@op()``, ``@op("clamp", "clip")``,
    ``@op(module=False)`` (a Tensor method only), ``@op(method=False)`` (a function only)."""

    def decorate(function):
        return register(function, *names, method=method, module=module)
    return decorate


def lazy_module(name: str):
    """The module ``name``, executed on its first attribute access (importlib's LazyLoader):
    the Functions of the less common ops cost nothing at ``import minigrad``, and after the
    first use an attribute access costs what it always does."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)
    return module
