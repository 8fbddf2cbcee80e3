"""Search spaces: the distribution each hyper-parameter is drawn from.

``Uniform(lo, hi)`` and ``LogUniform(lo, hi)`` are floats, ``IntUniform(lo, hi, log=False)``
integers (both ends included), ``Choice(values)`` one of a list; a plain list is a grid (it
becomes a ``Choice``). Every distribution maps its values to and from the unit interval, the
coordinates the samplers model:

    Uniform:     u = (x − lo) / (hi − lo)
    LogUniform:  u = (ln x − ln lo) / (ln hi − ln lo)
    IntUniform:  as Uniform/LogUniform on [lo − ½, hi + ½] (or [ln(lo − ½), ln(hi + ½)]), then x
                 rounds to the nearest integer, so each integer gets an equal share of u
    Choice:      one coordinate per value (one-hot); decoding takes the largest coordinate

Distributions are plain data: ``to_dict`` / ``distribution_from_dict`` write and read them as
JSON (durable studies store them with every trial).
"""

from __future__ import annotations

import math

__all__ = ["Distribution", "Uniform", "LogUniform", "IntUniform", "Choice", "as_distribution",
           "distribution_from_dict", "parse_space"]


def _number(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


class Distribution:
    """Base class: ``sample(rng)``, ``contains(x)``, ``to_unit(x)`` (a list of floats in [0, 1],
    ``width`` of them) and ``from_unit(u)``."""

    width = 1  # coordinates in the unit cube

    def to_dict(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        d = self.to_dict()
        kind = d.pop("kind")
        return f"{kind}({', '.join(f'{k}={v!r}' for k, v in d.items())})"


class _Interval(Distribution):
    """A float or integer interval, uniform in x or in ln x."""

    log = False

    def _check(self, owner: str, lo, hi):
        self.lo = _number(owner, "lo", lo)
        self.hi = _number(owner, "hi", hi)
        if not self.lo < self.hi:
            raise ValueError(f"{owner}: needs lo < hi, got lo={lo!r}, hi={hi!r}")
        if self.log and self.lo <= 0:
            raise ValueError(f"{owner}: a log scale needs lo > 0, got lo={lo!r}")

    def ends(self):
        """The interval's ends in the modelled coordinate (x or ln x)."""
        lo, hi = self._bounds()
        return (math.log(lo), math.log(hi)) if self.log else (lo, hi)

    def _bounds(self):
        return self.lo, self.hi

    def to_unit(self, x) -> list:
        a, b = self.ends()
        t = math.log(x) if self.log else float(x)
        return [min(1.0, max(0.0, (t - a) / (b - a)))]

    def _decode(self, u: float) -> float:
        a, b = self.ends()
        t = a + min(1.0, max(0.0, float(u))) * (b - a)
        return math.exp(t) if self.log else t

    def sample(self, rng):
        return self.from_unit([rng.random()])


class Uniform(_Interval):
    """A float uniform on [lo, hi]."""

    def __init__(self, lo, hi):
        self._check("Uniform", lo, hi)

    def contains(self, x) -> bool:
        return isinstance(x, (int, float)) and self.lo <= x <= self.hi

    def from_unit(self, u) -> float:
        return min(self.hi, max(self.lo, self._decode(u[0])))

    def to_dict(self) -> dict:
        return {"kind": "Uniform", "lo": self.lo, "hi": self.hi}


class LogUniform(Uniform):
    """A float whose logarithm is uniform on [ln lo, ln hi] (lo > 0)."""

    log = True

    def __init__(self, lo, hi):
        self._check("LogUniform", lo, hi)

    def to_dict(self) -> dict:
        return {"kind": "LogUniform", "lo": self.lo, "hi": self.hi}


class IntUniform(_Interval):
    """An integer in lo..hi (both included), uniform, or log-uniform with ``log=True``."""

    def __init__(self, lo, hi, log: bool = False):
        for name, v in (("lo", lo), ("hi", hi)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"IntUniform: {name} must be an int, got {v!r}")
        self.log = bool(log)
        self._check("IntUniform", lo, hi)
        self.lo, self.hi = int(lo), int(hi)

    def _bounds(self):
        # half an integer beyond each end: every integer gets the same share of u
        # (on the log scale, lo − ½ > 0 needs lo ≥ 1, which lo > 0 and int give)
        return self.lo - 0.5, self.hi + 0.5

    def contains(self, x) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and self.lo <= x <= self.hi

    def from_unit(self, u) -> int:
        return int(min(self.hi, max(self.lo, round(self._decode(u[0])))))

    def to_dict(self) -> dict:
        return {"kind": "IntUniform", "lo": self.lo, "hi": self.hi, "log": self.log}


class Choice(Distribution):
    """One of ``values`` (numbers, strings, booleans or None: JSON-able), each equally likely."""

    def __init__(self, values):
        try:
            values = list(values)
        except TypeError:
            raise ValueError(f"Choice: values must be a list, got {values!r}") from None
        if not values:
            raise ValueError("Choice: needs at least one value, got an empty list")
        for v in values:
            if v is not None and not isinstance(v, (bool, int, float, str)):
                raise ValueError(f"Choice: values must be numbers, strings, booleans or None "
                                 f"(JSON-able), got {v!r} of type {type(v).__name__}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"Choice: values must differ, got {values!r}")
        self.values = values
        self.width = len(values)

    def index(self, x) -> int:
        for i, v in enumerate(self.values):
            if type(v) is type(x) and v == x:
                return i
        raise ValueError(f"Choice: {x!r} is not one of {self.values!r}")

    def contains(self, x) -> bool:
        try:
            self.index(x)
        except ValueError:
            return False
        return True

    def to_unit(self, x) -> list:
        one_hot = [0.0] * self.width
        one_hot[self.index(x)] = 1.0
        return one_hot

    def from_unit(self, u):
        best = max(range(self.width), key=lambda i: (u[i], -i))   # ties: the first value
        return self.values[best]

    def sample(self, rng):
        return self.values[int(rng.integers(self.width))]

    def to_dict(self) -> dict:
        return {"kind": "Choice", "values": list(self.values)}


_KINDS = {"Uniform": Uniform, "LogUniform": LogUniform, "IntUniform": IntUniform,
          "Choice": Choice}


def as_distribution(space, name: str = "parameter") -> Distribution:
    """A Distribution as given, or a list/tuple as a ``Choice`` (a grid's values)."""
    if isinstance(space, Distribution):
        return space
    if isinstance(space, (list, tuple)):
        return Choice(space)
    raise ValueError(f"search space of {name!r}: expected Uniform, LogUniform, IntUniform, "
                     f"Choice or a list of values, got {space!r}")


def distribution_from_dict(d: dict) -> Distribution:
    """The inverse of ``Distribution.to_dict``."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in _KINDS:
        raise ValueError(f"distribution_from_dict: unknown kind {kind!r} in {d!r}")
    if kind == "Choice":
        return Choice(d["values"])
    return _KINDS[kind](**d)


_TEXT_KINDS = ("uniform", "loguniform", "int", "logint", "choice")


def _literal(text: str):
    """A value of ``choice(...)`` text: an int, a float, true/false/none, or the text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_space(text: str) -> dict:
    """``"lr=loguniform(1e-4,1e-1);batch_size=choice(32,64,128);dropout=uniform(0,0.5)"`` as
    ``{name: Distribution}``: ``uniform(lo,hi)``, ``loguniform(lo,hi)``, ``int(lo,hi)``,
    ``logint(lo,hi)`` and ``choice(v1,v2,...)``, separated by ';'."""
    space = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, eq, rest = part.partition("=")
        name, rest = name.strip(), rest.strip()
        kind, paren, args = rest.partition("(")
        kind = kind.strip().lower()
        if not eq or not name or not paren or not args.endswith(")") or kind not in _TEXT_KINDS:
            raise ValueError(f"parse_space: cannot read {part!r}; expected NAME=KIND(ARGS) with "
                             f"KIND one of {', '.join(_TEXT_KINDS)}, e.g. lr=loguniform(1e-4,1e-1)")
        if name in space:
            raise ValueError(f"parse_space: {name!r} is given twice")
        values = [_literal(v.strip()) for v in args[:-1].split(",") if v.strip()]
        if kind == "choice":
            space[name] = Choice(values)
            continue
        if len(values) != 2:
            raise ValueError(f"parse_space: {part!r}: {kind} takes two numbers (lo, hi)")
        if kind in ("uniform", "loguniform"):
            lo, hi = (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                      for v in values)
            space[name] = (LogUniform if kind == "loguniform" else Uniform)(lo, hi)
        else:
            space[name] = IntUniform(values[0], values[1], log=kind == "logint")
    if not space:
        raise ValueError(f"parse_space: no parameter in {text!r}")
    return space
