"""The job state machine as functions of (session, claim, now): claim, succeed, retry or fail, cancel.

Each function runs inside a short write transaction the caller opens. Every transition after the claim
is fenced on (id, locked_by, attempts, status=running): a worker whose lease expired and whose job was
taken over by another worker cannot overwrite the newer attempt's outcome.

Claiming is safe under concurrency on both databases:
- PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` locks the chosen row; concurrent claimers skip it, and
  a row another claimer updated meanwhile is re-checked against the WHERE clause before it is returned.
- SQLite: write sessions open with BEGIN IMMEDIATE, so claim transactions run one at a time (SQLite
  renders no FOR UPDATE; the whole database is the lock).

Delivery is at least once: if a worker loses its lease while its handler is still running (a pause
longer than the lease), the job can run again elsewhere. Handlers should be idempotent.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.jobs import Job, JobStatus

BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 3600.0
BACKOFF_JITTER = 0.1  # up to +10 %, so jobs that failed together do not retry in lockstep
ERROR_MAX_CHARS = 8000
WORKER_LOST = "worker lost"


@dataclass(frozen=True)
class Claim:
    """What a worker holds while it runs a job: the fence (locked_by, attempt) and the job's input."""

    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    locked_by: str
    taken_over: bool = False  # the previous worker's lease had expired


def backoff_seconds(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Delay before retry number `attempt` (1-based): 10 s, 20 s, 40 s ... capped at an hour, plus jitter."""
    base = min(BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0), BACKOFF_CAP_SECONDS)
    return base * (1 + BACKOFF_JITTER * rand())


def error_text(exc: BaseException, *, limit: int = ERROR_MAX_CHARS) -> str:
    """`Type: message` first, then the traceback; an over-long traceback keeps its end, where the error is."""
    summary = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(exc))
    text = f"{summary}\n\n{tb}"
    if len(text) <= limit:
        return text
    head = summary[: limit // 4]
    tail_room = limit - len(head) - len("\n\n…\n")
    return f"{head}\n\n…\n{tb[-tail_room:]}" if tail_room > 0 else head[:limit]


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    queued_and_due = sa.and_(col(Job.status) == JobStatus.queued, col(Job.run_after) <= now)
    lease_expired = sa.and_(
        col(Job.status) == JobStatus.running,
        sa.or_(col(Job.lease_expires_at) < now, col(Job.lease_expires_at).is_(None)),
    )
    return sa.or_(queued_and_due, lease_expired)


def claim_next(
    session: Session,
    worker_id: str,
    now: datetime,
    *,
    lease_seconds: int,
    exclude: Collection[int] = (),
) -> Claim | None:
    """Claim the most urgent due job (priority, then id) for `worker_id`, or return None.

    Jobs found running with an expired lease belong to a dead worker: they are taken over, or marked
    failed ("worker lost") when their attempts are spent, or cancelled when cancellation was asked.
    `exclude` lists jobs this process is running itself, so a late heartbeat never makes it take over
    its own job.
    """
    while True:
        stmt = select(Job).where(_claimable(now)).order_by(col(Job.priority), col(Job.id)).limit(1)
        if exclude:
            stmt = stmt.where(col(Job.id).not_in(list(exclude)))
        job = session.exec(stmt.with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        taken_over = job.status == JobStatus.running
        if job.cancel_requested:
            _end(job, JobStatus.cancelled, now)
        elif taken_over and job.attempts >= job.max_attempts:
            _end(job, JobStatus.failed, now, error=f"{WORKER_LOST}: lease of {job.locked_by} expired while running")
        else:
            job.status = JobStatus.running
            job.locked_by = worker_id
            job.lease_expires_at = now + timedelta(seconds=lease_seconds)
            job.attempts += 1
            job.started_at = now
            job.finished_at = None
            session.add(job)
            session.flush()
            assert job.id is not None
            return Claim(job.id, job.kind, dict(job.payload or {}), job.attempts, job.max_attempts, worker_id, taken_over)
        session.add(job)
        session.flush()


def _end(job: Job, status: JobStatus, now: datetime, *, error: str | None = None) -> None:
    job.status = status
    job.finished_at = now
    job.locked_by = None
    job.lease_expires_at = None
    if error is not None:
        job.error = error


def _fenced(claim: Claim) -> sa.Update:
    return (
        sa.update(Job)
        .where(
            col(Job.id) == claim.job_id,
            col(Job.locked_by) == claim.locked_by,
            col(Job.attempts) == claim.attempt,
            col(Job.status) == JobStatus.running,
        )
        .execution_options(synchronize_session=False)
    )


def _apply(session: Session, stmt: sa.Update) -> bool:
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


_RELEASE = {"locked_by": None, "lease_expires_at": None}


def mark_succeeded(session: Session, claim: Claim, result: dict[str, Any] | None, now: datetime) -> bool:
    """False when the job is no longer ours (lease lost, or cancelled under our feet)."""
    values = {"status": JobStatus.succeeded.value, "result": sa.null() if result is None else result,
              "progress": 100, "error": None, "finished_at": now, **_RELEASE}
    return _apply(session, _fenced(claim).values(**values))


def mark_cancelled(session: Session, claim: Claim, now: datetime) -> bool:
    return _apply(session, _fenced(claim).values(status=JobStatus.cancelled.value, finished_at=now, **_RELEASE))


def mark_failed(session: Session, claim: Claim, error: str, now: datetime, *, permanent: bool = False,
                rand: Callable[[], float] = random.random) -> JobStatus | None:
    """Queue a retry after a backoff while attempts remain (and the error is not permanent), else fail.

    Returns the new status, or None when the job is no longer ours.
    """
    if permanent or claim.attempt >= claim.max_attempts:
        stmt = _fenced(claim).values(status=JobStatus.failed.value, error=error, finished_at=now, **_RELEASE)
        return JobStatus.failed if _apply(session, stmt) else None
    run_after = now + timedelta(seconds=backoff_seconds(claim.attempt, rand=rand))
    stmt = _fenced(claim).values(status=JobStatus.queued.value, error=error, run_after=run_after, **_RELEASE)
    return JobStatus.queued if _apply(session, stmt) else None


def record_progress(session: Session, claim: Claim, percent: int, message: str | None) -> bool:
    return _apply(session, _fenced(claim).values(progress=percent, progress_message=message))


@dataclass(frozen=True)
class JobState:
    status: str
    cancel_requested: bool
    locked_by: str | None
    attempts: int

    def still_ours(self, claim: Claim) -> bool:
        return self.status == JobStatus.running and self.locked_by == claim.locked_by and self.attempts == claim.attempt


def read_state(session: Session, job_id: int) -> JobState | None:
    row = session.execute(
        sa.select(col(Job.status), col(Job.cancel_requested), col(Job.locked_by), col(Job.attempts)).where(col(Job.id) == job_id)
    ).one_or_none()
    return JobState(*row) if row is not None else None


def extend_lease(session: Session, claim: Claim, now: datetime, *, lease_seconds: int) -> bool:
    return _apply(session, _fenced(claim).values(lease_expires_at=now + timedelta(seconds=lease_seconds)))
