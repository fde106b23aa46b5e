"""A worker that dies after the portal ran its batch, before it recorded the writes as
done: the next worker must not write the timeline entry a second time."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest

from connector.rest.call_log import CallRecord
from connector.storage.journal_rows import Claimed
from connector.sync.worker import Worker
from tests.support.stack import TaskBridge

MARKER = re.compile(r"\[([0-9a-f]{12})\]")


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


@pytest.fixture
def installed(taskbridge: TaskBridge) -> TaskBridge:
    taskbridge.install("page")
    taskbridge.drain()
    return taskbridge


def _die_after_writing(record: CallRecord, _row: Claimed) -> None:
    sent = str(record.params)
    if record.method == "batch" and ("crm.timeline.comment.add" in sent
                                     or "crm.timeline.logmessage.add" in sent):
        raise Killed


def _markers(bridge: TaskBridge) -> Counter[str]:
    return Counter(m for entry in bridge.portal.emulator.state.timeline.values()
                   for m in MARKER.findall(entry.text))


def test_a_write_sent_by_a_worker_that_died_is_not_sent_again(installed: TaskBridge) -> None:
    portal = installed.portal
    manager, colleague = portal.add_user("Maria"), portal.add_user("Luca")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    portal.as_user(manager).create_task(f"D_{deal}", title="Contract", responsible=colleague)
    assert portal.sender.wait_idle(timeout=10)

    doomed = Worker(installed.storage, installed.settings, on_call=_die_after_writing)
    with pytest.raises(Killed):
        doomed.run(until_idle=True)
    written = _markers(installed)
    assert written, "the batch with the timeline entry reached the portal"
    installed.journal.release_stale(older_than=timedelta(0))  # its lock expired

    installed.drain()
    assert _markers(installed) == written
    assert all(count == 1 for count in _markers(installed).values())
    # The deal's kanban-card activity, added in the same batch, is found, not added twice.
    assert len(portal.configurable_activities("deal", deal)) == 1
