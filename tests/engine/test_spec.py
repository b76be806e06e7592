"""Specs: JSON round trip, stable hash, bounds and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

import pagelab
from pagelab.units import format_bytes, size_bytes

BASE: dict[str, Any] = {"workload": {"generator": {"name": "uniform", "size_bytes": "1G"}}}


def test_round_trip_and_hash_are_stable() -> None:
    spec = pagelab.load_spec({**BASE, "policy": {"base_page": "64K"}})
    again = pagelab.Spec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.spec_hash() == spec.spec_hash()
    # Defaults written out or left implicit are the same spec.
    explicit = pagelab.load_spec({**BASE, "machine": {"preset": "skylake"},
                                  "policy": {"base_page": "64K", "thp": "never"}})  # fmt: skip
    assert explicit.spec_hash() == spec.spec_hash()
    assert pagelab.load_spec(BASE).spec_hash() != spec.spec_hash()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"policy": {"base_page": "8K"}}, "policy.base_page"),
        ({"policy": {"colour": 1}}, "policy.colour"),
        ({"controls": {"epoch_accesses": 10}}, "controls.epoch_accesses"),
        ({"machine": {"preset": "pentium"}}, "machine.preset"),
        ({"policy": {"base_page": "64K", "base_page_mode": "native"}}, "policy.base_page_mode"),
        ({"policy": {"thp": "always", "thp_sizes": ["512M"]}}, "policy.thp_sizes"),
        ({"machine": {"tlb": {"levels": [{"name": "L1", "structures": [
            {"page_sizes": ["4K"], "entries": 48, "ways": 4}]}]}}}, "machine.tlb.levels.0"),
        ({"workload": {"generator": {"name": "uniform", "size_bytes": "1P"}}},
         "workload.generator.size_bytes"),
        # A field that takes a name or an object names what is wrong inside the object.
        ({"machine": {"ageing": "bogus"}}, "machine.ageing"),
        ({"machine": {"ageing": {"used_fraction": 0.01, "kernel_fraction": 0.2}}},
         "machine.ageing"),
        ({"machine": {"ageing": {"churn_rounds": 99}}}, "machine.ageing.churn_rounds"),
        ({"policy": {"thp_deposit": {"pmd": 3}}}, "policy.thp_deposit.pmd"),
        ({"policy": {"thp_1g": {"min_vma_bytes": "1M"}}}, "policy.thp_1g.min_vma_bytes"),
        ({"policy": {"thp_defrag": "sometimes"}}, "policy.thp_defrag"),
    ],
)  # fmt: skip
def test_bad_specs_name_the_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(pagelab.SpecError) as error:
        pagelab.load_spec({**BASE, **patch})
    assert error.value.field.startswith(field)
    assert "name" not in error.value.field.split(".")  # no union choice tag in the path


def test_sizes_parse_in_binary_units() -> None:
    assert size_bytes("64K") == 65536
    assert size_bytes("2MiB") == 2 << 20
    assert size_bytes("1G") == 1 << 30
    assert format_bytes(3 << 20) == "3M"
    with pytest.raises(ValueError):
        size_bytes("lots")


def test_presets_name_their_sources() -> None:
    presets = {p["name"]: p for p in pagelab.presets_catalog()}
    assert {"skylake", "zen4", "neoverse-n1"} <= set(presets)
    for preset in presets.values():
        assert preset["source"] and preset["machine"]["tlb"]["levels"]
    for entry in pagelab.workloads_catalog():
        assert entry["description"] and entry["schema"]["properties"]
