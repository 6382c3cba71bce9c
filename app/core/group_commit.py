"""Group commit: many small write requests share one transaction and one flush to disk.

A durable commit costs a flush to disk (about 2 ms on the bench machine with SQLite's synchronous=FULL),
and SQLite has one writer at a time, so one transaction per request caps a process at a few hundred
writes a second however small they are. PostgreSQL groups concurrent commits by itself; SQLite does not.
`GroupCommitter` does it for the writes that need it (exam autosaves): callers hand it a unit of work
and wait; one thread per process takes whatever is queued, runs each unit in a SAVEPOINT of one
transaction, commits once, and only then answers every caller. A batch first runs without savepoints
(they cost round trips on PostgreSQL); only when one of its units fails is it rolled back and run again
with a savepoint per unit. So:

- nothing is acknowledged before it is durable (a caller's future resolves after the COMMIT);
- one unit failing rolls back only its savepoint, unless its exception says `keep_writes` (a domain
  error whose record must stay, e.g. a late save that closed the attempt), which keeps them;
- if the batch itself cannot commit (a deadlock with another process, a lost connection), every unit is
  run again on its own, in its own transaction, so that one bad unit cannot fail its neighbours.

The work functions must only use the session they are given and must be safe to run again (they are
when the client's request is: exam saves carry a sequence number).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlmodel import Session

from app.core.db import Database
from app.core.errors import DomainError

log = logging.getLogger("shixun.group_commit")

T = TypeVar("T")
MAX_BATCH = 256
IDLE_EXIT_S = 30.0  # the thread ends when nothing came for this long, and starts again on demand


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    future: Future[T] = field(default_factory=Future)
    # The caller's context (its locale for error messages, its request id for the logs).
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    def __call__(self, session: Session) -> T:
        return self.context.run(self.work, session)


class GroupCommitter:
    def __init__(self, database: Database, *, name: str = "group-commit", max_batch: int = MAX_BATCH) -> None:
        self.database = database
        self.name = name
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Unit[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # counters for tests and the bench
        self.units = 0
        self.reruns = 0  # batches run again with savepoints because a unit failed

    # -----------------------------------------------------------------------------------------
    # Callers

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        unit: _Unit[T] = _Unit(work)
        self._queue.put(unit)
        self._ensure_thread()
        return unit.future

    async def run(self, work: Callable[[Session], T]) -> T:
        """Await the unit's result (or its exception) once its transaction is committed."""
        return await asyncio.wrap_future(self.submit(work))

    def stop(self, timeout: float = 5) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
        self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    # -----------------------------------------------------------------------------------------
    # The writer thread

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if first is None:
                return
            batch: list[_Unit[Any]] = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    unit = self._queue.get_nowait()
                except queue.Empty:
                    break
                if unit is None:
                    stop = True
                    break
                batch.append(unit)
            batch = [u for u in batch if u.future.set_running_or_notify_cancel()]
            if batch:
                self._run_batch(batch)
            if stop:
                return

    def _run_batch(self, batch: list[_Unit[Any]]) -> None:
        if len(batch) == 1:  # nothing to share: no savepoint round trips (they count on PostgreSQL)
            self._run_alone(batch[0])
            self.batches += 1
            self.units += 1
            return
        results = self._run_optimistic(batch)
        if results is not None:
            self.batches += 1
            self.units += len(batch)
            for unit, result in zip(batch, results, strict=True):
                unit.future.set_result(result)
            return
        outcomes: list[tuple[_Unit[Any], Any, BaseException | None]] = []
        session = _new_session(self.database)
        try:
            for unit in batch:
                outcomes.append((unit, *_in_savepoint(session, unit)))
            _commit(session)
        except Exception:
            log.warning("group commit of %d units failed; running them one by one", len(batch), exc_info=True)
            session.rollback()
            session.close()
            for unit in batch:
                self._run_alone(unit)
            return
        finally:
            session.close()
        self.batches += 1
        self.units += len(batch)
        for unit, result, error in outcomes:
            if error is None:
                unit.future.set_result(result)
            else:
                unit.future.set_exception(error)

    def _run_optimistic(self, batch: list[_Unit[Any]]) -> list[Any] | None:
        """Every unit in one transaction without savepoints (on PostgreSQL each savepoint costs two more
        round trips per unit); None, with nothing written, when a unit raised or the commit failed: the
        batch then runs again with a savepoint per unit. Most batches have no failing unit."""
        session = _new_session(self.database)
        try:
            results = [unit(session) for unit in batch]
            _commit(session)
            return results
        except Exception:
            session.rollback()
            self.reruns += 1
            return None
        finally:
            session.close()

    def _run_alone(self, unit: _Unit[Any]) -> None:
        session = _new_session(self.database)
        try:
            result = unit(session)
            _commit(session)
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            try:
                if getattr(exc, "keep_writes", False):
                    _commit(session)
                else:
                    session.rollback()
            except Exception:
                session.rollback()
            unit.future.set_exception(exc)
            return
        finally:
            session.close()
        unit.future.set_result(result)


_DEFERRED = "group_commit_deferred_inserts"


def insert_later(session: Session, statement: Any, params: dict[str, Any]) -> None:
    """Insert a row (a log line nobody reads back in the same unit) when the group commit commits: the
    rows of a whole batch go in one executemany, one round trip on PostgreSQL instead of one per unit.
    In a session that is not a group commit's, the row is inserted now."""
    pending: list[tuple[Any, dict[str, Any]]] | None = session.info.get(_DEFERRED)
    if pending is None:
        session.execute(statement, params)
    else:
        pending.append((statement, params))


def _new_session(database: Database) -> Session:
    session = database.new_session(write=True)
    session.info[_DEFERRED] = []
    return session


def _commit(session: Session) -> None:
    pending: list[tuple[Any, dict[str, Any]]] = session.info.get(_DEFERRED) or []
    rows: dict[Any, list[dict[str, Any]]] = {}
    for statement, params in pending:
        rows.setdefault(statement, []).append(params)
    pending.clear()
    for statement, batch in rows.items():
        session.execute(statement, batch)
    session.commit()


def committer_for(database: Database) -> GroupCommitter:
    """The process's group committer for this database (one writer thread each)."""
    committer: GroupCommitter | None = getattr(database, "_group_committer", None)
    if committer is None:
        with _REGISTRY_LOCK:
            committer = getattr(database, "_group_committer", None)
            if committer is None:
                committer = GroupCommitter(database)
                database._group_committer = committer  # type: ignore[attr-defined]
    return committer


_REGISTRY_LOCK = threading.Lock()


def _in_savepoint(session: Session, work: Callable[[Session], T]) -> tuple[T | None, BaseException | None]:
    """Run one unit in a SAVEPOINT; a domain error is the unit's answer, anything else fails the batch."""
    savepoint = session.begin_nested()
    pending: list[Any] = session.info.get(_DEFERRED, [])
    mark = len(pending)
    try:
        result = work(session)
    except Exception as exc:
        if not isinstance(exc, DomainError):
            raise  # not a domain error (a database error, a bug): the batch is retried unit by unit
        if getattr(exc, "keep_writes", False):
            session.flush()
            savepoint.commit()
        else:
            savepoint.rollback()
            del pending[mark:]  # its rows to insert later go with it
        return None, exc
    session.flush()
    savepoint.commit()
    return result, None
