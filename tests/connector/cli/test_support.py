"""`taskbridge logs`, `replay`, `portals` and `portals add-webhook` on a real database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from connector.cli import cli
from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.journal import Journal
from connector.storage.portals import Installation
from connector.storage.schema import journal
from mappers.php_form import encode_form
from tests.support.live_server import serve
from webhooks.app import create_app

T0 = datetime(2025, 5, 2, 8, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cli_database(storage: Storage, make_settings: Callable[..., Settings],
                 monkeypatch: pytest.MonkeyPatch, secret_key: str) -> None:
    """TASKBRIDGE_* naming `storage`, which holds portal m-one and three journal rows."""
    settings = make_settings()
    monkeypatch.setenv("TASKBRIDGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TASKBRIDGE_SECRET_KEY", secret_key)
    monkeypatch.setenv("TASKBRIDGE_ALLOW_INSECURE_PORTALS", "true")
    storage.portals.save(Installation(member_id="m-one", domain="one.example",
                                      client_endpoint="https://one.example/rest/"))
    rows = [("deal:12", "ONCRMDEALUPDATE", "done"), ("task:5", "ONTASKUPDATE", "dead"),
            ("task:6", "ONTASKADD", "pending")]
    with storage.engine.begin() as conn:
        conn.execute(insert(journal), [
            dict(portal_id=1, member_id="m-one", received_at=T0, source="online", event=event,
                 object_type=key.split(":")[0], object_id=key.split(":")[1], object_key=key,
                 payload={}, dedupe_key=key, state=state, attempts=0,
                 error="boom" if state == "dead" else None)
            for key, event, state in rows
        ])


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_logs_prints_a_table_oldest_first(storage: Storage) -> None:
    code, out = run("logs")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "RECEIVED", "EVENT"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert "boom" in lines[2]


def test_logs_filters_and_prints_json_lines(storage: Storage) -> None:
    code, out = run("logs", "--portal", "m-one", "--outcome", "dead", "--json")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [2]
    code, out = run("logs", "--item", "D_12", "--json", "--since", "2025-05-02T08:00:00")
    assert [json.loads(line)["object"] for line in out.splitlines()] == ["deal:12"]


def test_logs_follow_prints_rows_as_they_arrive(storage: Storage,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.cli import support

    def arrive(_seconds: float) -> None:
        with storage.engine.begin() as conn:
            conn.execute(insert(journal).values(
                portal_id=1, member_id="m-one", received_at=T0, source="online",
                event="ONTASKDELETE", object_type="task", object_id="6", object_key="task:6",
                payload={}, dedupe_key="late", state="pending", attempts=0))

    monkeypatch.setattr(support.time, "sleep", arrive)
    code, out = run("logs", "--json", "--follow", "--polls", "1", "--limit", "1")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [3, 4]


def test_logs_follow_shows_a_row_that_commits_after_a_higher_id(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    """With several writers an id is taken before its commit: row 8 can appear after 10."""
    from connector.cli import support

    late = iter((10, 8, None))

    def arrive(_seconds: float) -> None:
        row_id = next(late)
        if row_id is None:
            return
        with storage.engine.begin() as conn:
            conn.execute(insert(journal).values(
                id=row_id, portal_id=1, member_id="m-one", received_at=T0, source="online",
                event="ONTASKUPDATE", object_type="task", object_id=str(row_id),
                object_key=f"task:{row_id}", payload={}, dedupe_key=f"late-{row_id}",
                state="pending", attempts=0))

    monkeypatch.setattr(support.time, "sleep", arrive)
    code, out = run("logs", "--json", "--follow", "--polls", "3", "--limit", "1")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [3, 10, 8]


def test_a_bad_filter_is_one_line(storage: Storage) -> None:
    code, out = run("logs", "--item", "X_1")
    assert code == 1
    assert out.strip() == "Error: item: 'X_1' is not a CRM item such as D_12, deal:12 or L_5"


def test_replay_by_id_and_by_filter_with_a_dry_run(storage: Storage) -> None:
    assert run("replay", "--outcome", "dead", "--dry-run") == (
        0, "would queue again: 1 event(s): 2\n")
    assert Journal(storage.engine).count(state="dead") == 1
    assert run("replay", "2") == (0, "queued again: 1 event(s): 2\n")
    row = Journal(storage.engine).rows(id=2)[0]
    assert row["state"] == "pending"
    assert row["detail"]["replays"][0]["by"].startswith("cli:")


@pytest.mark.parametrize(("args", "message"), [
    (["replay"], "give event ids or a filter"),
    (["replay", "1"], "event 1 is done; only failed or dead events replay"),
    (["replay", "2", "--outcome", "dead"], "give event ids or a filter, not both"),
])
def test_replay_refusals_are_one_line(storage: Storage, args: list[str], message: str) -> None:
    code, out = run(*args)
    assert code == 1
    assert out.startswith("Error: ") and message in out and out.count("\n") == 1


def test_portals_shows_the_backlog(storage: Storage) -> None:
    code, out = run("portals")
    assert code == 0
    header, line = out.splitlines()
    assert "BACKLOG" in header
    member, domain, state, _age, backlog, last = line.split()
    assert (member, domain, state, backlog, last) == ("m-one", "one.example", "installing",
                                                      "1", "-")


def test_portals_set_still_changes_settings(storage: Storage) -> None:
    # Settings with nothing on the portal's side need no request (tests/connector/cli/
    # test_portals_set.py has those that do, against the emulated portal).
    code, out = run("portals", "set", "m-one", "deal_close_closes_tasks=off")
    assert code == 0 and '"close_tasks_on_deal_close":false' in out


def test_a_webhook_portal_accepts_outgoing_webhooks(
        storage: Storage, make_settings: Callable[..., Settings]) -> None:
    code, out = run("portals", "add-webhook", "m-hook", "--webhook-url",
                    "http://127.0.0.1:5/rest/1/abcdef123/", "--application-token", "apptok")
    assert (code, out) == (0, "m-hook: webhook portal 127.0.0.1:5 saved\n")
    portal_row = storage.portals.get("m-hook")
    assert (portal_row.auth_mode, portal_row.state) == ("webhook", "installed")
    settings = make_settings()
    with serve(create_app(settings, open_storage(settings))) as server:
        import requests

        body = encode_form({"event": "ONCRMDEALUPDATE", "data": {"FIELDS": {"ID": "3"}},
                            "auth": {"member_id": "m-hook", "application_token": "apptok"}})
        answer = requests.post(f"{server.url}/bitrix/events", data=body, timeout=10)
    assert answer.status_code == 200, answer.text
