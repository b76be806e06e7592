"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from backend.auth.models import ApiToken, BrowserSession
from backend.db import Base
from backend.experiments.models import Experiment, ExperimentTag
from backend.runs.models import Run, RunResult
from backend.shares.models import Share, ShareRun
from backend.traces.models import Trace

__all__ = [
    "ApiToken",
    "Base",
    "BrowserSession",
    "Experiment",
    "ExperimentTag",
    "Run",
    "RunResult",
    "Share",
    "ShareRun",
    "Trace",
]
