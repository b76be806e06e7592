"""Share links show only what they froze — those runs, as they were when shared — and stop
working when revoked or expired. Runs are simulated in this process by the worker's own
``execute_run`` on the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.service import create_token, hash_secret
from backend.db import make_engine, make_session_factory, utc_now
from backend.experiments.models import Experiment
from backend.settings import Settings
from backend.shares.models import Share
from worker.execution import execute_run

from .helpers import assert_problem, tiny_spec

HOST = "hidden-worker.internal"
# Distinctive sweep values: a page that showed another point would show its number.
ACCESSES = [200_003, 200_011, 200_017, 200_029]


def _sweep(api: TestClient, settings: Settings, *, name: str, values: list[int]) -> list[int]:
    """A sweep over ``workload.generator.accesses``, every run simulated; its run ids."""
    body = {"name": name, "description": "the secret plan", "tags": ["frozen"],
            "spec": tiny_spec(), "sweep": {"workload.generator.accesses": values}}  # fmt: skip
    created = api.post("/api/v1/experiments", json=body)
    assert created.status_code == 201, created.text
    run_ids = [run["id"] for run in created.json()["runs"]]
    engine = make_engine(settings.database_url)
    for run_id in run_ids:
        outcome = execute_run(make_session_factory(engine), settings, run_id=run_id,
                              worker_hostname=HOST)  # fmt: skip
        assert outcome == "succeeded", outcome
    engine.dispose()
    return run_ids


def _share(api: TestClient, run_ids: list[int], view: str) -> dict[str, Any]:
    created = api.post("/api/v1/shares", json={"run_ids": run_ids, "view": view})
    assert created.status_code == 201, created.text
    link: dict[str, Any] = created.json()
    return link


def test_a_share_of_one_run_of_a_sweep_shows_that_run_as_it_was(
    api: TestClient, settings: Settings, db: Session
) -> None:
    run_ids = _sweep(api, settings, name="tiering plan A", values=ACCESSES)
    shared_id, others = run_ids[1], [run_ids[0], *run_ids[2:]]
    link = _share(api, [shared_id], "experiment")
    token = link["token"]
    assert len(token) >= 43  # 32 random bytes, base64url
    assert link["url"].endswith(f"/api/v1/shared/{token}")
    assert link["run_ids"] == [shared_id]

    # Renamed, described anew and deleted after sharing: the link shows what it froze.
    db.execute(update(Experiment).values(name="renamed later", description="changed"))
    db.commit()
    for _ in range(2):
        view = api.get(f"/api/v1/shared/{token}")
        assert view.status_code == 200, view.text
        body = view.json()
        assert [run["id"] for run in body["runs"]] == [shared_id]
        assert body["runs"][0]["params"] == {"workload.generator.accesses": ACCESSES[1]}
        assert body["runs"][0]["summary"]["accesses"] == ACCESSES[1]
        assert [e["name"] for e in body["experiments"]] == ["tiering plan A"]
        assert body["shows"].startswith("1 run of experiment “tiering plan A”")
        # Nothing about the machine that ran it.
        assert HOST not in view.text and "worker_hostname" not in view.text
        assert "error" not in body["runs"][0]

        page = api.get(f"/s/{token}")
        assert page.status_code == 200
        assert "tiering plan A" in page.text and "renamed later" not in page.text
        assert "It shows 1 run of experiment" in page.text
        assert f"{ACCESSES[1]:,}" in page.text or str(ACCESSES[1]) in page.text
        for value in ACCESSES[:1] + ACCESSES[2:]:
            assert str(value) not in page.text and f"{value:,}" not in page.text
        assert HOST not in page.text

        result = api.get(f"/api/v1/shared/{token}/runs/{shared_id}/result")
        assert result.status_code == 200 and result.json()["meta"]["accesses"] == ACCESSES[1]
        for other in others:
            assert_problem(api.get(f"/api/v1/shared/{token}/runs/{other}/result"), 404)
        experiment_id = body["runs"][0]["experiment_id"]
        # Second round: the experiment and its runs are gone; the frozen copy is not.
        assert api.delete(f"/api/v1/experiments/{experiment_id}").status_code in (204, 404)

    # Only the token's hash is stored.
    stored = db.scalars(select(Share)).one()
    assert stored.token_hash == hash_secret(token) and token not in stored.token_hash


def test_links_are_listed_by_random_id_and_revoked(
    api: TestClient, settings: Settings, db: Session
) -> None:
    run_ids = _sweep(api, settings, name="listed", values=ACCESSES[:2])
    first = _share(api, run_ids, "compare")
    second = _share(api, run_ids[:1], "run")
    assert api.get(f"/s/{first['token']}").status_code == 200
    listing = api.get("/api/v1/shares")
    assert listing.status_code == 200
    assert [link["id"] for link in listing.json()] == [second["id"], first["id"]]
    for link in (first, second):
        # 128 random bits: ids do not count up, so one says nothing of another.
        assert len(link["id"]) >= 22 and not link["id"].isdigit()

    revoked = api.delete(f"/api/v1/shares/{first['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(api.get(f"/api/v1/shared/{first['token']}"), 410)
    assert api.get(f"/s/{first['token']}").status_code == 410
    assert api.get(f"/api/v1/shared/{second['token']}").status_code == 200
    listed = {link["id"]: link for link in api.get("/api/v1/shares").json()}
    assert listed[first["id"]]["revoked_at"] is not None
    assert listed[second["id"]]["revoked_at"] is None
    assert_problem(api.delete("/api/v1/shares/AAAAAAAAAAAAAAAAAAAAAA"), 404)
    assert_problem(api.delete("/api/v1/shares/1"), 422)


def test_unfinished_or_unknown_runs_are_refused_and_an_expired_link_is_gone(
    api: TestClient, settings: Settings, db: Session
) -> None:
    (finished,) = _sweep(api, settings, name="done", values=ACCESSES[:1])
    queued = api.post("/api/v1/experiments", json={"name": "waiting", "spec": tiny_spec()})
    queued_id = queued.json()["runs"][0]["id"]
    problem = assert_problem(
        api.post("/api/v1/shares", json={"run_ids": [finished, queued_id]}), 422, "run_ids[1]"
    )
    assert "queued" in problem["detail"] and "only succeeded runs" in problem["detail"]
    assert_problem(api.post("/api/v1/shares", json={"run_ids": [finished, 999_999]}),
                   422, "run_ids[1]")  # fmt: skip

    link = api.post("/api/v1/shares", json={"run_ids": [finished], "expires_in_s": 3600}).json()
    assert api.get(f"/api/v1/shared/{link['token']}").status_code == 200
    db.execute(update(Share).values(expires_at=utc_now() - timedelta(seconds=1)))
    db.commit()
    assert_problem(api.get(f"/api/v1/shared/{link['token']}"), 410)
    assert_problem(api.post("/api/v1/shares", json={"run_ids": [finished], "expires_in_s": 5}),
                   422, "expires_in_s")  # fmt: skip
    assert_problem(api.post("/api/v1/shares", json={"run_ids": [finished], "view": "<b>"}),
                   422, "view")  # fmt: skip


def test_each_token_lists_and_revokes_its_own_links(
    api: TestClient, settings: Settings, db: Session
) -> None:
    (run_id,) = _sweep(api, settings, name="owned", values=ACCESSES[:1])
    secrets = {name: create_token(db, name=name)[1] for name in ("alice", "bob")}
    db.commit()
    as_ = {name: {"Authorization": f"Bearer {secret}"} for name, secret in secrets.items()}
    body = {"run_ids": [run_id]}
    alices = api.post("/api/v1/shares", json=body, headers=as_["alice"]).json()["id"]
    bobs = api.post("/api/v1/shares", json=body, headers=as_["bob"]).json()["id"]
    # Made where no token is needed (loopback): nobody's, so everybody's.
    anyones = api.post("/api/v1/shares", json=body).json()["id"]

    def listed(headers: dict[str, str] | None = None) -> list[str]:
        return [link["id"] for link in api.get("/api/v1/shares", headers=headers).json()]

    assert listed(as_["alice"]) == [anyones, alices]
    assert listed(as_["bob"]) == [anyones, bobs]
    assert listed() == [anyones, bobs, alices]
    # Another token's link is not found, as if it did not exist.
    assert_problem(api.delete(f"/api/v1/shares/{alices}", headers=as_["bob"]), 404)
    assert api.delete(f"/api/v1/shares/{alices}", headers=as_["alice"]).status_code == 200
    assert api.delete(f"/api/v1/shares/{anyones}", headers=as_["bob"]).status_code == 200
