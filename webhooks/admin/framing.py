"""Who may frame an admin page: a portal admin's pages only the portal they belong to
(Bitrix24 shows them in its iframe), everything else nobody, so Save and Replay cannot be
clickjacked from another site."""

from __future__ import annotations

import re

from flask import Response, current_app, g

from connector.settings import Settings

# A host name or address, with an optional port: nothing that could end the directive.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?", re.ASCII)
NOBODY = "'none'"


def frame_ancestors(domain: str | None, *, allow_insecure: bool) -> str:
    """The `frame-ancestors` sources for a portal's domain; `'none'` when it has none."""
    if not domain or not _HOST.fullmatch(domain):
        return NOBODY
    sources = [f"https://{domain}"]
    if allow_insecure:  # development portals (the emulator) serve plain http
        sources.append(f"http://{domain}")
    return " ".join(sources)


def add_frame_headers(response: Response) -> Response:
    """After every admin response: the portal admin's own portal, or nobody."""
    held = g.get("admin_viewer")
    if held is not None and not held.is_staff:
        settings: Settings = current_app.extensions["taskbridge.settings"]
        ancestors = frame_ancestors(held.portal_domain,
                                    allow_insecure=settings.allow_insecure_portals)
    else:
        ancestors = NOBODY
    response.headers["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    if ancestors == NOBODY:
        response.headers["X-Frame-Options"] = "DENY"
    else:
        response.headers.pop("X-Frame-Options", None)
    return response
