"""Whole runs through the public API: determinism, TLB reach, LRU equivalence on real traces."""

from __future__ import annotations

import functools
import json
import lzma
import shutil
import subprocess
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

import pagelab

LACKEY = Path(__file__).resolve().parents[2] / "examples" / "traces" / "ls-lackey.txt.xz"


def _spec(**parts: Any) -> pagelab.Spec:
    data: dict[str, Any] = {
        "workload": {"generator": {"name": "zipf", "size_bytes": "256M", "accesses": 300_000}},
        "controls": {"seed": 7, "epoch_accesses": 50_000},
    }
    data.update(parts)
    return pagelab.load_spec(data)


def test_same_spec_and_seed_give_the_same_result_apart_from_sim_seconds() -> None:
    spec = _spec(policy={"base_page": "64K", "thp": "always"})
    first = json.loads(pagelab.simulate(spec).model_dump_json())
    second = json.loads(pagelab.simulate(spec).model_dump_json())
    first["meta"].pop("sim_seconds")
    second["meta"].pop("sim_seconds")
    assert first == second
    other_seed = _spec(
        policy={"base_page": "64K", "thp": "always"},
        controls={"seed": 8, "epoch_accesses": 50_000},
    )
    assert pagelab.simulate(other_seed).summary != first["summary"]


def test_result_round_trips_through_json_and_series_has_a_row_per_epoch() -> None:
    result = pagelab.simulate(_spec())
    again = pagelab.Result.model_validate_json(result.model_dump_json())
    assert again == result
    assert result.meta.epochs == 6
    assert all(len(column) == 6 for column in result.series.values())
    assert result.series["accesses_end"][-1] == 300_000
    assert sum(result.series["tlb_l2_misses"]) == result.summary["tlb_l2_misses"]
    assert result.heatmap is not None
    assert sum(map(sum, result.heatmap.counts)) == 300_000


def test_64k_pages_cover_a_working_set_that_4k_pages_cannot() -> None:
    # 32 MiB of uniform accesses on Neoverse N1: 1280 L2 TLB entries reach 5 MiB with 4K
    # pages and 80 MiB with 64K pages.
    def run(base_page: str) -> dict[str, Any]:
        spec = pagelab.load_spec(
            {
                "workload": {"generator": {"name": "uniform", "size_bytes": "32M",
                                           "accesses": 400_000, "align_bytes": "1G"}},
                "machine": {"preset": "neoverse-n1"},
                "policy": {"base_page": base_page},
                "controls": {"epoch_accesses": 100_000},
            }
        )  # fmt: skip
        return pagelab.simulate(spec).series

    small, large = run("4K"), run("64K")
    warm_epochs = slice(1, None)
    small_ratio = sum(small["tlb_l2_misses"][warm_epochs]) / sum(small["accesses"][warm_epochs])
    large_misses = sum(large["tlb_l2_misses"][warm_epochs])
    assert small_ratio > 0.7
    assert large_misses < 0.001 * sum(large["accesses"][warm_epochs])


# Read once per trace (about half a second for the recorded one): the tests on a trace
# differ only in page size and TLB shape.
@functools.cache
def _lackey_data_addresses(trace: Path) -> tuple[int, ...]:
    addresses = []
    opener = lzma.open if trace.suffix == ".xz" else open
    with opener(trace, "rt") as lines:
        for line in lines:
            if line[:2] in (" L", " S", " M"):
                addresses.append(int(line[3:].split(",")[0], 16))
    return tuple(addresses)


def _lackey_data_pages(trace: Path, page_shift: int) -> list[int]:
    return [address >> page_shift for address in _lackey_data_addresses(trace)]


