"""Queries on experiments: fetch, lock, and the filtered, keyset-paginated list."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from backend.db import Base
from backend.experiments.models import Experiment
from backend.runs.models import Run, RunResult


def get(session: Session, experiment_id: int) -> Experiment | None:
    # populate_existing: state changed by UPDATE statements in this session must show.
    return session.get(Experiment, experiment_id, populate_existing=True)


def with_runs(session: Session, experiment_id: int) -> Experiment | None:
    """The experiment with its tags, its runs and their summaries loaded (the result arrays
    are not read): everything its read model shows, in four queries."""
    return session.scalars(
        select(Experiment)
        .where(Experiment.id == experiment_id)
        .options(
            selectinload(Experiment.runs)
            .selectinload(Run.result)
            .load_only(RunResult.run_id, RunResult.summary)
        )
        .execution_options(populate_existing=True)
    ).first()


# Writes and the list use the tables, not the mapped classes: the session's unit of work, an
# ORM bulk insert, or a statement of mapped attributes (the ORM's statement handling and
# result loading) costs more CPU than the rest of a submission or of a list page.
_TABLES = Base.metadata.tables
_EXPERIMENT = _TABLES["experiment"]
_TAG = _TABLES["experiment_tag"]
_RUN = _TABLES[Run.__tablename__]
# Core statements, built once.
_INSERT_EXPERIMENT = insert(_EXPERIMENT).returning(_EXPERIMENT.c.id)
_INSERT_TAG = insert(_TAG)
_INSERT_RUNS = insert(_RUN).returning(_RUN.c.id, sort_by_parameter_order=True)


def add(session: Session, experiment: Experiment) -> None:
    """Write a new experiment with its tags and runs, one INSERT per table, and set the ids.

    The objects stay out of the session: its unit of work would cost more CPU than the rest
    of a submission (``make bench-api``). Every run has every column set (None for NULL), so
    the runs are written in one statement.
    """
    experiment.id = session.execute(
        _INSERT_EXPERIMENT, _column_values(experiment, _EXPERIMENT)
    ).scalar_one()
    if experiment.tag_rows:
        session.execute(
            _INSERT_TAG,
            [{"experiment_id": experiment.id, "tag": row.tag} for row in experiment.tag_rows],
        )
    for run in experiment.runs:
        run.experiment_id = experiment.id
    run_ids = session.scalars(
        _INSERT_RUNS, [_column_values(run, _RUN) for run in experiment.runs]
    ).all()
    for run, run_id in zip(experiment.runs, run_ids, strict=True):
        run.id = run_id


def _column_values(row: Base, table: Table) -> dict[str, Any]:
    """A new object's columns but its id, as an INSERT of ``table`` takes them."""
    return {column.key: getattr(row, column.key) for column in table.columns if column.key != "id"}


def delete(session: Session, experiment: Experiment) -> None:
    session.delete(experiment)
    session.flush()


def lock(session: Session, experiment_id: int) -> None:
    """Hold the experiment's row until commit (PostgreSQL; SQLite serialises writers anyway).

    Every change to the status of an experiment's runs takes this lock first, so the
    aggregate status written afterwards counts every run's latest state.
    """
    session.execute(select(Experiment.id).where(Experiment.id == experiment_id).with_for_update())


def set_status(session: Session, experiment: Experiment, status: str, now: datetime) -> None:
    if experiment.status != status:
        experiment.status = status
        experiment.updated_at = now
        session.flush()


@dataclass(frozen=True)
class ListFilter:
    statuses: Sequence[str] = ()
    tag: str | None = None
    text: str | None = None
    kind: str | None = None


# sort name → (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "-created_at": (_EXPERIMENT.c.created_at, True),
    "created_at": (_EXPERIMENT.c.created_at, False),
    "name": (_EXPERIMENT.c.name, False),
    "-name": (_EXPERIMENT.c.name, True),
}


class JsonArrayAgg(GenericFunction[list[Any]]):
    """The values as a JSON array: ``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite."""

    type = JSON()
    name = "json_agg"
    inherit_cache = True


class JsonObjectAgg(GenericFunction[dict[str, Any]]):
    """(key, value) pairs as a JSON object: ``json_object_agg`` on PostgreSQL,
    ``json_group_object`` on SQLite."""

    type = JSON()
    name = "json_object_agg"
    inherit_cache = True


