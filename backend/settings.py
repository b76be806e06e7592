"""The service's settings: one object, read from ``PAGELAB_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1 << 20
LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "::1")


class Settings(BaseSettings):
    """Where data lives, which database and broker to use, and the service's limits.

    ``database_url`` defaults to SQLite and ``broker_url`` to Celery's filesystem transport,
    both under ``home``: the embedded default needs no server.
    """

    model_config = SettingsConfigDict(env_prefix="PAGELAB_", extra="ignore", frozen=True)

    home: Path = Path("./var")
    database_url: str = ""
    broker_url: str = ""

    # A running run whose heartbeat is older than this is taken for dead and re-queued.
    heartbeat_timeout_s: float = Field(default=60.0, gt=0.0, le=86_400.0)
    # How often a worker writes a running run's heartbeat and progress and reads its cancel
    # flag; never less often than three times per heartbeat timeout.
    progress_interval_s: float = Field(default=1.0, gt=0.0, le=60.0)
    max_attempts: int = Field(default=3, ge=1, le=100)
    # How often a worker's background loop dispatches waiting runs and reaps dead ones.
    maintenance_interval_s: float = Field(default=2.0, gt=0.0, le=3600.0)
    # A run still queued this long after it was sent is sent again (a broker that lost it).
    redispatch_after_s: float = Field(default=900.0, gt=0.0)

    # Off, a request without a token may read and write (one person on a loopback address;
    # `pagelab serve` and `pagelab api` refuse any other address unless this is on).
    api_tokens_required: bool = False
    # Host names the server answers to (the Host header), comma-separated; "*" for any,
    # "*.example.org" for a domain's subdomains. Loopback names only by default: a web page
    # whose name an attacker points at 127.0.0.1 (DNS rebinding) gets a 400.
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = LOOPBACK_HOST_NAMES
    # The URL people reach the server at (https://pagelab.example.org): share links are built
    # from it, never from a request's Host header, and its host is an allowed host.
    public_base_url: str = ""
    # How long a dashboard sign-in lasts (never past its token's expiry or revocation).
    session_max_age_s: int = Field(default=7 * 86_400, ge=60, le=366 * 86_400)

    # Threads per API process that run request handlers (and so hold database connections:
    # the pool keeps one for each). Python runs one thread at a time: past a few, more threads
    # add hand-offs of the interpreter lock, not throughput; more processes (`pagelab api
    # --workers`) do.
    api_threads: int = Field(default=4, ge=1, le=256)
    # One log line per request; off, the API spends its CPU on requests alone.
    access_log: bool = True

    max_sweep_points: int = Field(default=256, ge=1, le=100_000)
    max_sweep_axes: int = Field(default=8, ge=1, le=64)
    max_tags: int = Field(default=16, ge=0, le=256)
    max_share_runs: int = Field(default=64, ge=1, le=10_000)
    max_upload_bytes: int = Field(default=512 * MIB, ge=1)
    max_request_bytes: int = Field(default=1 * MIB, ge=1024)
    # An uploaded trace, decompressed (.gz, .xz), and the accesses it holds: a small
    # compressed file may expand without bound.
    max_trace_bytes: int = Field(default=4096 * MIB, ge=1)
    max_trace_accesses: int = Field(default=1_000_000_000, ge=1)
    # Uploads checked at once, on threads of their own (never the request threads).
    trace_check_threads: int = Field(default=2, ge=1, le=64)
    # Accesses one run may simulate (a generator's count, or a trace's, after
    # controls.access_limit), checked at submission.
    max_run_accesses: int = Field(default=5_000_000_000, ge=1)
    # Wall time one run may take; past it the run fails saying so.
    run_time_limit_s: float = Field(default=6 * 3600.0, gt=0.0, le=30 * 86_400.0)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(name.strip().lower() for name in value.split(",") if name.strip())
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL with a host")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # The filesystem transport needs absolute folders, and a worker started from another
        # directory must find the same database: resolve HOME once, here.
        home = self.home.expanduser().resolve()
        object.__setattr__(self, "home", home)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{home / 'pagelab.db'}")
        if not self.broker_url:
            # The filesystem transport ignores the host; naming one spares kombu's warning
            # that it fell back to localhost.
            object.__setattr__(self, "broker_url", "filesystem://localhost/")
        return self

    def public_url(self, path: str) -> str:
        """``path`` on the public base URL; the path alone if none is configured (a client
        then resolves it against the address it used)."""
        return f"{self.public_base_url}{path}"

    @property
    def traces_dir(self) -> Path:
        return self.home / "traces"

    @property
    def broker_dir(self) -> Path:
        return self.home / "broker"

    @property
    def uses_filesystem_broker(self) -> bool:
        return self.broker_url.startswith("filesystem:")

    def broker_transport_options(self) -> dict[str, Any]:
        if self.uses_filesystem_broker:
            # One folder for in and out, so the API and the worker see the same queue.
            queue = str(self.broker_dir / "queue")
            return {
                "data_folder_in": queue,
                "data_folder_out": queue,
                "control_folder": str(self.broker_dir / "control"),
                "processed_folder": str(self.broker_dir / "processed"),
                "store_processed": False,
                # Seconds between looks at the folder: a run starts at most this late.
                "polling_interval": 0.2,
            }
        if self.broker_url.startswith(("redis:", "rediss:")):
            return {"socket_connect_timeout": 3, "socket_timeout": 10}
        return {}

    def make_dirs(self) -> None:
        """Create HOME and the folders under it that the service writes to."""
        for folder in (self.home, self.traces_dir, self.traces_dir / "incoming"):
            folder.mkdir(parents=True, exist_ok=True)
        if self.uses_filesystem_broker:
            for key in ("data_folder_in", "control_folder", "processed_folder"):
                Path(self.broker_transport_options()[key]).mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment once."""
    return Settings()
