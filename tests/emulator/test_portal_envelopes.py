"""Routing, both ways in, bodies in every encoding, and the envelope shapes."""

from __future__ import annotations

import requests

from emulator import Portal


def test_success_envelope_has_result_and_time(rest):
    body = rest.raw("user.current").json()
    assert body["result"]["ID"] == "1"
    assert set(body["time"]) >= {"start", "finish", "duration", "processing", "date_start",
                                 "date_finish", "operating", "operating_reset_at"}


def test_list_envelope_has_total_and_next(rest):
    for index in range(51):
        rest.call("crm.deal.add", {"fields": {"TITLE": f"Deal {index}"}})
    first = rest.raw("crm.deal.list", {"order": {"ID": "ASC"}}).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 51, 50)
    second = rest.raw("crm.deal.list", {"start": 50}).json()
    assert len(second["result"]) == 1 and "next" not in second


def test_start_minus_one_skips_counting(rest):
    rest.call("crm.deal.add", {"fields": {"TITLE": "only"}})
    body = rest.raw("crm.deal.list", {"start": -1}).json()
    assert len(body["result"]) == 1 and "total" not in body and "next" not in body


def test_methods_are_case_insensitive_and_take_json_suffix(server, webhook):
    url = f"{server.url}/rest/1/testhook/USER.Current"
    assert requests.post(url, timeout=5).json()["result"]["ID"] == "1"
    assert webhook.raw("User.Current").status_code == 200


def test_form_bodies_with_php_brackets(rest):
    deal_id = rest.call("crm.deal.add", {"fields": {"TITLE": "Form deal"}}, form=True)
    assert rest.call("crm.deal.get", {"id": deal_id}, form=True)["TITLE"] == "Form deal"


def test_query_string_parameters(server, portal):
    response = requests.get(f"{server.url}/rest/1/testhook/crm.deal.add",
                            params={"fields[TITLE]": "From query"}, timeout=5)
    deal_id = response.json()["result"]
    assert portal.deal(deal_id)["TITLE"] == "From query"


def test_oauth_token_in_query_string(server, install):
    token = install()
    response = requests.get(f"{server.url}/rest/user.current", params={"auth": token},
                            timeout=5)
    assert response.json()["result"]["ID"] == "1"


def test_unknown_method_is_404(rest):
    response = rest.raw("no.such.method")
    assert response.status_code == 404
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND",
                               "error_description": "Method not found!"}


def test_no_auth_is_401(server):
    response = requests.post(f"{server.url}/rest/user.current", timeout=5)
    assert (response.status_code, response.json()["error"]) == (401, "NO_AUTH_FOUND")


def test_wrong_webhook_code_is_401(server):
    response = requests.post(f"{server.url}/rest/1/wrong/user.current", timeout=5)
    assert (response.status_code, response.json()["error"]) == (401, "INVALID_CREDENTIALS")


def test_unknown_token_is_401(make_rest):
    response = make_rest("oauth", "nope").raw("user.current")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_token")


def test_insufficient_scope_is_403(server, portal):
    portal.register_app("narrow", "secret", "http://127.0.0.1:9/", scope=["user"])
    token = portal.install_app("narrow", how="event").tokens.access_token
    response = requests.post(f"{server.url}/rest/crm.deal.list", json={"auth": token},
                             timeout=5)
    assert (response.status_code, response.json()["error"]) == (403, "insufficient_scope")


def test_app_only_methods_refuse_webhooks(webhook):
    for method in ("event.bind", "event.get", "event.offline.get", "placement.bind"):
        response = webhook.raw(method, {"event": "ONTASKADD", "handler": "http://x/"})
        assert (response.status_code, response.json()["error"]) == (403, "WRONG_AUTH_TYPE")


def test_method_error_is_400(rest):
    response = rest.raw("crm.deal.get", {"id": 999})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}


def test_user_methods(rest, portal):
    colleague = portal.add_user("Ada", "Lovelace", email="ada@example.test")
    users = rest.raw("user.get", {"ID": colleague}).json()
    assert [u["NAME"] for u in users["result"]] == ["Ada"] and users["total"] == 1
    assert rest.call("profile")["ADMIN"] is True
    assert "crm.deal.list" in rest.call("methods")
    assert "crm" in rest.call("scope")
    assert rest.call("app.info")["LICENSE"]


def test_call_log_removes_secrets(rest, portal):
    rest.call("crm.deal.add", {"fields": {"TITLE": "x"}, "auth_connector": "c"})
    record = [r for r in portal.call_log.records() if r.method == "crm.deal.add"][-1]
    assert "auth" not in record.params or record.params["auth"] == "***"
    assert record.status == 200 and record.auth_type == rest.style


def test_nothing_served_before_start():
    portal = Portal()
    assert portal.base_url == "http://127.0.0.1"
    assert portal.call_log.records() == []
