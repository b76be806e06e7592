"""Experiment templates: every point of every template's sweep is a spec the engine takes,
and the split-strategies template asks its question of the engine: what a full and a
pmd_first split of a 1 GiB THP leave behind."""

from __future__ import annotations

from typing import Any

import pytest

import pagelab
from backend.experiments import sweep
from frontend.chart_sets import overlay_charts, sweep_overview
from frontend.experiment_templates import TEMPLATES, ExperimentTemplate, with_catalogues
from frontend.figures import RunView
from pagelab.simulate import check_spec

GIB = 1 << 30
TABLE_BYTES = 4096


def _template(key: str) -> ExperimentTemplate:
    return next(template for template in TEMPLATES if template.key == key)


def _base_spec(template: ExperimentTemplate) -> dict[str, Any]:
    generators = [entry["name"] for entry in pagelab.workloads_catalog()]
    presets = [entry["name"] for entry in pagelab.presets_catalog()]
    spec = with_catalogues(template, generator_names=generators, preset_names=presets)
    assert spec is not None, f"{template.key}: the engine has none of its generators"
    return spec


def _point_specs(template: ExperimentTemplate) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each sweep point with its spec, expanded as the service expands a submission."""
    base = _base_spec(template)
    return [(point, sweep.apply_point(base, point)) for point in sweep.grid_points(template.sweep)]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template.key)
def test_every_point_of_every_template_is_a_spec_the_engine_takes(
    template: ExperimentTemplate,
) -> None:
    for _, spec in _point_specs(template):
        pagelab.load_spec(spec)


def test_split_template_sweeps_the_strategy_by_the_deposit_after_one_madvise() -> None:
    template = _template("thp-split")
    points = _point_specs(template)
    assert [point for point, _ in points] == [
        {"policy.thp_split": "full", "policy.thp_deposit": True},
        {"policy.thp_split": "full", "policy.thp_deposit": False},
        {"policy.thp_split": "pmd_first", "policy.thp_deposit": True},
        {"policy.thp_split": "pmd_first", "policy.thp_deposit": False},
    ]
    for point, document in points:
        spec = pagelab.load_spec(document)
        assert spec.policy.thp_split == point["policy.thp_split"]
        assert spec.policy.thp == "always" and "1G" in spec.policy.thp_sizes
        generator = spec.workload.generator
        assert generator is not None and generator.align_bytes == GIB
        (event,) = generator.events
        # Inside the second of four 1 GiB THPs, halfway through the run.
        assert (event.kind, event.offset_bytes, event.size_bytes) == (
            "madvise_dontneed",
            GIB,
            64 << 10,
        )
        assert event.at_access == generator.accesses // 2
        # The event lands in the generator's VMA (checked against the laid-out workload).
        check_spec(spec)


@pytest.fixture(scope="module")
def runs_with_deposit() -> list[RunView]:
    """The template's two deposit-on points run by the engine, as the experiment page sees
    them."""
    runs = []
    for number, (point, spec) in enumerate(_point_specs(_template("thp-split")), start=1):
        if point["policy.thp_deposit"]:
            result = pagelab.simulate(pagelab.load_spec(spec))
            label = point["policy.thp_split"]
            runs.append(RunView(label, result, point, number=f"#{number}"))
    return runs


def test_split_template_runs_show_what_each_strategy_leaves(
    runs_with_deposit: list[RunView],
) -> None:
    """Hand-worked with 4 KiB pages: four 1 GiB THPs, each depositing a PMD table and 512
    PTE tables; MADV_DONTNEED of 64 KiB inside the second. ``full`` maps all of it with
    PTEs and its 513 deposited tables become live; ``pmd_first`` maps it with 512 PMDs, one
    of them split to PTEs with one table from the deposit, leaving 511 deposited. Dropped
    pages an access touches again fault back in as 4 KiB pages, so PTE counts lie between
    the count left by the cut and that plus its 16 pages."""
    full, pmd_first = (run.metrics for run in runs_with_deposit)
    assert (full["live_mappings_pud"], full["live_mappings_pmd"]) == (3, 0)
    assert 262_144 - 16 <= full["live_mappings_pte"] <= 262_144
    assert full["page_table_deposit_bytes"] == 3 * 513 * TABLE_BYTES
    assert (pmd_first["live_mappings_pud"], pmd_first["live_mappings_pmd"]) == (3, 511)
    assert 512 - 16 <= pmd_first["live_mappings_pte"] <= 512
    assert pmd_first["page_table_deposit_bytes"] == (3 * 513 + 511) * TABLE_BYTES
    assert full["thp_splits_1g"] == pmd_first["thp_splits_1g"] == 1
    assert (full["thp_splits_2m"], pmd_first["thp_splits_2m"]) == (0, 1)
    assert full["events_madvise_dontneed"] == pmd_first["events_madvise_dontneed"] == 1
    # The pmd_first THP's 2 MiB pieces are still resident, reported by size.
    assert pmd_first["resident_bytes_2m"] == 511 * (2 << 20)
    assert full["resident_bytes"] == pmd_first["resident_bytes"]
    # 262,144 PTEs miss the TLB where 511 PMDs and a few hundred PTEs do not.
    assert full["tlb_l2_misses"] > 10 * pmd_first["tlb_l2_misses"]


def test_split_template_experiment_page_draws_the_leftovers_and_per_epoch_mappings(
    runs_with_deposit: list[RunView],
) -> None:
    runs = runs_with_deposit
    overview = sweep_overview(runs, declared={"policy.thp_split": ["full", "pmd_first"]})
    splits = next(chart for chart in overview.charts if chart.key == "splits")
    pte = next(trace for trace in splits.figure.data if trace.name == "PTE")
    assert [value for _, value in pte.customdata] == [
        run.metrics["live_mappings_pte"] for run in runs
    ]
    charts, _ = overlay_charts(runs, overview.axes)
    mappings = next(chart for chart in charts if chart.key == "series-mappings")
    full_pte = next(trace for trace in mappings.figure.data if trace.visible)
    # Epochs of 100,000 accesses: no PTE until the split before access 500,000, then the
    # whole 1 GiB in PTEs.
    assert [value for value, _ in full_pte.customdata][:5] == [0] * 5
    assert full_pte.customdata[5][0] >= 262_144 - 16
    assert {"series-splits", "series-tlb"} <= {chart.key for chart in charts}
