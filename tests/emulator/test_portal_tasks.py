"""tasks.task.*: fields, the state machine, who decides between 4 and 5, list filters."""

from __future__ import annotations

import pytest


@pytest.fixture
def people(portal):
    return {"creator": 1, "colleague": portal.add_user("Colleague"),
            "other": portal.add_user("Other")}


def _add(rest, **fields):
    base = {"TITLE": "Prepare the contract", "RESPONSIBLE_ID": 1}
    return rest.call("tasks.task.add", {"fields": {**base, **fields}})["task"]


def test_add_answers_camel_case_strings(rest):
    task = _add(rest, DEADLINE="2030-01-02T10:00:00+00:00", TAGS=["CRM", "x"])
    assert task["id"].isdigit() and task["title"] == "Prepare the contract"
    assert task["status"] == "2" and task["responsibleId"] == "1"
    assert task["deadline"].startswith("2030-01-02T10:00:00")


def test_get_missing_task_is_empty_list(rest):
    assert rest.call("tasks.task.get", {"taskId": 9999}) == []


def test_uf_crm_task_only_when_selected_and_false_when_unbound(rest):
    bound = _add(rest, UF_CRM_TASK=["D_12", "L_7"])["id"]
    unbound = _add(rest)["id"]
    plain = rest.call("tasks.task.get", {"taskId": bound})["task"]
    assert "ufCrmTask" not in plain
    chosen = rest.call("tasks.task.get", {"taskId": bound, "select": ["ID", "UF_CRM_TASK"]})
    assert chosen["task"]["ufCrmTask"] == ["D_12", "L_7"]
    empty = rest.call("tasks.task.get", {"taskId": unbound, "select": ["ID", "UF_CRM_TASK"]})
    assert empty["task"]["ufCrmTask"] is False


def test_update_changes_fields_and_history(rest):
    task_id = _add(rest)["id"]
    rest.call("tasks.task.update", {"taskId": task_id, "fields": {
        "DEADLINE": "2031-05-05T00:00:00+00:00", "TAGS": ["CRM"]}})
    task = rest.call("tasks.task.get", {"taskId": task_id, "select": ["ID", "TAGS",
                                                                      "DEADLINE"]})["task"]
    assert [t["title"] for t in task["tags"].values()] == ["CRM"]
    history = rest.call("tasks.task.history.list", {"taskId": task_id})["list"]
    deadline = next(h for h in history if h["field"] == "DEADLINE")
    assert deadline["value"]["from"] is None and deadline["value"]["to"].isdigit()


@pytest.mark.parametrize(("actions", "expected"), [
    (["start"], "3"), (["start", "pause"], "2"), (["defer"], "6"), (["defer", "renew"], "2"),
    (["complete"], "5"), (["complete", "renew"], "2"),
])
def test_actions_move_the_real_status(rest, actions, expected):
    task_id = _add(rest)["id"]
    for action in actions:
        rest.call(f"tasks.task.{action}", {"taskId": task_id})
    task = rest.call("tasks.task.get", {"taskId": task_id, "select": ["REAL_STATUS"]})["task"]
    assert task["realStatus"] == expected


def test_action_not_allowed_from_status(rest):
    task_id = _add(rest)["id"]
    response = rest.raw("tasks.task.pause", {"taskId": task_id})
    assert response.status_code == 400 and response.json()["error"] == "ERROR_CORE"


def test_controlled_task_completed_by_responsible_waits_for_creator(portal, people):
    creator = portal.as_user(people["creator"])
    task_id = creator.create_task(title="Check", responsible=people["colleague"],
                                  task_control=True)
    portal.as_user(people["colleague"]).complete_task(task_id)
    assert portal.task(task_id)["status"] == "4"
    creator.approve_task(task_id)
    assert portal.task(task_id)["status"] == "5"


def test_controlled_task_over_rest_responsible_4_creator_5(rest, rest_as, people):
    colleague = rest_as(people["colleague"])
    task_a = _add(rest, TITLE="a", RESPONSIBLE_ID=people["colleague"], TASK_CONTROL="Y")
    task_b = _add(rest, TITLE="b", RESPONSIBLE_ID=people["colleague"], TASK_CONTROL="Y")
    assert colleague.call("tasks.task.complete", {"taskId": task_a["id"]})["task"][
        "status"] == "4"
    assert rest.call("tasks.task.complete", {"taskId": task_b["id"]})["task"][
        "status"] == "5"


