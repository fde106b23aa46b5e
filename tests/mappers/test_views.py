"""Spec §2: the signs that the responsible has seen a task, among its events."""

import pytest

from mappers.actors import EventActor
from mappers.views import viewed_by_responsible

RESPONSIBLE, CREATOR = 7, 5

# events (name, user) | a sign the responsible viewed it?
SIGNS = [
    ("the responsible opened TaskBridge's tab", [("TASKBRIDGE_TASK_VIEWED", RESPONSIBLE)], True),
    ("the responsible commented", [("ONTASKCOMMENTADD", RESPONSIBLE)], True),
    ("the creator opened the tab", [("TASKBRIDGE_TASK_VIEWED", CREATOR)], False),
    ("the creator commented", [("ONTASKCOMMENTADD", CREATOR)], False),
    ("a comment naming nobody", [("ONTASKCOMMENTADD", None)], False),
    ("an edit by the responsible (read from the task, not here)",
     [("ONTASKUPDATE", RESPONSIBLE)], False),
    ("the task was added by the responsible", [("ONTASKADD", RESPONSIBLE)], False),
    ("one sign among other events",
     [("ONTASKUPDATE", CREATOR), ("ONTASKCOMMENTADD", RESPONSIBLE), ("ONTASKUPDATE", None)],
     True),
    ("no events", [], False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "events", "expected"), SIGNS, ids=[r[0] for r in SIGNS])
def test_a_sign_of_viewing_counts_only_from_the_responsible(name, events, expected):
    seen = [EventActor(event, actor) for event, actor in events]
    assert viewed_by_responsible(seen, RESPONSIBLE) is expected
