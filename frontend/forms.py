"""Form fields generated from the engine's JSON schemas (workload generators, the spec).

Each field knows the spec path or generator parameter it fills, its input kind, its
initial value and its schema default; static/app.js reads them back into a request body,
leaving out values equal to the default so the submitted JSON says only what was chosen.

In the spec's sections an object-valued field whose default is its own fields' defaults
(``policy.khugepaged``, ``policy.fault_cost``) gets inputs for its scalar fields, keyed by
dotted path (``khugepaged.pages_to_scan``): there an empty object means the default, so
app.js drops one the form left empty. Unions (a name or an object, such as
``machine.ageing``), lists and optional objects stay with the JSON editor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import pagelab
from pagelab.units import format_bytes

_WORDS = {
    "ns": "ns",
    "kib": "KiB",
    "thp": "THP",
    "pte": "PTE",
    "ptes": "PTEs",
    "llc": "LLC",
    "tlb": "TLB",
    "gb": "GB",
    "4k": "4K",
    "1g": "1G",
}


@dataclass(frozen=True)
class FormField:
    """One input. ``kind`` is integer, number, size (bytes as ``64M``), select or checkbox."""

    key: str
    label: str
    kind: str
    value: Any
    default: Any
    hint: str = ""
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[str, ...] = ()

    @property
    def value_text(self) -> str:
        if self.value is None:
            return ""
        if self.kind == "size" and isinstance(self.value, int):
            return format_bytes(self.value)
        return str(self.value)

    @property
    def default_json(self) -> str:
        """The default as app.js compares it: JSON of what the input would read back."""
        if self.kind == "size" and isinstance(self.default, int):
            return json.dumps(format_bytes(self.default))
        return json.dumps(self.default)


@dataclass(frozen=True)
class SweepChoice:
    value_json: str
    text: str
    checked: bool


@dataclass(frozen=True)
class SweepAxis:
    path: str
    label: str
    choices: tuple[SweepChoice, ...]


@cache
def spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = pagelab.Spec.model_json_schema()
    return schema


def schema_at(path: str, root: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schema of the field at dotted ``path`` of the spec; {} if there is none."""
    top = dict(root or spec_schema())
    definitions = top.get("$defs", {})
    node: dict[str, Any] = top
    for part in path.split("."):
        node = _concrete(node, definitions)
        node = node.get("properties", {}).get(part, {})
    return _concrete(node, definitions)


