"""Queries on share links."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.shares.models import Share, ShareRun


def get(session: Session, share_id: int) -> Share | None:
    return session.get(Share, share_id)


def by_token_hash(session: Session, token_hash: str) -> Share | None:
    return session.scalars(select(Share).where(Share.token_hash == token_hash)).first()


def add(session: Session, share: Share) -> None:
    session.add(share)
    session.flush()


# --- added by the dashboard (backend/pages): the experiment page lists links to revoke ---


def active_for_runs(session: Session, run_ids: Sequence[int]) -> list[Share]:
    """Unrevoked share links that show any of ``run_ids``, newest first."""
    if not run_ids:
        return []
    holding = select(ShareRun.share_id).where(ShareRun.run_id.in_(run_ids))
    return list(
        session.scalars(
            select(Share)
            .where(Share.id.in_(holding), Share.revoked_at.is_(None))
            .order_by(Share.created_at.desc(), Share.id.desc())
        )
    )
