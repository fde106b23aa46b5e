"""Views are per user: opening records a view, fires nothing, markers answer for the caller."""

from __future__ import annotations


def test_unviewed_for_the_responsible_until_opened(server, portal, make_rest, receiver,
                                                   install):
    token = install()
    responsible = portal.add_user("Resp")
    portal.add_webhook("resp", responsible)
    app = make_rest("oauth", token)
    app.call("event.bind", {"event": "ONTASKUPDATE", "handler": f"{receiver.url}/ev"})
    task_id = portal.as_user(1).create_task(title="t", responsible=responsible)

    as_resp = make_rest("webhook")
    as_resp.url = lambda m: f"{server.url}/rest/{responsible}/resp/{m}"
    seen = as_resp.call("tasks.task.get", {"taskId": task_id})["task"]
    assert (seen["notViewed"], seen["subStatus"], seen["viewedDate"]) == ("Y", "-2", None)
    as_admin = make_rest("webhook").call("tasks.task.get", {"taskId": task_id})["task"]
    assert (as_admin["notViewed"], as_admin["subStatus"]) == ("N", "2")
    listed = as_resp.call("tasks.task.list", {"filter": {"STATUS": -2}, "select": ["ID"]})
    assert [t["id"] for t in listed["tasks"]] == [str(task_id)]

    portal.as_user(responsible).open_task(task_id)
    seen = as_resp.call("tasks.task.get", {"taskId": task_id})["task"]
    assert (seen["notViewed"], seen["subStatus"]) == ("N", "2") and seen["viewedDate"]
    portal.as_user(1).start_task(task_id)  # a later event proves nothing came for the view
    receiver.wait_for(lambda got: len(got) >= 1)
    portal.sender.wait_idle()
    assert [r.form["event"] for r in receiver.requests] == ["ONTASKUPDATE"]


def test_rest_reads_do_not_mark_viewed(portal):
    responsible = portal.add_user("Resp")
    task_id = portal.as_user(1).create_task(responsible=responsible)
    portal.task(task_id, viewer=responsible)
    assert portal.task(task_id, viewer=responsible)["notViewed"] == "Y"
