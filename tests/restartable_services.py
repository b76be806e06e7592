"""A Redis and a PostgreSQL of a test's own, on spare loopback ports, that the test may
restart: to lose a broker's queue (Redis keeps nothing on disk here) or every database
connection, as a restart does, without touching the servers other tests use.

Each server is its own process group, started and stopped by its id. PostgreSQL refuses to
run as root, so as root its commands run as the ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

READY_TIMEOUT_S = 60.0
POSTGRES_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


def spare_port() -> int:
    """A loopback TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class PrivateRedis:
    """``redis-server`` without persistence: a restart empties every queue."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        with (self.folder / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        """SIGKILL: what it held in memory is gone."""
        if self._process is not None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def postgres_unavailable_reason() -> str | None:
    """Why a private PostgreSQL cannot be run here, or None if it can."""
    if not POSTGRES_BINARIES:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser to become the postgres user"
    return None


class PrivatePostgres:
    """A throwaway cluster (``initdb``, trust authentication, no fsync) on a spare port."""

    def __init__(self) -> None:
        self.bin_dir = POSTGRES_BINARIES[-1].parent
        # Under /tmp itself, not pytest's folder: as root the server runs as postgres, which
        # must be able to reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="pagelab-postgres-"))
        self.data = self.folder / "data"
        self.port = spare_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*self._as_postgres, str(self.bin_dir / command[0]), *command[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=READY_TIMEOUT_S,
        )

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "postgres.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: every client's connection is cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
