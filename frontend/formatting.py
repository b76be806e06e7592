"""How numbers, sizes, times and durations read in tables (Jinja filters).

Tables show a rounded, unit-scaled value; templates put the exact stored value in a
``title`` so it is one hover away, as on the plots.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from frontend.figures.metrics import unit_for, unit_kind

# A reStructuredText inline literal, as the engine's docstrings and field descriptions
# write them: ``objects``.
_LITERAL = re.compile(r"``(.+?)``")


def number(value: float | int | None) -> str:
    """``1234567`` → ``1,234,567``; floats keep four significant decimals."""
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def metric_value(value: float | int | None, name: str) -> str:
    """A summary metric in the unit its name carries: ``bloat_bytes`` → ``12.5 MiB``."""
    if value is None:
        return "–"
    kind = unit_kind(name)
    if kind in {"bytes", "time"}:
        unit = unit_for(name, [value])
        return f"{value / unit.divisor:,.4g} {unit.name}" if value else f"0 {unit.name}"
    if kind == "ratio":
        return f"{value:.4f}"
    return number(value)


def timestamp(value: datetime | None) -> str:
    """UTC, to the second, sortable: ``2026-05-01 12:03:09 UTC``."""
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(start: datetime | None, end: datetime | None) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``4.2 s``; ``–`` until both ends are known."""
    if start is None or end is None:
        return "–"
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, whole_seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {whole_seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent(done: int | None, total: int | None) -> int:
    """Whole percent of ``done`` out of ``total``; 0 when the total is unknown."""
    if not total or done is None:
        return 0
    return max(0, min(100, int(100 * done / total)))


def param(value: Any) -> str:
    """A sweep value as users typed it: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


def help_text(text: str) -> Markup:
    """Help text from a docstring or field description, escaped, with ``literals`` as code."""
    return Markup(_LITERAL.sub(r"<code>\1</code>", str(escape(text))))
