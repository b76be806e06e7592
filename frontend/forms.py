"""Form fields generated from the engine's JSON schemas (workload generators, the spec).

Each field knows the spec path or generator parameter it fills, its input kind, its
initial value and its schema default; static/app.js reads them back into a request body,
leaving out values equal to the default so the submitted JSON says only what was chosen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pagelab
from pagelab.units import format_bytes

_WORDS = {"ns": "ns", "kib": "KiB", "thp": "THP", "pte": "PTE", "llc": "LLC", "tlb": "TLB"}


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
    schema: Mapping[str, Any], values: Mapping[str, Any], *, skip: Sequence[str] = ()
) -> list[FormField]:
    """Inputs for an object schema's scalar properties, filled from ``values``."""
    definitions = schema.get("$defs", {})
    concrete = _concrete(dict(schema), definitions)
    fields = []
    for key, property_schema in concrete.get("properties", {}).items():
        if key in skip or "const" in property_schema:
            continue
        with_defs = {**property_schema, "$defs": definitions}
        field = field_for(key, with_defs, values.get(key))
        if field is not None:
            fields.append(field)
    return fields


@dataclass(frozen=True)
class EditorOnly:
    """A property the form has no input for (a list or an object, such as a generator's
    ``events``): the page names it so that people know to set it in the JSON editor."""

    key: str
    hint: str


def editor_only_properties(schema: Mapping[str, Any]) -> list[EditorOnly]:
    """The properties of an object schema that :func:`object_fields` leaves out."""
    definitions = schema.get("$defs", {})
    concrete = _concrete(dict(schema), definitions)
    found = []
    for key, property_schema in concrete.get("properties", {}).items():
        if "const" in property_schema:
            continue
        if field_for(key, {**property_schema, "$defs": definitions}) is not None:
            continue
        hint = str(property_schema.get("description", ""))
        # A list of objects: what each item holds, since the schema is not on the page.
        item = _concrete(dict(property_schema.get("items", {})), definitions)
        if item_keys := list(item.get("properties", {})):
            hint = f"{hint} A list of {{{', '.join(item_keys)}}}.".strip()
        found.append(EditorOnly(key, hint))
    return found


def spec_section_fields(
    section: str, values: Mapping[str, Any], *, skip: Sequence[str] = ()
) -> list[FormField]:
    """Inputs for the scalar fields of one part of the spec (``policy``, ``controls``)."""
    schema = {**schema_at(section), "$defs": spec_schema().get("$defs", {})}
    return object_fields(schema, values, skip=skip)


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
