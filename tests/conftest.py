"""The one device fixture: every test taking ``device`` runs on each available device.

``cpu`` always; ``cuda`` when CuPy and a GPU are present, else ``strict``.
``MINIGRAD_TEST_DEVICES=cpu,cuda`` (or ``cpu``, ``cpu,strict``) chooses explicitly (asking for
cuda without a GPU is an error, not a silent skip).
``strict`` is the stand-in GPU of ``strict_device.py``: it takes CuPy's place in the backend,
so the tests run as ``'cuda'`` through the GPU code path with arrays that refuse every
implicit conversion to NumPy (it cannot be combined with a real ``cuda``).
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import minigrad
import strict_device


def _devices():
    chosen = os.environ.get("MINIGRAD_TEST_DEVICES")
    if chosen:
        devices = [d.strip() for d in chosen.split(",") if d.strip()]
        if "strict" in devices:
            if any(d.startswith("cuda") for d in devices):
                raise RuntimeError("MINIGRAD_TEST_DEVICES: strict stands in for cuda; ask "
                                   "for one of them")
            strict_device.install()
        for d in devices:
            if d == "strict":
                continue
            minigrad.device(d)  # validates the name
            if d.startswith("cuda") and not minigrad.cuda.is_available():
                raise RuntimeError(f"MINIGRAD_TEST_DEVICES asks for {d} but no GPU is usable")
        return devices
    if minigrad.cuda.is_available():
        return ["cpu", "cuda"]
    strict_device.install()     # no GPU: the GPU code path runs on the stand-in
    return ["cpu", "strict"]


DEVICES = _devices()

settings.register_profile(
    "default", deadline=None, max_examples=20,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "thorough", deadline=None, max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("MINIGRAD_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(params=DEVICES, scope="session")
def device(request):
    """A device name: 'cpu', or 'cuda' when available (the strict stand-in is 'cuda' too)."""
    return "cuda" if request.param == "strict" else request.param
