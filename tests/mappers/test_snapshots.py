"""Typed snapshots from the tasks API (camelCase) and the CRM API (UPPER_CASE)."""

from datetime import datetime, timedelta, timezone

import pytest

from mappers.bindings import CrmRef
from mappers.errors import BindingCodeError, SnapshotError, ValidationError
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot

MSK = timezone(timedelta(hours=3))

# The shape of a tasks.task.get answer (b24restdocs api-reference/tasks/tasks-task-get.md).
TASK_GET = {
    "task": {
        "id": "8017",
        "title": "Prepare the contract",
        "description": "Task description with [B]formatting[/B]",
        "status": "3",
        "subStatus": "3",
        "createdBy": "503",
        "responsibleId": "547",
        "accomplices": ["12", "11"],
        "auditors": [],
        "changedBy": "503",
        "changedDate": "2026-11-26T10:00:00+03:00",
        "statusChangedDate": "2026-11-26T09:30:00+03:00",
        "statusChangedBy": "547",
        "deadline": "2026-11-28T19:00:00+03:00",
        "closedDate": None,
        "taskControl": "Y",
        "seParameter": [{"code": "2", "value": "N"}, {"code": "3", "value": "Y"}],
        "ufCrmTask": ["C_627", "CO_591", "L_1177", "T88_3", "D_1723"],
        "tags": ["contract", "CRM"],
        "groupId": "0",
        "notViewed": "N",
        "checklist": {
            "5": {"id": "5", "parentId": "0", "title": "Terms", "isComplete": "N"},
            "6": {"id": "6", "parentId": "0", "title": "Prices", "isComplete": "Y"},
        },
        "creator": {"id": "503", "name": "Maria Johnson"},
        "action": {"complete": True},
    }
}


def answer(**changes) -> dict:
    return {**TASK_GET["task"], **changes}


def test_task_from_rest():
    task = TaskSnapshot.from_rest(TASK_GET, viewer_id=547, result_count=1)
    assert {name: value for name, value in task if name != "checklist_digest"} == {
        "id": 8017,
        "title": "Prepare the contract",
        "description": "Task description with [B]formatting[/B]",
        "real_status": 3,
        "created_by": 503,
        "responsible_id": 547,
        "accomplices": (11, 12),
        "auditors": (),
        "changed_by": 503,
        "status_changed_by": 547,
        "changed_date": datetime(2026, 11, 26, 10, tzinfo=MSK),
        "status_changed_date": datetime(2026, 11, 26, 9, 30, tzinfo=MSK),
        "deadline": datetime(2026, 11, 28, 19, tzinfo=MSK),
        "closed_date": None,
        "task_control": True,
        "result_required": True,
        "crm_bindings": (CrmRef(3, 627), CrmRef(4, 591), CrmRef(1, 1177), CrmRef(136, 3),
                         CrmRef(2, 1723)),
        "tags": ("CRM", "contract"),
        "group_id": 0,
        "checklist_count": 2,
        "result_count": 1,
        "not_viewed_by_responsible": False,
    }  # fmt: skip
    assert task.has_taskbridge_tag and not task.is_completed
    assert len(task.checklist_digest) == 32


def test_the_checklist_digest_follows_what_items_say_not_their_order():
    items = TASK_GET["task"]["checklist"]
    same = TaskSnapshot.from_rest(answer(checklist=list(reversed(items.values()))))
    ticked = {**items, "5": {**items["5"], "isComplete": "Y"}}
    assert same.checklist_digest == TaskSnapshot.from_rest(TASK_GET).checklist_digest
    assert TaskSnapshot.from_rest(answer(checklist=ticked)).checklist_digest != (
        same.checklist_digest
    )


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"ufCrmTask": False}, "crm_bindings", ()),
        ({"realStatus": "5", "status": "-1"}, "real_status", 5),
        ({"deadline": ""}, "deadline", None),
        ({"changedBy": "0"}, "changed_by", None),
        ({"groupId": None}, "group_id", 0),
        ({"groupId": "14"}, "group_id", 14),
        ({"seParameter": []}, "result_required", False),
        ({"seParameter": {"1": {"CODE": "3", "VALUE": "N"}}}, "result_required", False),
        ({"seParameter": [{"CODE": 3, "VALUE": "Y"}]}, "result_required", True),
        ({"tags": "a, b,,CRM"}, "tags", ("CRM", "a", "b")),
        ({"tags": {"1": {"id": "1", "title": "x"}, "2": {"NAME": "y"}}}, "tags", ("x", "y")),
        ({"tags": None}, "tags", ()),
        ({"taskControl": True}, "task_control", True),
        ({"auditors": {"0": "4"}}, "auditors", (4,)),
        ({"notViewed": "Y"}, "not_viewed_by_responsible", None),  # not the responsible's view
    ],
)
def test_task_field_shapes(changes, field, expected):
    assert getattr(TaskSnapshot.from_rest(answer(**changes)), field) == expected


