"""Answer only requests addressed to this server's own names (the Host header).

A page on evil.example whose DNS name is re-pointed at 127.0.0.1 (DNS rebinding) reaches a
server on loopback as the same origin as itself; its requests still say ``Host:
evil.example``, and are refused here. Starlette's TrustedHostMiddleware does the same, but
answers in plain text, keeps the brackets of ``[::1]`` (so ``::1`` never matches) and would
refuse the probes, which orchestrators send to the pod's address.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.problems import problem_response

# Probes carry no data, and orchestrators address them to an IP, not a configured name.
UNCHECKED_PATHS = frozenset({"/healthz", "/readyz"})


def host_name(host_header: str) -> str | None:
    """``Example.org:8000`` → ``example.org``, ``[::1]:8000`` → ``::1``; None if malformed."""
    try:
        parts = urlsplit(f"//{host_header}")
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return None
    return parts.hostname or None


def host_allowed(name: str, patterns: Iterable[str]) -> bool:
    """``*`` allows any name, ``*.example.org`` the subdomains of example.org."""
    for pattern in patterns:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class AllowedHosts:
    """Refuse (400, problem+json) a request whose Host is none of ``allowed_hosts``."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed_hosts = tuple(pattern.lower() for pattern in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"} or scope["path"] in UNCHECKED_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        name = host_name(header)
        if name is None or not host_allowed(name.lower(), self.allowed_hosts):
            response = problem_response(
                400,
                f"this server does not answer to the host name {header!r}; "
                "PAGELAB_ALLOWED_HOSTS lists the names it does",
                slug="host-not-allowed",
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
