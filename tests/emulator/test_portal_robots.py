"""App robots: registration as the REST docs describe it, automation rules on stages,
the POST to the handler, ``bizproc.event.send`` and the workflow going on."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.conftest import CLIENT_ID, Rest, wait_until

OTHER_APP = "local.other.app"


def robot(receiver_url: str, code: str = "create_task", **extra: Any) -> dict[str, Any]:
    """A robot like TaskBridge's "Create a task": a title, a responsible, a task id back."""
    return {
        "CODE": code, "HANDLER": f"{receiver_url}/bitrix/robot", "AUTH_USER_ID": 1,
        "NAME": {"en": "Create a task", "it": "Crea un'attività"},
        "PROPERTIES": {
            "title": {"Name": {"en": "Title", "it": "Titolo"}, "Type": "string",
                      "Required": "Y"},
            "responsible": {"Name": "Responsible", "Type": "user", "Default": 1},
            "checked": {"Name": "Check on completion", "Type": "bool", "Default": "N"},
        },
        "RETURN_PROPERTIES": {"TaskId": {"Name": {"en": "Task id"}, "Type": "int"}},
        "FILTER": {"INCLUDE": [["crm", "CCrmDocumentDeal"], ["crm", "CCrmDocumentLead"]]},
        **extra,
    }


@pytest.fixture
def app(portal, install, make_rest) -> Rest:
    return make_rest("oauth", install())


@pytest.fixture
def registered(app, receiver) -> Rest:
    """The app with its "create_task" robot registered at the receiver."""
    assert app.call("bizproc.robot.add", robot(receiver.url)) is True
    return app


@pytest.fixture
def other_app(portal, server, make_rest) -> Rest:
    portal.register_app(OTHER_APP, "other-secret", "http://127.0.0.1:9/other")
    tokens = portal.install_app(OTHER_APP, how="event").tokens
    return make_rest("oauth", tokens.access_token)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def robot_calls(receiver) -> list[dict[str, str]]:
    return [r.form for r in receiver.requests if r.path == "/bitrix/robot"]


def wait_robot_calls(portal, receiver, count: int = 1) -> list[dict[str, str]]:
    """The robot POSTs once ``count`` arrived and the portal took in their answers."""
    receiver.wait_for(lambda got: len([r for r in got if r.path == "/bitrix/robot"]) >= count)
    portal.sender.wait_idle()
    return robot_calls(receiver)


# registration -------------------------------------------------------------------


def test_a_registered_robot_is_listed_for_its_app(registered):
    assert registered.call("bizproc.robot.list") == ["create_task"]


