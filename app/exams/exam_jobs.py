"""Periodic job of the attempt engine: close attempts whose browser disappeared (attempts.sweep).
Enqueued by the worker every minute (app/worker/housekeeping.py PERIODIC_JOBS)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.core.jobs import JobContext, job_handler
from app.core.models import utcnow
from app.exams import attempts

SWEEP_JOB = "exams.sweep_attempts"


@job_handler(SWEEP_JOB, max_attempts=1, timeout_s=300)
def sweep_attempts(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    return dict(attempts.sweep(session, now=utcnow()))
