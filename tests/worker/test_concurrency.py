"""Several workers claiming from one queue at once never run a job twice, on either database."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.db import Database
from app.core.jobs import Job, JobContext, JobStatus, enqueue, job_handler
from app.worker.runner import Worker
from tests.conftest import BACKEND
from tests.worker.support import markers, write_marker

_lock = threading.Lock()
RUNS: Counter[int] = Counter()
RAN_ON: dict[int, str] = {}


@job_handler("test_worker_concurrency.count", max_attempts=1)
def count_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    with _lock:
        RUNS[ctx.job_id] += 1
        RAN_ON[ctx.job_id] = threading.current_thread().name
    ctx.progress(50, "counted")
    write_marker(session, f"count-{ctx.job_id}")  # a second run would also collide on this primary key
    return {"n": payload["n"]}


# PostgreSQL: FOR UPDATE SKIP LOCKED. SQLite: BEGIN IMMEDIATE serialises claimers; they must wait on the
# busy timeout, never fail with "database is locked".
WORKERS, JOBS = (4, 200) if BACKEND == "postgres" else (3, 60)


def test_concurrent_workers_run_every_job_exactly_once(committed_database: Database) -> None:
    RUNS.clear()
    RAN_ON.clear()
    with committed_database.transaction() as session:
        ids = [enqueue(session, "test_worker_concurrency.count", {"n": n}).id for n in range(JOBS)]
    workers = [Worker(committed_database, worker_id=f"concurrent-{i}:1", poll_seconds=0.01) for i in range(WORKERS)]
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def drain(worker: Worker) -> None:
        start.wait()
        try:
            while worker.run_one():
                pass
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,), name=w.id, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "workers did not finish"
    assert errors == []
    assert dict(RUNS) == dict.fromkeys(ids, 1)
    with committed_database.transaction(write=False) as session:
        rows = session.exec(select(Job).where(col(Job.kind) == "test_worker_concurrency.count")).all()
    assert {(j.status, j.attempts, j.progress) for j in rows} == {(JobStatus.succeeded, 1, 100)}
    assert len(markers(committed_database)) == JOBS
    # the test only means something if the workers really did overlap
    assert len(set(RAN_ON.values())) > 1


@pytest.mark.skipif(BACKEND != "postgres", reason="SKIP LOCKED is PostgreSQL's; SQLite claimers take turns")
def test_a_locked_job_is_skipped_not_waited_for(committed_database: Database) -> None:
    from app.core.models import utcnow
    from app.worker.state import claim_next

    with committed_database.transaction() as session:
        first = enqueue(session, "test_worker_concurrency.count", {"n": 1}).id
        second = enqueue(session, "test_worker_concurrency.count", {"n": 2}).id
    holder = committed_database.new_session(write=True)
    try:
        held = holder.exec(select(Job).where(col(Job.id) == first).with_for_update()).one()
        assert held.id == first
        with committed_database.transaction() as session:
            session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a claim that waits fails instead of hanging
            claim = claim_next(session, "other:1:0", utcnow(), lease_seconds=60)
        assert claim is not None and claim.job_id == second
    finally:
        holder.rollback()
        holder.close()
