"""A run's result for reading and download: JSON, and CSV of the per-epoch series."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from backend.problems import conflict
from backend.runs import repository
from backend.runs.result_blob import assemble_result
from backend.runs.schemas import ResultRead, RunRead
from backend.runs.service import get_run

# The OpenAPI description of a CSV download's success response.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
}


# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a text cell that a spreadsheet would run as a formula quoted by a leading
    ``'``; numbers (negative ones too) stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write_rows(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_download(text: str, filename: str) -> Response:
    """``text`` as a CSV file the browser saves as ``filename``."""
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def read_result(session: Session, *, run_id: int) -> ResultRead:
    run = get_run(session, run_id=run_id)
    stored = repository.result(session, run.id)
    if stored is None:
        raise conflict(f"run {run_id} has no result: it is {run.status}")
    result = assemble_result(stored.meta, stored.summary, stored.arrays)
    return ResultRead(run_id=run.id, **dict(result))


def series_csv(result: ResultRead) -> str:
    """One row per epoch, one column per series, in the engine's column order."""
    columns = list(result.series)
    rows = zip(*(result.series[name] for name in columns), strict=True)
    return _write_rows([columns, *rows])


def runs_csv(runs: Sequence[RunRead]) -> str:
    """One row per run: its id, state, sweep values and summary metrics."""
    params = sorted({path for run in runs for path in run.params})
    metrics = sorted({name for run in runs for name in (run.summary or {})})
    rows: list[list[Any]] = [["run_id", "point_index", "status", *params, *metrics]]
    for run in runs:
        row: list[Any] = [run.id, run.point_index, run.status]
        row += [run.params.get(path, "") for path in params]
        row += [(run.summary or {}).get(name, "") for name in metrics]
        rows.append(row)
    return _write_rows(rows)