def _completed_by_colleague(rest, rest_as, people):
    """A controlled task the colleague has completed: it waits (4) for its creator."""
    task_id = _add(rest, RESPONSIBLE_ID=people["colleague"], TASK_CONTROL="Y")["id"]
    rest_as(people["colleague"]).call("tasks.task.complete", {"taskId": task_id})
    return task_id


def test_creator_approves_over_rest(rest, rest_as, people):
    task_id = _completed_by_colleague(rest, rest_as, people)
    approved = rest.call("tasks.task.approve", {"taskId": task_id})["task"]
    assert approved["status"] == "5"
    again = rest.raw("tasks.task.approve", {"taskId": task_id})
    assert (again.status_code, again.json()["error"]) == (400, "ERROR_CORE")


def test_creator_disapproves_over_rest(rest, rest_as, people):
    task_id = _completed_by_colleague(rest, rest_as, people)
    returned = rest.call("tasks.task.disapprove", {"taskId": task_id})["task"]
    assert returned["status"] == "2"
    reread = rest.call("tasks.task.get", {"taskId": task_id, "select": ["STATUS",
                                                                        "REAL_STATUS"]})
    assert reread["task"]["realStatus"] == "2"


def test_responsible_may_not_approve_their_own_work(rest, rest_as, people):
    task_id = _completed_by_colleague(rest, rest_as, people)
    refused = rest_as(people["colleague"]).raw("tasks.task.approve", {"taskId": task_id})
    assert refused.status_code == 403
    assert refused.json() == {"error": "ACCESS_DENIED",
                              "error_description": "Only the creator can accept or return "
                                                   "the task"}
    assert rest.call("tasks.task.get", {"taskId": task_id})["task"]["status"] == "4"


def test_result_required_over_rest(rest, rest_as, people):
    task_id = _add(rest, RESPONSIBLE_ID=people["colleague"],
                   SE_PARAMETER=[{"CODE": 3, "VALUE": "Y"}])["id"]
    colleague = rest_as(people["colleague"])
    refused = colleague.raw("tasks.task.complete", {"taskId": task_id})
    assert refused.status_code == 400
    assert refused.json()["error"] == "ERROR_CORE"
    assert "result" in refused.json()["error_description"]
    assert rest.call("tasks.task.get", {"taskId": task_id})["task"]["status"] == "2"
    comment = colleague.call("task.commentitem.add", {"TASKID": task_id, "FIELDS": {
        "POST_MESSAGE": "Signed, scan attached"}})
    colleague.call("tasks.task.result.addFromComment", {"commentId": comment})
    assert colleague.call("tasks.task.complete", {"taskId": task_id})["task"][
        "status"] == "5"


def test_complete_gives_5_when_creator_is_responsible_or_no_control(portal, people):
    colleague = portal.as_user(people["colleague"])
    own = colleague.create_task(title="own", task_control=True)
    colleague.complete_task(own)
    creator = portal.as_user(people["creator"])
    loose = creator.create_task(title="loose", responsible=people["colleague"])
    colleague.complete_task(loose)
    assert (portal.task(own)["status"], portal.task(loose)["status"]) == ("5", "5")


def test_disapprove_returns_to_pending(portal, people):
    creator = portal.as_user(people["creator"])
    task_id = creator.create_task(responsible=people["colleague"], task_control=True)
    portal.as_user(people["colleague"]).complete_task(task_id)
    with pytest.raises(Exception, match="creator"):
        portal.as_user(people["colleague"]).approve_task(task_id)
    creator.disapprove_task(task_id)
    assert portal.task(task_id)["status"] == "2"


def test_delegate_makes_old_responsible_an_auditor(rest, portal, people):
    task_id = _add(rest, RESPONSIBLE_ID=people["colleague"])["id"]
    task = rest.call("tasks.task.delegate", {"taskId": task_id, "userId": people["other"]})
    assert task["task"]["responsibleId"] == str(people["other"])
    assert str(people["colleague"]) in task["task"]["auditors"]
    assert task["task"]["status"] == "2"


def test_result_required_blocks_completion_until_a_result(portal, people):
    creator = portal.as_user(people["creator"])
    task_id = creator.create_task(responsible=people["colleague"], result_required=True)
    colleague = portal.as_user(people["colleague"])
    with pytest.raises(Exception, match="result"):
        colleague.complete_task(task_id)
    colleague.add_result(task_id, "Done, see attachment")
    colleague.complete_task(task_id)
    assert portal.task(task_id)["status"] == "5"


