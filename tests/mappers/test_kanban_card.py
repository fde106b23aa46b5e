"""The kanban card's activity: its badge is the item's status (§4), its card lists the tasks."""

import json

import pytest

from mappers.bindings import CrmRef
from mappers.kanban_card import (
    MAX_BLOCKS,
    CardShown,
    CardTask,
    added_activity_id,
    card_layout,
    configurable_params,
    plan_card,
    task_url,
)
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import WriteKind

S = CrmTaskStatus
DEAL, LEAD, CONTACT = CrmRef(2, 42), CrmRef(1, 7), CrmRef(3, 5)
CONTRACT = CardTask(11, "Prepare the contract", S.IN_PROGRESS, True, 3)
INVOICE = CardTask(12, "Send the invoice", S.FINISHED, False, 4)


def test_the_layout_tags_the_status_and_links_each_task():
    layout = card_layout([INVOICE, CONTRACT], S.IN_PROGRESS)
    assert layout["header"] == {
        "title": "Tasks (TaskBridge)",
        "tags": {"status": {"title": "In progress", "type": "primary"}},
    }
    blocks = layout["body"]["blocks"]
    assert list(blocks) == ["task_11", "task_12"]
    assert blocks["task_12"] == {
        "type": "withTitle",
        "properties": {
            "title": "Completed",
            "inline": True,
            "block": {
                "type": "link",
                "properties": {
                    "text": "Send the invoice",
                    "action": {
                        "type": "redirect",
                        "uri": "/company/personal/user/4/tasks/task/view/12/",
                    },
                },
            },
        },
    }


def test_the_layout_speaks_the_portals_language():
    layout = card_layout([CONTRACT._replace(status=None, title="")], S.EXPIRED, language="it")
    assert layout["header"]["title"] == "Incarichi (TaskBridge)"
    assert layout["header"]["tags"]["status"] == {"title": "Posticipato", "type": "failure"}
    properties = layout["body"]["blocks"]["task_11"]["properties"]
    assert properties["title"] == "Nessuno stato"
    assert properties["block"]["properties"]["text"] == "#11"


def test_no_tasks_no_tag_and_one_block_saying_so():
    layout = card_layout([], None, language="de")
    assert "tags" not in layout["header"]
    assert layout["body"]["blocks"] == {
        "none": {"type": "text", "properties": {"value": "No tasks"}}
    }


