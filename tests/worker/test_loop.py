"""The worker's process loop: draining with --once, graceful stop and the grace period."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.core.db import Database
from app.core.jobs import Job, JobContext, JobStatus, WorkerHeartbeat, enqueue, job_handler
from app.worker.runner import Worker, run_worker
from tests.worker.support import load, worker_rows

T: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _handler_env() -> Iterator[None]:
    T.clear()
    T["seen"] = []
    yield
    T.clear()


@job_handler("test_worker_loop.recorder")
def recorder_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    T["seen"].append(ctx.job_id)


@job_handler("test_worker_loop.hook")
def hook_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any] | None:
    result: dict[str, Any] | None = T["hook"](session, ctx)
    return result


def test_run_worker_once_drains_due_jobs_and_deregisters(committed_database: Database) -> None:
    with committed_database.transaction() as session:
        due = [enqueue(session, "test_worker_loop.recorder", {"i": i}) for i in range(5)]
        later = enqueue(session, "test_worker_loop.recorder", delay=timedelta(hours=1))
    assert run_worker(concurrency=2, once=True) == 0
    assert sorted(T["seen"]) == [j.id for j in due]
    with committed_database.transaction(write=False) as session:
        jobs = {j.id: j for j in session.exec(select(Job)).all()}
    assert [jobs[j.id].status for j in due] == [JobStatus.succeeded] * 5
    assert jobs[later.id].status == JobStatus.queued
    # the periodic housekeeping job is enqueued at start (and ran, since it was due)
    assert [j.status for j in jobs.values() if j.kind == "accounts.purge_expired"] == [JobStatus.succeeded]
    assert worker_rows(committed_database) == []


def _run_in_thread(worker: Worker) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(worker.run()), daemon=True)
    thread.start()
    return thread, codes


def test_stop_lets_the_running_job_finish(committed_database: Database) -> None:
    started, release = threading.Event(), threading.Event()

    def hook(session: Session, ctx: JobContext) -> dict[str, Any]:
        started.set()
        assert release.wait(10)
        return {"finished": True}

    T["hook"] = hook
    with committed_database.transaction() as session:
        job_id = enqueue(session, "test_worker_loop.hook").id
    live = Worker(committed_database, worker_id="stopper:1", poll_seconds=0.01, grace_seconds=10)
    thread, codes = _run_in_thread(live)
    assert started.wait(10)
    assert [r.id for r in worker_rows(committed_database)] == ["stopper:1"]
    live.request_stop()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the job, not abandoning it
    release.set()
    thread.join(10)
    assert not thread.is_alive() and codes == [0]
    assert load(committed_database, job_id or 0).status == JobStatus.succeeded
    assert worker_rows(committed_database) == []


def test_stop_gives_up_after_the_grace_period(committed_database: Database) -> None:
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def hook(session: Session, ctx: JobContext) -> None:
        started.set()
        release.wait(10)
        done.set()

    T["hook"] = hook
    with committed_database.transaction() as session:
        job_id = enqueue(session, "test_worker_loop.hook").id or 0
    live = Worker(committed_database, worker_id="impatient:1", poll_seconds=0.01, grace_seconds=0.3)
    thread, codes = _run_in_thread(live)
    assert started.wait(10)
    live.request_stop()
    thread.join(10)
    assert not thread.is_alive() and codes == [0]
    job = load(committed_database, job_id)
    assert (job.status, job.locked_by) == (JobStatus.running, "impatient:1:0")  # left to its lease
    release.set()
    assert done.wait(10)
    with committed_database.transaction(write=False) as session:  # let the abandoned thread finish its bookkeeping
        session.exec(select(WorkerHeartbeat)).all()


def test_concurrency_below_one_is_refused(committed_database: Database) -> None:
    assert run_worker(concurrency=0, once=True) == 2
    with pytest.raises(ValueError):
        Worker(committed_database, concurrency=0)
