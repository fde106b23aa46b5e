"""`batch`: commands encoded as PHP query strings, 50 to a request, and each command's
outcome read back under the caller's key with its error typed by code."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
import responses

from connector.rest.batch import (
    MAX_COMMANDS,
    BatchResult,
    chunks,
    encode_command,
    flatten,
    merge_chunk,
)
from connector.rest.client import PortalClient
from connector.rest.errors import (
    InsufficientScope,
    MethodError,
    NotFound,
    OperationTimeLimit,
    QueryLimitExceeded,
)
from connector.rest.retry_policy import RetryPolicy


@pytest.mark.parametrize(("count", "sizes"), [
    (0, []),
    (1, [1]),
    (50, [50]),
    (51, [50, 1]),
    (120, [50, 50, 20]),
])
def test_commands_are_split_fifty_to_a_request(count, sizes):
    keys = [f"k{n}" for n in range(count)]
    split = list(chunks(keys))
    assert [len(chunk) for chunk in split] == sizes
    assert [key for chunk in split for key in chunk] == keys  # order kept
    assert MAX_COMMANDS == 50


@pytest.mark.parametrize(("params", "pairs"), [
    ({"id": 5}, [("id", "5")]),
    ({"fields": {"TITLE": "A & B", "UF_X": None}}, [("fields[TITLE]", "A & B")]),
    ({"filter": {"ID": [1, 2]}}, [("filter[ID][0]", "1"), ("filter[ID][1]", "2")]),
    ({"flag": True, "off": False}, [("flag", "1"), ("off", "0")]),
    ({"taskId": "$result[add][task][id]"}, [("taskId", "$result[add][task][id]")]),
])
def test_a_command_is_its_method_and_php_query(params, pairs):
    command = encode_command("tasks.task.update", params)
    method, _, query = command.partition("?")
    assert method == "tasks.task.update"
    assert parse_qsl(query) == pairs
    assert list(flatten(params)) == pairs


def test_a_command_without_parameters_is_just_the_method():
    assert encode_command("user.current", None) == "user.current"
    assert encode_command("user.current", {"unset": None}) == "user.current"


def merged(body, keys, method="crm.deal.get") -> BatchResult:
    outcome = BatchResult()
    merge_chunk(outcome, body, keys, dict.fromkeys(keys, method))
    return outcome


@pytest.mark.parametrize(("code", "error"), [
    ("NOT_FOUND", NotFound),
    ("ACCESS_DENIED", InsufficientScope),
    ("OPERATION_TIME_LIMIT", OperationTimeLimit),
    ("QUERY_LIMIT_EXCEEDED", QueryLimitExceeded),
    ("ERROR_CORE", MethodError),
    ("", MethodError),
])
def test_each_commands_error_is_typed_by_its_code(code, error):
    body = {"result": {"a": {"ID": "1"}},
            "result_error": {"b": {"error": code, "error_description": "why"}}}
    outcome = merged(body, ["a", "b"])
    assert outcome.results == {"a": {"ID": "1"}}
    assert type(outcome.errors["b"]) is error
    assert (outcome.errors["b"].method, outcome.errors["b"].description) == (
        "crm.deal.get", "why")
    assert not outcome.ok


def test_php_lists_map_back_to_the_keys_in_order():
    body = {"result": [{"ID": "1"}, {"ID": "2"}], "result_error": [],
            "result_total": [], "result_next": []}
    outcome = merged(body, ["0", "1"])
    assert outcome.results == {"0": {"ID": "1"}, "1": {"ID": "2"}}
    assert outcome.errors == {} and outcome.ok


def test_a_key_with_neither_result_nor_error_was_skipped():
    outcome = merged({"result": {"a": True}, "result_error": {"b": {"error": "NOT_FOUND"}}},
                     ["a", "b", "c"])
    assert outcome.skipped == ["c"]
    assert not outcome.ok


def test_an_unreadable_chunk_skips_all_its_keys():
    outcome = merged(["not", "a", "mapping"], ["a", "b"])
    assert outcome.skipped == ["a", "b"]
    assert outcome.results == {} and outcome.errors == {}


def test_totals_and_nexts_are_numbers_and_times_are_kept():
    body = {"result": {"a": [], "b": []}, "result_total": {"a": "120", "b": "n/a"},
            "result_next": {"a": 50}, "result_time": {"a": {"duration": 0.1}}}
    outcome = merged(body, ["a", "b"], method="crm.deal.list")
    assert outcome.totals == {"a": 120}
    assert outcome.nexts == {"a": 50}
    assert outcome.times == {"a": {"duration": 0.1}}


HOOK = "https://portal.example.com/rest/1/code/"


def answer_each_command(request):
    """A portal's `batch`: every `crm.deal.get?id=N` answers, except id 66 is not found."""
    cmd = json.loads(request.body)["cmd"]
    results, errors = {}, {}
    for key, command in cmd.items():
        deal = dict(parse_qsl(command.partition("?")[2]))["id"]
        if deal == "66":
            errors[key] = {"error": "NOT_FOUND", "error_description": "Not found"}
        else:
            results[key] = {"ID": deal}
    body = {"result": {"result": results, "result_error": errors or []}, "time": {}}
    return 200, {}, json.dumps(body)


@responses.activate
def test_a_batch_of_120_commands_is_three_requests_mapped_back_to_the_keys():
    responses.add_callback(responses.POST, f"{HOOK}batch", callback=answer_each_command)
    client = PortalClient.for_webhook(HOOK, policy=RetryPolicy(max_attempts=1))
    commands = {f"deal{n}": ("crm.deal.get", {"id": n}) for n in range(120)}

    outcome = client.batch(commands)

    sizes = [len(json.loads(call.request.body)["cmd"]) for call in responses.calls]
    assert sizes == [50, 50, 20] and outcome.requests == 3
    assert outcome.results["deal119"] == {"ID": "119"}
    assert set(outcome.errors) == {"deal66"} and isinstance(outcome.errors["deal66"], NotFound)
    assert len(outcome.results) == 119 and outcome.skipped == []
