"""The `taskbridge` CLI: every command has help; unfinished ones say so and fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.storage.token_cipher import new_key

DESIGN_COMMANDS = [
    ["run"], ["web"], ["worker"], ["emulator"], ["demo"], ["db", "upgrade"], ["db", "current"],
    ["logs"], ["replay"], ["portals"], ["portals", "set"], ["portals", "add-webhook"],
    ["doctor"], ["keygen"], ["task", "create"], ["task", "token"],
]
SERVING_COMMANDS = [["run"], ["web"], ["emulator"]]
def _taskbridge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("taskbridge")
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.parametrize("command", DESIGN_COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


@pytest.mark.parametrize("command", SERVING_COMMANDS, ids=" ".join)
def test_serving_commands_take_host_and_port(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert "--host" in result.output
    assert "--port" in result.output


def test_emulator_takes_a_webhook_code() -> None:
    assert "--webhook-code" in CliRunner().invoke(cli, ["emulator", "--help"]).output


def test_bad_setting_prints_one_line_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TASKBRIDGE_DATABASE_URL": "mysql://nope/x"}
    result = _taskbridge("portals", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "taskbridge: TASKBRIDGE_DATABASE_URL: must start with sqlite:// or postgresql://"
    )


def test_db_upgrade_then_portals(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TASKBRIDGE_SECRET_KEY": new_key()}
    upgraded = _taskbridge("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "empty -> " in upgraded.stdout
    assert Path("var/taskbridge.sqlite3").is_file()
    current = _taskbridge("db", "current", env=env)
    assert "up to date" in current.stdout
    listed = _taskbridge("portals", env=env)
    assert listed.returncode == 0
    assert listed.stdout.strip() == "no portals installed"


def test_portals_set_validates_keys(make_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.storage.engines import open_storage
    from connector.storage.portals import Installation

    settings = make_settings()
    monkeypatch.setenv("TASKBRIDGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TASKBRIDGE_SECRET_KEY", settings.secret_key.get_secret_value())
    storage = open_storage(settings)
    storage.portals.save(Installation(member_id="m1", domain="d", client_endpoint="https://d/rest/"))
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["portals", "set", "m1", "close_tasks_on_lead_convert=false", "rate_drain=5"],
    )
    assert ok.exit_code == 0, ok.output
    portal_row = storage.portals.get("m1")
    assert portal_row.settings["close_tasks_on_lead_convert"] is False
    assert portal_row.rate_drain == 5.0
    bad = runner.invoke(cli, ["portals", "set", "m1", "colour=blue"])
    assert bad.exit_code != 0
    assert "colour: unknown setting" in str(bad.exception)
    missing = runner.invoke(cli, ["portals", "set", "nope", "language=it"])
    assert "no portal with member_id 'nope'" in str(missing.exception)


def test_portals_set_takes_the_documented_names_and_logs_the_change(
    make_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.storage.engines import open_storage
    from connector.storage.journal import Journal
    from connector.storage.portals import Installation

    settings = make_settings()
    monkeypatch.setenv("TASKBRIDGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TASKBRIDGE_SECRET_KEY", settings.secret_key.get_secret_value())
    storage = open_storage(settings)
    storage.portals.save(Installation(member_id="m1", domain="d", client_endpoint="https://d/rest/"))
    # Review stages and a new label language are checked against, and applied to, the
    # portal: tests/connector/cli/test_portals_set.py runs those against the emulator.
    result = CliRunner().invoke(
        cli, ["portals", "set", "m1", "lead_conversion_closes_tasks=off",
              "deal_close_closes_tasks=on", "language=en"],
    )
    assert result.exit_code == 0, result.output
    portal_row = storage.portals.get("m1")
    assert portal_row.settings["close_tasks_on_lead_convert"] is False
    assert portal_row.settings["close_tasks_on_deal_close"] is True
    assert portal_row.settings["language"] == "en"
    [row] = Journal(storage.engine).rows(event="SETTINGS_CHANGED")
    assert "close_tasks_on_lead_convert" in row["detail"]["changed"]
    cleared = CliRunner().invoke(cli, ["portals", "set", "m1", "review_stage.0=none"])
    assert cleared.exit_code == 0, cleared.output
    assert storage.portals.get("m1").settings["review_stage"] == {}
