"""Every error an admin page shows has a label key: said again in Italian on Italian
pages, word for word the connector's English on English ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector.portals.settings import PortalSettingsError
from connector.portals.settings_change import Funnel, Stage, validate
from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.sync_log import FilterError, LogFilter, parse_item
from connector.sync.replay import ReplayRefused, replay_one
from webhooks.admin import query
from webhooks.admin.labels import EN, IT
from webhooks.admin.messages import AUTH_CODES, CATALOG, localized


def _raised(action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises((FilterError, ReplayRefused, PortalSettingsError)) as caught:
        action()
    return str(caught.value)


def _messages(storage: Storage) -> list[str]:
    """What the connector really says when a filter, a replay or a setting is refused."""
    engine = storage.engine
    funnels = [Funnel(id=0, name="Sales", stages=[Stage("NEW", "New", ""),
                                                  Stage("WON", "Won", "S")])]
    return [
        _raised(lambda: parse_item("X_1")),
        _raised(lambda: LogFilter(state="bogus")),
        _raised(lambda: query.read_filter({"task": "seven"}, portal_id=None)),
        _raised(lambda: query.read_filter({"since": "yesterday"}, portal_id=None)),
        _raised(lambda: replay_one(engine, 999, by="test")),
        _raised(lambda: validate({}, [("review_stage.4", "C4:NEW")], funnels)),
        _raised(lambda: validate({}, [("review_stage.0", "C9:NOPE")], funnels)),
        _raised(lambda: validate({}, [("review_stage.0", "WON")], funnels)),
        _raised(lambda: validate({}, [("review_stage.x", "NEW")], funnels)),
        _raised(lambda: validate({}, [("language", "xx")], None)),
        _raised(lambda: validate({}, [("colour", "blue")], None)),
        _raised(lambda: validate({}, [("close_tasks_on_deal_close", "maybe")], None)),
    ]


def test_each_refusal_reads_the_same_in_english_and_in_its_own_words_in_italian(
    make_settings: Callable[..., Settings],
) -> None:
    english, italian = localized("en"), localized("it")
    storage = open_storage(make_settings())
    for text in _messages(storage):
        assert english(text) == text
        assert italian(text) != text, f"no Italian words for {text!r}"


def test_every_catalogued_message_and_auth_refusal_has_words_in_both_languages() -> None:
    keys = [key for key, _pattern in CATALOG] + [f"auth.{code}" for code in AUTH_CODES]
    assert [key for key in keys if key not in EN or key not in IT] == []


def test_an_uncatalogued_message_is_shown_as_it_came() -> None:
    assert localized("it")("the portal said no") == "the portal said no"
