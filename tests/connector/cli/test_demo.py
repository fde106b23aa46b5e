"""`taskbridge demo` plays the article's scenarios against the bundled portal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

SCRIPT = Path(sys.executable).with_name("taskbridge")


# The deal's kanban card after the colleague starts the task, as the demo prints it: the
# badge (the deal's status, blue for "in progress") and the status field the demo shows
# on the card.
STARTED_CARD = """
      +--------------------------------------+
      | ACME supply                          |
      | Stage: New                           |
      | [IN PROGRESS] Task status (blue)     |
      | TaskBridge status: In progress       |
      +--------------------------------------+
"""
# Once the deal is won its activity is closed: the badge leaves the card, the field stays.
WON_CARD = """
      +--------------------------------------+
      | ACME supply                          |
      | Stage: Deal won                      |
      | TaskBridge status: Pending review    |
      +--------------------------------------+
"""


@pytest.mark.parametrize("task_card", ["classic", "new"])
def test_the_demo_plays_every_scenario(task_card: str) -> None:
    result = subprocess.run([str(SCRIPT), "demo", "--log-lines", "5", "--task-card", task_card],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for line in (
        "created: Created, not viewed",
        "the colleague opens it: Viewed",
        "starts it: In progress",
        "pauses it: On hold",
        "auditor: Updated",
        "moved: Deadline updated",
        "re-checks 1: Overdue",
        "the result is added: Task summary",
        "completed by the responsible: Pending review",
        "accepted by the creator: Completed",
        "card of deal 1: Pending review",
        "«Countersign»: Pending review (its CRM item was closed",
        "setting off: task 6 is Created, not viewed",
        "setting on: task 7 is Completed",
        "Summary",
        "Sync log (the last 5 of",
        f"({task_card} task card)",
        STARTED_CARD,
        WON_CARD,
    ):
        assert line in out, out
    # Every step says what it cost, and the summary's count is the portal's own.
    assert re.search(r"REST requests to the portal, the install included: \d+ \(batch", out)
    assert out.count(" REST requests\n") >= 15
    assert "Traceback" not in result.stderr


def test_the_demo_can_keep_serving_its_sync_log_pages() -> None:
    process = subprocess.Popen([str(SCRIPT), "demo", "--serve", "--log-lines", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Serving until Ctrl-C"):
                break
        pages = next(line for line in lines if line.startswith("Sync log pages:"))
        found = re.search(r"(http://127\.0\.0\.1:\d+/admin/) \(sign in with the admin token "
                          r"(\S+),", pages)
        assert found, pages
        url, token = found.groups()
        page = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert page.status_code == 200
        assert "ONCRMLEADUPDATE" in page.text
        assert requests.get(url, timeout=10, allow_redirects=False).status_code in (302, 401)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-3000:]
    assert "stopped" in out
