"""Typed portal events: parsing, the object an event is about, redaction, dedupe keys."""

from __future__ import annotations

import pytest

from mappers.errors import ValidationError
from mappers.portal_events import (
    REDACTED,
    EventError,
    dedupe_key,
    parse_event,
    redact,
)

AUTH = {"member_id": "a223c6b3", "application_token": "tok", "domain": "x.bitrix24.com"}


def body(event: str, data: object, **extra: object) -> dict[str, object]:
    return {"event": event, "data": data, "ts": "1466439714", "auth": dict(AUTH), **extra}


@pytest.mark.parametrize(
    ("name", "data", "key"),
    [
        ("ONTASKADD", {"FIELDS_BEFORE": "undefined", "FIELDS_AFTER": {"ID": "7"}}, "task:7"),
        ("ONTASKUPDATE", {"FIELDS_BEFORE": {"ID": "7"}, "FIELDS_AFTER": {"ID": "7"}}, "task:7"),
        ("ONTASKDELETE", {"FIELDS_BEFORE": {"ID": "7"}, "FIELDS_AFTER": "undefined"}, "task:7"),
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"ID": "123", "TASK_ID": "555"}}, "task:555"),
        # The new task card: the comment lives in the task's chat, its ID is 0.
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"ID": "0", "TASK_ID": "555", "MESSAGE_ID": "9"}},
         "task:555"),
        ("ONCRMDEALUPDATE", {"FIELDS": {"ID": "42"}}, "deal:42"),
        ("ONCRMDEALMOVETOCATEGORY", {"FIELDS": {"ID": "42"}}, "deal:42"),
        ("ONCRMLEADUPDATE", {"FIELDS": {"ID": "9"}}, "lead:9"),
        ("ONAPPUNINSTALL", {"CLEAN": "1"}, "app"),
        ("ONSOMETHINGELSE", {}, ""),
    ],
)
def test_each_event_names_its_object(name: str, data: object, key: str) -> None:
    event = parse_event(body(name.lower(), data))
    assert event.name == name
    assert event.object_key == key
    assert event.known is (name != "ONSOMETHINGELSE")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ONCRMDEALUPDATE", {"FIELDS": "undefined"}),
        ("ONCRMDEALUPDATE", {"FIELDS": {"ID": ""}}),
        ("ONCRMDEALUPDATE", {"FIELDS": {"ID": "undefined"}}),
        ("ONCRMDEALUPDATE", {"FIELDS": {}}),
        ("ONTASKUPDATE", {"FIELDS_BEFORE": "undefined", "FIELDS_AFTER": "undefined"}),
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"ID": "3"}}),
    ],
)
def test_an_absent_id_names_no_object(name: str, data: object) -> None:
    event = parse_event(body(name, data))
    assert event.object_id == ""
    assert event.object_key == event.object_type


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        ("ONCRMDEALUPDATE", {"FIELDS": {"ID": "x1"}}, "data.FIELDS.ID"),
        ("ONCRMDEALUPDATE", {"FIELDS": {"ID": "0"}}, "data.FIELDS.ID"),
        ("ONCRMLEADUPDATE", {"FIELDS": {"ID": ["1"]}}, "data.FIELDS.ID"),
        ("ONTASKUPDATE", {"FIELDS_AFTER": {"ID": "\u00b2"}}, "data.FIELDS_AFTER.ID"),
        ("ONTASKUPDATE", {"FIELDS_AFTER": {"ID": "9" * 25}}, "data.FIELDS_AFTER.ID"),
        ("ONTASKUPDATE", {"FIELDS_AFTER": {"ID": "\u0663"}}, "data.FIELDS_AFTER.ID"),
        ("ONTASKUPDATE", {"FIELDS_AFTER": {"ID": " 7"}}, "data.FIELDS_AFTER.ID"),
        # The id read second must be valid too, not only the one that names the object.
        ("ONTASKUPDATE", {"FIELDS_AFTER": {"ID": "7"}, "FIELDS_BEFORE": {"ID": "-7"}},
         "data.FIELDS_BEFORE.ID"),
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"TASK_ID": "1e3"}}, "data.FIELDS_AFTER.TASK_ID"),
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"ID": "0", "TASK_ID": "5", "MESSAGE_ID": "m"}},
         "data.FIELDS_AFTER.MESSAGE_ID"),
    ],
)
def test_a_present_id_that_is_not_an_id_refuses_the_event(name: str, data: object,
                                                          where: str) -> None:
    with pytest.raises(EventError, match=rf"^{where}: expected an id"):
        parse_event(body(name, data))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"ID": "0", "TASK_ID": "5", "MESSAGE_ID": "77"}},
         "77"),
        ("ONTASKCOMMENTADD", {"FIELDS_AFTER": {"ID": "123", "TASK_ID": "5"}}, ""),
        ("ONTASKUPDATE", {"FIELDS_AFTER": {"ID": "5", "MESSAGE_ID": "77"}}, ""),
    ],
)
def test_a_new_task_card_comment_names_its_chat_message(name: str, data: object,
                                                        message: str) -> None:
    assert parse_event(body(name, data)).chat_message_id == message