@pytest.mark.parametrize(("change", "code", "text"), [
    ({"CODE": ""}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty activity code!"),
    ({"CODE": "bad code!"}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong activity code!"),
    ({"HANDLER": "ftp://127.0.0.1/robot"}, "ERROR_UNSUPPORTED_PROTOCOL",
     "Unsupported handler protocol"),
    ({"HANDLER": "https://elsewhere.example/robot"}, "ERROR_WRONG_HANDLER_URL",
     "Wrong handler URL"),
    ({"HANDLER": ""}, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL"),
    ({"NAME": ""}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty activity NAME!"),
    ({"NAME": {}}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty activity NAME!"),
    ({"CODE": 7}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong activity code!"),
    ({"PROPERTIES": "title"}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong properties array!"),
    ({"PROPERTIES": {"1title": {"Name": "T"}}}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
     "Wrong property key (1title)!"),
    ({"RETURN_PROPERTIES": {"TaskId": {"Type": "int"}}}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
     "Empty property NAME (TaskId)!"),
    ({"DOCUMENT_TYPE": ["crm", "CCrmDocumentDeal"]}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
     "Wrong activity DOCUMENT_TYPE!"),
    ({"FILTER": "b24"}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong activity FILTER!"),
    ({"PROPERTIES": [{"Name": "T"}]}, "ERROR_ACTIVITY_VALIDATION_FAILURE",
     "Wrong property key (0)!"),
])
def test_registration_refuses_what_the_docs_list(app, receiver, change, code, text):
    response = app.raw("bizproc.robot.add", {**robot(receiver.url), **change})
    assert error_of(response) == (400, code, text)
    assert app.call("bizproc.robot.list") == []


def test_an_empty_call_is_empty_data(app):
    assert error_of(app.raw("bizproc.robot.add")) == (
        400, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty data!")


def test_the_same_code_twice_is_already_installed(registered, receiver):
    assert error_of(registered.raw("bizproc.robot.add", robot(receiver.url))) == (
        400, "ERROR_ACTIVITY_ALREADY_INSTALLED", "Activity or Robot already installed!")


def test_a_form_encoded_registration_works_like_json(app, receiver):
    assert app.call("bizproc.robot.add", robot(receiver.url, "form_robot"), form=True)
    assert app.call("bizproc.robot.list") == ["form_robot"]


def test_an_incoming_webhook_has_no_application_context(webhook, receiver):
    for method, params in (("bizproc.robot.add", robot(receiver.url)),
                           ("bizproc.robot.list", {}),
                           ("bizproc.robot.delete", {"CODE": "create_task"})):
        assert error_of(webhook.raw(method, params)) == (
            403, "ACCESS_DENIED", "Application context required")


def test_only_an_administrator_registers(portal, app, receiver, make_rest):
    clerk = portal.add_user("Clerk")
    clerk_app = make_rest("oauth", portal.issue_tokens(CLIENT_ID, clerk).access_token)
    assert error_of(clerk_app.raw("bizproc.robot.add", robot(receiver.url))) == (
        403, "ACCESS_DENIED", "Access denied!")
    assert error_of(clerk_app.raw("bizproc.robot.list")) == (
        403, "ACCESS_DENIED", "Access denied!")


def test_an_app_without_the_bizproc_scope_is_refused(portal, server, receiver, make_rest):
    portal.register_app("local.narrow", "s", "http://127.0.0.1:9/x", scope=["crm", "task"])
    narrow = make_rest("oauth", portal.install_app("local.narrow", how="event")
                       .tokens.access_token)
    status, code, _ = error_of(narrow.raw("bizproc.robot.add", robot(receiver.url)))
    assert (status, code) == (403, "insufficient_scope")


def test_another_app_neither_sees_nor_changes_the_robot(registered, other_app):
    assert other_app.call("bizproc.robot.list") == []
    assert error_of(other_app.raw("bizproc.robot.update", {
        "CODE": "create_task", "FIELDS": {"NAME": "Mine"}})) == (
        400, "ERROR_ACTIVITY_NOT_FOUND", "Activity or Robot not found!")
    assert error_of(other_app.raw("bizproc.robot.delete", {"CODE": "create_task"})) == (
        400, "ERROR_ACTIVITY_NOT_FOUND", "Activity or Robot not found!")
    assert registered.call("bizproc.robot.list") == ["create_task"]


def test_update_changes_only_the_given_fields(portal, registered, receiver):
    assert registered.call("bizproc.robot.update", {"CODE": "create_task", "FIELDS": {
        "NAME": {"en": "Create a task", "it": "Crea un compito"}, "USE_SUBSCRIPTION": "N"}})
    (saved,) = portal.robots(CLIENT_ID)
    assert saved["name"]["it"] == "Crea un compito"
    assert saved["use_subscription"] is False
    assert set(saved["properties"]) == {"title", "responsible", "checked"}
    for nothing in ({}, {"NAME": ""}, {"COLOUR": "red"}):
        assert error_of(registered.raw("bizproc.robot.update", {
            "CODE": "create_task", "FIELDS": nothing})) == (
            400, "ERROR_ACTIVITY_VALIDATION_FAILURE", "No fields to update")
    assert error_of(registered.raw("bizproc.robot.update", {
        "CODE": "create_task", "FIELDS": {"HANDLER": "https://elsewhere.example/r"}})) == (
        400, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL")


def test_delete_removes_the_robot(registered):
    assert registered.call("bizproc.robot.delete", {"CODE": "create_task"}) is True
    assert registered.call("bizproc.robot.list") == []


def test_uninstall_and_update_remove_the_apps_robots(portal, registered, receiver):
    portal.update_app(CLIENT_ID)
    assert portal.robots(CLIENT_ID) == []
    registered.call("bizproc.robot.add", robot(receiver.url))
    portal.uninstall_app(CLIENT_ID)
    assert portal.robots() == []


def test_a_rule_needs_a_registered_robot_offered_for_the_entity(portal, registered,
                                                                receiver):
    with pytest.raises(Exception, match="No app robot"):
        portal.set_automation_rules("deal", "PREPARATION", [{"robot": "unknown"}])
    with pytest.raises(Exception, match="needs property 'title'"):
        portal.set_automation_rules("deal", "PREPARATION", [{"robot": "create_task"}])
    registered.call("bizproc.robot.add", robot(
        receiver.url, "deals_only", FILTER={"INCLUDE": [["crm", "CCrmDocumentDeal"]]}))
    with pytest.raises(Exception, match="not offered for leads"):
        portal.set_automation_rules("lead", "IN_PROCESS", [
            {"robot": "deals_only", "properties": {"title": "x"}}])


# running rules ----------------------------------------------------------------


def test_entering_a_stage_posts_the_robot_call(portal, registered, receiver):
    funnel = portal.add_deal_category("Sales")
    portal.set_automation_rules("deal", f"C{funnel}:PREPARATION", [
        {"robot": "create_task", "properties": {"title": "Send the contract"}}])
    deal = portal.as_user(1).create_deal("Acme", category_id=funnel)
    portal.as_user(1).move_deal(deal, f"C{funnel}:PREPARATION")
    (form,) = wait_robot_calls(portal, receiver)
    (workflow,) = portal.workflows("deal", deal)
    assert form["workflow_id"] == workflow["id"]
    assert form["code"] == "create_task"
    assert [form[f"document_id[{i}]"] for i in range(3)] == [
        "crm", "CCrmDocumentDeal", f"DEAL_{deal}"]
    assert [form[f"document_type[{i}]"] for i in range(3)] == [
        "crm", "CCrmDocumentDeal", "DEAL"]
    assert form["event_token"] == workflow["rules"][0]["event_token"]
    assert form["properties[title]"] == "Send the contract"
    assert form["properties[responsible]"] == "user_1"
    assert form["properties[checked]"] == "N"
    assert form["use_subscription"] == "Y"
    assert form["timeout_duration"] == "0"
    assert form["ts"].isdigit()
    for key in ("access_token", "expires", "expires_in", "scope", "domain",
                "server_endpoint", "status", "client_endpoint", "member_id", "user_id",
                "refresh_token", "application_token"):
        assert form[f"auth[{key}]"], key
    assert form["auth[user_id]"] == "1"
    assert form["auth[member_id]"] == portal.member_id
    assert form["auth[application_token]"] == portal.app(CLIENT_ID).application_token
    assert "bizproc" in form["auth[scope]"].split(",")
    assert workflow["state"] == "waiting"
    assert workflow["rules"][0]["state"] == "waiting"


def test_the_calls_tokens_work_for_rest(portal, server, registered, receiver, make_rest):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}}])
    portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (form,) = wait_robot_calls(portal, receiver)
    assert make_rest("oauth", form["auth[access_token]"]).call("user.current")["ID"] == "1"


def test_event_send_returns_values_and_the_workflow_goes_on(portal, registered, receiver):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}},
        {"builtin": "change_stage", "stage_id": "EXECUTING"}])
    portal.set_automation_rules("deal", "EXECUTING", [
        {"robot": "create_task", "properties": {"title": "next"}}])
    deal = portal.as_user(1).create_deal("Acme")
    registered.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "PREPARATION"}})
    (form,) = wait_robot_calls(portal, receiver)
    assert registered.call("bizproc.event.send", {
        "EVENT_TOKEN": form["event_token"], "RETURN_VALUES": {"TaskId": 42, "Other": 1},
        "LOG_MESSAGE": "Task 42 created"}) is True
    assert portal.deal(deal)["STAGE_ID"] == "EXECUTING"
    first, second = portal.workflows("deal", deal)
    assert first["state"] == "completed"
    assert first["rules"][0]["return_values"] == {"TaskId": 42}
    assert first["rules"][0]["log"] == ["Task 42 created"]
    assert [r["state"] for r in first["rules"]] == ["completed", "completed"]
    assert second["stage_id"] == "EXECUTING"
    assert wait_robot_calls(portal, receiver, 2)[1]["properties[title]"] == "next"
    assert portal.workflow(first["id"]) == first


