"""The OAuth server: expiring access tokens, rotating refresh tokens."""

from __future__ import annotations

import requests


def _refresh(server, refresh_token, secret="s3cret-client"):
    return requests.get(f"{server.url}/oauth/token/", params={
        "grant_type": "refresh_token", "client_id": "local.taskbridge.test",
        "client_secret": secret, "refresh_token": refresh_token}, timeout=5)


def test_expired_then_refreshed(server, portal, make_rest):
    portal.register_app("local.taskbridge.test", "s3cret-client", "http://127.0.0.1:9/")
    done = portal.install_app("local.taskbridge.test", how="event")
    old = make_rest("oauth", done.tokens.access_token)
    assert old.raw("user.current").status_code == 200
    portal.expire_tokens()
    expired = old.raw("user.current")
    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    fresh = _refresh(server, done.tokens.refresh_token)
    body = fresh.json()
    assert fresh.status_code == 200 and body["refresh_token"] != done.tokens.refresh_token
    assert body["expires_in"] == 3600 and body["member_id"] == portal.member_id
    assert body["client_endpoint"] == portal.client_endpoint
    assert make_rest("oauth", body["access_token"]).raw("user.current").status_code == 200
    reused = _refresh(server, done.tokens.refresh_token)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")


def test_wrong_client_secret(server, portal):
    portal.register_app("local.taskbridge.test", "s3cret-client", "http://127.0.0.1:9/")
    done = portal.install_app("local.taskbridge.test", how="event")
    answer = _refresh(server, done.tokens.refresh_token, secret="nope")
    assert answer.json()["error"] == "invalid_client"


def test_lifetime_is_configurable(server, portal, make_rest):
    portal.tokens.access_lifetime = 60
    portal.register_app("local.taskbridge.test", "s3cret-client", "http://127.0.0.1:9/")
    done = portal.install_app("local.taskbridge.test", how="event")
    assert done.tokens.expires_in == 60
    portal.advance_time(61)
    assert make_rest("oauth", done.tokens.access_token).raw("user.current").status_code == 401
