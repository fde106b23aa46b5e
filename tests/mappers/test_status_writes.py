"""Spec §4, §6: one status write per item and pass, and none for a card that shows it."""

import pytest

from mappers.bindings import CrmRef
from mappers.status_writes import last_status_per_item, status_unchanged, written_status
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import Write, WriteKind, item_status_write

S = CrmTaskStatus
DEAL, LEAD = CrmRef(2, 12), CrmRef(1, 7)


def status(item, value, task=1):
    return item_status_write(item, value, cause=f"task:{task}")


def timeline(item, key):
    return Write(WriteKind.TIMELINE, key, item=item, task_id=1)


TAG = Write(WriteKind.TASK_TAG, "tag", task_id=1, fields=(("tags", ("CRM",)),))

# the pass's writes, in order | the writes kept
LAST = [
    ("no writes", [], []),
    ("one status write", [status(DEAL, S.VIEWED)], [status(DEAL, S.VIEWED)]),
    ("two tasks of one deal: the last status wins",
     [status(DEAL, S.VIEWED, 1), status(DEAL, S.UPDATED, 2)], [status(DEAL, S.UPDATED, 2)]),
    ("a clearing write last wins too",
     [status(DEAL, S.VIEWED, 1), status(DEAL, None, 2)], [status(DEAL, None, 2)]),
    ("each item keeps its own last",
     [status(DEAL, S.VIEWED, 1), status(LEAD, S.CREATED, 1), status(DEAL, S.EXPIRED, 2)],
     [status(LEAD, S.CREATED, 1), status(DEAL, S.EXPIRED, 2)]),
    ("other writes all stay, in order",
     [TAG, timeline(DEAL, "a"), status(DEAL, S.VIEWED, 1), timeline(DEAL, "b"),
      status(DEAL, S.IN_PROGRESS, 2)],
     [TAG, timeline(DEAL, "a"), timeline(DEAL, "b"), status(DEAL, S.IN_PROGRESS, 2)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "writes", "kept"), LAST, ids=[r[0] for r in LAST])
def test_only_the_last_status_per_item_is_written(name, writes, kept):
    assert last_status_per_item(writes) == kept


@pytest.mark.parametrize("value", [*S, None])
def test_the_status_a_write_sets(value):
    assert written_status(status(DEAL, value)) is value


# the status the card shows (as TaskBridge remembers it) | the write's | remembered | skip?
UNCHANGED = [
    ("the card shows it already", S.VIEWED, S.VIEWED, True, True),
    ("the card shows another", S.CREATED, S.VIEWED, True, False),
    ("the card shows none, the write sets one", None, S.VIEWED, True, False),
    ("the card shows one, the write clears it", S.VIEWED, None, True, False),
    ("the card shows none and the write clears it", None, None, True, True),
    ("an item never remembered is always written", None, None, False, False),
    ("not remembered, even with the same status", S.VIEWED, S.VIEWED, False, False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "shown", "value", "remembered", "expected"), UNCHANGED,
                         ids=[r[0] for r in UNCHANGED])  # fmt: skip
def test_a_card_that_shows_the_status_needs_no_write(name, shown, value, remembered, expected):
    assert status_unchanged(shown, value, remembered=remembered) is expected