def test_an_unknown_or_used_token_is_access_denied(portal, registered, receiver, webhook):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}}])
    portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (form,) = wait_robot_calls(portal, receiver)
    denied = (403, "ACCESS_DENIED", "Access denied!")
    assert error_of(registered.raw("bizproc.event.send", {
        "EVENT_TOKEN": form["event_token"] + "x"})) == denied
    assert error_of(registered.raw("bizproc.event.send", {})) == denied
    assert registered.call("bizproc.event.send", {"EVENT_TOKEN": form["event_token"]})
    assert error_of(registered.raw("bizproc.event.send", {
        "EVENT_TOKEN": form["event_token"]})) == denied
    assert error_of(webhook.raw("bizproc.event.send", {
        "EVENT_TOKEN": form["event_token"]})) == denied


def test_activity_log_writes_while_the_rule_waits(portal, registered, receiver):
    portal.set_automation_rules("lead", "IN_PROCESS", [
        {"robot": "create_task", "properties": {"title": "t"}}])
    lead = portal.as_user(1).create_lead("L", status_id="IN_PROCESS")
    (form,) = wait_robot_calls(portal, receiver)
    assert form["document_id[2]"] == f"LEAD_{lead}"
    assert form["document_type[1]"] == "CCrmDocumentLead"
    assert registered.call("bizproc.activity.log", {
        "EVENT_TOKEN": form["event_token"], "LOG_MESSAGE": "still waiting"})
    assert error_of(registered.raw("bizproc.activity.log", {
        "EVENT_TOKEN": form["event_token"]})) == (
        400, "ERROR_EMPTY_LOG_MESSAGE", "Empty log message!")
    (workflow,) = portal.workflows("lead", lead)
    assert workflow["rules"][0]["log"] == ["still waiting"]
    assert workflow["state"] == "waiting"


