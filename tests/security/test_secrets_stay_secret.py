"""No token or key TaskBridge holds shows up in a log line (at DEBUG), an admin page, an
export or the sync log's tables, through install, events, a token refresh and a tab."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from sqlalchemy import text

from connector.observability.logging_setup import JsonFormatter
from tests.security.conftest import ADMIN_TOKEN
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, TaskBridge


def _secrets(bridge: TaskBridge) -> set[str]:
    tokens = bridge.portal.emulator.tokens
    found = set(tokens._access) | set(tokens._refresh)
    found |= {bridge.portal.emulator.app(CLIENT_ID).application_token, CLIENT_SECRET,
              ADMIN_TOKEN, bridge.settings.secret_key.get_secret_value()}
    return {secret for secret in found if secret and len(secret) >= 8}


def _leaks(secrets: set[str], where: str, content: str) -> list[str]:
    return [f"{secret[:6]}… in {where}" for secret in secrets if secret in content]


def test_no_secret_in_logs_pages_exports_or_the_sync_log(
    secured: TaskBridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    portal = secured.portal
    manager, colleague = portal.add_user("Maria"), portal.add_user("Luca")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    task = portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                               responsible=colleague)
    secured.drain()
    portal.emulator.expire_tokens()  # the next calls refresh
    portal.as_user(colleague).start_task(task)
    secured.drain()
    assert secured.open_tab(colleague, "TASK_VIEW_TAB", {"taskId": str(task)}).ok
    secured.drain()

    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    pages: dict[str, Any] = {}
    for path in ("/admin/", "/admin/export.csv", "/admin/export.json", "/admin/settings",
                 f"/admin/portals/{secured.stored().id}/items/deal:{deal}", "/metrics"):
        pages[path] = requests.get(f"{secured.url}{path}", headers=bearer, timeout=10)
    for row in secured.journal.rows():
        path = f"/admin/events/{row['id']}"
        pages[path] = requests.get(f"{secured.url}{path}", headers=bearer, timeout=10)
    assert all(page.status_code == 200 for page in pages.values()), {
        p: r.status_code for p, r in pages.items() if r.status_code != 200}

    secrets = _secrets(secured)
    assert len(secrets) > 6
    formatter = JsonFormatter()
    leaks = [leak for record in caplog.records
             for leak in _leaks(secrets, f"log {record.name}", formatter.format(record))]
    for path, page in pages.items():
        leaks += _leaks(secrets, path, page.text)
    with secured.storage.engine.connect() as conn:
        for table in ("journal", "write_log", "rest_calls", "scheduler_runs"):
            rows = conn.execute(text(f"SELECT * FROM {table}"))
            dump = "\n".join(str(tuple(row)) for row in rows)
            leaks += _leaks(secrets, f"table {table}", dump)
    assert leaks == []
    assert len(caplog.records) > 20  # DEBUG was on and the flow logged
