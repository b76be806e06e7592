"""Access-aware THP against ``thp: never`` and ``always``: for every ``access_aware`` run of a
sweep over ``policy.thp`` that also holds ``never`` and ``always``, the share of THP's bloat
it removes and the share of THP's speed-up it keeps, beside the damos_hugepage prototype's
80% and 46% (LSFMM 2026).

With ``n``, ``a`` and ``r`` the never, always and access-aware runs at the same other sweep
values: bloat removed = (resident(a) − resident(r)) / (resident(a) − resident(n)); speed-up
kept = (translation(n) − translation(r)) / (translation(n) − translation(a)), in %.
Translation time (TLB misses and walks) is the speed-up THP buys; a short run's estimated
runtime is dominated by clearing 2 MiB pages at fault, which a long-running benchmark
amortises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from frontend.figures.chart import Chart
from frontend.figures.grid import Axis, plot_text, point_description, value_key
from frontend.figures.layout import new_figure, run_color, trace
from frontend.figures.runs import RunView

THP_PATH = "policy.thp"
AWARE = "access_aware"
PROTOTYPE = (80.0, 46.0)  # damos_hugepage: bloat removed, speed-up kept (%)
PROTOTYPE_NAME = "damos_hugepage prototype (LSFMM 2026)"


@dataclass(frozen=True)
class AccessAwarePoint:
    """One access-aware run against its never and always runs, in %."""

    run: RunView
    bloat_removed: float
    speedup_kept: float


def access_aware_points(runs: Sequence[RunView], axes: Sequence[Axis]) -> list[AccessAwarePoint]:
    """Each access-aware run measured against the never and always runs that share its other
    sweep values (see the module); empty unless ``policy.thp`` is swept over all three."""
    thp = next((axis for axis in axes if axis.path == THP_PATH), None)
    if thp is None or not {"never", "always", AWARE} <= set(thp.values):
        return []
    others = [axis for axis in axes if axis is not thp]

    def elsewhere(run: RunView) -> tuple[str, ...]:
        return tuple(value_key(run.point.get(axis.path)) for axis in others)

    baselines: dict[tuple[str, tuple[str, ...]], RunView] = {}
    for run in runs:
        mode = run.point.get(THP_PATH)
        if mode in ("never", "always"):
            baselines.setdefault((mode, elsewhere(run)), run)
    points = []
    for run in runs:
        never = baselines.get(("never", elsewhere(run)))
        always = baselines.get(("always", elsewhere(run)))
        if run.point.get(THP_PATH) != AWARE or never is None or always is None:
            continue
        removed = _share(always, run, always, never, "resident_bytes")
        kept = _share(never, run, never, always, "translation_ns")
        if removed is not None and kept is not None:
            points.append(AccessAwarePoint(run, removed, kept))
    return points


def access_aware_chart(runs: Sequence[RunView], axes: Sequence[Axis]) -> Chart | None:
    """Bloat removed against speed-up kept, a marker per access-aware run and a star at the
    prototype's point; None when the sweep has no such comparison."""
    points = access_aware_points(runs, axes)
    if not points:
        return None
    figure = new_figure(
        height_px=380,
        xaxis={"title": {"text": "THP bloat removed (%)"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "THP speed-up kept, translation time (%)"}, "rangemode": "tozero"},
    )
    for index, point in enumerate(points):
        figure.add_trace(
            trace(
                "scatter",
                x=[point.bloat_removed],
                y=[point.speedup_kept],
                customdata=[[point_description(point.run, axes)]],
                mode="markers",
                cliponaxis=False,
                marker={"size": 12, "color": run_color(index)},
                name=plot_text(point.run.label),
                hovertemplate=(
                    "%{customdata[0]}<br>bloat removed %{x:.1f}%"
                    "<br>speed-up kept %{y:.1f}%<extra></extra>"
                ),
            )
        )
    figure.add_trace(
        trace(
            "scatter",
            x=[PROTOTYPE[0]],
            y=[PROTOTYPE[1]],
            mode="markers+text",
            text=["prototype"],
            textposition="top center",
            marker={"size": 16, "symbol": "star", "color": "#8c959f"},
            name=PROTOTYPE_NAME,
            hovertemplate=(
                f"{PROTOTYPE_NAME}<br>bloat removed %{{x:.0f}}%"
                "<br>speed-up kept %{y:.0f}%<extra></extra>"
            ),
        )
    )
    return Chart(
        "access-aware-thp", "Access-aware THP: bloat removed against speed-up kept", figure
    )


def _share(
    top: RunView, run: RunView, minuend: RunView, subtrahend: RunView, metric: str
) -> float | None:
    """(top − run) / (minuend − subtrahend) of ``metric``, in %; None if unreported or the
    baselines do not differ."""
    values = [r.summary_value(metric) for r in (top, run, minuend, subtrahend)]
    if any(value is None for value in values):
        return None
    top_value, run_value, minuend_value, subtrahend_value = (float(v or 0.0) for v in values)
    whole = minuend_value - subtrahend_value
    return 100.0 * (top_value - run_value) / whole if whole else None
