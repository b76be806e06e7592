"""Catalogue routes: machine presets, workload generators and the spec's JSON schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

import pagelab
from backend.catalog.schemas import Preset, Workload

router = APIRouter(tags=["catalog"])


@router.get("/presets", response_model=list[Preset])
def list_presets() -> list[Preset]:
    """Machine presets (real CPUs and memory tiers) with their sources."""
    return [Preset.model_validate(preset) for preset in pagelab.presets_catalog()]


@router.get("/workloads", response_model=list[Workload])
def list_workloads() -> list[Workload]:
    """Workload generators with the JSON schema of their parameters."""
    return [Workload.model_validate(workload) for workload in pagelab.workloads_catalog()]


@router.get("/spec-schema", response_model=dict[str, Any])
def spec_schema() -> dict[str, Any]:
    """The JSON schema of a spec, as ``pagelab run`` and experiment submission take it."""
    return pagelab.Spec.model_json_schema()
