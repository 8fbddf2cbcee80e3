"""Small helpers shared by the data modules: seeded generators and Tensor/array plumbing."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

_SEED_BOUND = 2**63 - 1


def make_rng(seed) -> np.random.Generator:
    """A NumPy generator of its own for a loader, a split, an augmentation or a synthetic set.

    ``seed`` is an int (the same int gives the same stream) or ``None``: then the seed is drawn
    from minigrad's cpu generator, so ``minigrad.manual_seed(s)`` makes the whole run
    reproducible.
    """
    if seed is None:
        seed = int(backend.generator("cpu").integers(0, _SEED_BOUND, (), np.int64))
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    elif seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.Generator(np.random.PCG64(int(seed)))


def rng_state(rng: np.random.Generator) -> dict:
    """A JSON-able snapshot of ``rng`` (a fresh dict: later draws do not change it)."""
    state = rng.bit_generator.state
    return {"bit_generator": state["bit_generator"], "state": dict(state["state"]),
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def set_rng_state(rng: np.random.Generator, state, owner: str) -> None:
    """Restore a snapshot taken by :func:`rng_state`, with a clear error if it is not one."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError(f"{owner}: expected a PCG64 generator state (a dict with "
                         f"'bit_generator': 'PCG64'), got {state!r:.200}")
    rng.bit_generator.state = state


def raw(x):
    """The array behind a Tensor; arrays pass through; anything else becomes a NumPy array."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray) or backend.device_of(x).type != "cpu":
        return x
    return np.asarray(x)


def like(result, original):
    """``result`` (an array) as a Tensor when ``original`` was a Tensor, else as is."""
    return Tensor._make(result) if isinstance(original, Tensor) else result


def float_array(x, owner: str):
    """``x`` as a floating array: float inputs keep their dtype (float32 stays float32), integer
    and bool inputs become float32 (the default float)."""
    x = raw(x)
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "biu":
        return x.astype(backend.default_float)
    raise TypeError(f"{owner}: expected a numeric array, got dtype {x.dtype}")
