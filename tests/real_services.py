"""The real services the service and browser tests run on: the database and broker chosen by
environment, and Celery worker processes (started, watched, killed by id).

``PAGELAB_TEST_DATABASE_URL`` (PostgreSQL; the database is created if missing and its schema
rebuilt) and ``PAGELAB_TEST_BROKER_URL`` (Redis or RabbitMQ) point the suites at real
services; without them they run on the embedded default, SQLite and the filesystem
transport, in a temporary folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kombu import Exchange, Queue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.queue import QUEUE_NAME, make_celery
from backend.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 60.0
TEST_DATABASE_URL = os.environ.get("PAGELAB_TEST_DATABASE_URL", "")
TEST_BROKER_URL = os.environ.get("PAGELAB_TEST_BROKER_URL", "")


def recreate_postgres_database(url: str) -> None:
    """Create the database if missing, and give it an empty public schema."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        found = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not found:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_database_url(home: Path, suffix: str) -> str:
    """A new, empty database of the kind the suite runs on, named for ``suffix``."""
    if TEST_DATABASE_URL.startswith("postgresql"):
        base = make_url(TEST_DATABASE_URL)
        url = base.set(database=f"{base.database}_{suffix}").render_as_string(hide_password=False)
        recreate_postgres_database(url)
        return url
    return f"sqlite:///{home / f'{suffix}.db'}"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def purge_broker(settings: Settings) -> None:
    app = make_celery(settings)
    with app.connection_for_write() as connection:
        queue = Queue(QUEUE_NAME, Exchange(QUEUE_NAME), routing_key=QUEUE_NAME)
        bound = queue(connection.default_channel)
        bound.declare()
        bound.purge()


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a subprocess exactly these settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAGELAB_")}
    for name, value in settings.model_dump().items():
        if isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, tuple):
            text = ",".join(value)  # a list setting (allowed_hosts): comma-separated
        else:
            text = str(value)
        env[f"PAGELAB_{name.upper()}"] = text
    return env


class Workers:
    """Worker processes for one test (or module); each is its own process group."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.gates_dir = log_dir / "gates"
        self.gates_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def hold(self, seed: int, *, at_accesses: int = 1) -> None:
        """Make runs with this seed wait once they have done ``at_accesses`` accesses (after
        the chunk that reaches it), until raised again or released (tests/gated_worker.py)."""
        gate = self.gates_dir / str(seed)
        partial = gate.with_suffix(".partial")
        partial.write_text(str(at_accesses))
        os.replace(partial, gate)

    def release(self, seed: int) -> None:
        """Let runs with this seed go on to their end."""
        (self.gates_dir / str(seed)).unlink(missing_ok=True)

    def hostname(self, name: str) -> str:
        return f"{name}@pagelab-test"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"worker-{name}.log"

    def start(self, name: str, settings: Settings, *, pool: str = "solo") -> None:
        """Start a worker and wait until it consumes (its log says 'ready')."""
        log_path = self.log_path(name)
        offset = log_path.stat().st_size if log_path.exists() else 0
        command = [
            sys.executable, "-m", "celery", "-A", "tests.gated_worker", "worker",
            "--hostname", self.hostname(name), "--pool", pool, "--concurrency", "1",
            "--without-mingle", "--without-gossip", "--loglevel", "INFO",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=log,
                env={**settings_env(settings), "PAGELAB_TEST_GATES": str(self.gates_dir)},
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while b" ready." not in log_path.read_bytes()[offset:]:
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {name} did not start:\n{self.logs()}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL the worker's whole process group: no chance to clean up."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        """Warm shutdown for all at once, then SIGKILL for any still there after 10 s."""
        running = [process for process in self.processes.values() if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def logs(self) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("worker-*.log")):
            text = path.read_text(errors="replace")
            parts.append(
                f"----- {path.name} (last 60 lines)\n" + "\n".join(text.splitlines()[-60:])
            )
        return "\n".join(parts)
