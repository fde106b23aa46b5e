"""TaskBridge's kanban badges: added at install in the install's own two batches, one per
status, coloured by meaning, in English and Italian; a re-install adds none again, and
one whose words drifted is replaced; `taskbridge portals remove-badges` deletes them."""

from __future__ import annotations

from dataclasses import replace

from click.testing import CliRunner

from connector.cli import cli
from connector.portals.install import refresh_setup
from tests.scenarios import conftest as scenario
from tests.support.stack import TaskBridge

installed = scenario.installed

COLOURS = {
    "taskbridge_created": "secondary", "taskbridge_viewed": "secondary",
    "taskbridge_updated": "secondary", "taskbridge_in_progress": "primary",
    "taskbridge_waiting": "secondary", "taskbridge_control_waiting": "warning",
    "taskbridge_deadline_changed": "secondary", "taskbridge_result_added": "secondary",
    "taskbridge_expired": "failure", "taskbridge_finished": "success",
}


def badges(stack: TaskBridge) -> dict[str, object]:
    return dict(stack.portal.emulator.state.badges)


def test_the_install_registers_one_badge_per_status(installed: TaskBridge) -> None:
    kept = badges(installed)
    assert {code: badge.type for code, badge in kept.items()} == COLOURS
    expired = kept["taskbridge_expired"]
    assert expired.value == {"en": "Overdue", "it": "Posticipato"}
    assert expired.title == {"en": "Task status", "it": "Stato incarico"}
    # Added inside the install's batches: no request of their own.
    assert installed.portal.emulator.call_log.count("crm.activity.badge.add") == 0
    assert installed.portal.emulator.call_log.count("crm.activity.badge.add",
                                                    include_batched=True) == 10


def test_a_reinstall_adds_no_badge_twice(installed: TaskBridge) -> None:
    report = refresh_setup(installed.storage, installed.settings, installed.stored())

    assert (report.added_badges, report.badge_error, report.requests) == ([], "", 1)
    assert len(badges(installed)) == 10


def test_a_badge_whose_words_drifted_is_replaced(installed: TaskBridge) -> None:
    installed.portal.emulator.state.badges["taskbridge_finished"].value = {"en": "Done"}

    report = refresh_setup(installed.storage, installed.settings, installed.stored())

    assert report.added_badges == ["taskbridge_finished"]
    assert badges(installed)["taskbridge_finished"].value["en"] == "Completed"


def test_remove_badges_deletes_taskbridges_badges_only(installed: TaskBridge,
                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    emulator = installed.portal.emulator
    emulator.state.badges["missedCall"] = replace(emulator.state.badges["taskbridge_expired"],
                                                  code="missedCall")  # another app's
    monkeypatch.setenv("TASKBRIDGE_DATABASE_URL", installed.settings.database_url)
    monkeypatch.setenv("TASKBRIDGE_SECRET_KEY", installed.settings.secret_key.get_secret_value())
    monkeypatch.setenv("TASKBRIDGE_CLIENT_ID", installed.settings.client_id)
    monkeypatch.setenv("TASKBRIDGE_CLIENT_SECRET",
                       installed.settings.client_secret.get_secret_value())
    monkeypatch.setenv("TASKBRIDGE_OAUTH_URL", installed.settings.oauth_url)
    monkeypatch.setenv("TASKBRIDGE_PUBLIC_URL", installed.settings.public_url)
    monkeypatch.setenv("TASKBRIDGE_ALLOW_INSECURE_PORTALS", "true")

    result = CliRunner().invoke(cli, ["portals", "remove-badges", installed.portal.member_id])

    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": 10 badges removed")
    assert list(badges(installed)) == ["missedCall"]
