"""Worker test helpers: a hand-driven clock, job rows, marker rows written by handlers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core.db import Database
from app.core.jobs import Job, WorkerHeartbeat, enqueue
from app.core.models import utcnow


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def add_job(db: Database, clock: FakeClock, kind: str, payload: dict[str, Any] | None = None, **kwargs: Any) -> int:
    with db.transaction() as session:
        job = enqueue(session, kind, payload, now=clock(), **kwargs)
        assert job.id is not None
        return job.id


def load(db: Database, job_id: int) -> Job:
    with db.transaction(write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def update_job(db: Database, job_id: int, **values: Any) -> None:
    with db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        for key, value in values.items():
            setattr(job, key, value)
        session.add(job)


def write_marker(session: Session, name: str) -> None:
    """A row written by a handler in its own session, to see whether the handler's writes committed."""
    now = utcnow()
    session.add(WorkerHeartbeat(id=f"marker:{name}", hostname="marker", pid=0, started_at=now, last_seen_at=now))
    session.flush()


def markers(db: Database) -> list[str]:
    with db.transaction(write=False) as session:
        ids = session.exec(select(WorkerHeartbeat.id).where(col(WorkerHeartbeat.id).startswith("marker:"))).all()
    return sorted(i.removeprefix("marker:") for i in ids)


def worker_rows(db: Database) -> list[WorkerHeartbeat]:
    with db.transaction(write=False) as session:
        return list(session.exec(select(WorkerHeartbeat).where(col(WorkerHeartbeat.hostname) != "marker")).all())


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass (for a worker process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
