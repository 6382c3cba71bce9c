"""Periodic job: publish the due edition of every recurring exam (日考/周考/月考). Enqueued by the worker
every five minutes (app/worker/housekeeping.py PERIODIC_JOBS); publishing is idempotent per edition."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.core.jobs import JobContext, job_handler
from app.core.models import utcnow
from app.exams import schedules

PUBLISH_JOB = "exams.publish_editions"


@job_handler(PUBLISH_JOB, max_attempts=1, timeout_s=300)
def publish_editions(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    published = schedules.publish_due_editions(session, now=utcnow())
    return {"published": [exam.edition_key for exam in published]}
