"""The input every figure builder takes: a run's result with a label and its sweep point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pagelab import Result

_NO_SERIES: Mapping[str, list[Any]] = {}


@dataclass(frozen=True)
class RunView:
    """One run as the figures see it.

    ``label`` names the run in legends and on category axes (short: ``64K · always``);
    ``point`` maps each swept spec path to this run's value (``{"policy.thp": "always"}``);
    ``number`` is the short name crowded charts use (``#12``). ``result`` may be None when
    only the summary was loaded (views across many runs need no per-epoch data): then
    ``summary`` holds it.
    """

    label: str
    result: Result | None
    point: Mapping[str, Any] = field(default_factory=dict)
    summary: Mapping[str, float] | None = None
    number: str = ""
    run_id: int | None = None

    @property
    def metrics(self) -> Mapping[str, float]:
        if self.summary is not None:
            return self.summary
        return self.result.summary if self.result is not None else {}

    @property
    def series(self) -> Mapping[str, list[Any]]:
        return self.result.series if self.result is not None else _NO_SERIES

    @property
    def short_name(self) -> str:
        return self.number or self.label

    def summary_value(self, metric: str) -> float | None:
        value = self.metrics.get(metric)
        return None if value is None else float(value)
