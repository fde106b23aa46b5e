"""Spec §4, §6: which of a task's bindings TaskBridge acts on."""

import pytest

from mappers.bindings import CrmRef
from mappers.task_bindings import concerns_crm, status_items, unbound_status_items

DEAL, LEAD, CONTACT, COMPANY = CrmRef(2, 12), CrmRef(1, 7), CrmRef(3, 4), CrmRef(4, 5)
SMART = CrmRef(128, 9)

# bindings when last seen (None: never seen) | bindings now | does it concern TaskBridge?
CONCERNS = [
    ("bound now, never seen", None, (DEAL,), True),
    ("bound now and before", (DEAL,), (DEAL,), True),
    ("bound to a contact only", None, (CONTACT,), True),
    ("unbound from its last item", (DEAL,), (), True),
    ("never bound, never seen", None, (), False),
    ("never bound, seen before", (), (), False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "previous", "current", "expected"), CONCERNS,
                         ids=[r[0] for r in CONCERNS])  # fmt: skip
def test_a_task_bound_to_nothing_concerns_nobody(name, previous, current, expected):
    assert concerns_crm(previous, current) is expected


# bindings | those that show a status (deals and leads), in order
@pytest.mark.parametrize(("refs", "expected"), [
    ((DEAL, CONTACT, LEAD, COMPANY, SMART), [DEAL, LEAD]),
    ((LEAD, DEAL), [LEAD, DEAL]),
    ((CONTACT, SMART), []),
    ((), []),
])  # fmt: skip
def test_only_deals_and_leads_show_a_status(refs, expected):
    assert status_items(refs) == expected


# bindings before | now | the items that lost the task
UNBOUND = [
    ("one deal of two unbound", (DEAL, LEAD), (LEAD,), [DEAL]),
    ("every item unbound", (DEAL, LEAD, CONTACT), (), [DEAL, LEAD]),
    ("a contact unbound takes no status", (DEAL, CONTACT), (DEAL,), []),
    ("moved from one deal to another", (DEAL,), (CrmRef(2, 13),), [DEAL]),
    ("nothing unbound", (DEAL,), (DEAL, LEAD), []),
    ("never bound", (), (), []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "previous", "current", "expected"), UNBOUND,
                         ids=[r[0] for r in UNBOUND])  # fmt: skip
def test_the_deals_and_leads_a_task_left(name, previous, current, expected):
    assert sorted(unbound_status_items(previous, current)) == sorted(expected)
