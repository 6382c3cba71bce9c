"""SQLite writers of one process queue in the process (db.py): many concurrent writers all land without
"database is locked", and every way a write transaction can end lets the next writer in."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.core.db import Database, create_db_engine


@pytest.fixture
def sqlite_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")
    database = Database(engine)
    yield database
    engine.dispose()


def _count(database: Database) -> int:
    with database.transaction(write=False) as s:
        return int(s.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one())


def test_many_concurrent_writers_all_land(sqlite_db: Database) -> None:
    def bump(_: int) -> None:
        with sqlite_db.transaction() as s:
            n = s.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one()
            time.sleep(0.001)  # read-modify-write: lost updates would show if writers overlapped
            s.execute(sa.text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(bump, range(400)))
    assert _count(sqlite_db) == 400


@pytest.mark.parametrize("ending", ["commit", "rollback", "error", "close without commit", "failed statement"])
def test_every_ending_lets_the_next_writer_in(sqlite_db: Database, ending: str) -> None:
    if ending == "error":
        with pytest.raises(RuntimeError), sqlite_db.transaction() as failing:
            failing.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
            raise RuntimeError("boom")
    else:
        session = sqlite_db.new_session(write=True)
        session.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        if ending == "commit":
            session.commit()
        elif ending == "rollback":
            session.rollback()
        elif ending == "failed statement":
            with pytest.raises(sa.exc.OperationalError):
                session.execute(sa.text("UPDATE no_such_table SET n = 1"))
            session.rollback()
        session.close()  # "close without commit": the pool's reset rolls back

    done = threading.Event()

    def writer() -> None:
        with sqlite_db.transaction() as s:
            s.execute(sa.text("UPDATE counter SET n = n + 10 WHERE id = 1"))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert done.wait(5), "the next writer is still waiting: the gate leaked"
    thread.join()
    assert _count(sqlite_db) == (11 if ending == "commit" else 10)


def test_a_reader_does_not_wait_for_a_writer(sqlite_db: Database) -> None:
    writer = sqlite_db.new_session(write=True)
    writer.execute(sa.text("UPDATE counter SET n = 5 WHERE id = 1"))
    try:
        assert _count(sqlite_db) == 0  # WAL: the reader sees the last commit, at once
    finally:
        writer.rollback()
        writer.close()


def test_a_waiting_writer_queues_in_the_process_not_on_sqlites_lock(sqlite_db: Database) -> None:
    begun: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.append(statement)

    sa.event.listen(sqlite_db.bind, "before_cursor_execute", record)
    holder = sqlite_db.new_session(write=True)
    holder.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
    thread = threading.Thread(target=lambda: _bump_once(sqlite_db))
    thread.start()
    time.sleep(0.3)
    assert len(begun) == 1  # the second writer has not reached SQLite (its busy handler would sleep-poll)
    holder.commit()
    holder.close()
    thread.join(5)
    assert len(begun) == 2
    assert _count(sqlite_db) == 2


def _bump_once(database: Database) -> None:
    with database.transaction() as s:
        s.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))


_OTHER_PROCESS_WRITER = """
import sys, time
import sqlalchemy as sa
from app.core.db import Database, create_db_engine
engine = create_db_engine("sqlite:///" + sys.argv[1])
database = Database(engine)
for _ in range(int(sys.argv[2])):
    with database.transaction() as s:
        n = s.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one()
        time.sleep(0.0005)
        s.execute(sa.text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
"""


def test_writers_of_several_processes_queue_on_the_lock_file(sqlite_db: Database, tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "gate.db"
    procs = [subprocess.Popen([sys.executable, "-c", _OTHER_PROCESS_WRITER, str(path), "150"]) for _ in range(3)]

    def bump(_: int) -> None:
        with sqlite_db.transaction() as s:
            n = s.execute(sa.text("SELECT n FROM counter WHERE id = 1")).scalar_one()
            s.execute(sa.text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(bump, range(150)))
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert _count(sqlite_db) == 600
    assert (tmp_path / "gate.db.writer-lock").exists()


def test_a_writer_waits_for_another_process_and_gives_up_after_the_busy_timeout(sqlite_db: Database, tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl
    import os

    from app.core import db as db_module

    holder = os.open(tmp_path / "gate.db.writer-lock", os.O_RDWR | os.O_CREAT)  # another open file: another "process"
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        threading.Timer(0.3, fcntl.flock, (holder, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        with sqlite_db.transaction() as s:
            s.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        assert 0.25 <= time.monotonic() - started < 5
        assert _count(sqlite_db) == 1

        fcntl.flock(holder, fcntl.LOCK_EX)
        monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
        with pytest.raises(sa.exc.OperationalError, match="database is locked"), sqlite_db.transaction() as s:
            s.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        fcntl.flock(holder, fcntl.LOCK_UN)
        with sqlite_db.transaction() as s:  # the failed attempt left neither lock held
            s.execute(sa.text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        assert _count(sqlite_db) == 2
    finally:
        os.close(holder)
