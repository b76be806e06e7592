"""``first_touch``: a new page goes to the fastest tier with room, as Linux's default local
allocation does when the CPU's node is the fast tier; nothing moves afterwards."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pagelab.policies.base import NAME_DESCRIPTION, PolicySpecBase, TieringPolicy


class FirstTouchSpec(PolicySpecBase):
    """Fast tier until it is full (its low watermark), then the next; no migration."""

    name: Literal["first_touch"] = Field(default="first_touch", description=NAME_DESCRIPTION)


class FirstTouch(TieringPolicy):
    """Placement only: the fault path's zonelist fallback does all the work."""
