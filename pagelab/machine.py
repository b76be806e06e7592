"""Resolve a MachineSpec against its preset into a complete machine description."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pagelab.errors import SpecError
from pagelab.memory.ageing import AgeingSpec, resolve_ageing
from pagelab.presets import PRESETS
from pagelab.spec import (
    CpuSpec,
    Granule,
    LlcSpec,
    MachineSpec,
    TierSpec,
    TlbSpec,
    WalkCacheSpec,
)

_T = TypeVar("_T")


def _pick(own: _T | None, preset_value: _T | None) -> _T:
    value = own if own is not None else preset_value
    assert value is not None, "every preset fills every field"
    return value


@dataclass(frozen=True)
class Machine:
    """A machine with every field filled in."""

    preset: str
    tlb: TlbSpec
    walk_cache: WalkCacheSpec
    granules: tuple[Granule, ...]
    contiguous_pte: bool
    pte_coalescing: int
    tiers: tuple[TierSpec, ...]
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
        tiers=tuple(_pick(spec.tiers, base.tiers)),
        llc=llc,
        cpu=_pick(spec.cpu, base.cpu),
        ageing=resolve_ageing(spec.ageing or "fresh"),
    )
