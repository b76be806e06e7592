"""Form fields generated from the engine's JSON schemas."""

from __future__ import annotations

import json
from typing import Any

import pagelab
from frontend import forms


def _zipf_schema() -> dict[str, object]:
    entry = next(entry for entry in pagelab.workloads_catalog() if entry["name"] == "zipf")
    schema: dict[str, object] = entry["schema"]
    return schema


def test_generator_fields_follow_the_schema_types_and_defaults() -> None:
    fields = {field.key: field for field in forms.object_fields(_zipf_schema(), {"alpha": 1.2})}
    assert "name" not in fields  # the generator's name is its choice, not a field
    size = fields["size_bytes"]
    assert (size.kind, size.value_text, size.default_json) == ("size", "1G", '"1G"')
    assert size.label == "Size"
    assert (fields["alpha"].kind, fields["alpha"].value, fields["alpha"].default) == (
        "number",
        1.2,
        1.0,
    )
    assert fields["accesses"].kind == "integer" and fields["accesses"].minimum == 1
    assert fields["scatter"].kind == "checkbox"


def test_spec_sections_resolve_references_and_optional_fields() -> None:
    controls = {field.key: field for field in forms.spec_section_fields("controls", {"seed": 7})}
    assert controls["seed"].value == 7
    # ``access_limit: int | None``: an integer input that may stay empty.
    assert (controls["access_limit"].kind, controls["access_limit"].value_text) == ("integer", "")
    policy = forms.spec_section_fields("policy", {}, skip=["base_page"])
    thp = next(field for field in policy if field.key == "thp")
    assert thp.kind == "select"
    assert thp.options == ("never", "always", "madvise", "access_aware")
    assert "access_aware" in thp.hint
    assert all(field.key != "base_page" for field in policy)


def test_sweep_axes_offer_every_allowed_value_with_the_chosen_ones_ticked() -> None:
    axis = forms.sweep_axis("policy.base_page", ["4K", "64K"])
    assert [(json.loads(c.value_json), c.checked) for c in axis.choices] == [
        ("4K", True),
        ("16K", False),
        ("64K", True),
    ]
    deposit = forms.sweep_axis("policy.thp_deposit", [True, False])
    assert [choice.text for choice in deposit.choices] == ["on", "off"]
    sizes = forms.sweep_axis("policy.thp_sizes", [["2M"], ["2M", "1G"]])
    assert [choice.text for choice in sizes.choices] == ["2M", "2M + 1G"]


def test_lists_of_objects_get_no_input_but_are_named_for_the_json_editor() -> None:
    """A generator's ``events`` (a list of objects) has no form input: the page names it and
    what each item holds, and the form keeps the template's list (static/app.js)."""
    schema = _zipf_schema()
    assert all(field.key != "events" for field in forms.object_fields(schema, {}))
    (events,) = forms.editor_only_properties(schema)
    assert events.key == "events"
    assert events.hint.startswith("munmap, mprotect, MADV_DONTNEED and MADV_COLLAPSE")
    assert "{kind, at_access, vma, pid, offset_bytes, size_bytes}" in events.hint


def _properties_without_description(schema: dict[str, Any]) -> list[str]:
    """``Model.field`` for every property of the schema and its ``$defs`` that has none."""
    models = {"Spec": schema, **schema.get("$defs", {})}
    return [
        f"{model}.{key}"
        for model, model_schema in models.items()
        for key, property_schema in model_schema.get("properties", {}).items()
        if not property_schema.get("description")
    ]


def test_every_spec_field_has_a_description() -> None:
    """The form shows a field's description as its hint, and the spec schema
    (GET /api/v1/spec-schema) documents the field with it: every field of every part of the
    spec, nested models, generators and tiering policies included, has one."""
    for mode in ("validation", "serialization"):
        schema = pagelab.Spec.model_json_schema(mode=mode)
        assert _properties_without_description(schema) == [], mode
        undocumented = [
            name for name, model in schema["$defs"].items() if not model.get("description")
        ]
        assert undocumented == [], mode
