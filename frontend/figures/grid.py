"""A sweep as a grid: its axes (the swept spec paths whose values vary), each axis's values
in the order the user gave them, and where each run sits.

Values may be lists (``["2M", "1G"]``), so values are matched by their JSON text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from frontend.figures.runs import RunView


def value_key(value: Any) -> str:
    """A value as text that equal values share: JSON, with a fast path for the usual ones."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(value, sort_keys=True)


def value_text(value: Any) -> str:
    """A sweep value as users typed it: strings bare, lists joined by ``+``, others as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "+".join(map(value_text, value))
    return json.dumps(value)


def plot_text(text: str) -> str:
    """User text for Plotly, which reads a few HTML tags in labels: escaped, so shown as is."""
    return html.escape(text, quote=False)


def short_path(path: str) -> str:
    """``policy.base_page`` → ``base_page``: the last part is what users recognise."""
    return path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Axis:
    """One swept spec path and its values, in order."""

    path: str
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return short_path(self.path)

    @property
    def numeric(self) -> bool:
        return all(
            isinstance(value, int | float) and not isinstance(value, bool) for value in self.values
        )

    @property
    def texts(self) -> list[str]:
        return [value_text(value) for value in self.values]

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {value_key(value): index for index, value in enumerate(self.values)}

    def index_of(self, run: RunView) -> int | None:
        """Where ``run`` sits on this axis; None if its value is not one of the axis's."""
        return self._positions.get(value_key(run.point.get(self.path)))

    def describe(self, index: int) -> str:
        return f"{self.name}={self.texts[index]}"


def sweep_axes(
    runs: Sequence[RunView], declared: Mapping[str, Sequence[Any]] | None = None
) -> list[Axis]:
    """The axes along which these runs differ, in path order.

    ``declared`` (an experiment's sweep) gives each axis's values in the user's order; without
    it (runs from anywhere, on the compare page) the axes are the point paths whose values
    differ, numbers sorted and other values in the order runs bring them.
    """
    if declared:
        candidates = {path: list(values) for path, values in declared.items()}
    else:
        candidates = {}
        for run in runs:
            for path, value in run.point.items():
                known = candidates.setdefault(path, [])
                if value_key(value) not in map(value_key, known):
                    known.append(value)
    axes = []
    for path in sorted(candidates):
        seen = {value_key(run.point.get(path)) for run in runs}
        values = [value for value in candidates[path] if value_key(value) in seen]
        if len(values) < 2:
            continue
        axis = Axis(path, tuple(values))
        if not declared and axis.numeric:
            axis = Axis(path, tuple(sorted(values)))
        axes.append(axis)
    return axes


def point_description(run: RunView, axes: Sequence[Axis]) -> str:
    """``#12 · alpha=0.6 · base_page=64K``: the run's number and where it sits, for hover."""
    parts = [run.short_name] if run.number else []
    parts += [f"{axis.name}={value_text(run.point.get(axis.path))}" for axis in axes]
    return plot_text(" · ".join(parts))


def cell_runs(runs: Sequence[RunView], axes: Sequence[Axis]) -> dict[tuple[int, ...], RunView]:
    """Each run by its index on every axis; the first run wins where two share a point."""
    cells: dict[tuple[int, ...], RunView] = {}
    for run in runs:
        indices = tuple(axis.index_of(run) for axis in axes)
        if None not in indices:
            cells.setdefault(indices, run)  # type: ignore[arg-type]
    return cells
