"""Sweeps: a grid of values over dotted spec paths, expanded to one spec per point."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any


class SweepPathError(ValueError):
    """A sweep path that does not lead to a settable place in the spec."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def grid_size(sweep: Mapping[str, Sequence[Any]]) -> int:
    return math.prod(len(values) for values in sweep.values())


def grid_points(sweep: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the last axis varying fastest."""
    paths = list(sweep)
    return [dict(zip(paths, values, strict=True)) for values in itertools.product(*sweep.values())]


def apply_point(base: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with each path of ``point`` set; missing objects are created."""
    spec = copy.deepcopy(dict(base))
    for path, value in point.items():
        _set_path(spec, path, value)
    return spec


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    node: dict[str, Any] | list[Any] = document
    *parents, last = path.split(".")
    for depth, key in enumerate(parents):
        if isinstance(node, list):
            child = node[_list_index(node, key, path)]
        else:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
        if not isinstance(child, dict | list):
            where = ".".join(parents[: depth + 1])
            raise SweepPathError(path, f"{where} is not an object or a list")
        node = child
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    else:
        node[last] = value


def _list_index(node: list[Any], key: str, path: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise SweepPathError(path, f"{key!r} is not an index of a list of {len(node)}")
    return int(key)
