"""The installation store: save, find, verify, rotate with compare-and-swap, delete."""

from __future__ import annotations

import pytest

from connector.errors import PortalNotFound
from connector.portals.settings import PortalSettingsError, apply_assignments, labels_language
from connector.storage.engines import Storage
from connector.storage.portals import INSTALLED, NEEDS_REINSTALL, UNINSTALLED, Installation

INSTALL = Installation(
    member_id="m-1",
    domain="a.bitrix24.com",
    client_endpoint="https://a.bitrix24.com/rest/",
    access_token="at-1",
    refresh_token="rt-1",
    application_token="apt-1",
    language="it",
)


def test_save_and_find(storage: Storage) -> None:
    portal_row = storage.portals.save(INSTALL)
    assert portal_row.member_id == "m-1"
    assert portal_row.language == "it"
    assert storage.portals.find("m-1") == portal_row
    assert storage.portals.find("other") is None
    assert "at-1" not in repr(portal_row)


def test_application_token_compares_in_constant_time(storage: Storage) -> None:
    portal_row = storage.portals.save(INSTALL)
    assert portal_row.application_token_matches("apt-1")
    assert not portal_row.application_token_matches("apt-2")
    assert not portal_row.application_token_matches("")


def test_reinstall_keeps_settings_and_bumps_token_version(storage: Storage) -> None:
    first = storage.portals.save(INSTALL)
    storage.portals.update_settings("m-1", {"close_tasks_on_lead_convert": False})
    again = storage.portals.save(INSTALL)
    assert again.id == first.id
    assert again.token_version == first.token_version + 1
    assert again.settings == {"close_tasks_on_lead_convert": False}


def test_rotation_is_compare_and_swap(storage: Storage) -> None:
    portal_row = storage.portals.save(INSTALL)
    won = storage.portals.rotate_tokens(
        "m-1", expected_version=portal_row.token_version, access_token="at-2",
        refresh_token="rt-2", expires_at=None,
    )
    lost = storage.portals.rotate_tokens(
        "m-1", expected_version=portal_row.token_version, access_token="at-stale",
        refresh_token="rt-stale", expires_at=None,
    )
    assert (won, lost) == (True, False)
    assert storage.portals.get("m-1").refresh_token == "rt-2"


def test_states(storage: Storage) -> None:
    storage.portals.save(INSTALL)
    storage.portals.mark_installed("m-1")
    assert storage.portals.get("m-1").state == INSTALLED
    storage.portals.mark_needs_reinstall("m-1", "invalid_grant")
    portal_row = storage.portals.get("m-1")
    assert (portal_row.state, portal_row.state_reason) == (NEEDS_REINSTALL, "invalid_grant")
    storage.portals.mark_uninstalled("m-1")
    assert storage.portals.get("m-1").state == UNINSTALLED


def test_delete_removes_the_portal(storage: Storage) -> None:
    storage.portals.save(INSTALL)
    storage.portals.delete("m-1")
    assert storage.portals.find("m-1") is None
    with pytest.raises(PortalNotFound, match="m-1"):
        storage.portals.mark_installed("m-1")


def test_the_labels_language_is_the_setting_else_the_install_language(storage: Storage) -> None:
    storage.portals.save(INSTALL)
    assert labels_language(storage.portals.get("m-1")) == "it"
    settings, _rates = apply_assignments({}, [("language", "EN")])
    storage.portals.update_settings("m-1", settings.model_dump(mode="json"))
    assert labels_language(storage.portals.get("m-1")) == "en"


@pytest.mark.parametrize("code", ["fr", "xx", "english"])
def test_only_a_language_with_labels_can_be_chosen(code: str) -> None:
    with pytest.raises(PortalSettingsError, match=rf"^language: '{code}' has no labels \("
                                                  r"known: en, it"):
        apply_assignments({}, [("language", code)])


def test_a_language_stored_before_it_lost_its_labels_still_reads(storage: Storage) -> None:
    storage.portals.save(INSTALL)
    storage.portals.update_settings("m-1", {"language": "fr"})
    assert labels_language(storage.portals.get("m-1")) == "fr"  # its labels fall back to English
    settings, _rates = apply_assignments({"language": "fr"}, [("deal_close_closes_tasks", "off")])
    assert (settings.language, settings.close_tasks_on_deal_close) == ("fr", False)
