"""A portal user opening TaskBridge's tabs sees what the portal shows THEM, whatever their
PLACEMENT_OPTIONS name; a create form creates one task; ids are read strictly.

Each test is the request a hostile user of an installed portal sends, and what must come
back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from connector.scheduler.views import poll_views
from connector.storage.schema import journal
from emulator.errors import RestError
from tests.support.stack import CLIENT_ID, TaskBridge
from webhooks.placement_tabs import VIEW_EVENT

FORM_TOKEN = re.compile(r'name="token" value="([^"]+)"')
BAD_IDS = ("²", "٣", "9" * 25, "-1", "0", "1 ", "0x1f", "1e3", "")


def open_tab(bridge: TaskBridge, user_id: int, placement: str, options: Any, *,
             refresh_of: int | None = None) -> requests.Response:
    """The placement POST a user's browser sends; `refresh_of` swaps in another user's
    REFRESH_ID."""
    emulator = bridge.portal.emulator
    tokens = emulator.issue_tokens(CLIENT_ID, user_id)
    refresh = (emulator.issue_tokens(CLIENT_ID, refresh_of).refresh_token
               if refresh_of is not None else tokens.refresh_token)
    return requests.post(f"{bridge.url}/bitrix/placement", timeout=10, data={
        "AUTH_ID": tokens.access_token, "AUTH_EXPIRES": "3600", "REFRESH_ID": refresh,
        "member_id": emulator.member_id, "PLACEMENT": placement,
        "PLACEMENT_OPTIONS": options if isinstance(options, str) else json.dumps(options)})


def views_journaled(bridge: TaskBridge) -> int:
    with bridge.storage.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(journal)
                            .where(journal.c.event == VIEW_EVENT)).scalar_one()


def deny_deals_to(bridge: TaskBridge, user_id: int) -> None:
    """CRM rights the emulator does not model: `crm.deal.get` refuses this user."""
    registry = bridge.portal.emulator.registry
    original = registry.find("crm.deal.get")
    assert original is not None

    def guarded(portal: Any, ctx: Any, params: dict[str, Any]) -> Any:
        if ctx.user_id == user_id:
            raise RestError("ACCESS_DENIED", "Access denied.", status=403)
        return original.handler(portal, ctx, params)

    registry.method(original.name, original.scope, original.app_only)(guarded)


@pytest.fixture
def outsider(secured: TaskBridge) -> int:
    return int(secured.portal.add_user("Eve", "Outsider", admin=False))


@pytest.fixture
def staffer(secured: TaskBridge) -> int:
    return int(secured.portal.add_user("Luca", "Bianchi", admin=False))


@pytest.fixture
def deal_with_task(secured: TaskBridge, staffer: int) -> tuple[int, int]:
    portal = secured.portal
    deal = portal.as_user(1).create_deal("ACME merger", assigned_by=1)
    task = portal.as_user(1).create_task(f"D_{deal}", title="Secret merger terms",
                                         responsible=staffer)
    secured.drain()
    assert secured.task_status(task) == "CREATED"
    return deal, task


def test_a_task_tab_for_a_task_the_user_cannot_see_shows_nothing_and_records_no_view(
        secured: TaskBridge, outsider: int, deal_with_task: tuple[int, int]) -> None:
    _deal, task = deal_with_task
    calls = secured.rest_calls
    page = open_tab(secured, outsider, "TASK_VIEW_TAB", {"taskId": str(task)})
    assert page.status_code == 404
    assert "Secret merger terms" not in page.text
    assert "Created" not in page.text and 'id="crm-status"' not in page.text
    assert "not visible to you" in page.text
    assert views_journaled(secured) == 0
    assert secured.rest_calls - calls == 1  # the verifying batch, nothing else


def test_a_task_tab_shows_the_task_to_a_user_the_portal_shows_it_to(
        secured: TaskBridge, staffer: int, deal_with_task: tuple[int, int]) -> None:
    _deal, task = deal_with_task
    calls = secured.rest_calls
    page = open_tab(secured, staffer, "TASK_VIEW_TAB", {"taskId": str(task)})
    assert page.status_code == 200
    assert "Secret merger terms" in page.text and 'id="crm-status"' in page.text
    assert views_journaled(secured) == 1
    assert secured.rest_calls - calls == 1


def test_a_deal_tab_for_a_deal_the_user_cannot_see_lists_nothing(
        secured: TaskBridge, outsider: int, deal_with_task: tuple[int, int]) -> None:
    deal, _task = deal_with_task
    deny_deals_to(secured, outsider)
    calls = secured.rest_calls
    page = open_tab(secured, outsider, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    assert page.status_code == 404
    assert "Secret merger terms" not in page.text
    assert FORM_TOKEN.search(page.text) is None  # no form to create tasks on it either
    assert secured.rest_calls - calls == 1


def test_a_deal_tab_lists_only_the_tasks_the_portal_shows_the_user(
        secured: TaskBridge, outsider: int, deal_with_task: tuple[int, int]) -> None:
    deal, _hidden = deal_with_task
    secured.portal.as_user(1).create_task(f"D_{deal}", title="Call the outsider back",
                                          responsible=outsider)
    secured.drain()
    calls = secured.rest_calls
    page = open_tab(secured, outsider, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    assert page.status_code == 200
    assert "Call the outsider back" in page.text
    assert "Secret merger terms" not in page.text
    assert secured.rest_calls - calls == 1  # user, rights, deal, users and tasks: one batch


def test_a_replayed_create_form_creates_nothing_the_second_time(
        secured: TaskBridge, staffer: int, deal_with_task: tuple[int, int]) -> None:
    deal, _task = deal_with_task
    page = open_tab(secured, 1, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    token = FORM_TOKEN.search(page.text)
    assert token, page.text[:300]
    form = {"token": token.group(1), "title": "Only once", "responsible": str(staffer)}
    first = requests.post(f"{secured.url}/bitrix/placement/tasks", data=form, timeout=10)
    assert first.status_code == 200, first.text
    calls = secured.rest_calls
    replay = requests.post(f"{secured.url}/bitrix/placement/tasks", data=form, timeout=10)
    assert replay.status_code == 409
    assert replay.json()["error"] == "form_already_used"
    assert secured.rest_calls == calls
    made = [t for t in secured.portal.emulator.state.tasks.values() if t.title == "Only once"]
    assert len(made) == 1


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_id_that_is_not_one_is_refused_and_journals_nothing(
        secured: TaskBridge, staffer: int, bad: str) -> None:
    calls = secured.rest_calls
    for placement, key in (("TASK_VIEW_TAB", "taskId"), ("CRM_DEAL_DETAIL_TAB", "ID"),
                           ("CRM_LEAD_DETAIL_TAB", "ID")):
        answer = open_tab(secured, staffer, placement, {key: bad})
        assert answer.status_code == 400, (placement, answer.text[:200])
        assert answer.json()["error"] == "invalid_placement"
        assert key in answer.json()["error_description"]
    assert views_journaled(secured) == 0
    assert secured.rest_calls == calls  # refused before any REST call


def test_a_form_naming_a_responsible_that_is_not_an_id_creates_nothing(
        secured: TaskBridge, deal_with_task: tuple[int, int]) -> None:
    deal, _task = deal_with_task
    page = open_tab(secured, 1, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    token = FORM_TOKEN.search(page.text)
    assert token
    before = len(secured.portal.emulator.state.tasks)
    for bad in ("²", "9" * 25):
        answer = requests.post(f"{secured.url}/bitrix/placement/tasks", timeout=10, data={
            "token": token.group(1), "title": "Bad", "responsible": bad})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_task"
    assert len(secured.portal.emulator.state.tasks) == before


def test_a_refresh_token_of_another_user_never_answers_for_the_one_who_sent_it(
        secured: TaskBridge, staffer: int, deal_with_task: tuple[int, int]) -> None:
    """The staffer sends their own AUTH_ID with the admin's REFRESH_ID: once it is used,
    the admin's views must not count as the staffer's."""
    deal, task = deal_with_task
    assert open_tab(secured, staffer, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)},
                    refresh_of=1).ok
    secured.portal.as_user(1).open_task(task)  # the admin saw it; the staffer did not
    secured.portal.expire_tokens()
    assert poll_views(secured.storage, secured.settings) == 0
    assert secured.portal.task(task, viewer=staffer)["notViewed"] == "Y"
    assert poll_views(secured.storage, secured.settings) == 0  # the token was dropped
