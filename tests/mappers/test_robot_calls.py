"""A robot call, read strictly: the item it runs on, the properties each rule takes, the
deadline as a date or an offset from the rule's run, and what goes back to the workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappers.bindings import DEAL, LEAD, CrmRef
from mappers.errors import ValidationError
from mappers.portal_events import dedupe_key
from mappers.robot_calls import (
    CREATE_TASK,
    ROBOT_EVENT,
    TASK_STATUS,
    WAIT_FOR_TASKS,
    RobotCall,
    RobotCallError,
    answer_created,
    answer_failed,
    answer_status,
    answer_waited,
    create_task_ask,
    document_item,
    flag,
    from_journal,
    is_open,
    open_count,
    parse_date,
    parse_offset,
    parse_robot_call,
    robot_event,
    user_id,
    wait_ask,
)
from mappers.statuses import CrmTaskStatus

RUN_AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ROME = timezone(timedelta(hours=1))


def a_call(**changes: Any) -> dict[str, Any]:
    """A valid "Create a task" call on deal 42, as the portal's form decodes."""
    body: dict[str, Any] = {
        "workflow_id": "6751a0c2d4e5f6.12345678",
        "code": CREATE_TASK,
        "document_id": ["crm", "CCrmDocumentDeal", "DEAL_42"],
        "document_type": ["crm", "CCrmDocumentDeal", "DEAL"],
        "event_token": "6751a0c2d4e5f6.12345678|A1_2_3|secret.part",
        "properties": {"Title": "Prepare the contract", "Responsible": "user_7"},
        "use_subscription": "Y",
        "timeout_duration": "0",
        "ts": "1796374800",
        "auth": {"member_id": "m-1", "application_token": "app-token", "domain": "a.b24.it",
                 "access_token": "x", "user_id": "1"},
    }
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def with_props(**props: Any) -> RobotCall:
    return parse_robot_call(a_call(properties=props))


def test_a_call_names_its_deal_workflow_and_rule() -> None:
    call = parse_robot_call(a_call())
    assert call.item == CrmRef(DEAL, 42)
    assert call.code == CREATE_TASK
    assert call.member_id == "m-1"
    assert call.ts == 1796374800
    assert call.use_subscription is True
    assert call.domain == "a.b24.it"
    assert "secret" not in repr(call) and "app-token" not in repr(call)


def test_a_repeated_delivery_has_the_same_keys_and_another_token_does_not() -> None:
    first, again = parse_robot_call(a_call()), parse_robot_call(a_call())
    other = parse_robot_call(a_call(event_token="other|token"))
    assert first.call_key == again.call_key != other.call_key
    assert first.idempotency_key.startswith("taskbridge-robot-")
    assert len(first.idempotency_key) <= 255 and first.idempotency_key.isascii()


@pytest.mark.parametrize(("document_id", "document_type", "expected"), [
    (["crm", "CCrmDocumentDeal", "DEAL_42"], None, CrmRef(DEAL, 42)),
    (["crm", "CCrmDocumentLead", "LEAD_7"], ["crm", "CCrmDocumentLead", "LEAD"], CrmRef(LEAD, 7)),
    ({"0": "crm", "1": "CCrmDocumentLead", "2": "LEAD_7"}, "", CrmRef(LEAD, 7)),
])
def test_the_document_is_a_deal_or_a_lead(document_id: Any, document_type: Any,
                                          expected: CrmRef) -> None:
    assert document_item(document_id, document_type) == expected


@pytest.mark.parametrize(("document_id", "document_type", "reason"), [
    (None, None, "document_id: expected"),
    ("DEAL_42", None, "document_id: expected"),
    (["crm", "CCrmDocumentDeal"], None, "document_id: expected"),
    (["crm", "CCrmDocumentDeal", 42], None, "document_id: expected"),
    (["crm", "CCrmDocumentDeal", "D" * 65], None, "document_id: expected"),
    (["iblock", "CCrmDocumentDeal", "DEAL_42"], None, "deals and leads only"),
    (["crm", "CCrmDocumentContact", "CONTACT_4"], None, "deals and leads only"),
    (["crm", "CCrmDocumentDeal", "LEAD_42"], None, "expected DEAL_<id>"),
    (["crm", "CCrmDocumentDeal", "DEAL_x"], None, "not 1 to 18 digits"),
    (["crm", "CCrmDocumentDeal", "DEAL_0"], None, "not 1 to 18 digits"),
    (["crm", "CCrmDocumentDeal", "DEAL_42"], ["crm", "CCrmDocumentLead", "LEAD"],
     "does not match"),
])
def test_any_other_document_is_refused(document_id: Any, document_type: Any,
                                       reason: str) -> None:
    with pytest.raises(RobotCallError, match=reason):
        document_item(document_id, document_type)


