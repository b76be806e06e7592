"""Queries on traces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import db
from backend.traces.models import Trace


def get(session: Session, trace_id: int) -> Trace | None:
    return session.get(Trace, trace_id)


def by_file_name(session: Session, file_name: str) -> Trace | None:
    return session.scalars(select(Trace).where(Trace.file_name == file_name)).first()


def by_sha256(session: Session, sha256: str) -> Trace | None:
    return session.scalars(select(Trace).where(Trace.sha256 == sha256)).first()


def newest_first(session: Session, *, limit: int, offset: int) -> list[Trace]:
    return db.newest_first(session, Trace, limit=limit, offset=offset)


def add(session: Session, trace: Trace) -> None:
    session.add(trace)
    session.flush()


def delete(session: Session, trace: Trace) -> None:
    session.delete(trace)
    session.flush()