def test_unviewed_marker_describes_the_responsible_only_with_their_token():
    assert TaskSnapshot.from_rest(answer(notViewed="Y"), viewer_id=547).not_viewed_by_responsible
    someone_else = TaskSnapshot.from_rest(answer(notViewed="Y"), viewer_id=503)
    assert someone_else.not_viewed_by_responsible is None
    missing = {k: v for k, v in TASK_GET["task"].items() if k not in ("notViewed", "checklist")}
    task = TaskSnapshot.from_rest(missing, viewer_id=547)
    assert task.not_viewed_by_responsible is None
    assert task.checklist_digest is None


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ([], "must be an object"),
        ({"task": "x"}, "must be an object"),
        (answer(id="abc"), "id: Input should be a valid integer"),
        (answer(deadline="2026-11-28T19:00:00"), "deadline: Input should have timezone info"),
        (answer(deadline="tomorrow"), "deadline"),
        (answer(taskControl="maybe"), "expected 'Y' or 'N'"),
        (answer(notViewed="?"), "expected 'Y' or 'N'"),
        (answer(seParameter="3"), "expected a list"),
        (answer(seParameter=["3"]), "entries must be objects"),
        (answer(tags=[1]), "a tag must be a name"),
        (answer(checklist=["x"]), "checklist items must be objects"),
        (answer(accomplices=[{"id": "1"}]), "user IDs"),
        (answer(accomplices=["x"]), "accomplices"),
        (answer(extra_thing=1) | {"status": None}, "real_status"),
    ],
)
def test_wrong_task_shapes_raise_snapshot_error(task, message):
    with pytest.raises(SnapshotError, match=message) as caught:
        TaskSnapshot.from_rest(task, viewer_id=547)
    assert isinstance(caught.value, ValidationError)


def test_a_bad_binding_code_is_named():
    with pytest.raises(BindingCodeError, match="'X_1'"):
        TaskSnapshot.from_rest(answer(ufCrmTask=["D_1", "X_1"]))


DEAL = {
    "ID": "12",
    "TITLE": "Office chairs",
    "CATEGORY_ID": "1",
    "STAGE_ID": "C1:WON",
    "STAGE_SEMANTIC_ID": "S",
    "CLOSED": "Y",
    "ASSIGNED_BY_ID": "10",
    "UF_CRM_TASKBRIDGE_STATUS": "",
    "DATE_MODIFY": "2026-11-26T10:00:00+03:00",
}


def test_deal_from_rest():
    deal = CrmItemSnapshot.from_rest(2, DEAL)
    assert deal == CrmItemSnapshot(entity_type_id=2, id=12, title="Office chairs", category_id=1,
                                   stage_id="C1:WON", stage_semantic="S", closed=True,
                                   assigned_by_id=10, status_field=None)  # fmt: skip
    assert deal.ref == CrmRef(2, 12) and deal.is_final


def test_lead_from_rest():
    lead = CrmItemSnapshot.from_rest(1, {"ID": "7", "STATUS_ID": "IN_PROCESS",
                                         "STATUS_SEMANTIC_ID": "P", "ASSIGNED_BY_ID": "3",
                                         "UF_CRM_TASKBRIDGE_STATUS": "55"})  # fmt: skip
    assert (lead.ref.kind, lead.stage_id, lead.closed, lead.category_id) == (
        "lead",
        "IN_PROCESS",
        False,
        0,
    )
    assert lead.status_field == "55" and not lead.is_final
    junk = CrmItemSnapshot.from_lead({"ID": "7", "STATUS_ID": "JUNK", "STATUS_SEMANTIC_ID": "F"})
    assert junk.closed and junk.is_final


@pytest.mark.parametrize(
    ("entity_type_id", "item", "message"),
    [
        (2, {**DEAL, "STAGE_SEMANTIC_ID": "X"}, "stage_semantic"),
        (2, {**DEAL, "CLOSED": "1"}, "expected 'Y' or 'N'"),
        (2, {k: v for k, v in DEAL.items() if k != "STAGE_ID"}, "stage_id: Field required"),
        (2, ["not", "a", "deal"], "must be an object"),
        (1, {"ID": "0", "STATUS_ID": "NEW", "STATUS_SEMANTIC_ID": "P"}, "id"),
        (3, DEAL, "not a deal or a lead"),
    ],
)
def test_wrong_crm_shapes_raise_snapshot_error(entity_type_id, item, message):
    with pytest.raises(SnapshotError, match=message):
        CrmItemSnapshot.from_rest(entity_type_id, item)