def test_ids_are_read_as_canonical_numbers() -> None:
    assert parse_event(body("ONCRMDEALUPDATE", {"FIELDS": {"ID": 42}})).object_key == "deal:42"
    assert parse_event(body("ONCRMDEALUPDATE", {"FIELDS": {"ID": "042"}})).object_id == "42"


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"ts": "\u00b2"}, "ts"),
        ({"event_handler_id": "9" * 19}, "event_handler_id"),
        ({"auth": {**AUTH, "user_id": "\u00b3"}}, "auth.user_id"),
        ({"auth": {**AUTH, "expires_in": ["1"]}}, "auth.expires_in"),
    ],
)
def test_numbers_are_ascii_digits_only(extra: dict[str, object], where: str) -> None:
    with pytest.raises(EventError, match=rf"^{where}: expected a number"):
        parse_event({**body("ONTASKADD", {}), **extra})


def test_user_zero_is_a_number() -> None:
    assert parse_event(body("ONTASKADD", {}, auth={**AUTH, "user_id": "0"})).auth.user_id == 0


def test_strings_become_types() -> None:
    event = parse_event(
        body(
            "ONTASKADD",
            "undefined",
            event_handler_id="12",
            auth={**AUTH, "user_id": "3", "expires_in": "3600"},
        )
    )
    assert (event.handler_id, event.ts, event.auth.user_id, event.auth.expires_in) == (
        12,
        1466439714,
        3,
        3600,
    )
    assert event.data == {}
    blank = parse_event(body("ONTASKADD", "", auth={**AUTH, "user_id": ""}))
    assert (blank.auth.user_id, blank.handler_id) == (None, None)


def test_tokens_stay_out_of_the_repr() -> None:
    event = parse_event(body("ONTASKADD", {}, auth={**AUTH, "access_token": "sekret"}))
    assert "sekret" not in repr(event)
    assert "tok" not in repr(event.auth)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"event": "ONTASKADD"}, "auth: missing"),
        ({"event": "ONTASKADD", "auth": "x"}, "auth: missing"),
        (body("ONTASKADD", {}, auth={"application_token": "t"}), "member_id"),
        (body("ONTASKADD", {}, auth={"member_id": "bad id!"}), "member_id"),
        (body("ONTASKADD", {}, ts="yesterday"), "expected a number"),
        (body("ONTASKADD", ["not", "a", "dict"]), "data"),
        (body("", {}), "name"),
    ],
)
def test_broken_bodies_raise_only_event_errors(broken: dict[str, object], message: str) -> None:
    with pytest.raises(EventError, match=message):
        parse_event(broken)
    assert issubclass(EventError, ValidationError)


def test_redact_removes_every_secret_at_any_depth() -> None:
    original = {
        "AUTH_ID": "a",
        "REFRESH_ID": "r",
        "APPLICATION_TOKEN": "p",
        "auth": {"access_token": "a", "refresh_token": "r", "member_id": "m"},
        "list": [{"client_secret": "s", "keep": "v"}],
    }
    clean = redact(original)
    assert clean == {
        "AUTH_ID": REDACTED,
        "REFRESH_ID": REDACTED,
        "APPLICATION_TOKEN": REDACTED,
        "auth": {"access_token": REDACTED, "refresh_token": REDACTED, "member_id": "m"},
        "list": [{"client_secret": REDACTED, "keep": "v"}],
    }
    assert original["auth"]["access_token"] == "a"  # a copy, not an edit


def test_dedupe_key_is_equal_only_for_a_redelivery() -> None:
    data = {"FIELDS_BEFORE": {"ID": "7"}, "FIELDS_AFTER": {"ID": "7"}}
    first = parse_event(body("ONTASKUPDATE", data))
    again = parse_event(body("ONTASKUPDATE", data, auth={**AUTH, "access_token": "other"}))
    later = parse_event(body("ONTASKUPDATE", data, ts="1466439799"))
    someone_else = parse_event(body("ONTASKUPDATE", data, auth={**AUTH, "user_id": "9"}))
    assert dedupe_key(first) == dedupe_key(again)
    assert dedupe_key(first) != dedupe_key(later)
    assert dedupe_key(first) != dedupe_key(someone_else)