@compiles(JsonArrayAgg, "sqlite")
def _json_array_agg_sqlite(element: JsonArrayAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array{compiler.process(element.clause_expr, **kw)}"


@compiles(JsonObjectAgg, "sqlite")
def _json_object_agg_sqlite(element: JsonObjectAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_object{compiler.process(element.clause_expr, **kw)}"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page(
    session: Session,
    *,
    where: ListFilter,
    sort: str,
    after: tuple[Any, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of experiments in ``sort`` order, starting after the (key, id) ``after``,
    each as the fields of an ``ExperimentSummary``, from one query.

    Plain dicts, not ORM objects: loading fifty mapped objects with their tags and runs costs
    more CPU than the rest of a list request (``make bench-api``).
    """
    statement = _page_statement(
        sort,
        statuses=bool(where.statuses),
        kind=bool(where.kind),
        tag=bool(where.tag),
        text=bool(where.text),
        after=after is not None,
    )
    parameters: dict[str, Any] = {"limit": limit}
    if where.statuses:
        parameters["statuses"] = list(where.statuses)
    if where.kind:
        parameters["kind"] = where.kind
    if where.tag:
        parameters["tag"] = where.tag
    if where.text:
        parameters["pattern"] = f"%{_escape_like(where.text)}%"
    if after is not None:
        parameters["after_key"], parameters["after_id"] = after
    # all(): one fetch for the page, where iterating fetches row by row.
    return [
        {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "tags": sorted(row.tags or ()),
            "kind": row.kind,
            "status": row.status,
            "run_counts": row.run_counts or {},
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
        for row in session.execute(statement, parameters).all()
    ]


@functools.cache
def _page_statement(
    sort: str, *, statuses: bool, kind: bool, tag: bool, text: bool, after: bool
) -> Select[Any]:
    """The list query for one combination of filters, with every value a bound parameter.

    Built once per combination: building a statement costs more CPU than running it.
    """
    column, descending = SORTS[sort]
    experiment = _EXPERIMENT.c
    # A list shows no specs: leave the JSON documents unread.
    query = select(
        experiment.id,
        experiment.name,
        experiment.description,
        experiment.kind,
        experiment.status,
        experiment.created_at,
        experiment.updated_at,
    )
    if statuses:
        query = query.where(experiment.status.in_(bindparam("statuses", expanding=True)))
    if kind:
        query = query.where(experiment.kind == bindparam("kind"))
    if tag:
        query = query.where(
            exists().where(
                _TAG.c.experiment_id == experiment.id,
                _TAG.c.tag == bindparam("tag"),
            )
        )
    if text:
        pattern = bindparam("pattern", type_=String())
        query = query.where(
            or_(
                experiment.name.ilike(pattern, escape="\\"),
                experiment.description.ilike(pattern, escape="\\"),
            )
        )
    if after:
        key = tuple_(column, experiment.id)
        # Bound values carry the columns' types, so a datetime binds in stored form on SQLite.
        bound = tuple_(
            bindparam("after_key", type_=column.type),
            bindparam("after_id", type_=experiment.id.type),
        )
        query = query.where(key < bound if descending else key > bound)
    chosen = (
        query.order_by(*_order(column, experiment.id, descending))
        .limit(bindparam("limit", type_=Integer()))
        .subquery()
    )

    # Correlated subqueries, each an index lookup per row of the page, whatever the planner
    # knows of the tables' sizes; each gives a JSON value the driver reads as a list or dict.
    tags = (
        select(JsonArrayAgg(_TAG.c.tag))
        .where(_TAG.c.experiment_id == chosen.c.id)
        .scalar_subquery()
    )
    per_status = (
        select(_RUN.c.status, func.count().label("runs"))
        .where(_RUN.c.experiment_id == chosen.c.id)
        .group_by(_RUN.c.status)
        .correlate(chosen)
        .subquery()
    )
    run_counts = select(JsonObjectAgg(per_status.c.status, per_status.c.runs)).scalar_subquery()
    return select(chosen, tags.label("tags"), run_counts.label("run_counts")).order_by(
        *_order(chosen.c[column.key], chosen.c.id, descending)
    )


def _order(column: Any, id_column: Any, descending: bool) -> tuple[Any, Any]:
    if descending:
        return column.desc(), id_column.desc()
    return column.asc(), id_column.asc()
