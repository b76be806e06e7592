"""Who may call what on a server reachable from elsewhere (tokens required, a public host
name): every route of the app, with no token, a read token, a write token, an expired one
and a revoked one. Reads need read, writes need write, share links and the probes need
nothing, and a refused request gets a problem and nothing else.

Routes are enumerated from the app, so a route added later is in the matrix without
anyone remembering to add it; a path parameter the matrix has no value for fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.routing import Mount

from backend.app import create_app
from backend.auth.models import ApiToken
from backend.auth.service import create_token, revoke_token
from backend.db import make_engine, make_session_factory, utc_now
from backend.pages.html import PageRoute
from backend.settings import Settings
from frontend.assets import PLOTLY_JS_VERSION
from worker.execution import execute_run

from .helpers import PUBLIC_URL, assert_problem, exposed_settings, tiny_spec

# What anyone may call: the probes, a share link's page and its two API reads, signing in
# and out, and the plotly.js file the share page loads.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/s/{token}"),
    ("GET", "/api/v1/shared/{token}"),
    ("GET", "/api/v1/shared/{token}/runs/{run_id}/result"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", f"/static/vendor/plotly-{PLOTLY_JS_VERSION}.min.js"),
}
SECRET_NAME = "unpublished-plan-7f3a"
CREDENTIALS = ("none", "read", "write", "expired", "revoked")


@dataclass
class World:
    """What the routes are called on: real rows, and a token in each state."""

    client: TestClient
    secrets: dict[str, str]
    path_values: dict[str, str]


def _tokens(db: Session) -> dict[str, str]:
    secrets = {}
    for state, scope in (("read", "read"), ("write", "write"), ("expired", "write"),
                         ("revoked", "write")):  # fmt: skip
        token, secrets[state] = create_token(db, name=state, scope=scope)
        if state == "expired":
            token.expires_at = utc_now() - timedelta(seconds=1)
        if state == "revoked":
            revoke_token(db, token_id=token.id)
    db.commit()
    return secrets


@pytest.fixture
def world(settings: Settings, db: Session) -> Iterator[World]:
    exposed = exposed_settings(settings)
    secrets = _tokens(db)
    writer = {"Authorization": f"Bearer {secrets['write']}"}
    with TestClient(create_app(exposed), base_url=PUBLIC_URL) as client:
        body = {"name": SECRET_NAME, "description": SECRET_NAME, "spec": tiny_spec()}
        created = client.post("/api/v1/experiments", json=body, headers=writer)
        assert created.status_code == 201, created.text
        experiment = created.json()
        run_id = experiment["runs"][0]["id"]
        engine = make_engine(exposed.database_url)
        outcome = execute_run(make_session_factory(engine), exposed, run_id=run_id,
                              worker_hostname="test")  # fmt: skip
        engine.dispose()
        assert outcome == "succeeded"
        shared = client.post("/api/v1/shares", json={"run_ids": [run_id]}, headers=writer)
        assert shared.status_code == 201, shared.text
        trace = client.post(
            "/api/v1/traces", params={"format": "text"},
            files={"file": ("t.txt", b"0x1000\n0x2000\n")}, headers=writer,
        )  # fmt: skip
        assert trace.status_code == 201, trace.text
        yield World(
            client=client,
            secrets=secrets,
            path_values={
                "experiment_id": str(experiment["id"]),
                "run_id": str(run_id),
                "trace_id": str(trace.json()["id"]),
                "share_id": str(shared.json()["id"]),
                "token": shared.json()["token"],
                "path": "no/such/page",
            },
        )
        # The trace's file outlives the rows clean_state empties: remove it (the matrix may
        # have already).
        client.delete(f"/api/v1/traces/{trace.json()['id']}", headers=writer)


def _routes(app: Any) -> list[tuple[str, str, bool]]:
    """(method, path template, is a dashboard page) for every route of the app; reads first,
    deletions last, so that each route is called while the rows it names exist."""
    routes = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, Mount):
            # Files of the dashboard itself (CSS, JS, icons): no data, nothing to protect.
            assert context.path_format == "/static/{path}", context.path_format
            continue
        page = isinstance(context.original_route, PageRoute)
        for method in sorted(getattr(context.original_route, "methods", ())):
            routes.append((method, str(context.path_format), page))
    order = {"GET": 0, "POST": 1, "DELETE": 2}
    return sorted(routes, key=lambda route: order.get(route[0], 1))


def _url(template: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match[1].split(":")[0]
        assert name in values, f"no value for path parameter {name!r} of {template}: add one"
        return values[name]

    return re.sub(r"{([^}]+)}", fill, template)


def _call(world: World, method: str, url: str, credential: str) -> Response:
    headers = {}
    if credential != "none":
        headers["Authorization"] = f"Bearer {world.secrets[credential]}"
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return world.client.request(method, url, headers=headers, json=body, follow_redirects=False)


def _expected(method: str, template: str, credential: str) -> str:
    if (method, template) in PUBLIC_ROUTES or credential == "write":
        return "allowed"
    if credential in {"none", "expired", "revoked"}:
        return "unauthenticated"
    return "allowed" if method == "GET" else "forbidden"


def _check(response: Response, expected: str, *, page: bool, what: str) -> None:
    status = response.status_code
    assert status < 500, f"{what}: {status} {response.text[:300]}"
    if expected == "allowed":
        assert status not in {401, 403}, f"{what}: {response.text[:300]}"
        if page:
            assert not response.headers.get("location", "").startswith("/signin?next="), what
        return
    # Refused: a problem (or, for a page, the way to the sign-in form) and nothing more.
    assert SECRET_NAME not in response.text, f"{what} leaked data"
    if page and expected == "unauthenticated":
        assert status == 303, f"{what}: {status}"
        assert response.headers["location"].startswith("/signin?next="), what
        return
    problem = assert_problem(response, 401 if expected == "unauthenticated" else 403)
    assert problem["type"] == ("/problems/unauthorized" if status == 401 else "/problems/forbidden")
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_route_needs_the_right_token_when_tokens_are_required(world: World) -> None:
    routes = _routes(world.client.app)
    assert len(routes) >= 35
    # The matrix covers what the rule must let through, so it must find those routes.
    assert {(method, template) for method, template, _ in routes} >= PUBLIC_ROUTES
    for method, template, page in routes:
        url = _url(template, world.path_values)
        for credential in CREDENTIALS:
            what = f"{method} {template} with {credential} token"
            response = _call(world, method, url, credential)
            _check(response, _expected(method, template, credential), page=page, what=what)
        if method == "GET" and not page and (method, template) not in PUBLIC_ROUTES:
            # The rows exist: a read token gets the data itself, not just "not refused".
            read = _call(world, method, url, "read")
            assert read.status_code == 200, f"{method} {template}: {read.text[:300]}"


def test_401_and_403_say_which_is_which(world: World) -> None:
    refused = assert_problem(world.client.get("/api/v1/experiments"), 401)
    assert "requires an API token" in refused["detail"] and "/signin" in refused["detail"]
    reader = {"Authorization": f"Bearer {world.secrets['read']}"}
    short = assert_problem(world.client.post("/api/v1/experiments", json={}, headers=reader), 403)
    assert "needs a write token" in short["detail"] and "'read'" in short["detail"]
    for state in ("expired", "revoked"):
        stale = {"Authorization": f"Bearer {world.secrets[state]}"}
        problem = assert_problem(world.client.get("/api/v1/experiments", headers=stale), 401)
        assert f"({state})" in problem["detail"]
    unknown = {"Authorization": "Bearer plt_made-up"}
    problem = assert_problem(world.client.get("/api/v1/traces", headers=unknown), 401)
    assert "(unknown)" in problem["detail"]


def test_expiry_and_revocation_take_effect_on_the_next_request(
    settings: Settings, db: Session
) -> None:
    token, secret = create_token(db, name="soon gone", scope="read")
    other, other_secret = create_token(db, name="revoked next", scope="write")
    db.commit()
    with TestClient(create_app(exposed_settings(settings)), base_url=PUBLIC_URL) as client:
        for held, name in ((secret, "expires"), (other_secret, "revoked")):
            headers = {"Authorization": f"Bearer {held}"}
            assert client.get("/api/v1/experiments", headers=headers).status_code == 200, name
        db.execute(update(ApiToken).where(ApiToken.id == token.id)
                   .values(expires_at=utc_now() - timedelta(seconds=1)))  # fmt: skip
        revoke_token(db, token_id=other.id)
        db.commit()
        for held in (secret, other_secret):
            headers = {"Authorization": f"Bearer {held}"}
            assert_problem(client.get("/api/v1/experiments", headers=headers), 401)


def test_only_the_configured_host_names_are_answered(settings: Settings) -> None:
    with TestClient(create_app(exposed_settings(settings)), base_url=PUBLIC_URL) as client:
        for host in ("evil.example", "127.0.0.1", "pagelab.example.evil.example", "a b"):
            problem = assert_problem(client.get("/signin", headers={"Host": host}), 400)
            assert "PAGELAB_ALLOWED_HOSTS" in problem["detail"]
        assert client.get("/signin", headers={"Host": "PageLab.example:443"}).status_code == 200
        # Probes come from orchestrators, addressed to an IP.
        assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200
    # The defaults: loopback names only, the IPv6 one with or without brackets and port.
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "[::1]"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200
            assert client.get("/api/v1/presets", headers={"Host": host}).status_code == 200
        assert_problem(client.get("/api/v1/presets", headers={"Host": "rebound.example"}), 400)


def test_without_required_tokens_the_loopback_server_is_open_but_checks_what_is_sent(
    api: TestClient,
) -> None:
    assert api.get("/api/v1/experiments").status_code == 200
    assert api.get("/", follow_redirects=False).status_code == 200
    assert_problem(api.get("/api/v1/experiments", headers={"Authorization": "Bearer x"}), 401)
    # A stale dashboard cookie is not a reason to refuse on a server that needs no token.
    api.cookies.set("pagelab_session", "from-before")
    assert api.get("/api/v1/experiments").status_code == 200


def test_share_urls_are_built_on_the_public_base_url_never_the_host_header(
    world: World, settings: Settings
) -> None:
    writer = {"Authorization": f"Bearer {world.secrets['write']}"}
    run_ids = [int(world.path_values["run_id"])]
    link = world.client.post("/api/v1/shares", json={"run_ids": run_ids}, headers=writer)
    assert link.json()["url"] == f"{PUBLIC_URL}/api/v1/shared/{link.json()['token']}"
    # A server that answers any host name still hands out links on its own address.
    anyhost = exposed_settings(settings).model_copy(update={"allowed_hosts": ("*",)})
    with TestClient(create_app(anyhost), base_url="http://evil.example") as client:
        forged = client.post("/api/v1/shares", json={"run_ids": run_ids},
                             headers={**writer, "Host": "evil.example"})  # fmt: skip
        assert forged.status_code == 201, forged.text
        assert forged.json()["url"].startswith(f"{PUBLIC_URL}/api/v1/shared/")
