"""The dashboard behind tokens, in Chromium: signed out, every page leads to the sign-in form;
signed in, pages and their REST calls work on the session cookie; signed out again, they
stop. A page on another origin cannot make the signed-in browser change anything."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from backend.auth.service import create_token
from backend.db import make_engine, make_session_factory

from ..real_services import free_port
from .conftest import LiveServer, Session, screenshot, sign_in

FINISH_TIMEOUT_MS = 120_000


def _token(live_server: LiveServer, scope: str) -> str:
    engine = make_engine(live_server.settings.database_url)
    with make_session_factory(engine)() as session:
        _, secret = create_token(session, name=f"browser-{scope}", scope=scope)
        session.commit()
    engine.dispose()
    return secret


def _fetch(page: Page, method: str, path: str, body: Any = None) -> int:
    """What the page's own script gets when it calls the REST API (same origin, cookie)."""
    status: int = page.evaluate(
        """async ([method, path, body]) => {
            const init = { method, headers: { "Content-Type": "application/json" } };
            if (body !== null) init.body = JSON.stringify(body);
            return (await fetch(path, init)).status;
        }""",
        [method, path, body],
    )
    return status


def test_signed_out_pages_lead_to_sign_in_and_the_session_carries_the_dashboard(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    session = open_browser(with_token=False)
    session.problems.expected_statuses.update({401})
    page = session.page
    page.goto(f"{live_server.url}/experiments/new")
    page.wait_for_url(f"{live_server.url}/signin?next=%2Fexperiments%2Fnew")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator(".topbar nav a")).to_have_count(0)
    screenshot(page, "sign-in")

    page.fill("#token", "plt_not-a-token")
    page.click("button[type=submit]")
    expect(page.locator(".notice.error")).to_contain_text("not valid (unknown)")

    page.fill("#token", live_server.api_token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/experiments/new")  # back where it was going
    (cookie,) = [c for c in session.context.cookies() if c["name"] == "pagelab_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain http on loopback; https gets Secure (service tests)
    assert "pagelab_session" not in page.evaluate("document.cookie")

    # The page's script reads and writes through the REST API on the cookie alone.
    assert _fetch(page, "GET", "/api/v1/experiments") == 200
    spec = {"workload": {"generator": {"name": "uniform", "size_bytes": "16M",
                                       "accesses": 50_000}}}  # fmt: skip
    assert _fetch(page, "POST", "/api/v1/experiments", {"name": "via cookie", "spec": spec}) == 201

    page.goto(f"{live_server.url}/")
    expect(page.locator("main")).to_contain_text("via cookie")
    page.click("form.signout button")
    page.wait_for_url(f"{live_server.url}/signin")
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/signin?next=%2F")
    assert _fetch(page, "GET", "/api/v1/experiments") == 401


def test_a_read_token_session_can_look_but_not_change(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    session = open_browser(with_token=False)
    session.problems.expected_statuses.add(403)
    page = session.page
    sign_in(page, live_server.url, _token(live_server, "read"))
    expect(page.locator("form.signout button")).to_be_visible()
    assert _fetch(page, "GET", "/api/v1/traces") == 200
    assert _fetch(page, "POST", "/api/v1/experiments", {"name": "no"}) == 403


class _EvilSite:
    """Another origin on the same machine (same site for cookies: ports do not count), serving
    one page that posts a form to the pagelab server as soon as it loads."""

    def __init__(self, target: str) -> None:
        html = (
            f'<!doctype html><form id="f" method="post" action="{target}"></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture
def held_experiment(live_server: LiveServer) -> Iterator[int]:
    """An experiment whose run stays running until the test ends (then it is cancelled)."""
    seed = 5151
    body = {"name": "target of a forged request", "spec": {
        "workload": {"generator": {"name": "uniform", "size_bytes": "1G", "accesses": 10**7}},
        "controls": {"seed": seed}}}  # fmt: skip
    live_server.workers.hold(seed)
    with live_server.api() as api:
        created = api.post("/experiments", json=body)
        assert created.status_code == 201, created.text
        experiment_id: int = created.json()["id"]
        yield experiment_id
        api.post(f"/experiments/{experiment_id}/cancel")
    live_server.workers.release(seed)


def test_a_forged_cross_origin_post_is_refused(
    live_server: LiveServer, open_browser: Callable[..., Session], held_experiment: int
) -> None:
    session = open_browser()  # signed in: the cookie is there to be abused
    # The refusal, and the browser's look for /favicon.ico beside the problem it shows.
    session.problems.expected_statuses.update({403, 404})
    page = session.page
    page.goto(f"{live_server.url}/experiments/{held_experiment}")
    status = page.locator("#experiment-status")
    expect(status).to_have_attribute("data-status", "running", timeout=FINISH_TIMEOUT_MS)

    target = f"{live_server.url}/api/v1/experiments/{held_experiment}/cancel"
    evil = _EvilSite(target)
    evil.thread.start()
    try:
        with page.expect_response(target) as answered:
            page.goto(evil.url)
        response = answered.value
        assert response.status == 403
        assert "cross-origin request refused" in response.json()["detail"]
    finally:
        evil.server.shutdown()
        evil.server.server_close()

    with live_server.api() as api:
        assert api.get(f"/experiments/{held_experiment}").json()["status"] == "running"
