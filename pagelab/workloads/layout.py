"""Where generated regions go in a process's address space, as mmap would place them."""

from __future__ import annotations

from collections.abc import Sequence

MMAP_TOP_ADDRESS = 0x7F00_0000_0000
"""Top of the mmap area: x86-64 Linux starts it just below the stack near 0x7fff_ffff_f000,
less ASLR's random offset; this is a plausible fixed draw (1 TiB-aligned, so only the
alignment chosen below decides which page sizes fit)."""


def top_entry_bytes(granule_bytes: int) -> int:
    """What one top-level page-table entry maps in a 48-bit address space with this granule
    (as ``pagelab.paging.Geometry``, which this package cannot import): 512 GiB with 4 KiB
    pages, 4 TiB with 64 KiB. It is mshare's unit (``mshare_align``)."""
    shift = granule_bytes.bit_length() - 1
    index_bits = shift - 3
    levels = -(-(48 - shift) // index_bits)
    return 1 << (shift + (levels - 1) * index_bits)


def place_regions(
    sizes_bytes: Sequence[int], align_bytes: int, top_address: int = MMAP_TOP_ADDRESS
) -> list[int]:
    """Start addresses for regions mapped one after another below ``top_address``, top down
    like mmap.

    Each start is a multiple of ``align_bytes`` but an odd one, so that it is *not* aligned
    to any larger power of two: with the default 2 MiB a region can hold PMD-sized THPs but
    is not 1 GiB-aligned (as mmap gives today), and 4 KiB or 64 KiB alignment makes VMAs
    whose edges cut through 64 KiB pages and huge pages. Only aligned blocks wholly inside a
    VMA can be mapped by a huge page, so this is a parameter users study.
    """
    starts: list[int] = []
    cursor = top_address
    for size in sizes_bytes:
        start = (cursor - size) // align_bytes * align_bytes
        if (start // align_bytes) % 2 == 0:
            start -= align_bytes
        starts.append(start)
        cursor = start
    return starts
