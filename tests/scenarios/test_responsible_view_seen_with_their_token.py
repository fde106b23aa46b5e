"""§2: opening a task fires no event and the unviewed marker answers for the calling user.
Once the responsible has opened TaskBridge in their portal, the worker asks with their own
token whether they have seen their tasks: a view found that way makes the task VIEWED."""

from __future__ import annotations

from connector.scheduler.views import poll_views
from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def _task_for_a_colleague_who_opened_taskbridge(installed: TaskBridge, people: People) -> int:
    """The colleague opened TaskBridge once (here: the deal's tab), so it keeps their token;
    then the deal's manager gives them a task."""
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    installed.drain()
    assert installed.open_tab(people.colleague, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)}).ok
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague
    )
    installed.drain()
    return task


def test_the_responsibles_view_is_found_with_their_token(
    installed: TaskBridge, people: People
) -> None:
    portal = installed.portal
    task = _task_for_a_colleague_who_opened_taskbridge(installed, people)
    assert poll_views(installed.storage, installed.settings) == 0  # not opened yet

    portal.as_user(people.colleague).open_task(task)  # no event
    assert poll_views(installed.storage, installed.settings) == 1
    installed.drain()
    assert installed.task_status(task) == "VIEWED"
    assert poll_views(installed.storage, installed.settings) == 0  # nothing left to find


def test_an_expired_user_token_is_refreshed(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    task = _task_for_a_colleague_who_opened_taskbridge(installed, people)
    portal.as_user(people.colleague).open_task(task)
    portal.expire_tokens()
    assert poll_views(installed.storage, installed.settings) == 1
