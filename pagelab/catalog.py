"""Catalogues of machine presets and workload generators, for the CLI, API and forms."""

from __future__ import annotations

from typing import Any


def presets_catalog() -> list[dict[str, Any]]:
    raise NotImplementedError  # lead engineer is writing this now


def workloads_catalog() -> list[dict[str, Any]]:
    raise NotImplementedError  # lead engineer is writing this now
