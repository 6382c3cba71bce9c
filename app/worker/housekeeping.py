"""The worker's own bookkeeping: its heartbeat row in core_worker and the periodic jobs it enqueues."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.jobs import Job, JobStatus, WorkerHeartbeat, enqueue

# (job kind, how often). Each is due at start and then on its own period: the worker enqueues it unless one
# is queued or running, or one was enqueued within the period (by this worker or another), so across all
# workers a kind is enqueued at most once per period (ensure_periodic).
PERIODIC_JOBS: tuple[tuple[str, timedelta], ...] = (
    ("accounts.purge_expired", timedelta(hours=1)),
    ("exams.sweep_attempts", timedelta(minutes=1)),  # app/exams/exam_jobs.py: attempts whose browser disappeared
    ("media.purge_expired_uploads", timedelta(hours=1)),  # app/media/housekeeping.py: abandoned resumable uploads
    ("media.purge_orphans", timedelta(hours=6)),  # app/media/housekeeping.py: files no asset uses any more
    ("exams.publish_editions", timedelta(minutes=5)),  # app/exams/schedule_jobs.py: 日考/周考/月考 editions
)


def upsert_worker(session: Session, worker_id: str, *, hostname: str, pid: int, now: datetime) -> None:
    """Only the worker itself writes its row, so get-then-add cannot race with another writer."""
    row = session.get(WorkerHeartbeat, worker_id)
    if row is None:
        row = WorkerHeartbeat(id=worker_id, hostname=hostname, pid=pid, started_at=now, last_seen_at=now)
    else:
        row.hostname, row.pid, row.last_seen_at = hostname, pid, now
    session.add(row)
    session.flush()


def delete_worker(session: Session, worker_id: str) -> None:
    session.execute(sa.delete(WorkerHeartbeat).where(col(WorkerHeartbeat.id) == worker_id))


def _advisory_key(kind: str) -> int:
    return zlib.crc32(f"shixun.periodic:{kind}".encode())


# A periodic job still queued or running when its next period comes (a slow run, a retry waiting for its
# backoff) is looked at again this often, rather than a whole period later.
BUSY_RECHECK = timedelta(minutes=1)
# Finished runs of periodic jobs are kept this long (the jobs page shows them), then deleted when the next
# one is enqueued: the attempt sweep alone makes 1,440 rows a day.
PERIODIC_RUNS_KEPT = timedelta(days=7)


def ensure_periodic(session: Session, kind: str, every: timedelta, now: datetime) -> Job | None:
    """Enqueue `kind` unless one is queued or running or was created less than `every` ago."""
    return schedule_periodic(session, kind, every, now)[0]


def schedule_periodic(session: Session, kind: str, every: timedelta, now: datetime) -> tuple[Job | None, datetime]:
    """ensure_periodic, and when `kind` is next worth looking at: a period after the newest run of it,
    whoever enqueued that (at most BUSY_RECHECK later while one is queued or running).

    Check and insert share a transaction. On SQLite the BEGIN IMMEDIATE write transaction makes that
    atomic; on PostgreSQL a transaction-scoped advisory lock serialises workers that look together.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(kind)})
    busy = session.exec(select(col(Job.id)).where(col(Job.kind) == kind)
                        .where(col(Job.status).in_([JobStatus.queued, JobStatus.running])).limit(1)).first()
    if busy is not None:
        return None, now + min(every, BUSY_RECHECK)
    newest = session.exec(select(col(Job.created_at)).where(col(Job.kind) == kind)
                          .order_by(col(Job.created_at).desc()).limit(1)).first()
    if newest is not None and newest > now - every:
        return None, newest + every
    session.execute(sa.delete(Job).where(col(Job.kind) == kind, col(Job.created_at) < now - PERIODIC_RUNS_KEPT,
                                         col(Job.status).in_([JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled])))
    job = enqueue(session, kind, now=now)
    job.created_at = now
    session.add(job)
    session.flush()
    return job, now + every