@pytest.mark.parametrize(
    ("count", "links", "more"), [(20, 20, None), (45, 19, "and 26 more tasks")]
)
def test_the_body_never_holds_more_than_twenty_blocks(count, links, more):
    tasks = [CardTask(n, f"Task {n}", S.CREATED, True, 1) for n in range(1, count + 1)]
    blocks = card_layout(tasks, S.CREATED)["body"]["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert sum(name.startswith("task_") for name in blocks) == links
    assert blocks.get("more", {}).get("properties", {}).get("value") == more


def test_task_url():
    assert task_url(CONTRACT) == "/company/personal/user/3/tasks/task/view/11/"


def test_the_first_card_is_added_with_the_badge_of_the_items_status():
    write = plan_card(DEAL, [CONTRACT, INVOICE], S.IN_PROGRESS, item_closed=False)
    assert write is not None and write.kind is WriteKind.ITEM_CARD and write.item == DEAL
    assert write.field("badge_code") == "taskbridge_in_progress"
    assert write.field("completed") == "N"
    method, params = configurable_params(write)
    assert method == "crm.activity.configurable.add"
    assert params["ownerTypeId"] == 2 and params["ownerId"] == 42
    assert params["fields"] == {
        "completed": "N",
        "badgeCode": "taskbridge_in_progress",
        "originatorId": "taskbridge",
        "originId": "D_42",
    }
    assert "deadline" not in params["fields"]  # never an overdue activity
    assert params["layout"] == card_layout([CONTRACT, INVOICE], S.IN_PROGRESS)


def test_later_cards_update_the_activity_by_its_id():
    first = plan_card(LEAD, [CONTRACT], S.IN_PROGRESS, item_closed=False)
    shown = CardShown(activity_id=99, digest=str(first.field("digest")))
    later = plan_card(
        LEAD, [CONTRACT._replace(status=S.WAITING)], S.WAITING, item_closed=False, shown=shown
    )
    method, params = configurable_params(later)
    assert method == "crm.activity.configurable.update"
    assert params["id"] == 99 and params["fields"]["badgeCode"] == "taskbridge_waiting"
    assert "ownerId" not in params


def test_an_add_becomes_an_update_of_the_activity_found_on_the_portal():
    write = plan_card(DEAL, [CONTRACT], S.IN_PROGRESS, item_closed=False)
    method, params = configurable_params(write, found_id=31)
    assert (method, params["id"]) == ("crm.activity.configurable.update", 31)


def test_a_card_that_shows_this_already_is_not_written():
    first = plan_card(DEAL, [CONTRACT], S.IN_PROGRESS, item_closed=False)
    shown = CardShown(activity_id=5, digest=str(first.field("digest")))
    assert plan_card(DEAL, [CONTRACT], S.IN_PROGRESS, item_closed=False, shown=shown) is None


def test_a_status_that_comes_back_is_written_again_under_a_new_key():
    progress = plan_card(DEAL, [CONTRACT], S.IN_PROGRESS, item_closed=False)
    waiting = plan_card(
        DEAL,
        [CONTRACT._replace(status=S.WAITING)],
        S.WAITING,
        item_closed=False,
        shown=CardShown(5, str(progress.field("digest"))),
    )
    again = plan_card(
        DEAL,
        [CONTRACT],
        S.IN_PROGRESS,
        item_closed=False,
        shown=CardShown(5, str(waiting.field("digest"))),
    )
    assert again.field("digest") == progress.field("digest")
    assert len({progress.key, waiting.key, again.key}) == 3


@pytest.mark.parametrize(
    ("tasks", "status", "closed"),
    [
        ([INVOICE], S.FINISHED, False),  # no open task left
        ([CONTRACT], S.IN_PROGRESS, True),  # the item is closed
        ([], None, False),  # its tasks deleted or unbound
    ],
)
def test_the_activity_is_closed_so_the_badge_leaves_the_card(tasks, status, closed):
    write = plan_card(DEAL, tasks, status, item_closed=closed, shown=CardShown(8, "old"))
    assert write.field("completed") == "Y"
    _method, params = configurable_params(write)
    assert params["fields"]["completed"] == "Y"
    assert ("badgeCode" in params["fields"]) is (status is not None)


def test_a_card_going_back_and_forth_is_written_each_time_it_has_a_new_cause():
    progress = plan_card(DEAL, [CONTRACT], S.IN_PROGRESS, item_closed=False, cause="c1")
    shown = CardShown(5, str(progress.field("digest")))
    waiting = plan_card(
        DEAL,
        [CONTRACT._replace(status=S.WAITING)],
        S.WAITING,
        item_closed=False,
        shown=shown,
        cause="c2",
    )
    shown_waiting = CardShown(5, str(waiting.field("digest")))
    # The same move again (started, paused, started...) is another change: another key.
    again = plan_card(
        DEAL,
        [CONTRACT._replace(status=S.WAITING)],
        S.WAITING,
        item_closed=False,
        shown=shown,
        cause="c4",
    )
    assert again.key != waiting.key
    replayed = plan_card(
        DEAL,
        [CONTRACT._replace(status=S.WAITING)],
        S.WAITING,
        item_closed=False,
        shown=shown,
        cause="c2",
    )
    assert replayed.key == waiting.key
    assert (
        plan_card(
            DEAL,
            [CONTRACT._replace(status=S.WAITING)],
            S.WAITING,
            item_closed=False,
            shown=shown_waiting,
            cause="c9",
        )
        is None
    )


def test_nothing_open_and_no_activity_yet_adds_nothing():
    assert plan_card(DEAL, [INVOICE], S.FINISHED, item_closed=False) is None


def test_contacts_companies_and_smart_process_items_get_no_card():
    assert plan_card(CONTACT, [CONTRACT], S.IN_PROGRESS, item_closed=False) is None


def test_the_layout_is_sent_as_the_write_holds_it():
    write = plan_card(DEAL, [CONTRACT], S.IN_PROGRESS, item_closed=False, language="it")
    assert json.loads(str(write.field("layout")))["header"]["title"] == "Incarichi (TaskBridge)"


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ({"activity": {"id": 999}}, 999),
        ({"activity": {"id": "17"}}, 17),
        ({"activity": {"id": "x"}}, None),
        ({"activity": {}}, None),
        ({"activity": 5}, None),
        ([], None),
    ],
)
def test_the_added_activity_id_is_read_from_the_answer(answer, found):
    assert added_activity_id(answer) == found
