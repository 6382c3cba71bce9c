"""Engines and sessions.

SQLite runs in WAL mode with synchronous=FULL (an acknowledged write survives a power cut), foreign
keys on and a busy timeout. pysqlite's own transaction handling is switched off so that we emit
BEGIN ourselves: requests that may write (unsafe HTTP methods, the worker) open with
BEGIN IMMEDIATE, which takes the write lock up front and waits on the busy timeout instead of failing
with SQLITE_BUSY when a read transaction would later upgrade to a write. Reads stay DEFERRED so they
run in parallel with a writer. PostgreSQL ignores all of this.

Writers of one process queue in the process before BEGIN IMMEDIATE (a lock per engine, held until
COMMIT or ROLLBACK has run): SQLite's own busy handler makes a waiting writer sleep in growing steps
(up to 100 ms at a time) and retry, so under many concurrent writers the wait, not the work, set the
latency, and unlucky writers ran out of busy timeout. Writers of different processes (several web
processes, the worker, the CLI) then queue on an OS lock on a file beside the database (`flock`,
`<database>.writer-lock`) for the same reason; the kernel drops it when a process dies.

Only three places create sessions: the request (get_db), the worker (one per job) and the CLI.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

SQLITE_BUSY_TIMEOUT_MS = 15_000


_GATE = "shixun_write_gate"

try:
    import fcntl
except ImportError:  # not POSIX: writers of different processes meet on SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]


class ProcessWriteLock:
    """The writers' lock between processes: an exclusive `flock` on `path`, taken by the one writer of
    this process that holds the in-process gate. A waiter polls in short steps (0.1 to 1 ms) until its
    timeout, so a freed lock is taken within a millisecond, where SQLite's busy handler sleeps up to
    100 ms at a time. The file is opened once per process (a forked child opens its own: flock locks
    belong to the open file, which a fork would share)."""

    def __init__(self, path: str | None) -> None:
        self.path = path if fcntl is not None else None
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            assert self.path is not None
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, timeout: float) -> bool:
        if self.path is None:
            return True
        fd = self._file()
        deadline = time.monotonic() + timeout
        delay = 0.0001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
            time.sleep(delay)
            delay = min(delay * 2, 0.001)

    def release(self) -> None:
        if self.path is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _lock_path(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:") or engine.url.query.get("mode") == "memory":
        return None
    return os.path.abspath(database) + ".writer-lock"


def _configure_sqlite(engine: Engine) -> None:
    gate = threading.Lock()  # one writer of this process at a time; the others queue here
    between_processes = ProcessWriteLock(_lock_path(engine))

    def release(info: dict[str, Any]) -> None:
        if info.pop(_GATE, False):
            try:
                between_processes.release()
            finally:
                gate.release()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see do_begin
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode != "IMMEDIATE":
            # On the driver's connection: the statement needs none of an execute's events and compiling.
            conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]
            return
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not gate.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        if not between_processes.acquire(max(0.0, deadline - time.monotonic())):
            gate.release()
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        conn.info[_GATE] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(conn.info)
            raise

    # The engine's commit/rollback events come before the driver's; end the transaction here on the raw
    # connection (the driver's commit/rollback then finds none open) and only then let the next writer in.
    @event.listens_for(engine, "commit")
    def _on_commit(conn: sa.Connection) -> None:
        if conn.info.get(_GATE):
            try:
                conn.connection.driver_connection.execute("COMMIT")  # type: ignore[union-attr]
            finally:
                release(conn.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: sa.Connection) -> None:
        if conn.info.get(_GATE):
            try:
                raw = conn.connection.driver_connection
                if raw is not None and raw.in_transaction:
                    raw.execute("ROLLBACK")
            finally:
                release(conn.info)

    # A connection going back to the pool, or away, with its write transaction still open.
    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        if record.info.get(_GATE):
            try:
                if dbapi_connection.in_transaction:
                    dbapi_connection.execute("ROLLBACK")
            finally:
                release(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        release(record.info)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection: Any, record: Any) -> None:
        release(record.info)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    # At least as many connections as the thread pool has threads (anyio's default is 40), so that
    # requests wait on the database, never on the pool. A connection beyond pool_size is closed when it
    # is given back: SQLite keeps all 40 (a file handle each; opening one runs the PRAGMAs again), while
    # PostgreSQL keeps 20 per process (each is a server process) and opens the rest on demand.
    if "poolclass" not in kwargs:
        sqlite = url.startswith("sqlite")
        kwargs.setdefault("pool_size", 40 if sqlite else 20)
        kwargs.setdefault("max_overflow", 10 if sqlite else 30)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    kwargs.setdefault("pool_pre_ping", True)
    # The most recently used connection first: a busy writer (the group commit) keeps one warm server
    # process instead of cycling through the whole pool.
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_use_lifo", True)
    return sa.create_engine(url, **kwargs)


@contextmanager
def throwaway_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on the server of `base_url`, dropped afterwards (tests, benchmarks)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


T = TypeVar("T")


async def run_read(dialect: str, read: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a read for a request: on the event loop with SQLite, on a worker thread otherwise.

    A SQLite read in WAL mode is a call into the process that never waits for a writer, while a hop to
    a worker thread cost more than the read under load: the thread waits for the GIL at every call into
    SQLite while the loop serves other requests (measured: 64 clients kept 40 threads trading the GIL,
    the server served about half as many pages, and callers who went the slow way together waited
    200 ms and more). Never for work that may write or wait for a lock: that goes to a worker thread."""
    if dialect == "sqlite":
        return read(*args, **kwargs)
    return await run_in_threadpool(read, *args, **kwargs)


def begin_read(session: Session) -> None:
    """Start the session's next transaction as a plain read (SQLite: BEGIN DEFERRED) even if the session
    writes later: the write lock is then taken by the transaction that writes, not by this one."""
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})


class Database:
    """Hands out sessions. Tests replace it with one bound to a connection in a rolled-back transaction."""

    def __init__(self, engine: Engine | sa.Connection, **session_kwargs: Any) -> None:
        self.bind = engine
        self._writer = engine if isinstance(engine, sa.Connection) else engine.execution_options(sqlite_begin="IMMEDIATE")
        self._session_kwargs = {"expire_on_commit": False, **session_kwargs}

    @property
    def dialect(self) -> str:
        return self.bind.dialect.name

    def new_session(self, *, write: bool = False) -> Session:
        return Session(self._writer if write else self.bind, **self._session_kwargs)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session committed on success and rolled back on error: worker jobs and CLI commands."""
        session = self.new_session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        from app.core.config import get_settings

        settings = get_settings()
        settings.ensure_dirs()
        _database = Database(create_db_engine(settings.resolved_database_url))
    return _database


def set_database(database: Database | None) -> None:
    global _database
    _database = database
