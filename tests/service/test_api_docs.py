"""The OpenAPI document: a submission's spec is described by the Spec's own schema, every
``$ref`` in it resolves, and describing the spec changed nothing the API accepts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

import pagelab

from .helpers import assert_problem

SECTIONS = {"workload", "machine", "policy", "controls"}


def _refs(node: Any) -> Iterator[str]:
    """Every reference in ``node``: ``$ref`` values and discriminator mappings' targets."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "mapping" and isinstance(value, dict):
                yield from (target for target in value.values() if isinstance(target, str))
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(root: dict[str, Any], ref: str) -> Any:
    """The target of a reference local to ``root`` (a JSON pointer after ``#``)."""
    assert ref.startswith("#/"), f"{ref} is not a reference into the document"
    node: Any = root
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and key in node, f"{ref} does not resolve"
        node = node[key]
    return node


def _inline(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """``node`` with every reference replaced by its target, so that two schemas compare
    equal whatever their definitions are called and wherever they are kept.

    Also as FastAPI writes its document: without null values (``"default": null``) and
    with numbers as floats (its bounds are floats; an int bound compares as one).
    """
    assert depth < 64, "a reference cycle"
    if isinstance(node, dict):
        if "$ref" in node:
            target = _inline(_resolve(root, node["$ref"]), root, depth + 1)
            siblings = {k: _inline(v, root, depth + 1) for k, v in node.items() if k != "$ref"}
            return {"$target": target, **siblings}
        return {
            key: (
                {name: _inline({"$ref": ref}, root, depth + 1) for name, ref in value.items()}
                if key == "mapping" and isinstance(value, dict)
                else _inline(value, root, depth + 1)
            )
            for key, value in node.items()
            if key != "$defs" and value is not None
        }
    if isinstance(node, list):
        return [_inline(item, root, depth + 1) for item in node]
    if isinstance(node, int) and not isinstance(node, bool):
        return float(node)
    return node


def test_a_submissions_spec_is_documented_by_the_spec_schema(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    body = document["paths"]["/api/v1/experiments"]["post"]["requestBody"]
    create = _resolve(document, body["content"]["application/json"]["schema"]["$ref"])
    field = create["properties"]["spec"]
    assert field["$ref"].startswith("#/components/schemas/")
    spec = _resolve(document, field["$ref"])
    assert spec["properties"].keys() >= SECTIONS
    assert spec["required"] == ["workload"]
    assert spec["additionalProperties"] is False
    # Its sections are components too, with their fields' enums, defaults and descriptions.
    policy = _resolve(document, spec["properties"]["policy"]["$ref"])
    assert policy["properties"]["base_page"]["enum"] == ["4K", "16K", "64K"]
    assert policy["properties"]["base_page"]["default"] == "4K"
    assert policy["properties"]["thp"]["description"]
    assert "$defs" not in spec
    # The same schema as pagelab.Spec's (and GET /api/v1/spec-schema's), every reference
    # followed.
    own = pagelab.Spec.model_json_schema()
    assert _inline(spec, document) == _inline(own, own)
    assert api.get("/api/v1/spec-schema").json() == own


def test_every_reference_in_the_openapi_document_resolves(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    refs = set(_refs(document))
    assert "#/components/schemas/Spec" in refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert isinstance(_resolve(document, ref), dict)


def test_submissions_are_still_checked_by_the_service_not_by_the_documented_schema(
    api: TestClient,
) -> None:
    generator = {"name": "uniform", "size_bytes": "1M", "accesses": 1000}
    # The documented schema requires a workload, but a sweep may set it: the spec is checked
    # once each point's values are set, as before.
    created = api.post(
        "/api/v1/experiments",
        json={
            "name": "sweep sets the workload",
            "spec": {},
            "sweep": {"workload.generator": [generator]},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["runs"][0]["spec"]["workload"]["generator"]["size_bytes"] == 1 << 20
    # A bad spec is the service's 422, naming the field; a spec that is no object, pydantic's.
    bad = api.post(
        "/api/v1/experiments",
        json={
            "name": "bad",
            "spec": {"workload": {"generator": generator}, "policy": {"base_page": "8K"}},
        },
    )
    problem = assert_problem(bad, 422, "spec.policy.base_page")
    assert problem["type"].endswith("invalid-spec")
    assert_problem(api.post("/api/v1/experiments", json={"name": "x", "spec": 3}), 422, "spec")