@pytest.mark.parametrize(("changes", "field_name"), [
    ({"auth": None}, "auth"),
    ({"auth": "m-1"}, "auth"),
    ({"auth": {"application_token": "t"}}, "auth.member_id"),
    ({"auth": {"member_id": "m 1", "application_token": "t"}}, "auth.member_id"),
    ({"auth": {"member_id": "m-1"}}, "auth.application_token"),
    ({"auth": {"member_id": "m-1", "application_token": "has space"}},
     "auth.application_token"),
    ({"auth": {"member_id": "m-1", "application_token": "t", "domain": ["x"]}}, "auth.domain"),
    ({"code": None}, "code"),
    ({"code": "someone_elses_robot"}, "code"),
    ({"code": ["x"]}, "code"),
    ({"workflow_id": None}, "workflow_id"),
    ({"workflow_id": "a/b"}, "workflow_id"),
    ({"event_token": ""}, "event_token"),
    ({"event_token": "x" * 513}, "event_token"),
    ({"properties": "Title=x"}, "properties"),
    ({"ts": "soon"}, "ts"),
    ({"use_subscription": "maybe"}, "use_subscription"),
])
def test_a_call_missing_or_bending_a_value_is_refused_by_name(changes: dict[str, Any],
                                                              field_name: str) -> None:
    with pytest.raises(RobotCallError) as caught:
        parse_robot_call(a_call(**changes))
    assert caught.value.field == field_name


def test_blank_properties_and_ts_read_as_none_given() -> None:
    call = parse_robot_call(a_call(properties="", ts="", use_subscription=None))
    assert call.properties == {} and call.ts is None and call.use_subscription is True


def test_create_a_task_reads_every_property() -> None:
    call = with_props(Title="  Prepare the contract ", Responsible=["user_7"],
                      Description="For ACME", Deadline="2026-12-10T18:00:00+01:00",
                      Checklist="Draft\r\n\r\n Send to legal \nSign", CheckOnCompletion="Y",
                      ResultRequired="Y")
    ask = create_task_ask(call, run_at=RUN_AT, zone=UTC)
    assert ask.title == "Prepare the contract"
    assert ask.responsible_id == 7
    assert ask.description == "For ACME"
    assert ask.deadline == datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
    assert ask.checklist == ("Draft", "Send to legal", "Sign")
    assert ask.task_control and ask.result_required


@pytest.mark.parametrize(("props", "deadline"), [
    ({}, None),
    ({"Deadline": None}, None),
    ({"DeadlineIn": "+3 days"}, RUN_AT + timedelta(days=3)),
    ({"DeadlineIn": "+2h"}, RUN_AT + timedelta(hours=2)),
    ({"DeadlineIn": " +1 settimana "}, RUN_AT + timedelta(weeks=1)),
    ({"DeadlineIn": "+45 minuti"}, RUN_AT + timedelta(minutes=45)),
    ({"Deadline": "10.12.2026 18:30"}, datetime(2026, 12, 10, 18, 30, tzinfo=ROME)),
    ({"Deadline": "10.12.2026"}, datetime(2026, 12, 10, tzinfo=ROME)),
    ({"Deadline": "2026-12-10 18:30:15"}, datetime(2026, 12, 10, 18, 30, 15, tzinfo=ROME)),
])
def test_the_deadline_is_a_date_or_an_offset_from_the_run(props: dict[str, Any],
                                                          deadline: datetime | None) -> None:
    call = with_props(Title="T", Responsible="7", **props)
    assert create_task_ask(call, run_at=RUN_AT, zone=ROME).deadline == deadline


@pytest.mark.parametrize(("props", "field_name"), [
    ({"Responsible": "user_7"}, "Title"),
    ({"Title": "   ", "Responsible": "7"}, "Title"),
    ({"Title": "x" * 256, "Responsible": "7"}, "Title"),
    ({"Title": ["x"], "Responsible": "7"}, "Title"),
    ({"Title": "T"}, "Responsible"),
    ({"Title": "T", "Responsible": "group_3"}, "Responsible"),
    ({"Title": "T", "Responsible": "user_0"}, "Responsible"),
    ({"Title": "T", "Responsible": ["user_1", "user_2"]}, "Responsible"),
    ({"Title": "T", "Responsible": "7", "Description": "x" * 10_001}, "Description"),
    ({"Title": "T", "Responsible": "7", "Deadline": "tomorrow"}, "Deadline"),
    ({"Title": "T", "Responsible": "7", "Deadline": "31.02.2026"}, "Deadline"),
    ({"Title": "T", "Responsible": "7", "Deadline": "2026-12-10",
      "DeadlineIn": "+1 day"}, "Deadline"),
    ({"Title": "T", "Responsible": "7", "DeadlineIn": "3 days"}, "DeadlineIn"),
    ({"Title": "T", "Responsible": "7", "DeadlineIn": "+3 fortnights"}, "DeadlineIn"),
    ({"Title": "T", "Responsible": "7", "DeadlineIn": "+3651 days"}, "DeadlineIn"),
    ({"Title": "T", "Responsible": "7", "Checklist": "\n".join("x" * 41)}, "Checklist"),
    ({"Title": "T", "Responsible": "7", "Checklist": "x" * 256}, "Checklist"),
    ({"Title": "T", "Responsible": "7", "CheckOnCompletion": "sometimes"},
     "CheckOnCompletion"),
    ({"Title": "T", "Responsible": "7", "ResultRequired": 2}, "ResultRequired"),
])
def test_a_bad_property_is_named(props: dict[str, Any], field_name: str) -> None:
    with pytest.raises(RobotCallError) as caught:
        create_task_ask(with_props(**props), run_at=RUN_AT, zone=UTC)
    assert caught.value.field == field_name


