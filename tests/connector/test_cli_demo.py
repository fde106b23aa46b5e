"""`taskbridge demo` plays the article's scenarios against the bundled portal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_demo_plays_every_scenario() -> None:
    script = Path(sys.executable).with_name("taskbridge")
    result = subprocess.run([str(script), "demo", "--log-lines", "5"], capture_output=True,
                            text=True, timeout=300, check=False)
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
        "Task summary",
        "completed by the responsible: Pending review",
        "accepted by the creator: Completed",
        "setting off: task 6 is Created, not viewed",
        "setting on: task 7 is Completed",
        "Sync log (",
    ):
        assert line in out, out
    assert "Traceback" not in result.stderr