def label_for(key: str) -> str:
    """``epoch_accesses`` → ``Epoch accesses``; a ``_bytes`` suffix becomes the hint's unit."""
    words = [_WORDS.get(word, word) for word in key.removesuffix("_bytes").split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def field_for(key: str, schema: Mapping[str, Any], value: Any = None) -> FormField | None:
    """An input for one scalar schema property; None for objects and lists (JSON editor)."""
    definitions = schema.get("$defs", {})
    concrete = _concrete(dict(schema), definitions)
    kind = _kind(key, concrete)
    if kind is None:
        return None
    default = schema.get("default", concrete.get("default"))
    hint = str(schema.get("description", concrete.get("description", "")))
    if kind == "size":
        hint = (hint + " Write bytes or 64K, 2M, 1G.").strip()
    return FormField(
        key=key,
        label=label_for(key),
        kind=kind,
        value=default if value is None else value,
        default=default,
        hint=hint,
        minimum=concrete.get("minimum", concrete.get("exclusiveMinimum")),
        maximum=concrete.get("maximum", concrete.get("exclusiveMaximum")),
        options=tuple(str(option) for option in concrete.get("enum", ())),
    )


def object_fields(
    schema: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    skip: Sequence[str] = (),
    nested: bool = False,
) -> list[FormField]:
    """Inputs for an object schema's scalar properties, filled from ``values``.

    With ``nested``, also for the scalar properties of its defaulted objects (see the module
    docstring), keyed ``object.property``. ``skip`` names properties, or dotted paths to
    nested ones, to leave out (with everything under them).
    """
    definitions = schema.get("$defs", {})
    concrete = _concrete(dict(schema), definitions)
    fields = []
    for key, property_schema in concrete.get("properties", {}).items():
        if key in skip or "const" in property_schema:
            continue
        with_defs = {**property_schema, "$defs": definitions}
        value = values.get(key)
        field = field_for(key, with_defs, value)
        if field is not None:
            fields.append(field)
            continue
        inner = _defaulted_object(with_defs) if nested else None
        if inner is not None:
            inner_values = value if isinstance(value, Mapping) else {}
            for inner_field in object_fields(inner, inner_values, skip=_under(key, skip)):
                fields.append(replace(inner_field, key=f"{key}.{inner_field.key}"))
    return fields


@dataclass(frozen=True)
class FieldGroup:
    """The inputs of one object-valued field (``khugepaged``), shown together under its
    label and hint; each field's key is its dotted path from the section."""

    key: str
    label: str
    hint: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class EditorOnly:
    """A property the form has no input for (a list, a union or an optional object, such as
    a generator's ``events`` or ``policy.tiering``): the page names it, with its description,
    so that people know to set it in the JSON editor."""

    key: str
    hint: str


def editor_only_properties(
    schema: Mapping[str, Any],
    *,
    skip: Sequence[str] = (),
    nested: bool = False,
    every: bool = False,
) -> list[EditorOnly]:
    """The properties of an object schema that :func:`object_fields` leaves out (with the
    same ``skip`` and ``nested``), or with ``every`` all but those in ``skip``."""
    definitions = schema.get("$defs", {})
    concrete = _concrete(dict(schema), definitions)
    found = []
    for key, property_schema in concrete.get("properties", {}).items():
        if key in skip or "const" in property_schema:
            continue
        with_defs = {**property_schema, "$defs": definitions}
        if not every and field_for(key, with_defs) is not None:
            continue
        inner = _defaulted_object(with_defs) if nested and not every else None
        if inner is not None:
            found += [
                EditorOnly(f"{key}.{item.key}", item.hint)
                for item in editor_only_properties(inner, skip=_under(key, skip))
            ]
            continue
        hint = str(property_schema.get("description", ""))
        # A list of objects: what each item holds, since the schema is not on the page.
        items = _concrete(dict(with_defs), definitions).get("items", {})
        item = _concrete(dict(items), definitions)
        if item_keys := list(item.get("properties", {})):
            hint = f"{hint} A list of {{{', '.join(item_keys)}}}.".strip()
        found.append(EditorOnly(key, hint))
    return found


def _section_schema(section: str) -> dict[str, Any]:
    return {**schema_at(section), "$defs": spec_schema().get("$defs", {})}


def spec_section_fields(
    section: str, values: Mapping[str, Any], *, skip: Sequence[str] = ()
) -> list[FormField]:
    """Inputs for the scalar fields of one part of the spec (``policy``, ``controls``) and
    of its defaulted objects (keys ``khugepaged.pages_to_scan``)."""
    return object_fields(_section_schema(section), values, skip=skip, nested=True)


def spec_section_items(
    section: str, values: Mapping[str, Any], *, skip: Sequence[str] = ()
) -> list[FormField | FieldGroup]:
    """:func:`spec_section_fields` in schema order, a nested object's fields gathered into
    one :class:`FieldGroup` with the object's description as its hint."""
    items: list[FormField | FieldGroup] = []
    for field in spec_section_fields(section, values, skip=skip):
        parent = field.key.rpartition(".")[0]
        last = items[-1] if items else None
        if not parent:
            items.append(field)
        elif isinstance(last, FieldGroup) and last.key == parent:
            items[-1] = replace(last, fields=(*last.fields, field))
        else:
            hint = str(schema_at(f"{section}.{parent}").get("description", ""))
            items.append(FieldGroup(parent, label_for(parent), hint, (field,)))
    return items


def spec_section_editor_only(
    section: str, *, skip: Sequence[str] = (), every: bool = False
) -> list[EditorOnly]:
    """What of one part of the spec only the JSON editor sets (with ``every``: all of it
    but ``skip``), each with its description."""
    return editor_only_properties(_section_schema(section), skip=skip, nested=True, every=every)


def sweep_axis(path: str, chosen: Sequence[Any]) -> SweepAxis:
    """Checkboxes for a swept path: every value the schema allows, the chosen ones ticked."""
    schema = schema_at(path)
    if "enum" in schema:
        candidates: list[Any] = list(schema["enum"])
    elif schema.get("type") == "boolean":
        candidates = [True, False]
    else:
        candidates = list(chosen)
    candidates += [value for value in chosen if value not in candidates]
    return SweepAxis(
        path=path,
        label=label_for(path.rsplit(".", 1)[-1]),
        choices=tuple(
            SweepChoice(json.dumps(value), _choice_text(value), value in chosen)
            for value in candidates
        ),
    )


def _choice_text(value: Any) -> str:
    if isinstance(value, list):
        return " + ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _under(key: str, paths: Sequence[str]) -> list[str]:
    """The dotted ``paths`` inside property ``key``, relative to it."""
    return [path.removeprefix(f"{key}.") for path in paths if path.startswith(f"{key}.")]


def _defaulted_object(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The object schema (with ``$defs``) of a property whose default is an object of its
    own properties' defaults, which an empty object therefore equals; else None (a union,
    an optional object, one with required properties, or one defaulting to other values)."""
    definitions = schema.get("$defs", {})
    concrete = _concrete(dict(schema), definitions)
    properties = concrete.get("properties")
    default = schema.get("default", concrete.get("default"))
    if not properties or not isinstance(default, dict) or concrete.get("required"):
        return None
    for key, property_schema in properties.items():
        inner = _concrete(dict(property_schema), definitions)
        if "default" in inner and default.get(key, inner["default"]) != inner["default"]:
            return None
    return {**concrete, "$defs": definitions}


def _concrete(schema: dict[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` and drop the ``null`` branch of an optional field."""
    if "$ref" in schema:
        target = definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if len(branches) == 1:
        merged = {**schema, **_concrete(branches[0], definitions)}
        merged.pop("anyOf", None)
        return merged
    return schema


def _kind(key: str, schema: Mapping[str, Any]) -> str | None:
    if "enum" in schema:
        return "select"
    kind = schema.get("type")
    if kind == "integer" and key.endswith("_bytes"):
        return "size"
    if kind in {"integer", "number"}:
        return str(kind)
    if kind == "boolean":
        return "checkbox"
    return None
