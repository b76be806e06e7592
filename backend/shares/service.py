"""Share links: unguessable capability tokens (256 random bits), stored hashed, revocable,
optionally expiring, that show only what they froze.

Creating a link copies the runs' public fields, their results and their experiments' names
into the link's own rows; reading a link reads only those rows. So a link shows its runs as
they were when shared, whatever happens to the experiment afterwards, and never the rest
of a sweep, a worker's host name or an error message meant for the operator.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

import pagelab
from backend.auth.service import hash_secret
from backend.db import utc_now
from backend.experiments import repository as experiment_repository
from backend.problems import FieldError, ProblemError, not_found
from backend.runs import repository as run_repository
from backend.runs.result_blob import assemble_result
from backend.runs.schemas import ResultRead, RunRead
from backend.settings import Settings
from backend.shares import repository
from backend.shares.models import Share, ShareRun
from backend.shares.schemas import (
    ShareCreate,
    SharedExperiment,
    SharedRun,
    SharedView,
    ShareInfo,
)

# A link id: 128 random bits, URL-safe (22 characters).
PUBLIC_ID_BYTES = 16


def _refuse(errors: list[FieldError]) -> ProblemError:
    return ProblemError(
        422, "; ".join(error.message for error in errors), slug="validation", errors=errors
    )


def create_share(
    session: Session, *, settings: Settings, data: ShareCreate, token_id: int | None
) -> tuple[Share, str]:
    """Freeze the runs into a new link (its token's hash only), owned by the API token
    ``token_id`` (None: no token was needed); return it and the token.

    Only succeeded runs can be shared: a link shows runs as they were, and a run still
    queued or running would stay so on the link forever.
    """
    run_ids = list(dict.fromkeys(data.run_ids))
    if len(run_ids) > settings.max_share_runs:
        raise _refuse(
            [
                FieldError(
                    field="run_ids",
                    message=f"{len(run_ids)} runs; a link holds at most {settings.max_share_runs}",
                )
            ]
        )
    runs = {run_id: run_repository.get(session, run_id) for run_id in run_ids}
    errors = []
    for index, run_id in enumerate(data.run_ids):
        run = runs.get(run_id)
        if run is None:
            errors.append(
                FieldError(field=f"run_ids[{index}]", message=f"run {run_id} does not exist")
            )
        elif run.status != "succeeded":
            errors.append(
                FieldError(
                    field=f"run_ids[{index}]",
                    message=f"run {run_id} is {run.status}; only succeeded runs can be shared",
                )
            )
    if errors:
        raise _refuse(errors)
    results = repository.result_parts(session, run_ids)
    frozen: list[ShareRun] = []
    experiments: dict[str, dict[str, object]] = {}
    for position, run_id in enumerate(run_ids):
        run = runs[run_id]
        assert run is not None
        read = RunRead.model_validate(run)
        shared = SharedRun.model_validate(
            {**read.model_dump(), "accesses": read.progress.accesses_done}
        )
        meta, arrays = results[run_id]
        frozen.append(
            ShareRun(
                position=position,
                run_id=run_id,
                run=shared.model_dump(mode="json"),
                result_meta=meta,
                result_arrays=arrays,
            )
        )
        key = str(run.experiment_id)
        if key not in experiments:
            experiment = experiment_repository.get(session, run.experiment_id)
            assert experiment is not None  # a run's experiment outlives it
            experiments[key] = SharedExperiment.model_validate(
                experiment, from_attributes=True
            ).model_dump(mode="json")
    token = secrets.token_urlsafe(32)
    expires_at = utc_now() + timedelta(seconds=data.expires_in_s) if data.expires_in_s else None
    share = Share(
        public_id=secrets.token_urlsafe(PUBLIC_ID_BYTES),
        token_hash=hash_secret(token),
        view=data.view,
        created_by_token_id=token_id,
        experiments=experiments,
        expires_at=expires_at,
        runs=frozen,
    )
    repository.add(session, share)
    return share, token


def to_info(share: Share) -> ShareInfo:
    return ShareInfo(
        id=share.public_id,
        view=share.view,
        run_ids=share.run_ids,
        created_at=share.created_at,
        expires_at=share.expires_at,
        revoked_at=share.revoked_at,
    )


def list_shares(
    session: Session, *, token_id: int | None, limit: int, offset: int
) -> list[ShareInfo]:
    """The links the caller manages (``repository.visible_to``), newest first."""
    shares = repository.newest_first(session, token_id=token_id, limit=limit, offset=offset)
    return [to_info(share) for share in shares]


def revoke_share(session: Session, *, share_id: str, token_id: int | None) -> Share:
    """Revoke a link the caller manages; another token's link is not found, as if absent."""
    share = repository.by_public_id(session, share_id, token_id=token_id)
    if share is None:
        raise not_found("share link", share_id)
    if share.revoked_at is None:
        share.revoked_at = utc_now()
        session.flush()
    return share


def open_share(session: Session, token: str) -> Share:
    """The link with this token, if it still works; 404 or 410 otherwise."""
    share = repository.by_token_hash(session, hash_secret(token))
    if share is None:
        raise ProblemError(404, "no share link has this token", slug="not-found")
    if share.revoked_at is not None:
        raise ProblemError(410, "this share link was revoked", slug="gone")
    if share.expires_at is not None and share.expires_at <= utc_now():
        raise ProblemError(410, "this share link has expired", slug="gone")
    return share


def describe(experiments: Sequence[SharedExperiment], runs: Sequence[SharedRun]) -> str:
    """What a link shows, in one sentence, as its page and its API say it."""
    count = f"{len(runs)} run" + ("" if len(runs) == 1 else "s")
    names = ", ".join(f"“{experiment.name}”" for experiment in experiments)
    of = "experiment" if len(experiments) == 1 else "experiments"
    return (
        f"{count} of {of} {names}: the spec, sweep values and results of each, as they were "
        "when the link was made. Later changes to the experiment, and its other runs, are not "
        "shown."
    )


def read_shared(session: Session, *, token: str) -> SharedView:
    return shared_view(open_share(session, token))


def shared_view(share: Share) -> SharedView:
    """What the link froze, as its API shows it."""
    runs = [SharedRun.model_validate(link.run) for link in share.runs]
    experiments = [SharedExperiment.model_validate(item) for item in share.experiments.values()]
    return SharedView(
        view=share.view,
        shows=describe(experiments, runs),
        created_at=share.created_at,
        expires_at=share.expires_at,
        experiments=experiments,
        runs=runs,
    )


def frozen_result(session: Session, share: Share, run_id: int) -> pagelab.Result:
    """The result a link froze for ``run_id``; 404 for a run the link does not hold."""
    link = next((link for link in share.runs if link.run_id == run_id), None)
    if link is None:
        # The same answer as for a run that does not exist: the link shows only its own.
        raise not_found("run", run_id)
    arrays = repository.result_arrays(session, share_id=share.id, position=link.position)
    if link.result_meta is None or arrays is None:
        raise ProblemError(409, f"run {run_id} had no result when it was shared", slug="conflict")
    return assemble_result(link.result_meta, link.run.get("summary") or {}, arrays)


def read_shared_result(session: Session, *, token: str, run_id: int) -> ResultRead:
    result = frozen_result(session, open_share(session, token), run_id)
    return ResultRead(run_id=run_id, **dict(result))