@pytest.mark.parametrize(("value", "expected"), [
    ("user_12", 12), ("12", 12), (" user_3 ", 3), (["user_4"], 4), ({"0": "user_5"}, 5),
])
def test_a_user_property(value: Any, expected: int) -> None:
    assert user_id(value, "Responsible") == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Y", True), ("N", False), ("1", True), ("", False), (True, True), (False, False),
])
def test_a_bool_property(value: Any, expected: bool) -> None:
    assert flag(value, "x") is expected


@pytest.mark.parametrize(("props", "expected"), [
    ({}, False), ({"PendingReviewDone": "Y"}, True), ({"PendingReviewDone": "N"}, False),
])
def test_wait_counts_pending_review_as_done_only_when_asked(props: dict[str, Any],
                                                            expected: bool) -> None:
    call = parse_robot_call(a_call(code=WAIT_FOR_TASKS, properties=props))
    assert wait_ask(call) is expected


@pytest.mark.parametrize(("statuses", "review_done", "expected"), [
    ([], False, 0),
    ([5, 5], False, 0),
    ([5, 4], False, 1),
    ([5, 4], True, 0),
    ([2, 3, 6, 7], True, 4),
])
def test_open_tasks_are_the_ones_not_completed(statuses: list[int], review_done: bool,
                                               expected: int) -> None:
    assert open_count(statuses, pending_review_done=review_done) == expected
    assert all(not is_open(s, pending_review_done=review_done) for s in statuses) is (
        expected == 0)


def test_answers_carry_their_values_and_a_log_line() -> None:
    created = answer_created(51)
    assert created.values == {"TaskId": 51, "Error": ""} and "51" in created.log_message
    assert answer_waited(2).values == {"Error": ""}
    shown = answer_status(CrmTaskStatus.CONTROL_WAITING, 1, "it")
    assert shown.values == {"StatusCode": "CONTROL_WAITING",
                            "StatusLabel": "Revisione in sospeso", "OpenTasks": 1, "Error": ""}
    assert answer_status(None, 0, "en").values["StatusCode"] == ""
    failed = answer_failed(CREATE_TASK, "user 99 does not exist")
    assert failed.failed and failed.values == {"Error": "user 99 does not exist", "TaskId": 0}
    assert "user 99" in failed.log_message
    assert answer_failed(TASK_STATUS, "x").values == {"Error": "x"}


def test_dates_keep_their_own_zone() -> None:
    assert parse_date("2026-12-10T18:00:00+00:00", ROME).tzinfo == UTC
    assert parse_offset("+1 d") == timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.text(max_size=20) | st.integers(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=20))
def test_any_body_parses_or_raises_only_validation_errors(body: Any) -> None:
    for candidate in (body, {**a_call(), "properties": body}, {**a_call(), "document_id": body}):
        if not isinstance(candidate, dict):
            continue
        try:
            call = parse_robot_call(candidate)
            create_task_ask(call, run_at=RUN_AT, zone=UTC)
        except ValidationError:
            pass


def test_the_journal_keeps_the_call_about_its_item_with_no_secret_in_clear() -> None:
    call = parse_robot_call(a_call())
    event = robot_event(call)
    assert event.known and event.name == ROBOT_EVENT
    assert event.object_key == "deal:42"
    assert dedupe_key(event) == dedupe_key(robot_event(parse_robot_call(a_call())))
    payload = call.journal_payload("fernet:sealed")
    assert "secret.part" not in str(payload) and "app-token" not in str(payload)
    back = from_journal("m-1", payload, call.event_token)
    assert (back.item, back.code, back.workflow_id, back.call_key, back.user_id, back.ts) == (
        call.item, call.code, call.workflow_id, call.call_key, 1, call.ts)
    lead = parse_robot_call(a_call(document_id=["crm", "CCrmDocumentLead", "LEAD_3"],
                                   document_type=None))
    assert from_journal("m-1", lead.journal_payload("x"), "t").item == CrmRef(LEAD, 3)


@pytest.mark.parametrize("payload", [
    {}, {"item": 42, "code": CREATE_TASK}, {"item": "D_42", "code": "other"},
    {"item": "C_4", "code": CREATE_TASK},
])
def test_a_journal_payload_that_is_no_robot_call_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(RobotCallError):
        from_journal("m-1", payload, "t")
