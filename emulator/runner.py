"""The blocking entry point behind ``taskbridge emulator``."""

from __future__ import annotations

from emulator.portal import Portal
from emulator.server import make_portal_server


def serve(host: str, port: int, webhook_code: str | None, limits: bool, https: bool,
          task_card: str = "classic", rest_v3: bool = True) -> None:
    """Serve a portal until interrupted; admin user 1 owns ``/rest/1/{webhook_code}/``.

    ``task_card`` is ``"classic"`` or ``"new"`` (the task card of ``tasks 25.700.0``);
    ``rest_v3=False`` serves a portal without REST 3.0 (``/rest/api/...`` answers 404)."""
    tls = None
    if https:
        from emulator.tls import TLSUnavailable, make_local_tls

        try:
            tls = make_local_tls()
        except TLSUnavailable as exc:
            raise SystemExit(f"emulator --https: {exc}") from None
    portal = Portal(limits=limits, webhook_code=webhook_code, task_card=task_card,
                    rest_v3=rest_v3)
    server = make_portal_server(portal, host, port, tls)
    print(f"portal: {portal.base_url}/", flush=True)
    print(f"rest (OAuth): {portal.client_endpoint}", flush=True)
    if not rest_v3:
        print("rest 3.0: not offered (/rest/api/ answers 404 ERROR_METHOD_NOT_FOUND)",
              flush=True)
    if webhook_code:
        print(f"webhook: {portal.webhook_url(webhook_code)}", flush=True)
    print(f"oauth: {portal.base_url}/oauth/token/", flush=True)
    print(f"control: {portal.base_url}/_emulator/", flush=True)
    print(f"task card: {portal.task_card}", flush=True)
    if tls:
        print(f"ca bundle: {tls.ca_bundle}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how one stops it
    finally:
        server.server_close()
        portal.close()
