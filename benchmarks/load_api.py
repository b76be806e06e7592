"""API load benchmark: list and submit latency at concurrency 16 on PostgreSQL and Redis.

Seeds a fresh PostgreSQL database with experiments through the service layer (the same
functions the API and the workers call, with real simulations for the results), starts the
API with `pagelab api`, and drives it over loopback from an asyncio + httpx client with a
bounded number of requests. Reports latency percentiles per scenario against the goals
(list p95 < 50 ms, submit p95 < 100 ms), and the CPU time the API and the client spent per
request. No worker runs, so submitted runs stay queued; at the end the database is dropped
(unless --keep) and the Redis database flushed.

    make bench-api            # or: .venv/bin/python benchmarks/load_api.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import pagelab
from backend.db import make_engine, make_session_factory
from backend.experiments import service as experiment_service
from backend.experiments.schemas import ExperimentCreate
from backend.runs import service as run_service
from backend.schema import upgrade_to_head
from backend.settings import Settings

LIST_GOAL_P95_MS = 50.0
SUBMIT_GOAL_P95_MS = 100.0

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


@dataclass(frozen=True)
class Sample:
    scenario: str
    variant: str
    latency_s: float
    status_code: int


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


@dataclass(frozen=True)
class Request:
    scenario: str
    variant: str
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None


def list_requests(count: int) -> list[Request]:
    return [
        Request(
            "list",
            "&".join(f"{key}={value}" for key, value in query.items()) or "newest",
            "GET",
            "/api/v1/experiments",
            params=query,
        )
        for query in (LIST_QUERIES[index % len(LIST_QUERIES)] for index in range(count))
    ]


def submit_requests(count: int, first_seed: int) -> list[Request]:
    return [
        Request(
            "submit",
            "single run",
            "POST",
            "/api/v1/experiments",
            json={
                "name": f"load test {index}",
                "tags": ["load"],
                # A new seed each time: a repeated spec would reuse a result, not queue a run.
                "spec": _spec(WORKLOADS[0], "4K", seed=first_seed + index),
            },
        )
        for index in range(count)
    ]


async def drive(base_url: str, requests: list[Request], concurrency: int) -> list[Sample]:
    """Send every request once, `concurrency` at a time, and time each one."""
    pending = iter(requests)
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        # One shared iterator: the loops together send each request exactly once.
        for request in pending:
            started = time.perf_counter()
            response = await client.request(
                request.method, request.path, params=request.params, json=request.json
            )
            latency_s = time.perf_counter() - started
            samples.append(
                Sample(request.scenario, request.variant, latency_s, response.status_code)
            )

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return samples


# --- report -----------------------------------------------------------------------------


def percentile_ms(latencies_s: list[float], percent: int) -> float:
    return statistics.quantiles(latencies_s, n=100, method="inclusive")[percent - 1] * 1000


@dataclass(frozen=True)
class Totals:
    """What one scenario cost as a whole."""

    duration_s: float
    api_cpu_s: float
    # The load client shares the machine's cores with the API: what it takes is shown too.
    client_cpu_s: float


def report(samples: list[Sample], totals: dict[str, Totals]) -> bool:
    """Print one line per scenario and per list variant; True if every request succeeded."""
    print(
        f"{'scenario':<30}{'requests':>9}{'errors':>7}{'req/s':>7}{'API CPU':>9}{'client':>8}"
        f"{'p50':>8}{'p95':>8}{'p99':>8}  goal"
    )
    print(f"{'':<53}{'ms/req':>9}{'ms/req':>8}{'ms':>8}{'ms':>8}{'ms':>8}")
    for scenario, goal_ms in (("list", LIST_GOAL_P95_MS), ("submit", SUBMIT_GOAL_P95_MS)):
        chosen = [sample for sample in samples if sample.scenario == scenario]
        print(_row(scenario, chosen, totals[scenario], goal_ms))
        if scenario == "list":
            for variant in dict.fromkeys(sample.variant for sample in chosen):
                print(_row(f"  {variant}", [s for s in chosen if s.variant == variant]))
    return all(sample.status_code < 400 for sample in samples)


def _row(
    label: str, samples: list[Sample], totals: Totals | None = None, goal_ms: float | None = None
) -> str:
    latencies = [sample.latency_s for sample in samples]
    errors = sum(1 for sample in samples if sample.status_code >= 400)
    p95_ms = percentile_ms(latencies, 95)
    rate_and_cpu = " " * 24
    if totals is not None:
        rate_per_s = len(samples) / totals.duration_s
        api_cpu_ms = totals.api_cpu_s / len(samples) * 1000
        client_cpu_ms = totals.client_cpu_s / len(samples) * 1000
        rate_and_cpu = f"{rate_per_s:7.0f}{api_cpu_ms:9.1f}{client_cpu_ms:8.1f}"
    goal = ""
    if goal_ms is not None:
        goal = f"p95 < {goal_ms:.0f} ms: {'met' if p95_ms < goal_ms else 'MISSED'}"
    return (
        f"{label:<30}{len(samples):>9}{errors:>7}{rate_and_cpu}"
        f"{percentile_ms(latencies, 50):>8.1f}{p95_ms:>8.1f}{percentile_ms(latencies, 99):>8.1f}"
        f"  {goal}"
    )


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: python benchmarks/load_api.py --experiments 10000 --requests 2000",
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
    parser.add_argument("--requests", type=int, default=2_000, help="per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--api-workers", type=int, default=1, help="`pagelab api --workers`")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    broker = redis.Redis.from_url(args.broker_url)
    broker.flushdb()
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
        with running_api(settings, args.port or free_port(), args.api_workers) as server:
            warm_up = list_requests(len(LIST_QUERIES) * 5) + submit_requests(20, first_seed=10**6)
            asyncio.run(drive(server.base_url, warm_up, args.concurrency))
            samples: list[Sample] = []
            totals: dict[str, Totals] = {}
            for scenario, requests in (
                ("list", list_requests(args.requests)),
                ("submit", submit_requests(args.requests, first_seed=2 * 10**6)),
            ):
                before = (time.perf_counter(), server.cpu_s(), time.process_time())
                samples += asyncio.run(drive(server.base_url, requests, args.concurrency))
                totals[scenario] = Totals(
                    duration_s=time.perf_counter() - before[0],
                    api_cpu_s=server.cpu_s() - before[1],
                    client_cpu_s=time.process_time() - before[2],
                )
    broker.flushdb()
    print(
        f"\n{args.experiments} experiments seeded; concurrency {args.concurrency}; "
        f"`pagelab api --workers {args.api_workers}`; load average {os.getloadavg()[0]:.1f}"
    )
    return 0 if report(samples, totals) else 1


if __name__ == "__main__":
    sys.exit(main())
