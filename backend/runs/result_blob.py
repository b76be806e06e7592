"""A result's arrays (series, heatmap, physical memory) as one compressed blob, and back."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pagelab


def pack_arrays(result: pagelab.Result) -> bytes:
    arrays = {
        "series": result.series,
        "heatmap": None if result.heatmap is None else result.heatmap.model_dump(mode="json"),
        "physical_memory": None
        if result.physical_memory is None
        else [tier.model_dump(mode="json") for tier in result.physical_memory],
    }
    # Level 6: most of zlib's gain on columns of numbers, at a fraction of level 9's time.
    return zlib.compress(json.dumps(arrays, separators=(",", ":")).encode(), 6)


def unpack_arrays(blob: bytes) -> dict[str, Any]:
    arrays: dict[str, Any] = json.loads(zlib.decompress(blob))
    return arrays


def assemble_result(meta: dict[str, Any], summary: dict[str, Any], blob: bytes) -> pagelab.Result:
    """The engine's Result from its stored parts."""
    arrays = unpack_arrays(blob)
    # Results stored before physical memory was modelled have no such entry.
    return pagelab.Result.model_validate(
        {
            "meta": meta,
            "summary": summary,
            "series": arrays["series"],
            "heatmap": arrays["heatmap"],
            "physical_memory": arrays.get("physical_memory"),
        }
    )
