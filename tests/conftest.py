"""The one device fixture: every test taking ``device`` runs on each available device.

``cpu`` always; ``cuda`` when CuPy and a GPU are present. ``MINIGRAD_TEST_DEVICES=cpu,cuda``
chooses explicitly (asking for cuda without a GPU is an error, not a silent skip).
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import minigrad


def _devices():
    chosen = os.environ.get("MINIGRAD_TEST_DEVICES")
    if chosen:
        devices = [d.strip() for d in chosen.split(",") if d.strip()]
        for d in devices:
            minigrad.device(d)  # validates the name
            if d.startswith("cuda") and not minigrad.cuda.is_available():
                raise RuntimeError(f"MINIGRAD_TEST_DEVICES asks for {d} but no GPU is usable")
        return devices
    return ["cpu"] + (["cuda"] if minigrad.cuda.is_available() else [])


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
    """A device name: 'cpu', or 'cuda' when available."""
    return request.param
