"""Who made a change (spec §3's actor): the user an event names, and TaskBridge's echoes."""

import pytest

from mappers.actors import (
    EventActor,
    actor_item_kind,
    edited_by_someone_else,
    event_actor,
    latest_actor,
    own_echoes,
    task_actor,
)
from mappers.errors import InvalidIdError

TASKBRIDGE, MANAGER, COLLEAGUE = 1, 5, 7

# payload | the user it names
EVENT_ACTORS = [
    ("auth[user_id]", {"auth": {"user_id": "7"}}, 7),
    ("auth[user_id] as a number", {"auth": {"user_id": 7}}, 7),
    ("auth[user_id] wins over user_id", {"auth": {"user_id": "7"}, "user_id": "5"}, 7),
    ("blank auth[user_id]: user_id", {"auth": {"user_id": ""}, "user_id": "5"}, 5),
    ("undefined auth[user_id]: user_id", {"auth": {"user_id": "undefined"}, "user_id": 5}, 5),
    ("no auth[user_id]: user_id", {"auth": {}, "user_id": "5"}, 5),
    ("auth redacted (not an object): user_id", {"auth": "[redacted]", "user_id": "5"}, 5),
    ("no auth at all: user_id", {"user_id": "5"}, 5),
    ("nobody named", {"auth": {"user_id": None}}, None),
    ("user_id blank too", {"auth": {}, "user_id": ""}, None),
    ("user_id undefined too", {"user_id": "undefined"}, None),
    ("an empty payload", {}, None),
    ("user 0 is nobody", {"auth": {"user_id": "0"}}, None),
    ("user 0 as a number is nobody", {"user_id": 0}, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "payload", "expected"), EVENT_ACTORS,
                         ids=[r[0] for r in EVENT_ACTORS])  # fmt: skip
def test_the_user_an_event_names(name, payload, expected):
    assert event_actor(payload) == expected


@pytest.mark.parametrize("bad", ["²", "-3", "7a", "9" * 25, True, 7.0])
def test_a_user_id_that_is_not_an_id_is_refused(bad):
    with pytest.raises(InvalidIdError, match="user_id"):
        event_actor({"auth": {"user_id": bad}})


def ev(actor, event="ONTASKUPDATE"):
    return EventActor(event, actor)


# events in arrival order | who made the change
LATEST = [
    ("no events", [], None),
    ("one event", [ev(COLLEAGUE)], COLLEAGUE),
    ("the latest event wins", [ev(MANAGER), ev(COLLEAGUE)], COLLEAGUE),
    ("the latest that names someone", [ev(MANAGER), ev(COLLEAGUE), ev(None)], COLLEAGUE),
    ("nobody named", [ev(None), ev(None)], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "events", "expected"), LATEST, ids=[r[0] for r in LATEST])
def test_the_latest_actor(name, events, expected):
    assert latest_actor(events) == expected


# task's changedBy | events | actor
TASK_ACTORS = [
    ("the task's last editor wins over the events", MANAGER, [ev(COLLEAGUE)], MANAGER),
    ("no last editor: the latest event's user", None, [ev(MANAGER), ev(COLLEAGUE)], COLLEAGUE),
    ("no last editor, no user named", None, [ev(None)], None),
    ("no last editor, no events", None, [], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "changed_by", "events", "expected"), TASK_ACTORS,
                         ids=[r[0] for r in TASK_ACTORS])  # fmt: skip
def test_the_actor_of_an_observed_task(name, changed_by, events, expected):
    assert task_actor(changed_by, events) == expected


HELD_BY = (("company", COLLEAGUE), ("deal", MANAGER), ("lead", MANAGER))


# actor | the kind of bound item they are responsible for
@pytest.mark.parametrize(("actor", "expected"), [
    (MANAGER, "deal"),  # the first in bound_responsibles' order
    (COLLEAGUE, "company"),
    (TASKBRIDGE, None),
    (None, None),
])  # fmt: skip
def test_which_bound_item_the_actor_holds(actor, expected):
    assert actor_item_kind(HELD_BY, actor) == expected


def test_no_bound_item_no_kind():
    assert actor_item_kind((), MANAGER) is None


# events of one object | writes TaskBridge expects back on it | its own echoes?
ECHOES = [
    ("one expected echo", [ev(TASKBRIDGE)], 1, True),
    ("fewer than expected", [ev(TASKBRIDGE)], 2, True),
    ("as many as expected", [ev(TASKBRIDGE), ev(TASKBRIDGE)], 2, True),
    ("more than expected", [ev(TASKBRIDGE), ev(TASKBRIDGE)], 1, False),
    ("nothing expected", [ev(TASKBRIDGE)], 0, False),
    ("one from someone else", [ev(TASKBRIDGE), ev(COLLEAGUE)], 2, False),
    ("one naming nobody", [ev(None)], 1, False),
    ("no events", [], 3, False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "events", "expected_writes", "own"), ECHOES,
                         ids=[r[0] for r in ECHOES])  # fmt: skip
def test_taskbridge_s_own_writes_coming_back(name, events, expected_writes, own):
    assert own_echoes(events, expected=expected_writes, acting_user_id=TASKBRIDGE) is own


# events of one task | edited by someone other than TaskBridge?
EDITS = [
    ("an edit by a colleague", [ev(COLLEAGUE)], True),
    ("an edit naming nobody", [ev(None)], True),
    ("TaskBridge's own edit (its CRM tag)", [ev(TASKBRIDGE)], False),
    ("a colleague's edit, then TaskBridge's", [ev(COLLEAGUE), ev(TASKBRIDGE)], False),
    ("TaskBridge's edit, then a colleague's comment",
     [ev(TASKBRIDGE), ev(COLLEAGUE, "ONTASKCOMMENTADD")], True),
    ("no edit, only a comment", [ev(COLLEAGUE, "ONTASKCOMMENTADD")], False),
    ("only a view", [ev(COLLEAGUE, "TASKBRIDGE_TASK_VIEWED")], False),
    ("no events", [], False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "events", "expected"), EDITS, ids=[r[0] for r in EDITS])
def test_edited_by_someone_else(name, events, expected):
    assert edited_by_someone_else(events, acting_user_id=TASKBRIDGE) is expected
