"""Which portal addresses TaskBridge will talk to.

Real portals live on https:// at public names. Plain http://, loopback and private
addresses are accepted only with TASKBRIDGE_ALLOW_INSECURE_PORTALS (the emulator).

An address TaskBridge is about to adopt (at install, or when a portal answers 302 with
a new one) is also looked up in DNS: a public-looking name that resolves to a loopback
or private address would turn the portal's tokens and requests inward. Stored addresses
are not looked up again on every request.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from connector.errors import RestError

_HINT = "(TASKBRIDGE_ALLOW_INSECURE_PORTALS is for development only)"


class InsecurePortal(RestError):
    """A portal address that this deployment refuses to call."""


def check_endpoint(url: str, *, allow_insecure: bool, resolve: bool = False) -> str:
    """Return the normalised endpoint (ending in /) or raise `InsecurePortal`.

    With `resolve`, the host's DNS addresses must be public too (unless insecure
    portals are allowed): use it for an address about to be stored.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecurePortal(f"not an http(s) URL: {url[:100]!r}")
    if not allow_insecure:
        if parts.scheme != "https":
            raise InsecurePortal(f"{parts.hostname}: portals must use https:// {_HINT}")
        if _is_local(parts.hostname):
            raise InsecurePortal(
                f"{parts.hostname}: loopback and private addresses are refused {_HINT}"
            )
        if resolve:
            _check_resolved(parts.hostname)
    return url if url.endswith("/") else url + "/"


def _check_resolved(host: str) -> None:
    try:
        found = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise InsecurePortal(f"{host[:100]}: the name does not resolve") from None
    for _family, _type, _proto, _name, address in found:
        if _is_local_address(str(address[0]).split("%", 1)[0]):
            raise InsecurePortal(
                f"{host[:100]}: resolves to a loopback or private address {_HINT}"
            )


def _is_local(host: str) -> bool:
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    if _is_local_address(host):
        return True
    # Legacy IPv4 spellings the resolver accepts: 127.1, 2130706433, 0x7f.0.0.1.
    if all(c in "0123456789abcdefx." for c in host):
        try:
            return _is_local_address(socket.inet_ntoa(socket.inet_aton(host)))
        except OSError:
            return False
    return False


def _is_local_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_private or address.is_link_local
            or address.is_unspecified or address.is_reserved or address.is_multicast)
