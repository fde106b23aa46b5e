"""App lifecycle: register, install (page POST or ONAPPINSTALL), update, uninstall, OAuth."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from emulator.delivery import Delivery
from emulator.errors import EmulatorError, OAuthError
from emulator.oauth import TokenPair, token_response
from emulator.state import App

if TYPE_CHECKING:
    from emulator.portal import Portal


class UnknownApp(EmulatorError):
    """The control API named an app that was never registered."""


@dataclass
class Installation:
    """What an install handed to the app, for tests to compare with what it stored."""

    client_id: str
    application_token: str
    tokens: TokenPair
    delivery: Delivery


class AppInstaller:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.state = portal.state

    def register(self, client_id: str, client_secret: str, handler_url: str = "",
                 scope: list[str] | None = None, title: str = "TaskBridge") -> App:
        app = App(client_id=client_id, client_secret=client_secret, handler_url=handler_url,
                  title=title)
        if scope is not None:
            app.scope = list(scope)
        with self.state.lock:
            self.state.apps[client_id] = app
        return app

    def app(self, client_id: str) -> App:
        app = self.state.apps.get(client_id)
        if app is None:
            raise UnknownApp(client_id)
        return app

    def install(self, client_id: str, how: str = "page", user_id: int = 1,
                handler_url: str | None = None) -> Installation:
        """Install the way a portal does: ``how`` is ``"page"`` or ``"event"``.

        Each install (a first one, or again, or after an uninstall) issues a new
        application_token; the tokens handed over are ``user_id``'s, admin or not."""
        app = self.app(client_id)
        if handler_url:
            app.handler_url = handler_url
        app.installed, app.install_finished = True, how == "event"
        app.application_token = secrets.token_hex(16)
        tokens = self.portal.tokens.issue(client_id, user_id)
        delivery = (self._post_install_page(app, tokens) if how == "page"
                    else self._send_install_event(app, tokens, user_id))
        return Installation(client_id, app.application_token, tokens, delivery)

    def finish_install(self, client_id: str) -> None:
        """What ``BX24.installFinish()`` does: from now on events are sent."""
        self.app(client_id).install_finished = True

    def update(self, client_id: str, version: int | None = None) -> Delivery | None:
        """A new version: bindings gone, ONAPPUPDATE sent with the same application_token
        (only an install issues a new one)."""
        app = self.app(client_id)
        handlers = [b for b in self.portal.events.bindings_of(client_id)
                    if b.event == "ONAPPUPDATE" and not b.offline]
        app.version = version or app.version + 1
        self._forget_bindings(client_id)
        self.portal.automation.drop_robots(client_id)
        deliveries = [
            self.portal.events.send(app, "ONAPPUPDATE", {
                "VERSION": str(app.version), "LANGUAGE_ID": "en"}, b.handler, b.auth_type or 1,
                b.id)
            for b in handlers
        ]
        return deliveries[0] if deliveries else None

    def uninstall(self, client_id: str, clean: bool = False) -> Delivery | None:
        """ONAPPUNINSTALL (no tokens, ``data[CLEAN]``); tokens and bindings die."""
        app = self.app(client_id)
        handlers = [b for b in self.portal.events.bindings_of(client_id)
                    if b.event == "ONAPPUNINSTALL" and not b.offline]
        deliveries = [
            self.portal.events.send(app, "ONAPPUNINSTALL", {"CLEAN": "1" if clean else "0",
                                    "LANGUAGE_ID": "en"}, b.handler, None, b.id,
                                    with_tokens=False)
            for b in handlers
        ]
        app.installed = app.install_finished = False
        self._forget_bindings(client_id)
        self.portal.automation.drop_robots(client_id)
        self.portal.offline.drop_client(client_id)
        self.portal.tokens.revoke(client_id)
        return deliveries[0] if deliveries else None

    def refresh_tokens(self, params: dict[str, Any]) -> dict[str, Any]:
        """``/oauth/token/``: grant_type=refresh_token with client credentials."""
        if params.get("grant_type") != "refresh_token":
            raise OAuthError("invalid_request", "Only grant_type=refresh_token is supported")
        app = self.state.apps.get(str(params.get("client_id", "")))
        if app is None or not secrets.compare_digest(
            app.client_secret, str(params.get("client_secret", ""))
        ):
            raise OAuthError("invalid_client", "Invalid client")
        if not app.installed:
            raise OAuthError("invalid_grant", "Application is not installed")
        pair = self.portal.tokens.refresh(app.client_id, str(params.get("refresh_token", "")))
        return token_response(pair, self.portal.identity(), ",".join(app.scope))

    def _forget_bindings(self, client_id: str) -> None:
        self.portal.events.drop_bindings(client_id)
        with self.state.lock:
            for placement_id in [p.id for p in self.state.placements.values()
                                 if p.client_id == client_id]:
                del self.state.placements[placement_id]

    def _post_install_page(self, app: App, tokens: TokenPair) -> Delivery:
        identity = self.portal.identity()
        query = urlencode({
            "DOMAIN": identity["domain"],
            "PROTOCOL": "1" if identity["client_endpoint"].startswith("https") else "0",
            "LANG": "en", "APP_SID": secrets.token_hex(16),
        })
        separator = "&" if "?" in app.handler_url else "?"
        form = {
            "AUTH_ID": tokens.access_token, "AUTH_EXPIRES": str(tokens.expires_in),
            "REFRESH_ID": tokens.refresh_token, "SERVER_ENDPOINT": identity["server_endpoint"],
            "APPLICATION_TOKEN": app.application_token,
            "APPLICATION_SCOPE": ",".join(app.scope), "member_id": identity["member_id"],
            "status": app.status, "PLACEMENT": "DEFAULT", "PLACEMENT_OPTIONS": "{}",
        }
        delivery = Delivery(event="INSTALL_PAGE", handler=f"{app.handler_url}{separator}{query}",
                            payload=form)
        return self.portal.sender.post_now(delivery)

    def _send_install_event(self, app: App, tokens: TokenPair, user_id: int) -> Delivery:
        auth = self.portal.events.auth_block(app, None)
        auth.update(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                    expires=str(tokens.expires), expires_in=str(tokens.expires_in),
                    user_id=str(user_id))
        payload = {
            "event": "ONAPPINSTALL",
            "data": {"VERSION": str(app.version), "ACTIVE": "Y", "INSTALLED": "Y",
                     "LANGUAGE_ID": "en"},
            "ts": str(int(self.portal.clock.now())),
            "auth": auth,
        }
        delivery = Delivery(event="ONAPPINSTALL", handler=app.handler_url, payload=payload)
        self.portal.sender.submit(delivery)
        return delivery
