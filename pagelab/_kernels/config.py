"""Every numba setting the engine uses, in one place.

``cache=True`` keeps compiled kernels between processes (workers start fast after the first
run); ``boundscheck`` stays off because the public functions validate what reaches a kernel.
The per-access loop and everything it calls are borrowing kernels (no reference counting:
with it, every call handing arrays to another kernel costs two atomic operations per array,
which was a third of a fault's time); the loop still keeps its common path in one function
and calls out only for rare work (faults), since each array argument is passed field by
field. numba's cache notices edits to a kernel's own file only: after editing a
module another kernel calls (``lru``, ``pagetable``, ``regions``), delete
``pagelab/_kernels/__pycache__``.
Set NUMBA_DISABLE_JIT=1 to run the kernels as plain Python (coverage, debugging).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numba.core import config as numba_config

_F = TypeVar("_F", bound=Callable[..., Any])

COMPILED = not numba_config.DISABLE_JIT  # type: ignore[attr-defined]  # set from the environment
"""False under NUMBA_DISABLE_JIT=1: numba intrinsics, which run only compiled, need a
plain-Python stand-in then."""


def kernel(function: _F) -> _F:
    """Compile ``function`` as a nopython kernel with the project's settings."""
    compiled = njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")(function)
    return cast(_F, compiled)


def borrowing_kernel(function: _F) -> _F:
    """Like ``kernel``, but compiled without numba's reference counting (``_nrt=False``).

    For kernels that only index arrays their caller passes in and never create one (the
    per-access path, faults and the physical-memory allocator): with reference counting,
    every array handed from one kernel to the next costs atomic increments and decrements,
    which dominated an order-0 allocation and a third of a fault. The caller keeps the
    arrays alive; a kernel compiled this way cannot allocate an array.
    """
    # _nrt: numba's switch for its runtime; the stubs do not list it.
    options = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}
    compiled = njit(**options, _nrt=False)(function)  # type: ignore[call-overload]
    return cast(_F, compiled)


def inline_kernel(function: _F) -> _F:
    """Like ``kernel``, but inlined into its callers at the numba IR level.

    For small helpers on the per-access path: a real call would pass each array as a
    reference-counted structure.
    """
    compiled = njit(
        cache=True, nogil=True, boundscheck=False, error_model="numpy", inline="always"
    )(function)
    return cast(_F, compiled)


@inline_kernel
def at(index: int) -> np.uint64:
    """``index`` as an unsigned array index.

    numba wraps negative signed indices around (``a[-1]``), which costs a compare and an add
    on every access; kernel indices are never negative, and with an unsigned one numba skips
    the wraparound. The per-access path indexes its arrays through this.
    """
    return np.uint64(index)
