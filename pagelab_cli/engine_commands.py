"""Engine commands: ``run`` a spec locally, list ``presets`` and ``workloads``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import pagelab

_SUMMARY_ROWS = (
    "accesses",
    "tlb_l1_misses",
    "tlb_l2_misses",
    "walks",
    "walk_cycles",
    "faults",
    "resident_bytes",
    "touched_bytes",
    "bloat_bytes",
    "page_table_bytes",
    "amat_ns",
    "est_runtime_ns",
)


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run one spec locally and print a summary",
        description="Simulate one experiment spec on this machine.",
        epilog="Example: pagelab run spec.json --out result.json\n"
        "Relative trace paths in the spec are read from the spec file's folder.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("spec", type=Path, help="spec JSON file")
    run.add_argument("--out", type=Path, help="write the whole result as JSON here")
    run.set_defaults(handler=_run)

    catalogues = (
        ("presets", "list the machine presets", "List machine presets with their sources.",
         _presets),
        ("workloads", "list the workload generators and trace formats",
         "List workload generators with their parameters.", _workloads),
    )  # fmt: skip
    for name, summary, description, handler in catalogues:
        catalogue = commands.add_parser(
            name, help=summary, description=description, epilog=f"Example: pagelab {name} --json"
        )
        catalogue.add_argument(
            "--json", action="store_true", help="print the full catalogue as JSON"
        )
        catalogue.set_defaults(handler=handler)


def _fail(message: str) -> int:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return 2


def _run(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.spec.read_text())
    except OSError as error:
        return _fail(f"cannot read {args.spec}: {error.strerror}")
    except json.JSONDecodeError as error:
        return _fail(f"{args.spec} is not JSON: {error.msg} at line {error.lineno}")
    if not isinstance(data, dict):
        return _fail(f"{args.spec} must hold a JSON object")
    try:
        spec = pagelab.load_spec(data)
    except pagelab.SpecError as error:
        return _fail(f"invalid spec {args.spec}: {error}")
    console = Console(stderr=True)
    # A relative trace path is read from the spec's folder; on their own machine users may
    # point anywhere.
    base_dir = args.spec.parent
    try:
        if console.is_terminal:
            result = _run_with_progress(spec, base_dir, console)
        else:
            result = pagelab.simulate(spec, base_dir=base_dir, confine_traces=False)
    except pagelab.PagelabError as error:
        return _fail(str(error))
    if args.out is not None:
        args.out.write_text(result.model_dump_json())
    _print_summary(result)
    return 0


def _run_with_progress(spec: pagelab.Spec, base_dir: Path, console: Console) -> pagelab.Result:
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} accesses"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=None, rate="")

        def report(done: pagelab.Progress) -> None:
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{done.accesses_done / elapsed / 1e6:.1f} M/s" if elapsed else ""
            progress.update(
                task, completed=done.accesses_done, total=done.accesses_total, rate=rate
            )

        return pagelab.simulate(spec, base_dir=base_dir, confine_traces=False, on_progress=report)


def _format(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def _print_summary(result: pagelab.Result) -> None:
    table = Table(title=f"pagelab {result.meta.engine_version} · spec {result.meta.spec_hash[:12]}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in _SUMMARY_ROWS:
        if name in result.summary:
            table.add_row(name, _format(result.summary[name]))
    table.add_row("sim_seconds", f"{result.meta.sim_seconds:.2f}")
    Console().print(table)


def _presets(args: argparse.Namespace) -> int:
    catalogue = pagelab.presets_catalog()
    if args.json:
        print(json.dumps(catalogue, indent=2))
        return 0
    table = Table(title="machine presets")
    table.add_column("name")
    table.add_column("machine")
    table.add_column("source", overflow="fold")
    for preset in catalogue:
        table.add_row(preset["name"], preset["title"], preset["source"])
    Console().print(table)
    return 0


def _workloads(args: argparse.Namespace) -> int:
    catalogue = pagelab.workloads_catalog()
    if args.json:
        print(json.dumps(catalogue, indent=2))
        return 0
    table = Table(title="workloads")
    table.add_column("name")
    table.add_column("parameters", overflow="fold")
    table.add_column("what it models", overflow="fold")
    for entry in catalogue:
        parameters = ", ".join(p for p in entry["schema"].get("properties", {}) if p != "name")
        table.add_row(entry["name"], parameters, entry["description"].split("\n")[0])
    Console().print(table)
    return 0
