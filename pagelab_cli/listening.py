"""Which address the server may listen on with which settings: loopback serves one person
without tokens; any other address only with tokens required."""

from __future__ import annotations

import ipaddress
import os
import sys

from backend.settings import LOOPBACK_HOST_NAMES, Settings, get_settings


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``127.x.y.z``, ``::1`` and ``localhost``; a name other than localhost
    counts as reachable from elsewhere (it may resolve to anything)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen_settings(command: str, host: str, port: int) -> Settings | None:
    """The settings to serve ``host:port`` with, or None (after saying why) if serving there
    would expose the data to anyone who can reach the port.

    On loopback with no public base URL configured, share links are built on the address
    served (the variable is set for the server processes started from here).
    """
    settings = get_settings()
    if not is_loopback(host) and not settings.api_tokens_required:
        print(
            f"pagelab {command}: refusing to listen on {host}: without API tokens anyone "
            "who can reach the port could read, change and delete every experiment.\n"
            "  Require tokens:  PAGELAB_API_TOKENS_REQUIRED=true\n"
            "  and create one:  pagelab token create --scope write --name admin\n"
            "  (clients send it as 'Authorization: Bearer <token>'; people sign in with it),\n"
            "  or listen on 127.0.0.1 only. docs/security.md has the whole setup.",
            file=sys.stderr,
        )
        return None
    if not settings.public_base_url and is_loopback(host):
        bracketed = f"[{host}]" if ":" in host else host
        os.environ["PAGELAB_PUBLIC_BASE_URL"] = f"http://{bracketed}:{port}"
        get_settings.cache_clear()
        settings = get_settings()
    if not is_loopback(host) and set(settings.allowed_hosts) <= set(LOOPBACK_HOST_NAMES):
        print(
            f"pagelab {command}: note: only requests addressed to "
            f"{', '.join(LOOPBACK_HOST_NAMES)} are answered; list the host names clients use "
            "in PAGELAB_ALLOWED_HOSTS (and the address they use in PAGELAB_PUBLIC_BASE_URL).",
            file=sys.stderr,
        )
    return settings
