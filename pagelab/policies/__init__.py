"""Tiering policies: where new pages go and which pages move between tiers.

One module per policy, each with its parameters' spec model beside it. ``TieringSpec`` is
their union, chosen by ``name``; ``make_policy`` builds the policy a spec names. The spec
models import nothing of the simulator, so ``pagelab.spec`` can hold them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from pagelab.policies.base import NEVER, TieringPolicy
from pagelab.policies.damon import Damon, DamonSpec
from pagelab.policies.first_touch import FirstTouch, FirstTouchSpec
from pagelab.policies.interleave import Interleave, InterleaveSpec
from pagelab.policies.oracle import Oracle, OracleSpec
from pagelab.policies.tpp import Tpp, TppSpec

if TYPE_CHECKING:
    from pagelab.tiers import Tiers

TieringSpec = Annotated[
    FirstTouchSpec | InterleaveSpec | OracleSpec | TppSpec | DamonSpec,
    Field(discriminator="name"),
]


def make_policy(
    spec: FirstTouchSpec | InterleaveSpec | OracleSpec | TppSpec | DamonSpec,
    tiers: Tiers,
    seed: int = 0,
) -> TieringPolicy:
    """The policy ``spec`` names, acting on ``tiers``; ``seed`` seeds its random draws."""
    if isinstance(spec, DamonSpec):
        return Damon(tiers, spec, seed=seed)
    if isinstance(spec, TppSpec):
        return Tpp(tiers, spec)
    if isinstance(spec, InterleaveSpec):
        return Interleave(tiers, spec)
    if isinstance(spec, OracleSpec):
        return Oracle(tiers)
    return FirstTouch(tiers)


__all__ = ["NEVER", "TieringPolicy", "TieringSpec", "make_policy"]
