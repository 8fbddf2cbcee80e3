"""``minigrad.cuda``: whether a GPU can be used (CuPy is only imported when asked)."""

from . import backend


def is_available() -> bool:
    """True when CuPy is installed and a CUDA GPU answers."""
    return backend.cuda_is_available()


def device_count() -> int:
    return backend.cuda_device_count()
