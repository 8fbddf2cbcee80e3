"""Samplers: grid, random, Bayesian (Gaussian process + expected improvement) and TPE."""

from .base import BaseSampler
from .bayesian import BayesianSampler
from .simple import GridSampler, RandomSampler
from .tpe import TPESampler

__all__ = ["BaseSampler", "GridSampler", "RandomSampler", "BayesianSampler", "TPESampler"]
