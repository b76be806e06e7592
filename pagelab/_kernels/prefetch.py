"""A software prefetch for kernels: ``prefetch(array, index)`` asks the CPU to bring the
cache line of ``array[index]`` in, without waiting for it and without faulting.

The per-access loop over a large footprint misses the cache in its own tables (region hash,
region rows, PTE tables) on almost every access; prefetching an access some way ahead
overlaps those misses instead of taking them one after another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from pagelab._kernels.config import COMPILED

_READ = 0
_KEEP_IN_ALL_LEVELS = 3  # llvm.prefetch locality: the highest
_DATA_CACHE = 1


@intrinsic
def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1]], wraparound=False
        )
        # One declaration serves every array type: the intrinsic takes a byte pointer.
        pointer = builder.bitcast(pointer, cgutils.voidptr_t)
        i32 = ir.IntType(32)
        function_type = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, i32, i32, i32])
        function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
        builder.call(function, [pointer, i32(_READ), i32(_KEEP_IN_ALL_LEVELS), i32(_DATA_CACHE)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


def _no_prefetch(array: Any, index: Any) -> None:
    """Plain Python (NUMBA_DISABLE_JIT=1) has no prefetch, and a hint changes no result."""


prefetch = cast(Callable[[Any, Any], None], _prefetch) if COMPILED else _no_prefetch
"""``prefetch(array, index)``."""
