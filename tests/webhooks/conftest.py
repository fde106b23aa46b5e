"""A TaskBridge web app on a real loopback server, with one installed portal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.journal import Journal
from connector.storage.portals import Installation
from mappers.php_form import encode_form
from tests.support.live_server import LiveServer, serve
from webhooks.app import create_app

MEMBER = "a223c6b3710f85df22e9377d6c4f7553"
APP_TOKEN = "51856fefc120afa4b628cc82d3935cce"


@dataclass
class Receiver:
    server: LiveServer
    storage: Storage

    @property
    def events_url(self) -> str:
        return f"{self.server.url}/bitrix/events"

    @property
    def journal(self) -> Journal:
        return Journal(self.storage.engine)


@pytest.fixture
def receiver(make_settings: Callable[..., Settings]) -> Iterator[Receiver]:
    settings = make_settings()
    storage = open_storage(settings)
    storage.portals.save(
        Installation(
            member_id=MEMBER, domain="portal.example.com",
            client_endpoint="https://portal.example.com/rest/",
            access_token="at", refresh_token="rt", application_token=APP_TOKEN,
        )
    )
    storage.portals.mark_installed(MEMBER)
    with serve(create_app(settings, storage)) as server:
        yield Receiver(server=server, storage=storage)


def task_event(name: str = "ONTASKUPDATE", task_id: str = "31", **auth: str) -> list[tuple]:
    """A task event exactly as a portal posts it (PHP bracket form)."""
    return encode_form(
        {
            "event": name,
            "event_handler_id": "5",
            "data": {
                "FIELDS_BEFORE": {"ID": task_id},
                "FIELDS_AFTER": {"ID": task_id},
                "IS_ACCESSIBLE_BEFORE": "N",
                "IS_ACCESSIBLE_AFTER": "undefined",
            },
            "ts": "1764150000",
            "auth": {
                "domain": "portal.example.com",
                "client_endpoint": "https://portal.example.com/rest/",
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "member_id": MEMBER,
                "application_token": APP_TOKEN,
                "status": "L",
                "scope": "crm,task,placement,user",
                "access_token": "event-access-token",
                "expires_in": "3600",
                "user_id": "1",
                **auth,
            },
        }
    )
