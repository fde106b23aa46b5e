"""`taskbridge emulator` as a real process: the webhook it prints answers, limits as asked."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests


def _serve(*args: str) -> tuple[subprocess.Popen, str]:
    script = Path(sys.executable).with_name("taskbridge")
    process = subprocess.Popen([str(script), "emulator", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.match(r"webhook: (\S+)", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError(f"no webhook line: {process.stderr.read() if process.stderr else ''}")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.mark.parametrize("limits", ["off", "on"])
def test_the_printed_webhook_serves_admin_user_1(limits: str) -> None:
    process, webhook = _serve("--webhook-code", "abc", "--limits", limits)
    try:
        assert webhook.endswith("/rest/1/abc/")
        with requests.Session() as http:
            wrong_code = http.get(webhook.replace("/abc/", "/nope/") + "user.current",
                                  timeout=10)
            assert wrong_code.status_code == 401
            me = http.get(f"{webhook}user.current.json", timeout=10).json()
            assert me["result"]["ID"] == "1"
            statuses = [http.get(f"{webhook}user.current", timeout=10).status_code
                        for _ in range(70)]
        if limits == "off":
            assert set(statuses) == {200}
        else:
            # A bucket of 50 (the two calls above included) drains 2 a second: the calls
            # past it are refused until it drains.
            assert set(statuses[:48]) == {200}
            assert statuses.count(503) >= 10
            assert all(code in (200, 503) for code in statuses)
    finally:
        _stop(process)


@pytest.mark.parametrize("flag", ["--rest-v3", "--no-rest-v3"])
def test_rest_3_is_offered_unless_asked_not_to(flag: str) -> None:
    process, webhook = _serve("--webhook-code", "abc", "--limits", "off", flag)
    try:
        v3 = webhook.replace("/rest/", "/rest/api/", 1)
        with requests.Session() as http:
            answer = http.post(f"{v3}tasks.task.add", json={"fields": {
                "title": "Call back", "creatorId": 1, "responsibleId": 1}}, timeout=10)
            classic = http.post(f"{webhook}tasks.task.add", json={"fields": {
                "TITLE": "Call back", "RESPONSIBLE_ID": 1}}, timeout=10)
        assert classic.status_code == 200
        if flag == "--rest-v3":
            assert answer.status_code == 200
            assert answer.json()["result"]["item"]["title"] == "Call back"
        else:
            assert answer.status_code == 404
            assert answer.json() == {"error": "ERROR_METHOD_NOT_FOUND",
                                     "error_description": "Method not found!"}
    finally:
        _stop(process)
