"""Resolve a MachineSpec against its preset into a complete machine description."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pagelab.errors import SpecError
from pagelab.memory.ageing import AgeingSpec, resolve_ageing
from pagelab.presets import PRESETS, TIER_PRESETS
from pagelab.spec import (
    CpuSpec,
    Granule,
    LlcSpec,
    LoadedLatencySpec,
    MachineSpec,
    TierSpec,
    TlbSpec,
    WalkCacheSpec,
)
from pagelab.units import PAGE_SIZES

_T = TypeVar("_T")


def _pick(own: _T | None, preset_value: _T | None) -> _T:
    value = own if own is not None else preset_value
    assert value is not None, "every preset fills every field"
    return value


@dataclass(frozen=True)
class Tier:
    """A memory tier with every figure filled in."""

    name: str
    capacity_bytes: int
    idle_latency_ns: float
    bandwidth_gbps: float
    loaded_latency: LoadedLatencySpec

    @property
    def metric_name(self) -> str:
        """The name as it appears in metric names (``fast_tier`` → ``…_fast_tier``)."""
        return metric_name(self.name)

    def latency_ns(self, utilisation: float) -> float:
        """Latency at ``utilisation`` = demanded bandwidth / ``bandwidth_gbps``."""
        curve = self.loaded_latency
        if utilisation >= curve.u_sat:
            return self.idle_latency_ns * curve.saturated_factor
        return self.idle_latency_ns * (1.0 + curve.c_frac * utilisation / (1.0 - utilisation))


def metric_name(name: str) -> str:
    """A user's name (a TLB level, a tier) made safe inside a metric name."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower())


def resolve_tier(spec: TierSpec, index: int) -> Tier:
    """Fill the fields ``spec`` leaves out from its tier preset (defaults: 1 TiB capacity,
    the default loaded-latency curve)."""
    base: TierSpec | None = None
    if spec.preset is not None:
        preset = TIER_PRESETS.get(spec.preset)
        if preset is None:
            known = ", ".join(sorted(TIER_PRESETS))
            raise SpecError(
                f"unknown tier preset {spec.preset!r}; known: {known}",
                field=f"machine.tiers.{index}.preset",
            )
        base = preset.tier

    def pick(field: str) -> Any:
        own = getattr(spec, field)
        return getattr(base, field) if own is None and base is not None else own

    capacity = pick("capacity_bytes")
    curve = pick("loaded_latency")
    return Tier(
        name=spec.name,
        capacity_bytes=int(capacity) if capacity is not None else 1 << 40,
        idle_latency_ns=float(pick("idle_latency_ns")),
        bandwidth_gbps=float(pick("bandwidth_gbps")),
        loaded_latency=curve if curve is not None else LoadedLatencySpec(),
    )


def _resolve_tiers(specs: list[TierSpec]) -> tuple[Tier, ...]:
    tiers = tuple(resolve_tier(spec, index) for index, spec in enumerate(specs))
    names = [tier.metric_name for tier in tiers]
    if len(set(names)) != len(names):
        raise SpecError(
            f"tier names must differ (as metric names: {', '.join(names)})",
            field="machine.tiers",
        )
    for index, name in enumerate(names):
        # ``resident_bytes_<tier>`` sits beside ``resident_bytes_<page size>``.
        if name.upper() in PAGE_SIZES:
            raise SpecError(
                f"tier name {tiers[index].name!r} reads as a page size; choose another",
                field=f"machine.tiers.{index}.name",
            )
    return tiers


@dataclass(frozen=True)
class Machine:
    """A machine with every field filled in."""

    preset: str
    tlb: TlbSpec
    walk_cache: WalkCacheSpec
    granules: tuple[Granule, ...]
    contiguous_pte: bool
    pte_coalescing: int
    tiers: tuple[Tier, ...]
    llc: LlcSpec | None
    cpu: CpuSpec
    ageing: AgeingSpec


def resolve_machine(spec: MachineSpec) -> Machine:
    """Fill every field the spec leaves out from its preset."""
    preset = PRESETS.get(spec.preset)
    if preset is None:
        known = ", ".join(sorted(PRESETS))
        raise SpecError(f"unknown preset {spec.preset!r}; known: {known}", field="machine.preset")
    base = preset.machine

    llc: LlcSpec | None
    if spec.llc == "none":
        llc = None
    elif spec.llc is not None:
        llc = spec.llc
    else:
        llc = base.llc if isinstance(base.llc, LlcSpec) else None
    return Machine(
        preset=spec.preset,
        tlb=_pick(spec.tlb, base.tlb),
        walk_cache=_pick(spec.walk_cache, base.walk_cache),
        granules=tuple(_pick(spec.granules, base.granules)),
        contiguous_pte=_pick(spec.contiguous_pte, base.contiguous_pte),
        pte_coalescing=_pick(spec.pte_coalescing, base.pte_coalescing),
        tiers=_resolve_tiers(_pick(spec.tiers, base.tiers)),
        llc=llc,
        cpu=_pick(spec.cpu, base.cpu),
        ageing=resolve_ageing(spec.ageing or "fresh"),
    )
