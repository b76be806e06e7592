"""The compare page's tables: summary metrics side by side, and where the specs differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontend.figures import RunView, headline_metrics
from frontend.figures.metrics import lower_is_better


@dataclass(frozen=True)
class Cell:
    """One run's value of a metric; ``change`` is relative to the reference run's value."""

    value: float | None
    change: float | None
    verdict: str  # "", "better", "worse" or "differs"


@dataclass(frozen=True)
class SummaryRow:
    metric: str
    cells: tuple[Cell, ...]


def _cell(metric: str, value: float | None, reference: float | None) -> Cell:
    if value is None or reference is None or value == reference:
        return Cell(value, None, "")
    change = (value - reference) / abs(reference) if reference else None
    lower_better = lower_is_better(metric)
    if lower_better is None:
        return Cell(value, change, "differs")
    better = value < reference if lower_better else value > reference
    return Cell(value, change, "better" if better else "worse")


def summary_rows(runs: Sequence[RunView]) -> list[SummaryRow]:
    """Every summary metric any run has, headline ones first; the first run is the reference."""
    if not runs:
        return []
    headline = headline_metrics(runs)
    others = sorted({name for run in runs for name in run.metrics} - set(headline))
    rows = []
    for metric in [*headline, *others]:
        reference = runs[0].summary_value(metric)
        cells = tuple(_cell(metric, run.summary_value(metric), reference) for run in runs)
        rows.append(SummaryRow(metric, cells))
    return rows


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"policy": {"thp": "always"}}`` → ``{"policy.thp": "always"}`` (lists stay whole)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def spec_differences(specs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, list[Any]]]:
    """(path, value per run) for each spec path whose value is not the same in every run."""
    flat = [flatten(spec) for _, spec in specs]
    paths = sorted({path for spec in flat for path in spec})
    missing = object()
    rows = []
    for path in paths:
        values = [spec.get(path, missing) for spec in flat]
        if any(value != values[0] for value in values):
            rows.append((path, [None if value is missing else value for value in values]))
    return rows
