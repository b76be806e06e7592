"""Share links: unguessable capability tokens (256 random bits), stored hashed, revocable,
optionally expiring, that show only the runs they froze."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from backend.auth.service import hash_secret
from backend.db import utc_now
from backend.problems import FieldError, ProblemError, invalid, not_found
from backend.runs import exports
from backend.runs import repository as run_repository
from backend.runs import service as run_service
from backend.runs.schemas import ResultRead
from backend.settings import Settings
from backend.shares import repository
from backend.shares.models import Share, ShareRun
from backend.shares.schemas import ShareCreate, SharedView


def create_share(session: Session, *, settings: Settings, data: ShareCreate) -> tuple[Share, str]:
    """Store the link (its token's hash only); return it and the token."""
    if len(data.run_ids) > settings.max_share_runs:
        raise invalid(
            "run_ids", f"{len(data.run_ids)} runs; a link holds at most {settings.max_share_runs}"
        )
    found = run_repository.existing_ids(session, data.run_ids)
    missing = [
        FieldError(field=f"run_ids[{index}]", message=f"run {run_id} does not exist")
        for index, run_id in enumerate(data.run_ids)
        if run_id not in found
    ]
    if missing:
        raise ProblemError(
            422, "; ".join(error.message for error in missing), slug="validation", errors=missing
        )
    token = secrets.token_urlsafe(32)
    expires_at = utc_now() + timedelta(seconds=data.expires_in_s) if data.expires_in_s else None
    share = Share(
        token_hash=hash_secret(token),
        view=data.view,
        expires_at=expires_at,
        runs=[
            ShareRun(position=position, run_id=run_id)
            for position, run_id in enumerate(dict.fromkeys(data.run_ids))
        ],
    )
    repository.add(session, share)
    return share, token


def revoke_share(session: Session, *, share_id: int) -> Share:
    share = repository.get(session, share_id)
    if share is None:
        raise not_found("share link", share_id)
    if share.revoked_at is None:
        share.revoked_at = utc_now()
        session.flush()
    return share


def _open(session: Session, token: str) -> Share:
    share = repository.by_token_hash(session, hash_secret(token))
    if share is None:
        raise ProblemError(404, "no share link has this token", slug="not-found")
    if share.revoked_at is not None:
        raise ProblemError(410, "this share link was revoked", slug="gone")
    if share.expires_at is not None and share.expires_at <= utc_now():
        raise ProblemError(410, "this share link has expired", slug="gone")
    return share


def read_shared(session: Session, *, token: str) -> SharedView:
    share = _open(session, token)
    summaries = run_repository.summaries(session, share.run_ids)
    runs = [run_repository.get(session, run_id) for run_id in share.run_ids]
    return SharedView(
        view=share.view,
        created_at=share.created_at,
        expires_at=share.expires_at,
        runs=[run_service.to_read(run, summaries.get(run.id)) for run in runs if run],
    )


def read_shared_result(session: Session, *, token: str, run_id: int) -> ResultRead:
    share = _open(session, token)
    if run_id not in share.run_ids:
        # The same answer as for a run that does not exist: the link shows only its own.
        raise not_found("run", run_id)
    return exports.read_result(session, run_id=run_id)
