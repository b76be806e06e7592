"""Queries on experiments: fetch, lock, and the filtered, keyset-paginated list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, literal, or_, select, tuple_
from sqlalchemy.orm import Session, defer

from backend.experiments.models import Experiment, ExperimentTag


def get(session: Session, experiment_id: int) -> Experiment | None:
    # populate_existing: state changed by UPDATE statements in this session must show.
    return session.get(Experiment, experiment_id, populate_existing=True)


def add(session: Session, experiment: Experiment) -> None:
    session.add(experiment)
    session.flush()


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
    "-created_at": (Experiment.created_at, True),
    "created_at": (Experiment.created_at, False),
    "name": (Experiment.name, False),
    "-name": (Experiment.name, True),
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page(
    session: Session,
    *,
    where: ListFilter,
    sort: str,
    after: tuple[Any, int] | None,
    limit: int,
) -> list[Experiment]:
    """One page of experiments in ``sort`` order, starting after the (key, id) ``after``."""
    column, descending = SORTS[sort]
    # A list shows no specs: leave the JSON documents unread.
    query = select(Experiment).options(defer(Experiment.spec), defer(Experiment.sweep))
    if where.statuses:
        query = query.where(Experiment.status.in_(where.statuses))
    if where.kind:
        query = query.where(Experiment.kind == where.kind)
    if where.tag:
        query = query.where(
            exists().where(
                ExperimentTag.experiment_id == Experiment.id, ExperimentTag.tag == where.tag
            )
        )
    if where.text:
        pattern = f"%{_escape_like(where.text)}%"
        query = query.where(
            or_(
                Experiment.name.ilike(pattern, escape="\\"),
                Experiment.description.ilike(pattern, escape="\\"),
            )
        )
    if after is not None:
        key = tuple_(column, Experiment.id)
        # Bound values carry the columns' types, so a datetime binds in stored form on SQLite.
        bound = tuple_(literal(after[0], column.type), literal(after[1], Experiment.id.type))
        query = query.where(key < bound if descending else key > bound)
    if descending:
        query = query.order_by(column.desc(), Experiment.id.desc())
    else:
        query = query.order_by(column.asc(), Experiment.id.asc())
    return list(session.scalars(query.limit(limit)))
