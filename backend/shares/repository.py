"""Queries on share links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from backend.runs.models import RunResult
from backend.shares.models import Share, ShareRun


def visible_to(token_id: int | None) -> ColumnElement[bool]:
    """The links a caller manages: a token's own and those made where no token was needed;
    every link for a caller without a token (where none is needed)."""
    if token_id is None:
        return Share.id.is_not(None)
    return or_(Share.created_by_token_id == token_id, Share.created_by_token_id.is_(None))


def by_public_id(session: Session, public_id: str, *, token_id: int | None) -> Share | None:
    return session.scalars(
        select(Share).where(Share.public_id == public_id, visible_to(token_id))
    ).first()


def by_token_hash(session: Session, token_hash: str) -> Share | None:
    return session.scalars(select(Share).where(Share.token_hash == token_hash)).first()


def newest_first(session: Session, *, token_id: int | None, limit: int, offset: int) -> list[Share]:
    return list(
        session.scalars(
            select(Share)
            .where(visible_to(token_id))
            .order_by(Share.created_at.desc(), Share.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def add(session: Session, share: Share) -> None:
    session.add(share)
    session.flush()


def result_parts(
    session: Session, run_ids: Sequence[int]
) -> dict[int, tuple[dict[str, Any] | None, bytes | None]]:
    """Each run's stored result meta and compressed arrays, to copy into a link."""
    rows = session.execute(
        select(RunResult.run_id, RunResult.meta, RunResult.arrays).where(
            RunResult.run_id.in_(run_ids)
        )
    )
    found = {run_id: (meta, arrays) for run_id, meta, arrays in rows}
    return {run_id: found.get(run_id, (None, None)) for run_id in run_ids}


def result_arrays(session: Session, *, share_id: int, position: int) -> bytes | None:
    return session.scalar(
        select(ShareRun.result_arrays).where(
            ShareRun.share_id == share_id, ShareRun.position == position
        )
    )


# --- added by the dashboard (backend/pages): the experiment page lists links to revoke ---


def active_for_runs(
    session: Session, run_ids: Sequence[int], *, token_id: int | None
) -> list[Share]:
    """Unrevoked share links the caller manages that show any of ``run_ids``, newest first."""
    if not run_ids:
        return []
    holding = select(ShareRun.share_id).where(ShareRun.run_id.in_(run_ids))
    return list(
        session.scalars(
            select(Share)
            .where(Share.id.in_(holding), Share.revoked_at.is_(None), visible_to(token_id))
            .order_by(Share.created_at.desc(), Share.id.desc())
        )
    )
