"""Service commands: ``serve`` (embedded: API + worker), ``api``, ``worker``, ``migrate``.
Each reads its settings from ``PAGELAB_*`` environment variables."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import logging
import os
import signal
import subprocess
import sys
from typing import Any

# The service libraries (SQLAlchemy, Celery, uvicorn, the backend) are imported by the
# handlers that use them: `pagelab run` and the catalogues start without them.

WORKER_STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# The start of the SecurityWarning Celery gives when root starts a worker.
CELERY_ROOT_WARNING = "You're running the worker with superuser privileges"


def add_parser(commands: Any, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def register(commands: Any) -> None:
    """Add the service subcommands to ``commands`` (an argparse subparsers object)."""
    serve = add_parser(
        commands,
        "serve",
        "Run pagelab on this machine: apply migrations, start a worker and the API "
        "(SQLite and a folder queue under PAGELAB_HOME unless configured otherwise).",
        "Example:\n  pagelab serve              # http://127.0.0.1:8000, data in ./var\n"
        "  PAGELAB_HOME=~/pagelab pagelab serve --port 9000",
    )
    _add_listen_options(serve)
    serve.add_argument(
        "--concurrency", type=int, default=1, help="runs the worker does at once (default 1)"
    )
    serve.add_argument(
        "--verbose",
        action="store_true",
        help="log what the worker and the server do, not only warnings and errors",
    )
    serve.set_defaults(handler=_serve)

    api = add_parser(
        commands,
        "api",
        "Run the API server only (the distributed setup: workers run elsewhere).",
        "Example:\n  PAGELAB_DATABASE_URL=postgresql+psycopg://pagelab@db/pagelab \\\n"
        "  PAGELAB_BROKER_URL=redis://redis:6379/0 pagelab api --host 0.0.0.0",
    )
    _add_listen_options(api)
    api.add_argument("--workers", type=int, default=1, help="API processes (default 1)")
    api.set_defaults(handler=_api)

    worker = add_parser(
        commands,
        "worker",
        "Run a Celery worker that executes runs (and dispatches and reaps them).",
        "Example:\n  PAGELAB_BROKER_URL=redis://redis:6379/0 pagelab worker --concurrency 2",
    )
    worker.add_argument(
        "--concurrency", type=int, default=1, help="runs at once (processes; default 1)"
    )
    worker.add_argument("--name", default="pagelab", help="node name before '@host'")
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(handler=_worker)

    migrate = add_parser(
        commands,
        "migrate",
        "Bring the database schema up to date.",
        "Example:\n  PAGELAB_DATABASE_URL=postgresql+psycopg://pagelab@db/pagelab pagelab migrate",
    )
    migrate.set_defaults(handler=_migrate)


def _add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")


def _worker_command(
    concurrency: int, name: str, loglevel: str, *, quiet: bool = False
) -> list[str]:
    # Quiet (the embedded worker): no banner, and no warning that root runs it. Celery warns
    # because a root worker that accepts pickled messages runs whatever it is sent; this one
    # accepts only JSON, on a queue under PAGELAB_HOME that only this server writes.
    python = [sys.executable, "-W", f"ignore:{CELERY_ROOT_WARNING}"] if quiet else [sys.executable]
    return [
        *python, "-m", "celery", *(["--quiet"] if quiet else []), "-A", "worker.app", "worker",
        "--concurrency", str(concurrency),
        "--hostname", f"{name}@%h",
        # Neither is needed: the database, not worker-to-worker chatter, coordinates runs.
        "--without-mingle", "--without-gossip",
        "--loglevel", loglevel,
    ]  # fmt: skip


def display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from backend.migrations import upgrade_to_head
    from backend.settings import get_settings

    settings = get_settings()
    try:
        upgrade_to_head(settings)
    except SQLAlchemyError as exc:
        print(f"pagelab migrate: cannot migrate {display_url(settings.database_url)}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"database {display_url(settings.database_url)} is up to date")
    return 0


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from pagelab_cli.listening import listen_settings

    settings = listen_settings("api", args.host, args.port)
    if settings is None:
        return 2
    # uvicorn shuts down cleanly, then passes the Ctrl-C on: that is a normal exit here.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            "backend.app:create_app", factory=True, host=args.host, port=args.port,
            workers=args.workers, access_log=settings.access_log,
        )  # fmt: skip
    return 0


def _worker(args: argparse.Namespace) -> int:
    # Become the Celery worker, so signals from a terminal or a supervisor reach it directly.
    command = _worker_command(args.concurrency, args.name, args.loglevel)
    os.execv(command[0], command)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pagelab_cli.listening import listen_settings

    settings = listen_settings("serve", args.host, args.port)
    if settings is None:
        return 2
    if _migrate(args):
        return 1
    # The worker gets the same settings, with HOME made absolute, and its own session so a
    # terminal's Ctrl-C reaches only this process, which then stops the worker in order.
    env = {**os.environ, "PAGELAB_HOME": str(settings.home)}
    quiet = not args.verbose
    worker = subprocess.Popen(
        _worker_command(args.concurrency, "pagelab", "WARNING" if quiet else "INFO", quiet=quiet),
        env=env,
        start_new_session=True,
        preexec_fn=functools.partial(_stop_with_parent, os.getpid()),
    )
    # uvicorn handles SIGINT and SIGTERM itself, then raises them again once it has shut
    # down; with SIGTERM turned into KeyboardInterrupt both end here, and the worker is
    # stopped in either case instead of being left behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    config = uvicorn.Config(
        "backend.app:create_app", factory=True, host=args.host, port=args.port,
        access_log=settings.access_log, log_level="warning" if quiet else "info",
    )  # fmt: skip
    if settings.access_log:
        # Quiet hides uvicorn's start-up lines, not the requests the settings ask to log.
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    server = uvicorn.Server(config)
    print(
        f"pagelab is running at http://{args.host}:{args.port}/ (API docs at /docs); "
        f"data in {settings.home}. Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        _stop(worker)
    return 0 if server.started else 1


def _stop_with_parent(serve_pid: int) -> None:
    """In the worker, before it starts: ask Linux to SIGTERM it when serve dies, even by
    SIGKILL, so it never outlives the server it belongs to."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        # Serve died between the fork and the request: no signal will come, so stop now.
        if os.getppid() != serve_pid:
            os._exit(1)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (finish the current chunk of work), then cold, then kill."""
    for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGKILL):
        if worker.poll() is not None:
            return
        worker.send_signal(sig)
        try:
            worker.wait(timeout=WORKER_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            continue
