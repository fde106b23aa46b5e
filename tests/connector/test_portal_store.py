"""The installation store: save, find, verify, rotate with compare-and-swap, delete."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector.errors import PortalNotFound
from connector.portal_store import INSTALLED, NEEDS_REINSTALL, UNINSTALLED, Installation
from connector.settings import Settings
from connector.storage import Storage, open_storage

INSTALL = Installation(
    member_id="m-1",
    domain="a.bitrix24.com",
    client_endpoint="https://a.bitrix24.com/rest/",
    access_token="at-1",
    refresh_token="rt-1",
    application_token="apt-1",
    language="it",
)


@pytest.fixture
def storage(make_settings: Callable[..., Settings]) -> Storage:
    return open_storage(make_settings())


def test_save_and_find(storage: Storage) -> None:
    portal = storage.portals.save(INSTALL)
    assert portal.member_id == "m-1"
    assert portal.language == "it"
    assert storage.portals.find("m-1") == portal
    assert storage.portals.find("other") is None
    assert "at-1" not in repr(portal)


def test_application_token_compares_in_constant_time(storage: Storage) -> None:
    portal = storage.portals.save(INSTALL)
    assert portal.application_token_matches("apt-1")
    assert not portal.application_token_matches("apt-2")
    assert not portal.application_token_matches("")
    storage.portals.replace_application_token("m-1", "apt-2")
    assert storage.portals.get("m-1").application_token_matches("apt-2")


def test_reinstall_keeps_settings_and_bumps_token_version(storage: Storage) -> None:
    first = storage.portals.save(INSTALL)
    storage.portals.update_settings("m-1", {"close_tasks_on_lead_convert": False})
    again = storage.portals.save(INSTALL)
    assert again.id == first.id
    assert again.token_version == first.token_version + 1
    assert again.settings == {"close_tasks_on_lead_convert": False}


def test_rotation_is_compare_and_swap(storage: Storage) -> None:
    portal = storage.portals.save(INSTALL)
    won = storage.portals.rotate_tokens(
        "m-1", expected_version=portal.token_version, access_token="at-2",
        refresh_token="rt-2", expires_at=None,
    )
    lost = storage.portals.rotate_tokens(
        "m-1", expected_version=portal.token_version, access_token="at-stale",
        refresh_token="rt-stale", expires_at=None,
    )
    assert (won, lost) == (True, False)
    assert storage.portals.get("m-1").refresh_token == "rt-2"


def test_states(storage: Storage) -> None:
    storage.portals.save(INSTALL)
    storage.portals.mark_installed("m-1")
    assert storage.portals.get("m-1").state == INSTALLED
    storage.portals.mark_needs_reinstall("m-1", "invalid_grant")
    portal = storage.portals.get("m-1")
    assert (portal.state, portal.state_reason) == (NEEDS_REINSTALL, "invalid_grant")
    storage.portals.mark_uninstalled("m-1")
    assert storage.portals.get("m-1").state == UNINSTALLED


def test_delete_removes_the_portal(storage: Storage) -> None:
    storage.portals.save(INSTALL)
    storage.portals.delete("m-1")
    assert storage.portals.find("m-1") is None
    with pytest.raises(PortalNotFound, match="m-1"):
        storage.portals.mark_installed("m-1")