def test_se_parameter_round_trip(rest):
    task = _add(rest, SE_PARAMETER=[{"VALUE": "Y", "CODE": 3}])
    got = rest.call("tasks.task.get", {"taskId": task["id"], "select": ["SE_PARAMETER"]})
    assert got["task"]["seParameter"] == [{"CODE": "3", "VALUE": "Y"}]


def test_delete(rest):
    task_id = _add(rest)["id"]
    assert rest.call("tasks.task.delete", {"taskId": task_id}) == {"task": True}
    assert rest.call("tasks.task.get", {"taskId": task_id}) == []


def _ids(rest, task_filter, **extra):
    result = rest.call("tasks.task.list", {"filter": task_filter, "select": ["ID"], **extra})
    return [int(t["id"]) for t in result["tasks"]]


def test_list_filters_with_operators(rest, portal, people):
    ids = [int(_add(rest, TITLE=f"t{i}", RESPONSIBLE_ID=1 if i % 2 else people["colleague"],
                     UF_CRM_TASK=[f"D_{i}"], TAGS=["CRM"] if i < 2 else [])["id"])
           for i in range(4)]
    rest.call("tasks.task.start", {"taskId": ids[1]})
    assert _ids(rest, {">=ID": ids[2]}) == ids[2:]
    assert _ids(rest, {"<ID": ids[1]}) == ids[:1]
    assert _ids(rest, {"@ID": [ids[0], ids[3]]}) == [ids[0], ids[3]]
    assert _ids(rest, {"!@ID": [ids[0], ids[3]]}) == ids[1:3]
    assert _ids(rest, {"REAL_STATUS": 3}) == [ids[1]]
    assert _ids(rest, {"!REAL_STATUS": 3}) == [ids[0], *ids[2:]]
    assert _ids(rest, {"RESPONSIBLE_ID": people["colleague"]}) == [ids[0], ids[2]]
    assert _ids(rest, {"CREATED_BY": 1}) == ids
    assert _ids(rest, {"UF_CRM_TASK": "D_2"}) == [ids[2]]
    assert _ids(rest, {"TAG": "CRM"}) == ids[:2]
    assert _ids(rest, {"%TITLE": "t3"}) == [ids[3]]
    assert _ids(rest, {"=ID": ids[0]}) == [ids[0]]
    assert _ids(rest, {">CHANGED_DATE": "2000-01-01T00:00:00+00:00"}) == ids


def test_list_overdue_meta_status_and_deadline_filter(rest, portal):
    late = _add(rest, DEADLINE="2001-01-01T00:00:00+00:00")["id"]
    _add(rest, DEADLINE="2999-01-01T00:00:00+00:00")
    assert _ids(rest, {"STATUS": -1}) == [int(late)]
    assert _ids(rest, {"<DEADLINE": "2010-01-01T00:00:00+00:00"}) == [int(late)]
    task = rest.call("tasks.task.get", {"taskId": late})["task"]
    assert (task["status"], task["subStatus"]) == ("2", "-1")


def test_list_orders_and_pages(rest):
    ids = [int(_add(rest, TITLE=f"t{i}")["id"]) for i in range(3)]
    assert _ids(rest, {}, order={"ID": "DESC"}) == ids[::-1]
    body = rest.raw("tasks.task.list", {"start": -1}).json()
    assert "total" not in body and len(body["result"]["tasks"]) == 3
    assert rest.raw("tasks.task.list", {}).json()["total"] == 3


def test_checklist_items(rest, portal):
    task_id = _add(rest)["id"]
    item_id = rest.call("task.checklistitem.add", {"TASKID": task_id,
                                                   "FIELDS": {"TITLE": "Sign"}})
    rest.call("task.checklistitem.complete", {"TASKID": task_id, "ITEMID": item_id})
    items = rest.call("task.checklistitem.getlist", {"TASKID": task_id})
    assert [(i["TITLE"], i["IS_COMPLETE"]) for i in items] == [("Sign", "Y")]


def test_results_and_comments(rest, portal):
    task_id = _add(rest)["id"]
    comment_id = rest.call("task.commentitem.add", {"TASKID": task_id,
                                                    "FIELDS": {"POST_MESSAGE": "Plain"}})
    assert rest.call("tasks.task.result.list", {"taskId": task_id}) == []
    portal.as_user(1).add_result(int(task_id), "Summary")
    rest.call("tasks.task.result.addFromComment", {"commentId": comment_id})
    results = rest.call("tasks.task.result.list", {"taskId": task_id})
    assert sorted(r["text"] for r in results) == ["Plain", "Summary"]
    assert len(rest.call("task.commentitem.getlist", {"TASKID": task_id})) == 2
