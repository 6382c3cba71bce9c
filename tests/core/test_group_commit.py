"""Group commit: units share a transaction, are answered only once it is committed, and fail alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.core import i18n
from app.core.db import Database
from app.core.errors import Conflict
from app.core.group_commit import GroupCommitter
from app.core.i18n import gettext as _

DDL = "CREATE TABLE gc_note (body VARCHAR(50) PRIMARY KEY)"


@pytest.fixture
def notes(committed_database: Database):  # type: ignore[no-untyped-def]
    with committed_database.transaction() as s:
        s.execute(sa.text("DROP TABLE IF EXISTS gc_note"))
        s.execute(sa.text(DDL))
    committer = GroupCommitter(committed_database)
    yield committed_database, committer
    committer.stop()
    with committed_database.transaction() as s:
        s.execute(sa.text("DROP TABLE IF EXISTS gc_note"))


def _bodies(database: Database) -> list[str]:
    with database.transaction(write=False) as s:
        return [r[0] for r in s.execute(sa.text("SELECT body FROM gc_note ORDER BY body"))]


def _insert(body: str):  # type: ignore[no-untyped-def]
    def work(session: Session) -> str:
        session.execute(sa.text("INSERT INTO gc_note (body) VALUES (:b)"), {"b": body})
        return body
    return work


class Refused(Conflict):
    pass


class RefusedButRecorded(Conflict):
    keep_writes = True


def test_queued_units_share_one_commit_and_are_answered_after_it(notes) -> None:  # type: ignore[no-untyped-def]
    database, committer = notes
    gate = threading.Event()
    blocker = committer.submit(lambda s: gate.wait(5))  # holds the writer thread while the others queue
    futures = [committer.submit(_insert(f"n{i:03d}")) for i in range(50)]
    time.sleep(0.1)
    assert not any(f.done() for f in futures)
    gate.set()
    assert [f.result(10) for f in futures] == [f"n{i:03d}" for i in range(50)]
    assert blocker.result(5) is True
    assert len(_bodies(database)) == 50  # visible to another connection as soon as answered
    assert committer.batches <= 3


def test_a_refused_unit_fails_alone_and_keeps_its_records_when_it_says_so(notes) -> None:  # type: ignore[no-untyped-def]
    database, committer = notes
    gate = threading.Event()
    committer.submit(lambda s: gate.wait(5))

    def refuse(session: Session) -> None:
        session.execute(sa.text("INSERT INTO gc_note (body) VALUES ('refused')"))
        raise Refused("no")

    def refuse_but_record(session: Session) -> None:
        session.execute(sa.text("INSERT INTO gc_note (body) VALUES ('recorded')"))
        raise RefusedButRecorded("no, but noted")

    futures: list[Future[object]] = [committer.submit(_insert("a")), committer.submit(refuse),
                                     committer.submit(refuse_but_record), committer.submit(_insert("b"))]
    gate.set()
    assert futures[0].result(5) == "a" and futures[3].result(5) == "b"
    with pytest.raises(Refused):
        futures[1].result(5)
    with pytest.raises(RefusedButRecorded):
        futures[2].result(5)
    assert _bodies(database) == ["a", "b", "recorded"]


def test_a_unit_that_breaks_the_transaction_does_not_take_its_neighbours_down(notes) -> None:  # type: ignore[no-untyped-def]
    database, committer = notes
    gate = threading.Event()
    committer.submit(lambda s: gate.wait(5))
    first = committer.submit(_insert("same"))
    duplicate = committer.submit(_insert("same"))  # a unique violation: a database error, not a domain one
    other = committer.submit(_insert("other"))
    gate.set()
    assert first.result(5) == "same" and other.result(5) == "other"
    with pytest.raises(sa.exc.IntegrityError):
        duplicate.result(5)
    assert _bodies(database) == ["other", "same"]


def test_error_messages_speak_the_callers_language(notes) -> None:  # type: ignore[no-untyped-def]
    _database, committer = notes

    def refuse(session: Session) -> None:
        raise Refused(_("Time is up or the exam was submitted: this answer was not saved."))

    i18n.set_locale("en")
    try:
        with pytest.raises(Refused) as english:
            committer.submit(refuse).result(5)
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)
    assert "Time is up" in str(english.value.detail)


def test_run_awaits_the_commit(notes) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    database, committer = notes
    # An event loop of its own, on a thread of its own (another test's loop may be running on this one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, committer.run(_insert("async"))).result(10) == "async"
    assert _bodies(database) == ["async"]


def test_a_batch_without_failures_takes_no_savepoints_and_one_with_a_failure_runs_again_with_them(notes) -> None:  # type: ignore[no-untyped-def]
    database, committer = notes
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    for fails in (False, True):
        gate = threading.Event()
        committer.submit(lambda s, gate=gate: gate.wait(5))
        prefix = "f" if fails else "ok"
        futures = [committer.submit(_insert(f"{prefix}{i:02d}")) for i in range(10)]
        if fails:
            futures.append(committer.submit(_insert(f"{prefix}03")))  # a duplicate: this batch goes again with savepoints
        time.sleep(0.05)
        statements.clear()
        sa.event.listen(database.bind, "before_cursor_execute", record)
        try:
            gate.set()
            done = [f.exception(10) for f in futures]
        finally:
            sa.event.remove(database.bind, "before_cursor_execute", record)
        savepoints = [s for s in statements if s.upper().startswith("SAVEPOINT")]
        if fails:
            assert committer.reruns == 1 and len(savepoints) >= 10
            assert isinstance(done[-1], sa.exc.IntegrityError) and done[:-1] == [None] * 10
        else:
            assert committer.reruns == 0 and savepoints == [] and done == [None] * 10
    assert len(_bodies(database)) == 20


def test_rows_inserted_later_go_in_at_the_commit_and_leave_with_a_failed_unit(notes) -> None:  # type: ignore[no-untyped-def]
    from app.core.group_commit import insert_later

    database, committer = notes
    insert = sa.text("INSERT INTO gc_note (body) VALUES (:b)")

    def later(body: str, fail: bool = False):  # type: ignore[no-untyped-def]
        def work(session: Session) -> str:
            insert_later(session, insert, {"b": body})
            assert session.execute(sa.text("SELECT count(*) FROM gc_note WHERE body = :b"), {"b": body}).scalar_one() == 0
            if fail:
                raise Refused("no")
            return body
        return work

    gate = threading.Event()
    committer.submit(lambda s: gate.wait(5))
    futures = [committer.submit(later("l1")), committer.submit(later("l2", fail=True)), committer.submit(later("l3"))]
    gate.set()
    assert futures[0].result(5) == "l1" and futures[2].result(5) == "l3"
    with pytest.raises(Refused):
        futures[1].result(5)
    assert _bodies(database) == ["l1", "l3"]
    with database.transaction() as s:  # not a group commit's session: inserted at once
        insert_later(s, insert, {"b": "now"})
        assert s.execute(sa.text("SELECT count(*) FROM gc_note WHERE body = 'now'")).scalar_one() == 1
