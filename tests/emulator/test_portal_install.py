"""Install (page POST and ONAPPINSTALL), finishing install, update and uninstall."""

from __future__ import annotations


def test_install_page_post(portal, server, receiver):
    portal.register_app("app", "secret", f"{receiver.url}/bitrix/install")
    done = portal.install_app("app", how="page")
    assert done.delivery.status == 200
    page = receiver.requests[0]
    assert page.path == "/bitrix/install"
    assert page.query["DOMAIN"] == portal.domain and page.query["PROTOCOL"] == "0"
    assert page.query["LANG"] and page.query["APP_SID"]
    assert page.form["AUTH_ID"] == done.tokens.access_token
    assert page.form["REFRESH_ID"] == done.tokens.refresh_token
    assert page.form["APPLICATION_TOKEN"] == done.application_token
    assert page.form["member_id"] == portal.member_id
    assert page.form["PLACEMENT"] == "DEFAULT" and page.form["AUTH_EXPIRES"] == "3600"
    assert page.form["SERVER_ENDPOINT"] and page.form["APPLICATION_SCOPE"]
    assert page.form["status"] in "LFDTP"


def test_no_events_until_install_is_finished(portal, server, receiver, make_rest):
    portal.register_app("app", "secret", f"{receiver.url}/bitrix/install")
    token = portal.install_app("app", how="page").tokens.access_token
    app = make_rest("oauth", token)
    app.call("event.bind", {"event": "ONTASKADD", "handler": f"{receiver.url}/ev"})
    portal.as_user(1).create_task(title="before")
    portal.sender.wait_idle()
    assert receiver.events("ONTASKADD") == []
    portal.finish_install("app")
    portal.as_user(1).create_task(title="after")
    receiver.wait_for(lambda r: len([x for x in r if x.form.get("event") == "ONTASKADD"]) == 1)


def test_onappinstall_event(portal, server, receiver):
    portal.register_app("app", "secret", f"{receiver.url}/bitrix/install")
    done = portal.install_app("app", how="event")
    got = receiver.wait_for(lambda r: len(r) == 1)[0].form
    assert got["event"] == "ONAPPINSTALL"
    assert (got["data[VERSION]"], got["data[ACTIVE]"], got["data[INSTALLED]"]) == ("1", "Y", "Y")
    assert got["data[LANGUAGE_ID]"] == "en"
    assert got["auth[access_token]"] == done.tokens.access_token
    assert got["auth[refresh_token]"] == done.tokens.refresh_token
    assert got["auth[application_token]"] == done.application_token
    for key in ("expires_in", "domain", "server_endpoint", "client_endpoint", "member_id",
                "scope", "status"):
        assert got[f"auth[{key}]"], key


def test_update_keeps_the_application_token_and_drops_bindings(portal, server, receiver,
                                                               make_rest):
    portal.register_app("app", "secret", f"{receiver.url}/install")
    done = portal.install_app("app", how="event")
    app = make_rest("oauth", done.tokens.access_token)
    app.call("event.bind", {"event": "ONAPPUPDATE", "handler": f"{receiver.url}/ev"})
    app.call("placement.bind", {"PLACEMENT": "TASK_VIEW_TAB", "HANDLER": f"{receiver.url}/p"})
    portal.update_app("app")
    got = receiver.wait_for(lambda r: any(x.form.get("event") == "ONAPPUPDATE" for x in r))
    update = next(x for x in got if x.form["event"] == "ONAPPUPDATE").form
    assert update["auth[application_token]"] == done.application_token
    assert portal.app("app").application_token == done.application_token
    assert update["data[VERSION]"] == "2"
    assert app.call("event.get") == [] and app.call("placement.get") == []


def test_every_install_issues_a_new_application_token(portal, server, receiver):
    portal.register_app("app", "secret", f"{receiver.url}/bitrix/install")
    first = portal.install_app("app", how="page")
    again = portal.install_app("app", how="page")
    portal.uninstall_app("app")
    after_uninstall = portal.install_app("app", how="page")
    tokens = {first.application_token, again.application_token,
              after_uninstall.application_token}
    assert len(tokens) == 3


def test_a_non_admin_can_be_the_installer(portal, server, receiver, make_rest):
    """The tokens handed over are the named user's; `user.admin` tells the app the truth."""
    clerk = portal.add_user("Carla", "Clerk")
    portal.register_app("app", "secret", f"{receiver.url}/bitrix/install")
    done = portal.install_app("app", how="page", user_id=clerk)
    assert done.tokens.user_id == clerk
    assert receiver.requests[0].form["REFRESH_ID"] == done.tokens.refresh_token
    as_clerk = make_rest("oauth", done.tokens.access_token)
    assert as_clerk.call("user.admin") is False
    admin = portal.install_app("app", how="page", user_id=1)
    assert make_rest("oauth", admin.tokens.access_token).call("user.admin") is True


def test_uninstall_sends_clean_and_revokes(portal, server, receiver, make_rest):
    portal.register_app("app", "secret", f"{receiver.url}/install")
    done = portal.install_app("app", how="event")
    app = make_rest("oauth", done.tokens.access_token)
    app.call("event.bind", {"event": "ONAPPUNINSTALL", "handler": f"{receiver.url}/ev"})
    portal.uninstall_app("app", clean=True)
    got = receiver.wait_for(lambda r: any(x.form.get("event") == "ONAPPUNINSTALL" for x in r))
    form = next(x for x in got if x.form["event"] == "ONAPPUNINSTALL").form
    assert form["data[CLEAN]"] == "1" and "auth[access_token]" not in form
    assert form["auth[application_token]"] == done.application_token
    assert app.raw("user.current").status_code == 401


def test_control_http_api(server, receiver):
    import requests

    base = f"{server.url}/_emulator"
    user = requests.post(f"{base}/users", json={"name": "Bo"}, timeout=5).json()["id"]
    requests.post(f"{base}/apps", json={"client_id": "a", "client_secret": "s",
                                        "handler_url": f"{receiver.url}/i"}, timeout=5)
    installed = requests.post(f"{base}/apps/a/install", json={"how": "page"}, timeout=5)
    assert installed.json()["delivery_status"] == 200
    task = requests.post(f"{base}/act", json={"user_id": 1, "action": "create_task",
                                              "kwargs": {"title": "x", "responsible": user}},
                         timeout=5).json()["result"]
    requests.post(f"{base}/act", json={"user_id": user, "action": "start_task",
                                       "args": [task]}, timeout=5)
    assert requests.get(f"{base}/tasks/{task}", timeout=5).json()["status"] == "3"
    calls = requests.get(f"{base}/calls", timeout=5).json()
    assert isinstance(calls, list)
    assert requests.post(f"{base}/reset", timeout=5).json() == {"ok": True}
    assert requests.get(f"{base}/tasks/{task}", timeout=5).status_code == 400
