"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from backend.deps import QueueDep, SessionDep
from backend.problems import problem_response, problem_responses
from backend.queue import QueueUnavailable

router = APIRouter(tags=["health"])

BROKER_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    database: str
    broker: str


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses=problem_responses(503))
async def readyz(session: SessionDep, queue: QueueDep) -> Readiness | JSONResponse:
    """The database answers a query and the broker accepts a connection."""
    problems = []
    try:
        await run_in_threadpool(session.execute, text("SELECT 1"))
    except SQLAlchemyError as exc:
        problems.append(f"database: {type(exc).__name__}")
    try:
        await run_in_threadpool(queue.check, BROKER_TIMEOUT_S)
    except QueueUnavailable as exc:
        problems.append(f"broker: {exc}")
    if problems:
        return problem_response(503, "; ".join(problems), slug="not-ready", instance="/readyz")
    return Readiness(database="ok", broker="ok")
