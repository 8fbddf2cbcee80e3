"""Checks of device data deferred to the next host read, so that a training step on a GPU makes
no device sync of its own.

A check such as "every class-index target is in range" needs the data on the host: on the CPU
it is free, on a GPU it would copy a value back and wait for the device at every loss. There a
loss instead checks on the device, makes its value NaN when the check fails, and leaves the
check here; :meth:`Tensor.item` (and ``float(t)``), reading a NaN, runs the pending checks, and
the first that fails raises its error. That is PyTorch's CUDA behaviour (a device-side assert
surfaces at the next synchronization) with the CPU's error message. Only the last few checks
are kept: each holds a reference to its (small) device data.
"""

from __future__ import annotations

import collections

_pending: collections.deque = collections.deque(maxlen=16)


def defer(check) -> None:
    """Keep ``check()`` (which raises when the data is bad) until a host read sees a NaN."""
    _pending.append(check)


def run_pending() -> None:
    """Run the pending checks, newest first; the first that fails raises (and is dropped)."""
    while _pending:
        _pending.pop()()