def _two_level_lru_misses(pages: list[int], l1: tuple[int, int], l2: tuple[int, int]):
    """An independent two-level LRU cache whose line is one page: (L1 misses, L2 misses)."""

    def make(entries: int, ways: int) -> list[OrderedDict[int, None]]:
        return [OrderedDict() for _ in range(entries // ways)]

    levels = [(make(*l1), l1[1]), (make(*l2), l2[1])]
    misses = [0, 0]

    def hit(level: int, page: int) -> bool:
        sets, _ = levels[level]
        lines = sets[page % len(sets)]
        if page in lines:
            lines.move_to_end(page)
            return True
        return False

    def fill(level: int, page: int) -> None:
        sets, ways = levels[level]
        lines = sets[page % len(sets)]
        lines[page] = None
        if len(lines) > ways:
            lines.popitem(last=False)

    for page in pages:
        if hit(0, page):
            continue
        misses[0] += 1
        if not hit(1, page):
            misses[1] += 1
            fill(1, page)
        fill(0, page)
    return tuple(misses)


def _explicit_tlb_spec(
    trace: Path, l1: tuple[int, int], l2: tuple[int, int], base_page: str
) -> pagelab.Spec:
    tlb = {
        "levels": [
            {"name": "L1", "structures": [{"page_sizes": [base_page], "entries": l1[0],
                                           "ways": l1[1]}]},
            {"name": "L2", "structures": [{"page_sizes": [base_page, "2M"], "entries": l2[0],
                                           "ways": l2[1]}]},
        ]
    }  # fmt: skip
    return pagelab.load_spec(
        {
            "workload": {"trace": {"path": trace.name, "format": "lackey"}},
            "machine": {"preset": "neoverse-n1", "tlb": tlb},
            "policy": {"base_page": base_page, "thp": "never"},
            "controls": {"seed": 1, "epoch_accesses": 10_000},
        }
    )


def _assert_misses_equal_lru(
    trace: Path, l1: tuple[int, int], l2: tuple[int, int], base_page: str
) -> None:
    result = pagelab.simulate(_explicit_tlb_spec(trace, l1, l2, base_page), base_dir=trace.parent)
    page_shift = {"4K": 12, "16K": 14, "64K": 16}[base_page]
    expected = _two_level_lru_misses(_lackey_data_pages(trace, page_shift), l1, l2)
    assert (result.summary["tlb_l1_misses"], result.summary["tlb_l2_misses"]) == expected
    assert expected[1] > 0


@pytest.mark.parametrize(
    ("l1", "l2", "base_page"),
    [((64, 4), (1536, 12), "4K"), ((4, 1), (16, 4), "4K"), ((2, 2), (8, 2), "4K"),
     ((8, 8), (32, 4), "4K"), ((16, 4), (64, 16), "64K"), ((4, 4), (16, 16), "16K")],
)  # fmt: skip
def test_tlb_misses_equal_a_two_level_lru_cache_on_a_real_lackey_trace(
    l1: tuple[int, int], l2: tuple[int, int], base_page: str
) -> None:
    _assert_misses_equal_lru(LACKEY, l1, l2, base_page)


@pytest.fixture(scope="module")
def sort_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lackey trace of another real program, recorded now: ``sort -n`` over 500 numbers."""
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("lackey")
    numbers = folder / "numbers.txt"
    numbers.write_text("".join(f"{(n * 7919) % 1000}\n" for n in range(500)))
    trace = folder / "sort-lackey.txt"
    subprocess.run(
        ["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-file={trace}",
         "sort", "-n", str(numbers)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return trace


# Slow (valgrind records for seconds, and the trace is 25 MB): the LRU equivalence is checked
# in the fast set on the shipped lackey trace above; this adds the output of the valgrind installed.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("l1", "l2", "base_page"),
    [((64, 4), (1536, 12), "4K"), ((4, 1), (16, 4), "4K"), ((16, 4), (64, 16), "64K")],
)
def test_tlb_misses_equal_a_two_level_lru_cache_on_a_freshly_recorded_trace(
    sort_trace: Path, l1: tuple[int, int], l2: tuple[int, int], base_page: str
) -> None:
    _assert_misses_equal_lru(sort_trace, l1, l2, base_page)


def test_issue_example_specs_run(tmp_path: Path) -> None:
    spec = pagelab.load_spec(
        {
            "workload": {"trace": {"path": "ls-lackey.txt.xz", "format": "lackey"}},
            "machine": {"preset": "skylake"},
            "policy": {"base_page": "4K", "thp": "never"},
            "controls": {"seed": 1, "epoch_accesses": 100000},
        }
    )
    result = pagelab.simulate(spec, base_dir=LACKEY.parent)
    assert result.summary["accesses"] > 70_000
    assert result.summary["tlb_l1_misses"] >= result.summary["tlb_l2_misses"] > 0


def test_cancel_between_chunks_and_progress_reports() -> None:
    spec = _spec(workload={"generator": {"name": "uniform", "size_bytes": "64M",
                                         "accesses": 3_000_000}})  # fmt: skip
    seen: list[pagelab.Progress] = []
    pagelab.simulate(spec, on_progress=seen.append)
    assert seen[-1] == pagelab.Progress(accesses_done=3_000_000, accesses_total=3_000_000)
    assert [p.accesses_done for p in seen] == sorted(p.accesses_done for p in seen)
    with pytest.raises(pagelab.Cancelled):
        pagelab.simulate(spec, should_cancel=lambda: len(seen) > 0)


def test_access_limit_cuts_a_run() -> None:
    spec = _spec(controls={"access_limit": 12_345, "epoch_accesses": 5_000})
    result = pagelab.simulate(spec)
    assert result.meta.accesses == 12_345
    assert result.series["accesses"] == [5_000, 5_000, 2_345]