def test_without_subscription_the_workflow_goes_on_after_the_post(portal, registered,
                                                                  receiver):
    registered.call("bizproc.robot.add", robot(receiver.url, "notify",
                                               USE_SUBSCRIPTION="N"))
    portal.set_automation_rules("lead", "IN_PROCESS", [
        {"robot": "notify", "properties": {"title": "t"}},
        {"builtin": "change_stage", "status_id": "PROCESSED"}])
    lead = portal.as_user(1).create_lead("L")
    portal.as_user(1).move_lead(lead, "IN_PROCESS")
    (form,) = wait_robot_calls(portal, receiver)
    assert form["use_subscription"] == "N"
    wait_until(lambda: portal.lead(lead)["STATUS_ID"] == "PROCESSED")
    assert portal.workflows("lead", lead)[0]["state"] == "completed"


def test_leaving_the_stage_ends_the_waiting_workflow(portal, registered, receiver):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}}])
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (form,) = wait_robot_calls(portal, receiver)
    portal.as_user(1).move_deal(deal, "EXECUTING")
    (workflow,) = portal.workflows("deal", deal)
    assert workflow["state"] == "terminated"
    assert error_of(registered.raw("bizproc.event.send", {
        "EVENT_TOKEN": form["event_token"]}))[1] == "ACCESS_DENIED"


def test_a_timeout_lets_the_workflow_go_on_without_values(portal, registered, receiver):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}, "timeout": 3600},
        {"builtin": "change_stage", "stage_id": "EXECUTING"}])
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (form,) = wait_robot_calls(portal, receiver)
    assert form["timeout_duration"] == "3600"
    portal.advance_time(3601)
    assert portal.deal(deal)["STAGE_ID"] == "EXECUTING"
    rule = portal.workflows("deal", deal)[0]["rules"][0]
    assert (rule["state"], rule["return_values"]) == ("timed_out", {})


def test_a_wait_rule_holds_until_the_clock_passes(portal):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"builtin": "wait", "seconds": 600},
        {"builtin": "change_stage", "stage_id": "WON"}])
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    assert portal.workflows("deal", deal)[0]["state"] == "waiting"
    portal.advance_time(601)
    assert portal.deal(deal)["STAGE_ID"] == "WON"


def test_a_loop_of_stage_changes_stops(portal):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"builtin": "change_stage", "stage_id": "EXECUTING"}])
    portal.set_automation_rules("deal", "EXECUTING", [
        {"builtin": "change_stage", "stage_id": "PREPARATION"}])
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    assert portal.workflows("deal", deal)[-1]["state"] == "failed"


def test_a_duplicate_delivery_repeats_the_same_post(portal, registered, receiver):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}}])
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (first,) = wait_robot_calls(portal, receiver)
    portal.redeliver_robot_call(portal.workflows("deal", deal)[0]["id"])
    assert wait_robot_calls(portal, receiver, 2)[1] == first


