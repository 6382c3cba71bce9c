"""The JobContext a handler receives: progress reports, cancellation and the cooperative timeout."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from app.core.db import Database
from app.core.jobs import JobCancelled
from app.worker.state import Claim, read_state, record_progress

PROGRESS_MESSAGE_MAX = 500  # the column's length

log = logging.getLogger("shixun.worker")


class LeaseLost(JobCancelled):
    """The job is no longer this worker's: its lease expired and another worker took it over."""


class JobTimedOut(Exception):
    """The handler ran past its HandlerSpec.timeout_s (noticed at a progress report): a normal, retried failure."""


def clamp_percent(percent: float) -> int:
    return max(0, min(100, int(percent)))


class WorkerJobContext:
    """Implements app.core.jobs.JobContext for one attempt of one job.

    Progress is written in its own short transaction, so watchers see it while the handler's own
    transaction is still open, and it is fenced like every other transition (a worker that lost its
    lease cannot write progress onto the next attempt).

    SQLite has one writer at a time, and the handler's session opens with BEGIN IMMEDIATE: once the
    handler has touched its session, this thread already holds the write lock, and a second write
    transaction from the same thread would wait on itself until the busy timeout. In that state progress
    is only kept in memory (`pending`); the cancellation check still works, because in WAL mode a read
    transaction never waits for a writer. Handlers with slow work should do it before their first query
    where they can, since on SQLite an open handler transaction also holds back every other writer.

    Timeouts are cooperative: a Python thread cannot be interrupted safely, so `timeout_s` is enforced
    when the handler reports progress. A handler that runs a subprocess should pass the timeout on to
    it (subprocess.run(timeout=...)).
    """

    def __init__(self, database: Database, claim: Claim, *, clock: Callable[[], datetime],
                 deadline: datetime | None = None) -> None:
        self.job_id = claim.job_id
        self.attempt = claim.attempt
        self._database = database
        self._claim = claim
        self._clock = clock
        self._deadline = deadline
        self._handler_holds_sqlite_lock = False
        self.pending: tuple[int, str | None] | None = None

    def watch(self, session: Session) -> None:
        """Follow the handler's session to learn when, on SQLite, it takes the write lock."""
        if self._database.dialect == "sqlite":
            event.listen(session, "after_begin", self._on_handler_begin)

    def _on_handler_begin(self, *_args: Any) -> None:
        self._handler_holds_sqlite_lock = True

    def progress(self, percent: int, message: str | None = None) -> None:
        value = clamp_percent(percent)
        text = message[:PROGRESS_MESSAGE_MAX] if message else None
        if self._deadline is not None and self._clock() > self._deadline:
            raise JobTimedOut(f"job {self.job_id} ran past its timeout")
        written, state = False, None
        if not self._handler_holds_sqlite_lock:
            try:
                with self._database.transaction() as session:
                    record_progress(session, self._claim, value, text)
                    state = read_state(session, self.job_id)
                written = True
            except sa.exc.OperationalError:
                # SQLite: another slot's handler held the write lock past the busy timeout. Progress is
                # best effort; failing the job for it would be worse.
                if self._database.dialect != "sqlite":
                    raise
                log.debug("job %s: progress not written, database busy", self.job_id)
        if not written:
            self.pending = (value, text)
            with self._database.transaction(write=False) as session:
                state = read_state(session, self.job_id)
        if state is None or not state.still_ours(self._claim):
            if state is not None and state.status == "cancelled":
                raise JobCancelled(f"job {self.job_id} was cancelled")
            raise LeaseLost(f"job {self.job_id} is no longer held by {self._claim.locked_by}")
        if state.cancel_requested:
            raise JobCancelled(f"job {self.job_id} was cancelled")
