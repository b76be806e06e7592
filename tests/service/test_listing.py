"""The experiment list: filters, sorts and keyset pagination; cancel, re-run, delete."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from pagelab.workloads import GENERATORS

from .helpers import assert_problem, tiny_spec


def _create(api: TestClient, name: str, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/experiments", json={"name": name, "spec": tiny_spec(), **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _names(api: TestClient, **params: Any) -> list[str]:
    response = api.get("/api/v1/experiments", params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_filters_sorts_and_cursor_pages(api: TestClient) -> None:
    alpha = _create(api, "alpha tiering", tags=["tiering"], description="DRAM and CXL")
    _create(api, "beta 64K", tags=["64k", "pages"], sweep={"policy.base_page": ["4K", "64K"]})
    gamma = _create(api, "gamma 1G THP", tags=["thp"], description="100% of 1G_pages")
    _create(api, "delta", tags=["pages"])
    api.post(f"/api/v1/experiments/{gamma['id']}/cancel")

    assert _names(api) == ["delta", "gamma 1G THP", "beta 64K", "alpha tiering"]
    assert _names(api, sort="name") == ["alpha tiering", "beta 64K", "delta", "gamma 1G THP"]
    assert _names(api, tag="pages") == ["delta", "beta 64K"]
    assert _names(api, kind="sweep") == ["beta 64K"]
    assert _names(api, status="cancelled") == ["gamma 1G THP"]
    assert _names(api, status=["cancelled", "queued"], tag="tiering") == ["alpha tiering"]
    assert _names(api, q="cxl") == ["alpha tiering"]
    assert _names(api, q="100%") == ["gamma 1G THP"]  # LIKE wildcards are literal
    assert _names(api, q="1G_p") == ["gamma 1G THP"]
    assert _names(api, q="D%L") == []  # would match "DRAM and CXL" as a wildcard

    counts = {
        item["name"]: item["run_counts"] for item in api.get("/api/v1/experiments").json()["items"]
    }
    assert counts["beta 64K"] == {"queued": 2} and counts["gamma 1G THP"] == {"cancelled": 1}

    for sort in ("-created_at", "created_at", "name", "-name"):
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = api.get("/api/v1/experiments", params=params).json()
            seen += [item["name"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == _names(api, sort=sort), sort
        assert len(seen) == 4
    first_page = api.get("/api/v1/experiments", params={"sort": "name", "limit": 1}).json()
    assert_problem(api.get("/api/v1/experiments", params={"cursor": first_page["next_cursor"]}),
                   422, "cursor")  # fmt: skip

    # Cancelled runs can be run again; an active experiment cannot be deleted.
    rerun = api.post(f"/api/v1/experiments/{gamma['id']}/rerun").json()
    assert rerun["status"] == "queued" and rerun["runs"][0]["status"] == "queued"
    assert_problem(api.post(f"/api/v1/experiments/{gamma['id']}/rerun"), 409)
    assert_problem(api.delete(f"/api/v1/experiments/{alpha['id']}"), 409)
    api.post(f"/api/v1/experiments/{alpha['id']}/cancel")
    assert_problem(api.post(f"/api/v1/experiments/{alpha['id']}/cancel"), 409)
    assert api.delete(f"/api/v1/experiments/{alpha['id']}").status_code == 204
    assert_problem(api.get(f"/api/v1/experiments/{alpha['id']}"), 404)
    assert_problem(api.get(f"/api/v1/runs/{alpha['runs'][0]['id']}"), 404)


def test_catalogues_and_probes(api: TestClient) -> None:
    presets = api.get("/api/v1/presets").json()
    assert presets and {"name", "title", "source", "machine"} <= presets[0].keys()
    workloads = api.get("/api/v1/workloads").json()
    assert "uniform" in {w["name"] for w in workloads}
    assert all(w["schema"]["type"] == "object" for w in workloads)
    assert "workload" in api.get("/api/v1/spec-schema").json()["properties"]
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"database": "ok", "broker": "ok"}


def test_every_generator_a_spec_accepts_is_registered_and_in_the_catalogue(
    api: TestClient,
) -> None:
    # The names a spec accepts, as the spec's own schema gives them (its discriminator).
    schema = api.get("/api/v1/spec-schema").json()
    generator = schema["$defs"]["WorkloadSpec"]["properties"]["generator"]["anyOf"][0]
    accepted = set(generator["discriminator"]["mapping"])
    assert accepted == set(GENERATORS)
    workloads = api.get("/api/v1/workloads").json()
    assert {w["name"] for w in workloads} == accepted | {"trace"}
