"""Background jobs recorded in the database.

A job row is written in the same transaction as the request that asks for it (`enqueue`), so a job
exists if and only if the request's other writes landed. `shixun worker` (app/worker) claims jobs,
runs the handler registered for their `kind`, reports progress, retries with backoff and takes over
jobs whose worker died once their lease expires.

Why not Celery/RQ/Dramatiq: they put the job in Redis, outside the request's transaction (a job for a
row that was rolled back, or a row whose job was lost), and the embedded default must run with no
server besides the app. procrastinate has the right model but is PostgreSQL-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, Session, SQLModel, col

from app.core.models import AwareDateTime, created_field, datetime_field, utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class Job(SQLModel, table=True):
    __tablename__ = "core_job"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.Index("ix_core_job_claim", "status", "run_after"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=100, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=JobStatus.queued.value, max_length=20)
    priority: int = 100
    attempts: int = 0
    max_attempts: int = 3
    run_after: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, nullable=False)
    progress: int = 0
    progress_message: str | None = Field(default=None, max_length=500)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, sa_type=sa.Text)
    locked_by: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = datetime_field(nullable=True)
    cancel_requested: bool = False
    created_by_id: int | None = Field(default=None)
    created_at: datetime = created_field()
    started_at: datetime | None = datetime_field(nullable=True)
    finished_at: datetime | None = datetime_field(nullable=True)

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class WorkerHeartbeat(SQLModel, table=True):
    """One row per running worker; /readyz looks here to tell whether any worker is alive."""

    __tablename__ = "core_worker"

    id: str = Field(primary_key=True, max_length=200)
    hostname: str = Field(max_length=200)
    pid: int
    started_at: datetime = created_field()
    last_seen_at: datetime = datetime_field(index=True)


class JobContext(Protocol):
    job_id: int
    attempt: int

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress (0-100); raises JobCancelled when the job was cancelled meanwhile."""


class JobCancelled(Exception):
    """Raised inside a handler (by JobContext.progress) when someone cancelled the job."""


class PermanentJobError(Exception):
    """A handler raises this when retrying cannot help (bad input): the job fails at once."""


# A handler runs with a session of its own (committed when it returns) and the job's context.
JobHandler = Callable[[Session, dict[str, Any], JobContext], dict[str, Any] | None]


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    func: JobHandler
    max_attempts: int
    timeout_s: int | None


_HANDLERS: dict[str, HandlerSpec] = {}


def job_handler(kind: str, *, max_attempts: int = 3, timeout_s: int | None = None) -> Callable[[JobHandler], JobHandler]:
    def register(func: JobHandler) -> JobHandler:
        if kind in _HANDLERS and _HANDLERS[kind].func is not func:
            raise RuntimeError(f"job kind {kind!r} registered twice")
        _HANDLERS[kind] = HandlerSpec(kind, func, max_attempts, timeout_s)
        return func

    return register


def get_handler(kind: str) -> HandlerSpec | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    priority: int = 100,
    delay: timedelta | None = None,
    max_attempts: int | None = None,
    created_by_id: int | None = None,
    now: datetime | None = None,
) -> Job:
    spec = _HANDLERS.get(kind)
    job = Job(
        kind=kind,
        payload=payload or {},
        priority=priority,
        run_after=(now or utcnow()) + (delay or timedelta()),
        max_attempts=max_attempts or (spec.max_attempts if spec else 3),
        created_by_id=created_by_id,
    )
    session.add(job)
    session.flush()
    return job


def request_cancel(session: Session, job: Job, *, now: datetime | None = None) -> Job:
    """Queued jobs are cancelled at once; a running one stops at its next progress report.

    Conditional updates, not read-then-write: a worker may claim the job between the caller's read and
    this write, and must then be asked to stop rather than have the row flipped to cancelled under it.
    """
    session.flush()
    job_id = col(Job.id) == job.id
    cancelled = session.execute(
        sa.update(Job).where(job_id, col(Job.status) == JobStatus.queued)
        .values(status=JobStatus.cancelled.value, finished_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(cancelled, "rowcount", 0):
        session.execute(
            sa.update(Job).where(job_id, col(Job.status) == JobStatus.running)
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
    session.refresh(job)
    return job


def retry(session: Session, job: Job, *, now: datetime | None = None) -> Job:
    """Put a failed or cancelled job back in the queue with a fresh set of attempts."""
    if job.status in (JobStatus.failed, JobStatus.cancelled):
        job.status = JobStatus.queued
        job.attempts = 0
        job.error = None
        job.progress = 0
        job.progress_message = None
        job.cancel_requested = False
        job.run_after = now or utcnow()
        job.finished_at = None
        session.add(job)
        session.flush()
    return job
