"""Spec §5: a deal or lead reached a final stage, or was reopened, since last seen."""

import pytest

from mappers.bindings import CrmRef
from mappers.closing import ClosingPlan, Hold
from mappers.item_transitions import ItemTransition, item_transition, remembered_after_closing
from mappers.snapshots import CrmItemSnapshot

T = ItemTransition
DEAL = CrmRef(2, 12)


def deal(semantic):
    return CrmItemSnapshot(entity_type_id=2, id=12, stage_id="X", stage_semantic=semantic,
                           closed=semantic != "P")  # fmt: skip


def lead(semantic):
    return CrmItemSnapshot(entity_type_id=1, id=7, stage_id="X", stage_semantic=semantic,
                           closed=semantic != "P")  # fmt: skip


# stage semantics as fetched (None: not found) | remembered closed (None: never seen) | what
TRANSITIONS = [
    ("won, never seen", "S", None, T.REACHED_FINAL),
    ("won, last seen open", "S", False, T.REACHED_FINAL),
    ("lost, last seen open", "F", False, T.REACHED_FINAL),
    ("won, already closed", "S", True, T.STILL_CLOSED),
    ("lost, already closed", "F", True, T.STILL_CLOSED),
    ("in progress, last seen closed: reopened", "P", True, T.REOPENED),
    ("in progress, last seen open", "P", False, T.STILL_OPEN),
    ("in progress, never seen", "P", None, T.STILL_OPEN),
    ("not found, last seen open", None, False, T.GONE),
    ("not found, last seen closed", None, True, T.GONE),
    ("not found, never seen", None, None, T.GONE),
]  # fmt: skip


@pytest.mark.parametrize(("name", "semantic", "was_closed", "expected"), TRANSITIONS,
                         ids=[r[0] for r in TRANSITIONS])  # fmt: skip
@pytest.mark.parametrize("item", [deal, lead])
def test_what_an_item_did_since_last_seen(name, semantic, was_closed, expected, item):
    fetched = None if semantic is None else item(semantic)
    assert item_transition(fetched, was_closed) is expected


def test_a_lead_s_stored_closed_flag_does_not_decide_the_stage_does():
    converted = lead("S").model_copy(update={"closed": False})
    assert item_transition(converted, False) is T.REACHED_FINAL


# the closing plan | (closed, held final stage) remembered
REMEMBERED = [
    ("closed outright", ClosingPlan(DEAL, "WON"), (True, None)),
    ("held in review", ClosingPlan(DEAL, "WON", hold=Hold(DEAL, "REVIEW", "WON")),
     (False, "WON")),
    ("held in review, lost", ClosingPlan(DEAL, "LOSE", hold=Hold(DEAL, "REVIEW", "LOSE")),
     (False, "LOSE")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "plan", "expected"), REMEMBERED,
                         ids=[r[0] for r in REMEMBERED])  # fmt: skip
def test_what_is_remembered_after_a_closing(name, plan, expected):
    assert remembered_after_closing(plan) == expected
