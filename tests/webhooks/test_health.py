"""`/healthz` answers while the process lives; `/readyz` checks database and schema."""

from __future__ import annotations

from collections.abc import Callable

from connector.settings import Settings
from webhooks.app import create_app


def test_healthz(make_settings: Callable[..., Settings]) -> None:
    client = create_app(make_settings()).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_schema_and_journal(make_settings: Callable[..., Settings]) -> None:
    client = create_app(make_settings()).test_client()
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok"
    assert body["schema"]["current"] == body["schema"]["expected"]
    assert body["journal_depth"] == 0
