"""One OAuth server for many emulated portals, as `oauth.bitrix.info` is for real ones.

TaskBridge has one `TASKBRIDGE_OAUTH_URL`; a fleet test with twenty `Portal`s serves
`OAuthHub(portals)` and points that setting at it. A refresh token is tried on each
portal until one knows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from emulator import envelope
from emulator.errors import OAuthError
from emulator.wsgi import json_response

if TYPE_CHECKING:
    from emulator.portal import Portal


class OAuthHub:
    """WSGI app answering `/oauth/token/` on behalf of `portals`."""

    def __init__(self, portals: Sequence[Portal]) -> None:
        self.portals = list(portals)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.rstrip("/") != "/oauth/token":
            response = json_response(envelope.error("NOT_FOUND", "Not found"), 404)
            return response(environ, start_response)
        params = {**request.args.to_dict(), **request.form.to_dict()}
        return self._answer(params)(environ, start_response)

    def _answer(self, params: dict[str, Any]) -> Response:
        last: OAuthError | None = None
        for portal in self.portals:
            try:
                return json_response(portal.installer.refresh_tokens(params))
            except OAuthError as exc:
                last = exc
                if exc.code != "invalid_grant":
                    break
        assert last is not None
        return json_response(envelope.error(last.code, last.description), last.status)
