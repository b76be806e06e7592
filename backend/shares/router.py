"""Share-link routes: create, list and revoke (the owner's), and read by token (anyone with
the link)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from backend.auth.access import Caller
from backend.deps import AccessDep, SessionDep, SettingsDep, WriteAccessDep
from backend.fields import Id, PageLimit, PageOffset, ShareId, ShareToken
from backend.problems import problem_responses
from backend.runs.schemas import ResultRead
from backend.shares import service
from backend.shares.schemas import ShareCreate, ShareCreated, SharedView, ShareInfo

router = APIRouter(tags=["shares"])


def _token_id(caller: Caller | None) -> int | None:
    return caller.token_id if caller is not None else None


@router.post(
    "/shares",
    response_model=ShareCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 413, 422),
)
def create_share(
    body: ShareCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: WriteAccessDep,
) -> ShareCreated:
    """Create a read-only link to a frozen set of runs; the token is shown only now."""
    share, token = service.create_share(
        session, settings=settings, data=body, token_id=_token_id(caller)
    )
    session.commit()
    return ShareCreated.model_validate(
        {
            **service.to_info(share).model_dump(),
            "token": token,
            # On the configured public address, never on the request's Host header.
            "url": settings.public_url(request.app.url_path_for("read_shared", token=token)),
        }
    )


@router.get("/shares", response_model=list[ShareInfo], responses=problem_responses(422))
def list_shares(
    session: SessionDep,
    caller: AccessDep,
    limit: PageLimit = 100,
    offset: PageOffset = 0,
) -> list[ShareInfo]:
    """The caller's share links (its token's, and those made where no token was needed),
    newest first, revoked and expired ones too (link tokens are not kept)."""
    return service.list_shares(session, token_id=_token_id(caller), limit=limit, offset=offset)


@router.delete(
    "/shares/{share_id}", response_model=ShareInfo, responses=problem_responses(401, 404, 422)
)
def revoke_share(share_id: ShareId, session: SessionDep, caller: WriteAccessDep) -> ShareInfo:
    """Revoke one of the caller's links; it stops working at once."""
    share = service.revoke_share(session, share_id=share_id, token_id=_token_id(caller))
    session.commit()
    return service.to_info(share)


@router.get(
    "/shared/{token}", response_model=SharedView, responses=problem_responses(404, 410, 422)
)
def read_shared(token: ShareToken, session: SessionDep) -> SharedView:
    """What a share link froze: its view and its runs."""
    return service.read_shared(session, token=token)


@router.get(
    "/shared/{token}/runs/{run_id}/result",
    response_model=ResultRead,
    responses=problem_responses(404, 409, 410, 422),
)
def read_shared_result(token: ShareToken, run_id: Id, session: SessionDep) -> ResultRead:
    """The full result of one run the link froze."""
    return service.read_shared_result(session, token=token, run_id=run_id)
