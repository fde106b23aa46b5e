"""The receiver's SQLite write lock: one holder across processes, none for other databases."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

from sqlalchemy import create_engine

from connector.storage.locks import write_lock

PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("free")
"""


def probe(path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def test_another_process_waits_while_the_lock_is_held(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tb.sqlite3'}")
    lock_file = tmp_path / "tb.sqlite3.write-lock"
    with write_lock(engine):
        assert lock_file.exists()
        assert probe(lock_file) == "busy"
    assert probe(lock_file) == "free"
    with write_lock(engine):  # taken again by the same process
        assert probe(lock_file) == "busy"


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    import threading

    engine = create_engine(f"sqlite:///{tmp_path / 'tb.sqlite3'}")
    inside: list[int] = []
    overlaps: list[int] = []

    def hold() -> None:
        for _ in range(50):
            with write_lock(engine):
                inside.append(1)
                overlaps.append(len(inside))
                inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(overlaps) == 1 and len(overlaps) == 200


def test_no_lock_for_memory_or_postgresql() -> None:
    assert isinstance(write_lock(create_engine("sqlite://")), nullcontext)
    pg = create_engine("postgresql+psycopg://u@127.0.0.1:1/x")
    assert isinstance(write_lock(pg), nullcontext)


def test_a_forked_child_gets_its_own_descriptor(tmp_path: Path) -> None:
    from connector.storage.locks import _LOCKS

    engine = create_engine(f"sqlite:///{tmp_path / 'tb.sqlite3'}")
    with write_lock(engine):
        lock = _LOCKS[str(tmp_path / "tb.sqlite3.write-lock")]
        pid = os.fork()
        if pid == 0:
            # An inherited descriptor would share the parent's hold and lock at once.
            fd = lock._descriptor()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
