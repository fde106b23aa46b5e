"""§3's actor rule looks at the responsible of every CRM item a task is bound to: contacts,
companies and smart-process items (crm.item answers) as well as deals and leads."""

from __future__ import annotations

import pytest

from mappers.bindings import CrmRef
from mappers.bound_items import BoundItem, bound_responsibles
from mappers.errors import BindingCodeError, SnapshotError
from mappers.snapshots import CrmItemSnapshot

COMPANY_ROW = {"id": 7, "title": "Acme", "assignedById": 12, "updatedTime":
               "2026-11-26T10:00:00+00:00", "entityTypeId": 4}


@pytest.mark.parametrize(("type_id", "answer", "expected"), [
    (4, COMPANY_ROW, BoundItem(entity_type_id=4, id=7, title="Acme", assigned_by_id=12)),
    (4, {"item": COMPANY_ROW}, BoundItem(entity_type_id=4, id=7, title="Acme",
                                         assigned_by_id=12)),
    (3, {"id": 5, "name": "Carla", "lastName": "Verdi", "assignedById": 3},
     BoundItem(entity_type_id=3, id=5, title="Carla Verdi", assigned_by_id=3)),
    (3, {"id": 5, "name": None, "lastName": "Verdi", "assignedById": 3},
     BoundItem(entity_type_id=3, id=5, title="Verdi", assigned_by_id=3)),
    (128, {"id": "3", "title": None, "assignedById": "9"},
     BoundItem(entity_type_id=128, id=3, title="", assigned_by_id=9)),
    (128, {"id": 3, "assignedById": 0}, BoundItem(entity_type_id=128, id=3)),
    (128, {"id": 3}, BoundItem(entity_type_id=128, id=3)),
])
def test_an_item_from_the_crm_item_answer(type_id, answer, expected):
    item = BoundItem.from_item(type_id, answer)
    assert item == expected
    assert item.ref == CrmRef(type_id, expected.id)


@pytest.mark.parametrize(("type_id", "answer", "error", "match"), [
    (4, [COMPANY_ROW], SnapshotError, "must be an object"),
    (4, {"title": "no id"}, SnapshotError, "4/None: id"),
    (4, {**COMPANY_ROW, "assignedById": "nobody"}, SnapshotError, "assigned_by_id"),
    (4, {**COMPANY_ROW, "colour": "red"}, None, None),
    (9, COMPANY_ROW, BindingCodeError, "cannot be bound"),
])
def test_an_answer_it_cannot_read(type_id, answer, error, match):
    if error is None:  # fields the rules do not use are left out, not refused
        assert BoundItem.from_item(type_id, answer).assigned_by_id == 12
        return
    with pytest.raises(error, match=match):
        BoundItem.from_item(type_id, answer)


DEAL = CrmItemSnapshot.from_deal({"ID": "12", "STAGE_ID": "NEW", "STAGE_SEMANTIC_ID": "P",
                                  "CLOSED": "N", "ASSIGNED_BY_ID": "20"})
COMPANY = BoundItem.from_item(4, COMPANY_ROW)
SMART = BoundItem(entity_type_id=128, id=3, assigned_by_id=None)


def test_every_bound_item_with_a_responsible_counts():
    bindings = (CrmRef(4, 7), CrmRef(2, 12), CrmRef(128, 3), CrmRef(3, 99))
    deals = {DEAL.ref: DEAL}
    others = {COMPANY.ref: COMPANY, SMART.ref: SMART}
    # The smart-process item has nobody responsible; the contact was not fetched.
    assert bound_responsibles(bindings, deals, others) == (("company", 12), ("deal", 20))
    assert bound_responsibles(bindings[1:2], deals, others) == (("deal", 20),)
    assert bound_responsibles((), deals, others) == ()


def test_the_first_source_that_knows_an_item_answers_for_it():
    stale = BoundItem(entity_type_id=2, id=12, assigned_by_id=99)
    assert bound_responsibles([DEAL.ref], {DEAL.ref: DEAL}, {stale.ref: stale}) == (
        ("deal", 20),)
