"""Share links show only the runs they froze, and stop working when revoked or expired."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.service import hash_secret
from backend.db import utc_now
from backend.shares.models import Share

from .helpers import assert_problem, tiny_spec


def _run_ids(api: TestClient, count: int) -> list[int]:
    body = {"name": "shared", "spec": tiny_spec(),
            "sweep": {"controls.seed": list(range(1, count + 1))}}  # fmt: skip
    return [run["id"] for run in api.post("/api/v1/experiments", json=body).json()["runs"]]


def test_a_share_link_shows_only_what_it_froze_until_revoked(api: TestClient, db: Session) -> None:
    shared, private = _run_ids(api, 3)[:2], None
    private = _run_ids(api, 1)[0]
    created = api.post("/api/v1/shares", json={"run_ids": shared, "view": "compare"})
    assert created.status_code == 201, created.text
    link = created.json()
    token = link["token"]
    assert len(token) >= 43  # 32 random bytes, base64url
    assert link["url"].endswith(f"/api/v1/shared/{token}")
    # Only the hash is stored.
    stored = db.scalars(select(Share)).one()
    assert stored.token_hash == hash_secret(token) and token not in stored.token_hash

    view = api.get(f"/api/v1/shared/{token}").json()
    assert view["view"] == "compare"
    assert [run["id"] for run in view["runs"]] == shared
    assert_problem(api.get(f"/api/v1/shared/{token}/runs/{private}/result"), 404)
    assert_problem(api.get(f"/api/v1/shared/{token}/runs/{shared[0]}/result"), 409)  # not run yet
    assert_problem(api.get(f"/api/v1/shared/{token[:-2]}xx"), 404)

    revoked = api.delete(f"/api/v1/shares/{link['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(api.get(f"/api/v1/shared/{token}"), 410)


def test_an_expired_link_is_gone_and_a_link_to_unknown_runs_is_refused(
    api: TestClient, db: Session
) -> None:
    (run_id,) = _run_ids(api, 1)
    link = api.post("/api/v1/shares", json={"run_ids": [run_id], "expires_in_s": 3600}).json()
    assert api.get(f"/api/v1/shared/{link['token']}").status_code == 200
    db.execute(update(Share).values(expires_at=utc_now() - timedelta(seconds=1)))
    db.commit()
    assert_problem(api.get(f"/api/v1/shared/{link['token']}"), 410)

    refused = api.post("/api/v1/shares", json={"run_ids": [run_id, 999_999]})
    assert_problem(refused, 422, "run_ids[1]")
    assert_problem(api.post("/api/v1/shares", json={"run_ids": [run_id], "expires_in_s": 5}),
                   422, "expires_in_s")  # fmt: skip
    assert_problem(api.post("/api/v1/shares", json={"run_ids": [run_id], "view": "<b>"}),
                   422, "view")  # fmt: skip
