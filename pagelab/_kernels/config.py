"""Every numba setting the engine uses, in one place.

``cache=True`` keeps compiled kernels between processes (workers start fast after the first
run); ``boundscheck`` stays off because the public functions validate what reaches a kernel.
Calls between kernels that pass many arrays cost reference counting per call, so the
per-access loop keeps its common path in one function and calls out only for rare work
(faults, walks). Set NUMBA_DISABLE_JIT=1 to run the kernels as plain Python (coverage, debugging).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(function: _F) -> _F:
    """Compile ``function`` as a nopython kernel with the project's settings."""
    compiled: _F = njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")(function)
    return compiled
