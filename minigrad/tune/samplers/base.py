"""What every sampler shares: the seed, the two ways of drawing a value (a joint proposal
before the trial starts, an independent draw when the objective asks), and the encoding of a
trial's parameters as one point of the unit cube."""

from __future__ import annotations

import numpy as np

from ..spaces import Choice

__all__ = ["BaseSampler", "joint_space", "encode", "decode"]


class BaseSampler:
    """Base class. ``seed`` (an int >= 0, or None for a fresh one drawn now) fixes every draw:
    a trial's draws depend only on (seed, trial number) and the snapshot it sees.

    ``propose(view, number, pending)`` returns the parameters the sampler chooses jointly for
    trial ``number`` before it runs (``pending``: the proposals already made in its batch);
    ``sample_independent(view, trial, name, dist)`` draws one the proposal does not cover.
    ``max_trials`` is None, or the number of trials after which the sampler has nothing new.
    """

    max_trials = None

    def __init__(self, seed=None):
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"{type(self).__name__}: seed must be an int >= 0 or None, got "
                             f"{seed!r}")
        self.seed = int(seed)

    def propose(self, view, number: int, pending: list) -> dict:
        return {}

    def sample_independent(self, view, trial, name: str, dist):
        return dist.sample(trial.rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"


def joint_space(trials) -> dict:
    """The parameters every one of ``trials`` has, with the same distribution, by name."""
    if not trials:
        return {}
    space = dict(trials[0].distributions)
    for t in trials[1:]:
        space = {k: d for k, d in space.items() if t.distributions.get(k) == d}
    return dict(sorted(space.items()))


def encode(params: dict, space: dict) -> np.ndarray:
    """``params`` as a point of the unit cube: each distribution's ``to_unit`` coordinates,
    concatenated in the order of ``space``."""
    return np.array([u for name, d in space.items() for u in d.to_unit(params[name])],
                    dtype=np.float64)


def decode(point, space: dict) -> dict:
    """The inverse of :func:`encode` (a point anywhere in the cube maps to valid values)."""
    params, i = {}, 0
    for name, d in space.items():
        params[name] = d.from_unit([float(v) for v in point[i:i + d.width]])
        i += d.width
    return params


def random_points(space: dict, n: int, rng) -> np.ndarray:
    """``n`` uniform points of the encoded cube: uniform continuous coordinates, and for each
    Choice a random one-hot block."""
    blocks = []
    for d in space.values():
        if isinstance(d, Choice):
            blocks.append(np.eye(d.width)[rng.integers(d.width, size=n)])
        else:
            blocks.append(rng.random((n, 1)))
    return np.concatenate(blocks, axis=1)


def continuous_mask(space: dict) -> np.ndarray:
    """True for the coordinates of non-Choice parameters (the ones local search moves)."""
    return np.array([not isinstance(d, Choice) for d in space.values() for _ in range(d.width)])
