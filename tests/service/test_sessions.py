"""Dashboard sessions: a token pasted into the sign-in page becomes an HttpOnly, SameSite=Strict
cookie (Secure over HTTPS) that pages and the REST API accept; writes signed in by the
cookie must come from this server's own pages (Origin); sign-out and revocation end it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.auth.models import BrowserSession
from backend.auth.service import create_token, revoke_token
from backend.settings import Settings

from .helpers import PUBLIC_URL, assert_problem, exposed_settings, tiny_spec

OWN_ORIGIN = {"Origin": PUBLIC_URL}


@pytest.fixture
def browser(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(exposed_settings(settings)), base_url=PUBLIC_URL) as client:
        yield client


def _sign_in(client: TestClient, secret: str, next_path: str = "/") -> None:
    response = client.post("/signin", data={"token": secret, "next": next_path},
                           headers=OWN_ORIGIN, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_path


def test_sign_in_sets_a_strict_http_only_cookie_that_pages_and_the_api_accept(
    browser: TestClient, db: Session
) -> None:
    _, secret = create_token(db, name="alice", scope="write")
    db.commit()
    signed_out = browser.get("/experiments/new?template=tiering", follow_redirects=False)
    assert signed_out.status_code == 303
    assert (
        signed_out.headers["location"] == "/signin?next=%2Fexperiments%2Fnew%3Ftemplate%3Dtiering"
    )

    response = browser.post("/signin", data={"token": secret, "next": "/compare"},
                            headers=OWN_ORIGIN, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/compare"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pagelab_session=")
    assert secret not in cookie  # the session's own secret, not the token
    for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/", "Max-Age="):
        assert flag.lower() in cookie.lower(), cookie

    page = browser.get("/")
    assert page.status_code == 200 and "Sign out" in page.text
    assert browser.get("/api/v1/experiments").status_code == 200
    created = browser.post("/api/v1/experiments", json={"name": "x", "spec": tiny_spec()},
                           headers=OWN_ORIGIN)  # fmt: skip
    assert created.status_code == 201, created.text


def test_a_wrong_token_shows_the_form_again_and_next_stays_on_this_server(
    browser: TestClient, db: Session
) -> None:
    refused = browser.post("/signin", data={"token": "plt_wrong"}, headers=OWN_ORIGIN)
    assert refused.status_code == 401 and "not valid (unknown)" in refused.text
    assert "pagelab_session" not in refused.headers.get("set-cookie", "")
    _, secret = create_token(db, name="bob", scope="read")
    db.commit()
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = browser.post("/signin", data={"token": secret, "next": elsewhere},
                                headers=OWN_ORIGIN, follow_redirects=False)  # fmt: skip
        assert response.headers["location"] == "/"


def test_cookie_writes_must_come_from_this_servers_pages(browser: TestClient, db: Session) -> None:
    _, secret = create_token(db, name="alice", scope="write")
    db.commit()
    _sign_in(browser, secret)
    body = {"name": "forged", "spec": tiny_spec()}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Referer": "https://evil.example/page"}, {}):  # fmt: skip
        problem = assert_problem(browser.post("/api/v1/experiments", json=body, headers=headers),
                                 403)  # fmt: skip
        assert problem["type"] == "/problems/cross-origin"
    own_referer = {"Referer": f"{PUBLIC_URL}/experiments/new"}
    assert browser.post("/api/v1/experiments", json=body, headers=own_referer).status_code == 201
    # Login CSRF: another site cannot sign this browser in with its own token either.
    evil = {"Origin": "https://evil.example"}
    forged = browser.post("/signin", data={"token": secret}, headers=evil)
    assert forged.status_code == 403 and "cross-origin request refused" in forged.text
    assert "pagelab_session" not in forged.headers.get("set-cookie", "")


def test_a_read_token_session_reads_and_is_refused_writes(browser: TestClient, db: Session) -> None:
    _, secret = create_token(db, name="reader", scope="read")
    db.commit()
    _sign_in(browser, secret)
    assert browser.get("/api/v1/traces").status_code == 200
    problem = assert_problem(browser.post("/api/v1/experiments", json={}, headers=OWN_ORIGIN), 403)
    assert "needs a write token" in problem["detail"]


def test_sign_out_and_revocation_end_the_session(browser: TestClient, db: Session) -> None:
    token, secret = create_token(db, name="alice", scope="read")
    db.commit()
    _sign_in(browser, secret)
    cookie = browser.cookies["pagelab_session"]
    signed_out = browser.post("/signout", headers=OWN_ORIGIN, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/signin"
    assert 'pagelab_session=""' in signed_out.headers["set-cookie"]
    assert db.scalar(select(func.count()).select_from(BrowserSession)) == 0
    # The old cookie, replayed, is dead: the session is gone from the server.
    browser.cookies.set("pagelab_session", cookie, domain="pagelab.example")
    assert_problem(browser.get("/api/v1/traces"), 401)
    assert browser.get("/", follow_redirects=False).status_code == 303

    _sign_in(browser, secret)
    assert browser.get("/api/v1/traces").status_code == 200
    revoke_token(db, token_id=token.id)
    db.commit()
    problem = assert_problem(browser.get("/api/v1/traces"), 401)
    assert "revoked" in problem["detail"]
