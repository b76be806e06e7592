"""Errors the engine raises for bad input; each names what is wrong."""

from __future__ import annotations


class PagelabError(Exception):
    """Base of the engine's input errors."""


class SpecError(PagelabError):
    """A spec that cannot run. ``field`` is the dotted path at fault (``policy.base_page``)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


class TraceError(PagelabError):
    """A malformed or unreadable trace. ``location`` is ``line N`` or ``offset N``."""

    def __init__(self, message: str, *, path: str = "", location: str = "") -> None:
        where = ", ".join(part for part in (path, location) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.path = path
        self.location = location


class Cancelled(Exception):
    """The caller asked the simulation to stop."""
