"""The two model-free samplers: random search and grid search."""

from __future__ import annotations

import itertools

import numpy as np

from ..spaces import as_distribution
from .base import BaseSampler

__all__ = ["RandomSampler", "GridSampler"]


class RandomSampler(BaseSampler):
    """Every parameter drawn independently from its distribution (uniform in u)."""


class GridSampler(BaseSampler):
    """Every combination of the values in ``search_space`` (``{name: [values]}``), one per
    trial: trial n gets combination ``order[n]`` of ``itertools.product`` over the names in
    the given order, ``order`` the identity, or a permutation drawn from ``seed`` when one is
    given. The study stops after the last combination. A parameter the objective asks for
    that is not in the grid fails the trial."""

    def __init__(self, search_space: dict, seed=None):
        shuffle = seed is not None
        super().__init__(seed)
        if not isinstance(search_space, dict) or not search_space:
            raise ValueError(f"GridSampler: search_space must be a non-empty dict "
                             f"{{name: [values]}}, got {search_space!r}")
        self.search_space = {k: as_distribution(list(v) if isinstance(v, tuple) else v,
                                                k).values for k, v in search_space.items()}
        names = list(self.search_space)
        self.grid = [dict(zip(names, combo))
                     for combo in itertools.product(*self.search_space.values())]
        self.order = (np.random.default_rng(self.seed).permutation(len(self.grid)).tolist()
                      if shuffle else list(range(len(self.grid))))
        self.max_trials = len(self.grid)

    def propose(self, view, number, pending) -> dict:
        return dict(self.grid[self.order[number % len(self.grid)]])

    def sample_independent(self, view, trial, name, dist):
        if name in self.search_space:
            raise ValueError(f"GridSampler: the grid value {trial.relative.get(name)!r} of "
                             f"{name!r} is outside the asked {dist!r}")
        raise ValueError(f"GridSampler: {name!r} is not in the grid (grid parameters: "
                         f"{list(self.search_space)})")
