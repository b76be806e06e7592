"""Form fields generated from the engine's JSON schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

import pagelab
from frontend import forms
from pagelab.spec import ControlsSpec, PolicySpec


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


def test_nested_objects_get_inputs_for_their_scalar_fields() -> None:
    """An object-valued field whose default is its own fields' defaults (khugepaged, the
    costs, thp_access_aware) gets an input per scalar field, keyed by dotted path, with its
    description as the hint; unions, lists, maps and optional objects stay with the editor."""
    fields = forms.spec_section_fields("policy", {"khugepaged": {"enabled": False}})
    by_key = {field.key: field for field in fields}
    enabled = by_key["khugepaged.enabled"]
    assert (enabled.kind, enabled.value, enabled.default, enabled.label) == (
        "checkbox",
        False,
        True,
        "Enabled",
    )
    scan = by_key["khugepaged.pages_to_scan"]
    assert (scan.kind, scan.value, scan.minimum) == ("integer", 4096, 512)
    assert "khugepaged/pages_to_scan" in scan.hint
    assert by_key["thp_access_aware.variant"].options == (
        "collapse_split",
        "collapse_only",
        "split_only",
    )
    for key in ("fault_cost.entry_ns", "compaction_cost.scan_ns_per_4k", "migration_cost.fixed_ns"):
        assert by_key[key].kind == "number" and by_key[key].hint
    assert not {"tiering", "thp_1g", "thp_deposit", "thp_sizes"} & set(by_key)
    assert not any(key.startswith(("tiering.", "thp_access_aware.goal")) for key in by_key)

    editor_only = {item.key: item.hint for item in forms.spec_section_editor_only("policy")}
    assert set(editor_only) == {
        "thp_sizes",
        "thp_1g",
        "thp_deposit",
        "fault_cost.zero_gb_per_s",
        "tiering",
        "thp_access_aware.goal",
    }
    assert all(editor_only.values())
    machine = forms.spec_section_editor_only("machine", skip=["preset"], every=True)
    assert [item.key for item in machine] == [
        "tlb",
        "walk_cache",
        "granules",
        "contiguous_pte",
        "pte_coalescing",
        "tiers",
        "llc",
        "cpu",
        "ageing",
    ]


def test_a_swept_nested_field_or_object_gets_no_input() -> None:
    fields = forms.spec_section_fields("policy", {}, skip=["thp_access_aware.variant"])
    keys = [field.key for field in fields]
    assert "thp_access_aware.variant" not in keys
    assert "thp_access_aware.collapse_min_accesses" in keys
    without = forms.spec_section_fields("policy", {}, skip=["khugepaged"])
    assert not any(field.key.startswith("khugepaged.") for field in without)


def test_nested_fields_are_grouped_under_their_object() -> None:
    items = forms.spec_section_items("policy", {})
    groups = {item.key: item for item in items if isinstance(item, forms.FieldGroup)}
    assert list(groups) == [
        "fault_cost",
        "compaction_cost",
        "migration_cost",
        "khugepaged",
        "thp_access_aware",
    ]
    khugepaged = groups["khugepaged"]
    assert khugepaged.label == "Khugepaged" and "/sys/kernel/mm/transparent_hugepage" in (
        khugepaged.hint
    )
    assert [field.key for field in khugepaged.fields] == [
        "khugepaged.enabled",
        "khugepaged.pages_to_scan",
        "khugepaged.scan_sleep_ms",
        "khugepaged.alloc_sleep_ms",
        "khugepaged.max_ptes_none",
    ]
    # Flat fields keep their place between the groups, in schema order.
    keys = [item.key for item in items]
    assert keys.index("superpageblocks") < keys.index("fault_cost") < keys.index("thp_split")


@pytest.mark.parametrize("section", ["policy", "controls"])
def test_an_object_the_form_edits_means_its_default_when_left_empty(section: str) -> None:
    """static/app.js drops a nested object whose inputs are all at their defaults, as it
    drops any field at its default: an empty object must be the field's default."""
    models = {"policy": PolicySpec, "controls": ControlsSpec}
    groups = [
        item.key
        for item in forms.spec_section_items(section, {})
        if isinstance(item, forms.FieldGroup)
    ]
    for key in groups:
        assert models[section].model_validate({key: {}}) == models[section](), key
