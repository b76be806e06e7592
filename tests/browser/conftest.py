"""Browser-test fixtures: a live API server and a real Celery worker (on the database and
broker the service tests use: ``PAGELAB_TEST_DATABASE_URL`` / ``PAGELAB_TEST_BROKER_URL``,
else the embedded default), and headless Debian Chromium driven by Playwright.

The server requires API tokens, so browsers sign in with one through the sign-in page, and
the tests also show that a share link works for a browser that has none.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from backend.auth.service import create_token
from backend.db import make_engine, make_session_factory
from backend.migrations import upgrade_to_head
from backend.settings import Settings

from ..real_services import (
    REPO_ROOT,
    TEST_BROKER_URL,
    Workers,
    free_port,
    fresh_database_url,
    purge_broker,
    settings_env,
)

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_TESTS = Path(__file__).parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
SERVER_READY_TIMEOUT_S = 30.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    if not CHROMIUM.exists():
        skip = pytest.mark.skip(reason="needs /usr/bin/chromium (apt-get install chromium)")
        # The hook sees every collected test, not only this folder's: without the check a
        # machine lacking Chromium would skip the whole suite.
        for item in items:
            if item.path.is_relative_to(BROWSER_TESTS):
                item.add_marker(skip)


@dataclass
class LiveServer:
    url: str
    api_token: str
    settings: Settings
    # Its worker, to hold a run a test watches (Workers.hold).
    workers: Workers

    def api(self) -> httpx.Client:
        """A REST client with write access, for setting up what a test looks at."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.api_token}"},
            timeout=30,
        )


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the API server did not start:\n{log_path.read_text(errors='replace')}")


# Module scope, not session: the worker must be gone before the service tests run, since on a
# shared broker it would take their tasks (and find no such runs in its own database).
@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``uvicorn`` serving the app and one worker, both on a fresh database."""
    home = tmp_path_factory.mktemp("browser-home")
    settings = Settings(
        home=home,
        database_url=fresh_database_url(home, "browser"),
        broker_url=TEST_BROKER_URL,
        maintenance_interval_s=0.5,
        api_tokens_required=True,
    )
    upgrade_to_head(settings)
    purge_broker(settings)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        _, api_token = create_token(session, name="browser-tests")
        session.commit()
    engine.dispose()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "api.log"
    command = [sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=settings_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    workers = Workers(home)
    try:
        _wait_until_up(url, server, log_path)
        workers.start("browser", settings)
        yield LiveServer(url=url, api_token=api_token, settings=settings, workers=workers)
    finally:
        workers.stop_all()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class BrowserProblems:
    """Console errors, uncaught exceptions and dialogs a page produced."""

    errors: list[str] = field(default_factory=list)
    # Responses a test provokes on purpose (an error page) log a console error; allow those.
    expected_statuses: set[int] = field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        allowed = any(f"status of {status}" in message.text for status in self.expected_statuses)
        if not allowed:
            self.errors.append(f"console: {message.text}")


@dataclass
class Session:
    """A browser context (a person's browser) and its first page."""

    context: BrowserContext
    page: Page
    problems: BrowserProblems


def sign_in(page: Page, server_url: str, token: str) -> None:
    """Sign in as a person does: the sign-in page, the token pasted, the dashboard shown."""
    page.goto(f"{server_url}/signin")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server_url}/")


def open_session(browser: Browser, live_server: LiveServer, *, signed_in: bool = True) -> Session:
    """A fresh browser; signed in with the server's write token unless told otherwise."""
    context = browser.new_context(viewport=VIEWPORT)
    problems = BrowserProblems()
    page = context.new_page()
    page.on("console", problems.on_console)
    page.on("pageerror", lambda error: problems.errors.append(f"page error: {error}"))
    if signed_in:
        # The dashboard confirms deletions.
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, live_server.url, live_server.api_token)
    else:
        page.on("dialog", lambda dialog: problems.errors.append(f"dialog: {dialog.message}"))
    return Session(context, page, problems)


@pytest.fixture
def open_browser(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Session]]:
    """Opens fresh browser contexts; each must end without console errors or page errors."""
    sessions: list[Session] = []

    def open_one(*, with_token: bool = True) -> Session:
        session = open_session(browser, live_server, signed_in=with_token)
        sessions.append(session)
        return session

    yield open_one
    problems = [problem for session in sessions for problem in session.problems.errors]
    for session in sessions:
        session.context.close()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


def screenshot(page: Page, name: str) -> Path:
    """Save what the 1280×800 viewport shows to artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