def test_a_robot_removed_by_its_app_fails_the_rule(portal, registered, receiver):
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "create_task", "properties": {"title": "t"}}])
    portal.uninstall_app(CLIENT_ID)
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (workflow,) = portal.workflows("deal", deal)
    assert workflow["state"] == "failed"
    assert robot_calls(receiver) == []


def test_the_control_api_sets_rules_and_reads_workflows(portal, server, registered,
                                                        receiver):
    base = f"{server.url}/_emulator"
    answer = requests.post(f"{base}/automation/deal/PREPARATION", json={"rules": [
        {"robot": "create_task", "properties": {"title": "t"}}]}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["rules"][0]["app"] == CLIENT_ID
    refused = requests.post(f"{base}/automation/deal/NOPE", json={"rules": []}, timeout=5)
    assert refused.status_code == 400
    deal = portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    wait_robot_calls(portal, receiver)
    (workflow,) = requests.get(f"{base}/workflows/deal/{deal}", timeout=5).json()
    assert requests.get(f"{base}/workflows/{workflow['id']}", timeout=5).json() == workflow
    assert requests.post(f"{base}/workflows/{workflow['id']}/redeliver",
                         timeout=5).json() == {"ok": True}
    assert requests.get(f"{base}/robots", timeout=5).json()[0]["code"] == "create_task"


def test_a_robot_without_use_subscription_leaves_it_to_each_rule(portal, registered,
                                                                receiver):
    registered.call("bizproc.robot.add", robot(
        receiver.url, "flexible", USE_SUBSCRIPTION="", RETURN_PROPERTIES={
            "Done": {"Name": "Done", "Type": "bool", "Default": "N"}}))
    portal.set_automation_rules("deal", "PREPARATION", [
        {"robot": "flexible", "properties": {"title": "waits"}}])
    portal.set_automation_rules("deal", "EXECUTING", [
        {"robot": "flexible", "properties": {"title": "goes on"},
         "use_subscription": False}])
    waiting = portal.as_user(1).create_deal("A", stage_id="PREPARATION")
    going = portal.as_user(1).create_deal("B", stage_id="EXECUTING")
    forms = wait_robot_calls(portal, receiver, 2)
    assert sorted(f["use_subscription"] for f in forms) == ["N", "Y"]
    assert portal.workflows("deal", waiting)[0]["state"] == "waiting"
    (went_on,) = portal.workflows("deal", going)
    assert went_on["state"] == "completed"
    assert went_on["rules"][0]["return_values"] == {"Done": "N"}


@pytest.mark.parametrize("body", [
    {"rules": "x"}, {"rules": [1]}, {"rules": [{"robot": ["x"]}]},
    {"rules": [{"builtin": "wait", "seconds": "soon"}]},
    {"rules": [{"builtin": "change_stage", "stage_id": "C99:WON"}]},
    {"rules": [{"builtin": "teleport"}]}, [{"robot": "create_task", "properties": [1]}],
])
def test_the_control_api_refuses_bad_rules_with_a_4xx(server, registered, body):
    response = requests.post(f"{server.url}/_emulator/automation/deal/PREPARATION",
                             json=body, timeout=5)
    assert 400 <= response.status_code < 500


def test_odd_registration_values_never_break_the_portal(portal, app, receiver):
    odd = robot(receiver.url, "odd", AUTH_USER_ID="nobody", PROPERTIES={
        "deep": {"Name": {"en": "Deep"}, "Default": {"a": [1, {"b": 2}]}}},
        FILTER=[["crm"]], DESCRIPTION=None)
    assert app.call("bizproc.robot.add", odd) is True
    portal.set_automation_rules("deal", "PREPARATION", [{"robot": "odd", "properties": {
        "title": "t"}}])
    portal.as_user(1).create_deal("Acme", stage_id="PREPARATION")
    (form,) = wait_robot_calls(portal, receiver)
    assert form["properties[deep][a][1][b]"] == "2"
    assert form["auth[user_id]"] == "1"
    for params in ({"EVENT_TOKEN": ["x"]}, {"EVENT_TOKEN": "x", "RETURN_VALUES": "v"}):
        assert app.raw("bizproc.event.send", params).status_code == 403
