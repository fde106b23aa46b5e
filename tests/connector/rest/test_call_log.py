"""Every call is recorded for the sync log, and no secret reaches a record or a log."""

from __future__ import annotations

import logging

import pytest

from connector.redaction import redact
from connector.rest.client import PortalClient
from connector.rest.errors import NotFound
from tests.connector.rest.emulated_portal import CLIENT_SECRET, WEBHOOK_CODE


def test_a_record_per_call_with_status_error_and_retries(installed_app):
    seen = []
    client = installed_app.client(on_call=seen.append)
    client.call("user.current")
    with pytest.raises(NotFound):
        client.call("no.such.method", write=False)
    ok, failed = client.calls
    assert (ok.portal, ok.method, ok.http_status, ok.error_code, ok.retries) == (
        installed_app.member_id, "user.current", 200, None, 0)
    assert (failed.method, failed.http_status, failed.error_code) == (
        "no.such.method", 404, "ERROR_METHOD_NOT_FOUND")
    assert seen == client.calls
    assert ok.duration >= 0


def test_parameters_are_recorded_without_secrets():
    params = {"fields": {"TITLE": "t", "password": "p"}, "auth": "a", "auth_connector": "ok",
              "list": [{"access_token": "x"}], "application_token": "y", "refresh_token": "z"}
    assert redact(params) == {
        "fields": {"TITLE": "t", "password": "[redacted]"}, "auth": "[redacted]",
        "auth_connector": "ok", "list": [{"access_token": "[redacted]"}],
        "application_token": "[redacted]", "refresh_token": "[redacted]",
    }


def test_no_secret_in_records_or_logs(installed_app, make_settings, caplog):
    caplog.set_level(logging.DEBUG, logger="connector")
    client = installed_app.client()
    installed_app.emulator.expire_tokens()  # a refresh, with the client secret, happens too
    client.call("user.current")
    client.call("crm.deal.add", {"fields": {"TITLE": "x"}, "auth": installed_app.access_token})
    client.batch({"a": ("user.current", {}), "b": ("tasks.task.list", {})})
    hook = PortalClient.for_webhook(installed_app.server.webhook_url(WEBHOOK_CODE), make_settings())
    hook.call("user.current")
    fresh = installed_app.storage.portals.get(installed_app.member_id)
    secrets = [installed_app.access_token, installed_app.refresh_token, fresh.access_token,
               fresh.refresh_token, CLIENT_SECRET, WEBHOOK_CODE]
    written = " ".join(
        [repr(record) for record in client.calls + hook.calls]
        + [record.getMessage() for record in caplog.records]
        + [repr(client.auth.portal), repr(client.auth.target("x"))]
    )
    assert caplog.records, "the test must see the client's log lines"
    for secret in secrets:
        assert secret not in written
