"""On a SQLite file one worker process at a time runs the schedule: the holder of a file
lock, which the kernel lets go when that process dies."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from connector.storage.locks import Leadership

HOLD_AND_WAIT = """
import sys, time
from sqlalchemy import create_engine
from connector.storage.locks import Leadership
print(Leadership(create_engine(sys.argv[1])).is_leader(), flush=True)
time.sleep(60)
"""


def test_one_of_two_leads_and_the_other_takes_over_when_it_resigns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tb.sqlite3'}"
    first, second = Leadership(create_engine(url)), Leadership(create_engine(url))
    assert first.is_leader()
    assert not second.is_leader()
    assert first.is_leader()  # it keeps what it holds
    first.resign()
    assert second.is_leader()
    assert not first.is_leader()
    second.resign()


def test_a_killed_leader_process_leaves_the_schedule_to_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tb.sqlite3'}"
    leader = subprocess.Popen([sys.executable, "-c", HOLD_AND_WAIT, url],
                              stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[3])
    try:
        assert leader.stdout is not None and leader.stdout.readline().strip() == "True"
        mine = Leadership(create_engine(url))
        assert not mine.is_leader()
        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        assert mine.is_leader()
        mine.resign()
    finally:
        if leader.poll() is None:
            leader.kill()


def test_an_in_memory_database_always_leads() -> None:
    assert Leadership(create_engine("sqlite://")).is_leader()
