"""Catalogues of machine presets and workload generators, for the CLI, API and forms."""

from __future__ import annotations

import inspect
from typing import Any

from pagelab.presets import PRESETS
from pagelab.workloads import GENERATORS
from pagelab.workloads.spec import TraceSpec


def presets_catalog() -> list[dict[str, Any]]:
    """Every machine preset: name, title, where its figures come from, and the machine."""
    return [
        {
            "name": preset.name,
            "title": preset.title,
            "source": preset.source,
            "notes": preset.notes,
            "machine": preset.machine.model_dump(mode="json", exclude_none=True),
        }
        for preset in PRESETS.values()
    ]


def workloads_catalog() -> list[dict[str, Any]]:
    """Every workload generator, then the trace reader, with its parameters' JSON schema."""
    entries = [
        {
            "name": name,
            "kind": "generator",
            "description": inspect.cleandoc(spec_class.__doc__ or ""),
            "schema": spec_class.model_json_schema(),
        }
        for name, spec_class in GENERATORS.items()
    ]
    entries.append(
        {
            "name": "trace",
            "kind": "trace",
            "description": inspect.cleandoc(TraceSpec.__doc__ or ""),
            "schema": TraceSpec.model_json_schema(),
        }
    )
    return entries
