"""Spec §4: the status a CRM item shows."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mappers.item_status import TaskStatusRecord, item_status, latest_record
from mappers.statuses import CrmTaskStatus

S = CrmTaskStatus
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_no_tasks_no_status():
    assert item_status([]) is None
    only = [TaskStatusRecord(1, S.VIEWED, T0)]
    assert item_status(only, excluded=frozenset({1})) is None


def test_the_last_changed_task_wins_and_deleting_it_falls_back():
    records = [
        TaskStatusRecord(1, S.WAITING, T0 + timedelta(minutes=10)),
        TaskStatusRecord(2, S.UPDATED, T0 + timedelta(minutes=30)),
        TaskStatusRecord(3, S.FINISHED, T0 + timedelta(minutes=20)),
    ]
    assert item_status(records) is S.UPDATED
    assert item_status(records, excluded=frozenset({2})) is S.FINISHED
    assert item_status(records, excluded=frozenset({2, 3})) is S.WAITING


def test_ties_go_to_the_later_sequence_then_the_higher_task_id():
    same_time = [
        TaskStatusRecord(5, S.WAITING, T0, sequence=2),
        TaskStatusRecord(9, S.EXPIRED, T0, sequence=1),
    ]
    assert item_status(same_time) is S.WAITING
    same_sequence = [TaskStatusRecord(9, S.EXPIRED, T0), TaskStatusRecord(5, S.WAITING, T0)]
    assert latest_record(same_sequence) == TaskStatusRecord(9, S.EXPIRED, T0)


records = st.lists(
    st.builds(
        TaskStatusRecord,
        task_id=st.integers(1, 50),
        status=st.sampled_from(CrmTaskStatus),
        changed_at=st.integers(0, 20).map(lambda minutes: T0 + timedelta(minutes=minutes)),
        sequence=st.integers(0, 3),
    ),
    max_size=12,
    unique_by=lambda record: record.task_id,
)


@settings(settings.get_profile("mappers"))
@given(records, st.frozensets(st.integers(1, 50), max_size=5), st.randoms())
def test_item_status_is_that_of_its_most_recently_changed_task(tasks, gone, random):
    shown = item_status(tasks, excluded=gone)
    remaining = [r for r in tasks if r.task_id not in gone]
    if not remaining:
        assert shown is None
        return
    newest = max(r.changed_at for r in remaining)
    assert shown in {r.status for r in remaining if r.changed_at == newest}
    shuffled = list(tasks)
    random.shuffle(shuffled)
    assert item_status(shuffled, excluded=gone) is shown
