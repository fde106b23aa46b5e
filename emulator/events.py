"""Event bindings and the fan-out of a change to online handlers and offline queues."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.context import Change
from emulator.delivery import Delivery
from emulator.errors import RestError
from emulator.state import App, EventBinding

if TYPE_CHECKING:
    from emulator.portal import Portal

UNDEFINED = "undefined"


class EventHub:
    """``event.bind`` storage plus ``emit``, which every service calls after a change."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    # bindings -------------------------------------------------------------
    def bind(
        self, client_id: str, event: str, handler: str, auth_type: int, offline: bool,
        auth_connector: str = "",
    ) -> EventBinding:
        state = self.portal.state
        name = event.upper()
        with state.lock:
            for binding in state.bindings.values():
                if (binding.client_id, binding.event, binding.handler, binding.offline) == (
                    client_id, name, handler, offline
                ):
                    raise RestError("ERROR_HANDLER_ALREADY_EXIST", "Handler already binded")
            binding = EventBinding(
                id=state.next_id("binding"), client_id=client_id, event=name,
                handler=handler, auth_type=auth_type, offline=offline,
                auth_connector=auth_connector,
            )
            state.bindings[binding.id] = binding
            return binding

    def unbind(
        self, client_id: str, event: str, handler: str, offline: bool,
        auth_type: int | None = None,
    ) -> int:
        state = self.portal.state
        with state.lock:
            doomed = [
                b.id for b in state.bindings.values()
                if b.client_id == client_id and b.event == event.upper()
                and b.offline == offline and (offline or b.handler == handler)
                and (auth_type is None or b.auth_type == auth_type)
            ]
            for binding_id in doomed:
                del state.bindings[binding_id]
            return len(doomed)

    def bindings_of(self, client_id: str) -> list[EventBinding]:
        with self.portal.state.lock:
            return [b for b in self.portal.state.bindings.values() if b.client_id == client_id]

    def drop_bindings(self, client_id: str) -> None:
        state = self.portal.state
        with state.lock:
            for binding in self.bindings_of(client_id):
                del state.bindings[binding.id]

    # emission -------------------------------------------------------------
    def emit(self, event: str, data: dict[str, Any], change: Change, object_key: str) -> None:
        """Deliver ``event`` to every installed app that bound it, online or offline."""
        name = event.upper()
        state = self.portal.state
        with state.lock:
            targets = [
                (b, state.apps[b.client_id]) for b in state.bindings.values()
                if b.event == name and b.client_id in state.apps
                and state.apps[b.client_id].installed
                and state.apps[b.client_id].install_finished
            ]
        for binding, app in targets:
            if binding.offline:
                if binding.auth_connector and binding.auth_connector == change.auth_connector:
                    continue
                self.portal.offline.add(
                    app.client_id, name, data, {"user_id": str(change.actor_id)}, object_key,
                    connector=binding.auth_connector,
                )
            else:
                self.send(app, name, data, binding.handler, change.actor_id, binding.id)

    def send(
        self, app: App, event: str, data: dict[str, Any], handler: str,
        user_id: int | None, handler_id: int | None = None, with_tokens: bool = True,
    ) -> Delivery:
        payload: dict[str, Any] = {"event": event}
        if handler_id is not None:
            payload["event_handler_id"] = str(handler_id)
        payload["data"] = data
        payload["ts"] = str(int(self.portal.clock.now()))
        payload["auth"] = self.auth_block(app, user_id if with_tokens else None)
        delivery = Delivery(event=event, handler=handler, payload=payload)
        self.portal.sender.submit(delivery)
        return delivery

    def auth_block(self, app: App, user_id: int | None) -> dict[str, str]:
        """``auth[...]`` of an event: identity always, tokens of ``user_id`` when given."""
        identity = self.portal.identity()
        block = {
            "domain": identity["domain"],
            "client_endpoint": identity["client_endpoint"],
            "server_endpoint": identity["server_endpoint"],
            "member_id": identity["member_id"],
            "application_token": app.application_token,
            "status": app.status,
            "scope": ",".join(app.scope),
        }
        if user_id is not None:
            pair = self.portal.tokens.issue(app.client_id, user_id)
            block.update(
                access_token=pair.access_token,
                expires=str(pair.expires),
                expires_in=str(pair.expires_in),
                user_id=str(user_id),
                refresh_token=pair.refresh_token,
            )
        return block
