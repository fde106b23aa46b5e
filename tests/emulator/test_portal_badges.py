"""Kanban badges (``crm.activity.badge.*``) as the REST docs describe them: code, title
and value as a string or per language, five types, administrators add and delete."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.conftest import Rest

OVERDUE = {"code": "tb_overdue", "title": {"en": "Task status", "it": "Stato attività"},
           "value": {"en": "Overdue", "it": "In ritardo"}, "type": "failure"}


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def badge(code: str, kind: str = "primary", **extra: Any) -> dict[str, Any]:
    return {"code": code, "title": "Task status", "value": "In progress", "type": kind,
            **extra}


def test_a_badge_added_is_read_back_by_its_code_as_given(rest: Rest):
    added = rest.call("crm.activity.badge.add", OVERDUE)
    assert added == {"badge": OVERDUE}
    assert rest.call("crm.activity.badge.get", {"code": "tb_overdue"}) == {"badge": OVERDUE}
    assert rest.call("crm.activity.badge.list") == {"badges": [OVERDUE]}


@pytest.mark.parametrize("kind", ["success", "failure", "warning", "primary", "secondary"])
def test_each_of_the_five_badge_types_is_accepted(rest: Rest, kind: str):
    assert rest.call("crm.activity.badge.add", badge(f"b_{kind}", kind))["badge"]["type"] == kind


def test_another_badge_type_is_refused(rest: Rest):
    refused = rest.raw("crm.activity.badge.add", badge("b_lavender", "lavender"))
    assert error_of(refused) == (400, "INVALID_ARG_VALUE")
    assert rest.call("crm.activity.badge.list") == {"badges": []}


@pytest.mark.parametrize("missing", ["code", "title", "value", "type"])
def test_every_field_of_a_badge_is_required(rest: Rest, missing: str):
    fields = badge("b_missing")
    del fields[missing]
    assert error_of(rest.raw("crm.activity.badge.add", fields)) == (
        400, "REQUIRED_ARG_MISSING")


def test_a_code_already_taken_cannot_be_added_again(rest: Rest):
    rest.call("crm.activity.badge.add", badge("b_once"))
    again = rest.raw("crm.activity.badge.add", badge("b_once", "failure"))
    assert error_of(again) == (400, "ERROR_BADGE_ALREADY_EXISTS")
    assert rest.call("crm.activity.badge.get", {"code": "b_once"})["badge"]["type"] == "primary"


def test_a_deleted_badge_is_gone(rest: Rest):
    rest.call("crm.activity.badge.add", badge("b_gone"))
    assert rest.call("crm.activity.badge.delete", {"code": "b_gone"}) is True
    assert error_of(rest.raw("crm.activity.badge.get", {"code": "b_gone"})) == (
        400, "NOT_FOUND")
    assert error_of(rest.raw("crm.activity.badge.delete", {"code": "b_gone"})) == (
        400, "NOT_FOUND")


def test_only_administrators_add_and_delete_badges_anybody_reads_them(rest: Rest, rest_as,
                                                                      portal):
    rest.call("crm.activity.badge.add", badge("b_admin"))
    clerk = rest_as(portal.add_user("Clerk"))
    assert error_of(clerk.raw("crm.activity.badge.add", badge("b_clerk"))) == (
        403, "ACCESS_DENIED")
    assert error_of(clerk.raw("crm.activity.badge.delete", {"code": "b_admin"})) == (
        403, "ACCESS_DENIED")
    assert clerk.call("crm.activity.badge.get", {"code": "b_admin"})["badge"]["code"] == (
        "b_admin")
    assert [b["code"] for b in clerk.call("crm.activity.badge.list")["badges"]] == ["b_admin"]


def test_a_form_encoded_badge_keeps_its_languages(rest: Rest):
    rest.call("crm.activity.badge.add", OVERDUE, form=True)
    assert rest.call("crm.activity.badge.get", {"code": "tb_overdue"}) == {"badge": OVERDUE}
