"""One list of secret keys and one placeholder for the REST call log, the sync log, its
exports and log lines (`connector.redaction`)."""

from __future__ import annotations

import pytest

from connector.redaction import PLACEHOLDER, SECRET_KEYS, TEXT_KEYS, redact, scrub_text
from mappers import portal_events


def test_the_events_keys_and_marker_are_the_same_list_and_placeholder() -> None:
    # mappers/ cannot import connector/: the receiver's own redaction must agree with this.
    assert portal_events.SECRET_KEYS <= SECRET_KEYS
    assert portal_events.REDACTED == PLACEHOLDER == "[redacted]"
    assert TEXT_KEYS <= SECRET_KEYS


def test_secret_values_are_replaced_and_mappings_searched() -> None:
    value = {"auth": {"access_token": "a", "member_id": "m"}, "TOKEN": "t",
             "rows": ({"code": "c", "id": 1},), "fields": {"TITLE": "x"}}
    assert redact(value) == {"auth": {"access_token": PLACEHOLDER, "member_id": "m"},
                             "TOKEN": PLACEHOLDER, "rows": [{"code": PLACEHOLDER, "id": 1}],
                             "fields": {"TITLE": "x"}}


@pytest.mark.parametrize(("text", "shown"), [
    ("client_secret=s3cr3t&x=1", "client_secret=[redacted]&x=1"),
    ("{'refresh_id': 'r1'}", "{'refresh_id': '[redacted]'}"),
    ("GET https://p.example/rest/7/k2j4h5g6/crm.deal.get",
     "GET https://p.example/rest/7/[redacted]/crm.deal.get"),
    ("error code: QUERY_LIMIT_EXCEEDED", "error code: QUERY_LIMIT_EXCEEDED"),
    ("admin token: too many wrong guesses", "admin token: too many wrong guesses"),
])
def test_text_loses_credentials_and_keeps_ordinary_words(text: str, shown: str) -> None:
    assert scrub_text(text) == shown
