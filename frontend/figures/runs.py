"""The input every figure builder takes: a run's result with a label and its sweep point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pagelab import Result


@dataclass(frozen=True)
class RunView:
    """One run as the figures see it.

    ``label`` names the run in legends and on category axes (short: ``64K · always``);
    ``point`` maps each swept spec path to this run's value (``{"policy.thp": "always"}``).
    """

    label: str
    result: Result
    point: Mapping[str, Any] = field(default_factory=dict)

    def summary_value(self, metric: str) -> float | None:
        value = self.result.summary.get(metric)
        return None if value is None else float(value)
