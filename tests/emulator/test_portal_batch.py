"""batch: 50 commands at most, halt, $result references, per-command errors."""

from __future__ import annotations


def test_references_and_shapes(rest):
    result = rest.call("batch", {"halt": 0, "cmd": {
        "deal": "crm.deal.add?fields[TITLE]=Ref",
        "read": "crm.deal.get?id=$result[deal]",
        "task": "tasks.task.add?fields[TITLE]=T&fields[UF_CRM_TASK][0]=D_$result[deal]",
        "list": "crm.deal.list?select[0]=ID",
    }})
    assert result["result"]["read"]["TITLE"] == "Ref"
    assert result["result"]["task"]["task"]["title"] == "T"
    assert result["result_total"] == {"list": 1}
    assert result["result_error"] == [] and result["result_next"] == []
    assert set(result["result_time"]) == {"deal", "read", "task", "list"}


def test_nested_reference_path(rest):
    result = rest.call("batch", {"cmd": {
        "me": "user.current",
        "deal": "crm.deal.add?fields[TITLE]=x&fields[ASSIGNED_BY_ID]=$result[me][ID]",
    }})
    assert isinstance(result["result"]["deal"], int)


def test_errors_per_command_without_halt(rest):
    result = rest.call("batch", {"halt": 0, "cmd": {
        "bad": "crm.deal.get?id=999", "good": "user.current"}})
    assert set(result["result_error"]) == {"bad"} and "good" in result["result"]


def test_halt_stops_at_the_first_error(rest):
    result = rest.call("batch", {"halt": 1, "cmd": {
        "bad": "no.such.method", "good": "user.current"}})
    assert result["result"] == [] and list(result["result_error"]) == ["bad"]
    assert result["result_error"]["bad"]["error"] == "ERROR_METHOD_NOT_FOUND"


def test_list_of_commands(rest):
    result = rest.call("batch", {"cmd": ["user.current", "crm.deal.list"]})
    assert isinstance(result["result"], list) and result["result"][0]["ID"] == "1"


def test_fifty_commands_max(rest):
    too_many = {f"c{i}": "user.current" for i in range(51)}
    response = rest.raw("batch", {"cmd": too_many})
    assert response.status_code == 400
    assert response.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"


def test_no_batch_inside_batch(rest):
    result = rest.call("batch", {"cmd": {"inner": "batch?cmd[a]=user.current"}})
    assert result["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


def test_form_encoded_batch(rest):
    result = rest.call("batch", {"cmd": {"a": "crm.deal.add?fields[TITLE]=Form%20batch"}},
                       form=True)
    assert isinstance(result["result"]["a"], int)


def test_batch_of_fifty_counts_once_against_the_bucket(rest, portal):
    portal.set_limits(enabled=True, capacity=2, drain_rate=0.001)
    commands = {f"c{i}": f"crm.deal.add?fields[TITLE]=d{i}" for i in range(50)}
    result = rest.call("batch", {"cmd": commands})
    assert len(result["result"]) == 50 and result["result_error"] == []
    assert portal.bucket.level < 1.01
    assert portal.call_log.count("batch") == 1
    assert portal.call_log.count("crm.deal.add", include_batched=True) == 50


def test_a_reference_past_the_end_stops_where_the_path_ends_as_a_portal_does():
    from emulator.batch import _resolve

    results = {"page": {"tasks": [{"id": "7"}]}}
    # The whole value: the deepest part found (here the page's list), not an empty string.
    whole = dict(_resolve([("filter[>ID]", "$result[page][tasks][49][id]")], results))
    assert whole == {"filter[>ID][0][id]": "7"}
    # Inside a longer value a list cannot be pasted: the reference text stays.
    inline = _resolve([("title", "after $result[page][tasks][49][id]")], results)
    assert inline == [("title", "after $result[page][tasks][49][id]")]
    assert _resolve([("id", "$result[page][tasks][0][id]")], results) == [("id", "7")]
