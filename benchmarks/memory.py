"""Speed of the physical-memory kernels: run as a script, it prints (not a timed test).

.venv/bin/python benchmarks/memory.py

Times are CPU time of this process (``time.process_time``): on a shared machine, wall time
also counts the time other processes held the core. The loops are ordinary (reference
counting) kernels, as the fault path that calls ``alloc`` is.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from pagelab._kernels.config import kernel
from pagelab.memory import PhysicalMemory, alloc, free
from pagelab.memory.ageing import age
from pagelab.memory.layout import CLASS_MOVABLE

GIB = 1 << 30


@kernel
def _alloc_many(frames, blocks, index, nodes, out: npt.NDArray[np.int64], order: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        out[i] = alloc(frames, blocks, index, nodes, 0, order, CLASS_MOVABLE)


@kernel
def _free_many(frames, blocks, index, nodes, pfns: npt.NDArray[np.int64], order: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(pfns.shape[0]):
        free(frames, blocks, index, nodes, 0, pfns[i], order, CLASS_MOVABLE)


def _per_op_ns(seconds: float, count: int) -> float:
    return seconds * 1e9 / count


def main() -> None:
    count = 4_000_000
    memory = PhysicalMemory([64 * GIB])
    out = np.zeros(count, dtype=np.int64)
    _alloc_many(*memory.arrays, out[:10], 0)  # compile
    _free_many(*memory.arrays, out[:10], 0)
    t = time.process_time()
    _alloc_many(*memory.arrays, out, 0)
    alloc_s = time.process_time() - t
    shuffled = np.random.default_rng(1).permutation(out)
    t = time.process_time()
    _free_many(*memory.arrays, shuffled, 0)
    free_s = time.process_time() - t
    t = time.process_time()
    _alloc_many(*memory.arrays, out, 0)
    realloc_s = time.process_time() - t
    print(f"order-0 alloc, fresh 64 GiB node: {_per_op_ns(alloc_s, count):.0f} ns")
    print(f"order-0 free, random order (merging): {_per_op_ns(free_s, count):.0f} ns")
    print(f"order-0 alloc after the frees: {_per_op_ns(realloc_s, count):.0f} ns")

    aged = PhysicalMemory([64 * GIB])
    age(aged, 0, "aged", seed=1)
    t = time.process_time()
    _alloc_many(*aged.arrays, out[: count // 4], 0)
    s = time.process_time() - t
    print(f"order-0 alloc on an aged 64 GiB node: {_per_op_ns(s, count // 4):.0f} ns")
    t = time.process_time()
    _free_many(*aged.arrays, out[: count // 4][::-1].copy(), 0)
    s = time.process_time() - t
    print(f"order-0 free on it: {_per_op_ns(s, count // 4):.0f} ns")

    for profile in ("fresh", "aged", "heavily_aged"):
        big = PhysicalMemory([256 * GIB])
        t = time.process_time()
        age(big, 0, profile, seed=1)
        print(f"ageing 256 GiB ({profile}): {time.process_time() - t:.1f} s")
    tib = PhysicalMemory([1 << 40])
    print(f"arrays for a 1 TiB node: {tib.nbytes / (1 << 20):.1f} MiB")


if __name__ == "__main__":
    main()
