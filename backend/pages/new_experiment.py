"""The new-experiment page: templates the engine supports, and a form from its schemas."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

import pagelab
from backend.experiments import sweep
from backend.pages.html import PageError
from backend.traces import repository as trace_repository
from frontend import experiment_templates, forms
from frontend.experiment_templates import ExperimentTemplate

# Traces offered in the form's list; older ones are still usable through the JSON editor.
TRACE_CHOICES = 100


@dataclass(frozen=True)
class TemplateChoice:
    template: ExperimentTemplate
    spec: dict[str, Any] | None
    problem: str | None


def generator_catalog() -> list[dict[str, Any]]:
    """The engine's workload generators (its catalogue also lists the trace reader)."""
    return [entry for entry in pagelab.workloads_catalog() if entry.get("kind") == "generator"]


def _first_unsupported_point(
    spec: Mapping[str, Any], axes: Mapping[str, Sequence[Any]]
) -> str | None:
    """Why the engine would refuse some point of the sweep, or None if it takes them all."""
    for point in sweep.grid_points(axes):
        try:
            pagelab.load_spec(sweep.apply_point(spec, point))
        except (pagelab.SpecError, sweep.SweepPathError) as error:
            return str(error)
    return None


def template_choices() -> list[TemplateChoice]:
    generator_names = [entry["name"] for entry in generator_catalog()]
    preset_names = [entry["name"] for entry in pagelab.presets_catalog()]
    choices = []
    for template in experiment_templates.TEMPLATES:
        spec = experiment_templates.with_catalogues(
            template, generator_names=generator_names, preset_names=preset_names
        )
        if spec is None:
            choices.append(TemplateChoice(template, None, "no suitable workload generator yet"))
            continue
        problem = _first_unsupported_point(spec, template.sweep)
        choices.append(TemplateChoice(template, spec, problem))
    return choices


def _chosen_template(choices: list[TemplateChoice], key: str | None) -> TemplateChoice:
    """The template asked for (or the first the engine supports), or an error page."""
    if key is None:
        available = [choice for choice in choices if choice.problem is None]
        if not available:
            raise PageError(503, "the engine supports none of the experiment templates yet")
        return available[0]
    chosen = next((choice for choice in choices if choice.template.key == key), None)
    if chosen is None:
        keys = [choice.template.key for choice in choices]
        raise PageError(404, f"template: no template is called {key!r}; try one of {keys}")
    if chosen.problem is not None:
        raise PageError(409, f"template {key!r} is not supported yet: {chosen.problem}")
    return chosen


def _swept(template: ExperimentTemplate, section: str) -> list[str]:
    """The paths inside ``section`` that the template sweeps (the Sweep fieldset has them)."""
    prefix = f"{section}."
    return sorted(path.removeprefix(prefix) for path in template.sweep if path.startswith(prefix))


def _section_items(
    spec: Mapping[str, Any], template: ExperimentTemplate, section: str
) -> list[forms.FormField | forms.FieldGroup]:
    """Inputs for one part of the spec, except the fields the template sweeps."""
    values = spec.get(section, {})
    return forms.spec_section_items(section, values, skip=_swept(template, section))


def new_experiment_context(session: Session, *, template_key: str | None) -> dict[str, Any]:
    choices = template_choices()
    chosen = _chosen_template(choices, template_key)
    template, spec = chosen.template, chosen.spec
    assert spec is not None  # _chosen_template returns only supported templates
    generator = spec["workload"]["generator"]
    generators = [
        {
            "name": entry["name"],
            "description": entry.get("description", ""),
            "fields": forms.object_fields(
                entry["schema"], generator if entry["name"] == generator["name"] else {}
            ),
            "editor_only": forms.editor_only_properties(entry["schema"]),
        }
        for entry in generator_catalog()
    ]
    body = experiment_templates.request_body(template, spec)
    return {
        "choices": choices,
        "template": template,
        "generator_name": generator["name"],
        "generators": generators,
        "presets": pagelab.presets_catalog(),
        "preset_name": spec.get("machine", {}).get("preset", ""),
        "sweep_axes": [forms.sweep_axis(path, values) for path, values in template.sweep.items()],
        "policy_items": _section_items(spec, template, "policy"),
        "policy_editor_only": forms.spec_section_editor_only(
            "policy", skip=_swept(template, "policy")
        ),
        "control_items": _section_items(spec, template, "controls"),
        # The form picks the preset; the template's other machine fields are kept as they are.
        "machine_editor_only": forms.spec_section_editor_only(
            "machine", skip=["preset", *_swept(template, "machine")], every=True
        ),
        "traces": trace_repository.newest_first(session, limit=TRACE_CHOICES, offset=0),
        "trace_formats": forms.schema_at("workload.trace.format").get("enum", []),
        "base_request": body,
        "editor_text": json.dumps(body, indent=2),
    }
