"""Which portal addresses TaskBridge will talk to.

Real portals live on https:// at public names. Plain http://, loopback and private
addresses are accepted only with TASKBRIDGE_ALLOW_INSECURE_PORTALS (the emulator).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from connector.errors import TaskBridgeError


class InsecurePortal(TaskBridgeError):
    """A portal address that this deployment refuses to call."""


def check_endpoint(url: str, *, allow_insecure: bool) -> str:
    """Return the normalised endpoint (ending in /) or raise `InsecurePortal`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecurePortal(f"not an http(s) URL: {url[:100]!r}")
    if not allow_insecure:
        if parts.scheme != "https":
            raise InsecurePortal(
                f"{parts.hostname}: portals must use https:// "
                "(TASKBRIDGE_ALLOW_INSECURE_PORTALS is for development only)"
            )
        if _is_local(parts.hostname):
            raise InsecurePortal(
                f"{parts.hostname}: loopback and private addresses are refused "
                "(TASKBRIDGE_ALLOW_INSECURE_PORTALS is for development only)"
            )
    return url if url.endswith("/") else url + "/"


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local
