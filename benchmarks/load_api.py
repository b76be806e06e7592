"""API load benchmark: list and submit latency at concurrency 16 on PostgreSQL and Redis.

Seeds a fresh PostgreSQL database with experiments through the service layer (the same
functions the API and the workers call, with real simulations for the results), starts the
API with `pagelab api`, and drives it over loopback with wrk (a C load tool: it takes a few
percent of a core where a Python client took as much as the API) for a bounded time per
scenario. Reports latency percentiles per scenario against the goals (list p95 < 50 ms,
submit p95 < 100 ms), and the CPU time the API and wrk spent per request. No worker runs, so
submitted runs stay queued; at the end the database is dropped (unless --keep) and the Redis
database flushed.

    make bench-api            # or: .venv/bin/python benchmarks/load_api.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import pagelab
from backend.db import make_engine, make_session_factory
from backend.experiments import service as experiment_service
from backend.experiments.schemas import ExperimentCreate
from backend.migrations import upgrade_to_head
from backend.runs import service as run_service
from backend.settings import Settings

LIST_GOAL_P95_MS = 50.0
SUBMIT_GOAL_P95_MS = 100.0
EXPERIMENTS_PATH = "/api/v1/experiments"

# What the dashboard's list page asks for: the newest page, and each filter and sort it offers.
LIST_QUERIES: tuple[dict[str, str | list[str]], ...] = (
    {},
    {"status": "succeeded"},
    {"status": ["queued", "running"]},
    {"tag": "tiering"},
    {"kind": "sweep"},
    {"q": "zipf"},
    {"sort": "name"},
)
TAGS = ("tiering", "64k", "thp-1g", "damon", "tpp", "baseline", "cxl", "bloat")
WORKLOADS = (
    {"name": "uniform", "size_bytes": "64M", "accesses": 200_000},
    {"name": "zipf", "size_bytes": "256M", "alpha": 1.0, "accesses": 200_000},
    {"name": "zipf", "size_bytes": "1G", "alpha": 1.2, "accesses": 200_000},
)
BASE_PAGES = ("4K", "64K")


def _spec(workload: dict[str, Any], base_page: str, seed: int) -> dict[str, Any]:
    return {
        "workload": {"generator": workload},
        "machine": {"preset": "skylake"},
        "policy": {"base_page": base_page, "thp": "never"},
        "controls": {"seed": seed},
    }


# --- database ---------------------------------------------------------------------------


@contextmanager
def fresh_database(admin_url: str, name: str, keep: bool) -> Iterator[str]:
    """Create database `name` (dropping an old one) and yield its URL; drop it afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _create(session: Session, settings: Settings, spec: dict[str, Any], **fields: Any) -> int:
    data = ExperimentCreate.model_validate({"spec": spec, **fields})
    experiment, _ = experiment_service.create_experiment(session, settings=settings, data=data)
    return experiment.id


def _simulate_and_store(session: Session, settings: Settings, spec: dict[str, Any]) -> None:
    """Do what a worker does for one run, so later submissions of this spec reuse its result."""
    experiment_id = _create(session, settings, spec, name="result pool", tags=["baseline"])
    run = experiment_service.get_experiment(session, experiment_id=experiment_id).runs[0]
    claim = run_service.claim_run(session, run_id=run.id, worker_hostname="bench")
    assert claim is not None
    result = pagelab.simulate(pagelab.load_spec(claim.spec))
    run_service.complete_run(session, claim=claim, result=result)


def seed(settings: Settings, count: int) -> None:
    """`count` experiments in the mix a lab accumulates: 60% succeeded (results reused from a
    small simulated pool), 10% failed, 10% cancelled, 20% still queued; 20% are sweeps."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    rng = random.Random(2026)
    with sessions() as session:
        for workload in WORKLOADS:
            for base_page in BASE_PAGES:
                _simulate_and_store(session, settings, _spec(workload, base_page, seed=1))
        session.commit()
        for index in range(count - len(WORKLOADS) * len(BASE_PAGES)):
            workload = rng.choice(WORKLOADS)
            outcome = rng.choices(("succeeded", "failed", "cancelled", "queued"), (6, 1, 1, 2))[0]
            # A result exists only for seed 1; any other seed leaves the run to the workers.
            spec = _spec(
                workload, rng.choice(BASE_PAGES), 1 if outcome == "succeeded" else 2 + index
            )
            sweep = {"policy.base_page": list(BASE_PAGES)} if rng.random() < 0.2 else None
            experiment_id = _create(
                session,
                settings,
                spec,
                name=f"{workload['name']} {workload['size_bytes']} #{index}",
                description=f"Seeded by benchmarks/load_api.py ({outcome}).",
                tags=rng.sample(TAGS, rng.randint(0, 3)),
                sweep=sweep,
            )
            if outcome == "cancelled":
                experiment_service.cancel_experiment(session, experiment_id=experiment_id)
            elif outcome == "failed":
                for run in experiment_service.get_experiment(
                    session, experiment_id=experiment_id
                ).runs:
                    claim = run_service.claim_run(session, run_id=run.id, worker_hostname="bench")
                    assert claim is not None
                    run_service.fail_run(session, claim=claim, error="seeded failure")
            if index % 500 == 499:
                session.commit()
        session.commit()
    engine.dispose()


def analyze(database_url: str) -> None:
    """Gather the planner's statistics, as autovacuum would on a database in service (it may
    be off on a development server, and waits a minute or more): without them PostgreSQL
    guesses the seeded tables are tiny and plans the filtered lists badly."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


