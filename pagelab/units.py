"""Sizes as kernel developers write them: ``4K``, ``64K``, ``2M``, ``1G`` (powers of two)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

PageSize = Literal["4K", "16K", "32K", "64K", "2M", "32M", "512M", "1G"]
"""A translation size: base pages, contiguous blocks and huge-page leaves."""

PAGE_SIZES: tuple[PageSize, ...] = ("4K", "16K", "32K", "64K", "2M", "32M", "512M", "1G")
"""Every translation size, smallest first; the index is the size's id in compiled kernels."""

_SUFFIX_SHIFT = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)

MAX_ADDRESS_BYTES = 1 << 48
"""The simulated virtual address space: 48 bits, four levels of 4 KiB page tables."""


def size_bytes(text: str | int) -> int:
    """Parse ``"64K"``, ``"2M"``, ``"1GiB"`` or a plain integer into bytes (binary units)."""
    if isinstance(text, bool):
        raise ValueError("a size must be a number of bytes or a string like '64K'")
    if isinstance(text, int):
        return text
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; write bytes or a number with K, M, G or T")
    return int(match.group(1)) << _SUFFIX_SHIFT[match.group(2).upper()]


def page_size_bytes(size: PageSize) -> int:
    return size_bytes(size)


def page_size_shift(size: PageSize) -> int:
    return page_size_bytes(size).bit_length() - 1


def format_bytes(value: int) -> str:
    """Shortest exact binary form: 65536 → ``64K``; 3 × 4096 → ``12K``; 100 → ``100``."""
    for suffix in ("T", "G", "M", "K"):
        shift = _SUFFIX_SHIFT[suffix]
        if value >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift}{suffix}"
    return str(value)


def _parse_bytes(value: object) -> object:
    if isinstance(value, str):
        return size_bytes(value)
    return value


Bytes = Annotated[int, BeforeValidator(_parse_bytes), Field(ge=0, le=MAX_ADDRESS_BYTES)]
"""A byte count given as an integer or as ``"64K"``-style text."""
