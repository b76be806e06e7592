"""Catalogue responses: what the engine offers, with parameter schemas for forms."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Preset(BaseModel):
    name: str
    title: str
    source: str
    notes: str
    machine: dict[str, Any]


class Workload(BaseModel):
    name: str
    description: str
    # JSON Schema of the generator's parameters ("schema" would shadow a BaseModel method).
    parameters_schema: dict[str, Any] = Field(alias="schema")