# --- API server -------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on now: a fixed one may be another server's, and then the
    benchmark would measure that server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int

    def cpu_s(self) -> float:
        """CPU time the API's processes (uvicorn and its worker processes) have used: unlike
        latency, it does not grow when other programs share the cores."""
        clock_ticks_per_s = os.sysconf("SC_CLK_TCK")
        pids, total_ticks = [self.pid], 0
        while pids:
            pid = pids.pop()
            # utime and stime are fields 14 and 15 of /proc/PID/stat; the name may hold spaces.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total_ticks += int(fields[11]) + int(fields[12])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids += [int(child) for child in children]
        return total_ticks / clock_ticks_per_s


@contextmanager
def running_api(settings: Settings, port: int, api_workers: int) -> Iterator[Server]:
    """Start `pagelab api` on 127.0.0.1:`port` with `settings`."""
    environment = {
        **os.environ,
        "PAGELAB_HOME": str(settings.home),
        "PAGELAB_DATABASE_URL": settings.database_url,
        "PAGELAB_BROKER_URL": settings.broker_url,
        # A line per request would cost the API about 2% of its CPU, and flood the terminal.
        "PAGELAB_ACCESS_LOG": "false",
    }
    command = [
        str(Path(sys.executable).with_name("pagelab")),
        "api",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(api_workers),
    ]
    server = subprocess.Popen(command, env=environment)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url, server, timeout_s=60.0)
        yield Server(base_url, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_ready(base_url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"`pagelab api` exited with status {server.returncode}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the API at {base_url} was not ready within {timeout_s:.0f} s")


# --- load -------------------------------------------------------------------------------

# wrk runs this script (LuaJIT, one environment per wrk thread). Its arguments, after "--":
#   GET PATH...                   send these paths in turn
#   POST PATH TEMPLATE FIRST_SEED send TEMPLATE, a string.format pattern given (seed, seed)
# done() prints one line for load_api.py to read; wrk reports latencies in microseconds.
WRK_SCRIPT = """
local requests, path, template, first_seed
local sent = 0

function init(args)
  if args[1] == "GET" then
    requests = {}
    for i = 2, #args do
      requests[#requests + 1] = wrk.format("GET", args[i])
    end
  else
    path, template, first_seed = args[2], args[3], tonumber(args[4])
  end
end

function request()
  sent = sent + 1
  if requests then
    return requests[(sent - 1) % #requests + 1]
  end
  local seed = first_seed + sent
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
                    string.format(template, seed, seed))
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("load_api: %d %d %d %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
# One wrk thread, so the submissions' seeds (counted per thread) never repeat: one event
# loop keeps 16 connections busy at a small fraction of a core.
WRK_THREADS = 1


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    errors: int
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    api_cpu_s: float
    # The load tool shares the machine's cores with the API: what it takes is shown too.
    client_cpu_s: float


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "load_api.py drives the API with wrk: install it with 'apt-get install wrk' "
            "(`make bench-api` does so when run as root)"
        )
    return found


def run_wrk(
    server: Server, script: Path, *, concurrency: int, seconds: int, arguments: list[str]
) -> Load:
    """Keep `concurrency` requests in flight for `seconds`, and measure them."""
    command = [
        wrk_binary(),
        "--threads", str(WRK_THREADS),
        "--connections", str(concurrency),
        "--duration", f"{seconds}s",
        # wrk's default of 2 s would count slow answers as errors, and drop their latencies.
        "--timeout", "30s",
        "--script", str(script),
        server.base_url,
        "--", *arguments,
    ]  # fmt: skip
    api_cpu_before = server.cpu_s()
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    api_cpu_s = server.cpu_s() - api_cpu_before
    line = next(line for line in output.splitlines() if line.startswith("load_api: "))
    requests, duration_us, errors, p50_us, p95_us, p99_us = map(int, line.split()[1:])
    return Load(
        requests=requests,
        errors=errors,
        duration_s=duration_us / 1e6,
        p50_ms=p50_us / 1000,
        p95_ms=p95_us / 1000,
        p99_ms=p99_us / 1000,
        api_cpu_s=api_cpu_s,
        client_cpu_s=(client_after.ru_utime + client_after.ru_stime)
        - (client_before.ru_utime + client_before.ru_stime),
    )


def list_path(query: dict[str, str | list[str]]) -> str:
    return f"{EXPERIMENTS_PATH}?{urlencode(query, doseq=True)}" if query else EXPERIMENTS_PATH


def list_label(query: dict[str, str | list[str]]) -> str:
    return "&".join(f"{key}={value}" for key, value in query.items()) or "newest"


def list_arguments(queries: tuple[dict[str, str | list[str]], ...]) -> list[str]:
    return ["GET", *(list_path(query) for query in queries)]


def submit_arguments(first_seed: int) -> list[str]:
    """A single-run submission with a new seed each time: a repeated spec would reuse a
    stored result, not queue a run."""
    body = json.dumps(
        {"name": "load test SEED", "tags": ["load"], "spec": _spec(WORKLOADS[0], "4K", seed=0)}
    )
    template = body.replace("%", "%%").replace("SEED", "%d").replace('"seed": 0', '"seed": %d')
    return ["POST", EXPERIMENTS_PATH, template, str(first_seed)]


# --- report -----------------------------------------------------------------------------


def report(rows: list[tuple[str, Load, float | None]]) -> bool:
    """Print one line per (label, load, p95 goal); True if every request succeeded."""
    print(
        f"{'scenario':<36}{'requests':>9}{'errors':>7}{'req/s':>7}{'API CPU':>9}{'client':>8}"
        f"{'p50':>8}{'p95':>8}{'p99':>8}  goal"
    )
    print(f"{'':<59}{'ms/req':>9}{'ms/req':>8}{'ms':>8}{'ms':>8}{'ms':>8}")
    for label, load, goal_ms in rows:
        goal = ""
        if goal_ms is not None:
            goal = f"p95 < {goal_ms:.0f} ms: {'met' if load.p95_ms < goal_ms else 'MISSED'}"
        print(
            f"{label:<36}{load.requests:>9}{load.errors:>7}"
            f"{load.requests / load.duration_s:>7.0f}"
            f"{load.api_cpu_s / load.requests * 1000:>9.1f}"
            f"{load.client_cpu_s / load.requests * 1000:>8.2f}"
            f"{load.p50_ms:>8.1f}{load.p95_ms:>8.1f}{load.p99_ms:>8.1f}  {goal}"
        )
    return all(load.errors == 0 for _, load, _ in rows)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: python benchmarks/load_api.py --experiments 10000 --seconds 10",
    )
    parser.add_argument(
        "--admin-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL URL allowed to create databases (default: %(default)s)",
    )
    parser.add_argument("--database", default="pagelab_bench_api", help="created and dropped")
    parser.add_argument(
        "--broker-url",
        default="redis://127.0.0.1:6379/14",
        help="a Redis database the benchmark may flush (default: %(default)s)",
    )
    parser.add_argument("--experiments", type=int, default=10_000, help="how many to seed")
    parser.add_argument(
        "--seconds", type=int, default=10, help="of load per scenario (default: %(default)s)"
    )
    parser.add_argument(
        "--variant-seconds",
        type=int,
        default=2,
        help="of load for each list variant alone; 0 skips them (default: %(default)s)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--api-workers", type=int, default=2, help="`pagelab api --workers` (default: %(default)s)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk_binary()
    broker = redis.Redis.from_url(args.broker_url)
    broker.flushdb()
    rows: list[tuple[str, Load, float | None]] = []
    with (
        tempfile.TemporaryDirectory(prefix="pagelab-bench-") as home,
        fresh_database(args.admin_url, args.database, args.keep) as database_url,
    ):
        settings = Settings(home=Path(home), database_url=database_url, broker_url=args.broker_url)
        upgrade_to_head(settings)
        started = time.perf_counter()
        seed(settings, args.experiments)
        analyze(database_url)
        print(f"seeded {args.experiments} experiments in {time.perf_counter() - started:.0f} s")
        script = Path(home) / "load_api.lua"
        script.write_text(WRK_SCRIPT)
        with running_api(settings, args.port or free_port(), args.api_workers) as server:

            def load(seconds: int, arguments: list[str]) -> Load:
                return run_wrk(
                    server,
                    script,
                    concurrency=args.concurrency,
                    seconds=seconds,
                    arguments=arguments,
                )

            # Each scenario warms up first (connections, statement caches, every process of
            # the API); the lists run before any submission, on the seeded experiments alone.
            load(2, list_arguments(LIST_QUERIES))
            rows.append(
                ("list", load(args.seconds, list_arguments(LIST_QUERIES)), LIST_GOAL_P95_MS)
            )
            if args.variant_seconds:
                for query in LIST_QUERIES:
                    variant = load(args.variant_seconds, list_arguments((query,)))
                    rows.append((f"  alone: {list_label(query)}", variant, None))
            load(2, submit_arguments(first_seed=10**6))
            submit = load(args.seconds, submit_arguments(first_seed=2 * 10**6))
            rows.append(("submit", submit, SUBMIT_GOAL_P95_MS))
    broker.flushdb()
    print(
        f"\n{args.experiments} experiments seeded; concurrency {args.concurrency} from wrk "
        f"({WRK_THREADS} thread); `pagelab api --workers {args.api_workers}`; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
