"""Periodic jobs: each kind enqueued on its own period (not all of them hourly), at most once per period
across all workers, driven by the worker's injected clock; and the supervising loop wakes for them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.core.db import Database
from app.core.jobs import Job, JobContext, JobStatus, enqueue, job_handler
from app.worker import housekeeping, runner
from app.worker.runner import Worker
from tests.conftest import BACKEND
from tests.worker.support import FakeClock, update_job, wait_for

MINUTE, FIVE, HOURLY = "test_periodic.minute", "test_periodic.five", "test_periodic.hourly"
SCHEDULE = ((MINUTE, timedelta(minutes=1)), (FIVE, timedelta(minutes=5)), (HOURLY, timedelta(hours=1)))


@job_handler(MINUTE)
@job_handler(FIVE)
@job_handler(HOURLY)
def periodic_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    return None


@pytest.fixture(autouse=True)
def _schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's periodic jobs are these three (the real ones would need their domains' data)."""
    monkeypatch.setattr(runner, "PERIODIC_JOBS", SCHEDULE)


def counts(db: Database) -> Counter[str]:
    with db.transaction(write=False) as session:
        return Counter(session.exec(select(Job.kind).where(col(Job.kind).startswith("test_periodic."))).all())


def finish_all(db: Database) -> None:
    """Pretend the queued periodic jobs ran (a queued one holds back the next of its kind)."""
    with db.transaction() as session:
        for job in session.exec(select(Job).where(col(Job.status) == JobStatus.queued)).all():
            job.status = JobStatus.succeeded
            session.add(job)


def test_each_periodic_job_is_enqueued_on_its_own_period(committed_database: Database, worker: Worker,
                                                         clock: FakeClock) -> None:
    start = clock()
    assert worker.enqueue_periodic() == start + timedelta(minutes=1)  # the next one due: the minutely job
    assert counts(committed_database) == {MINUTE: 1, FIVE: 1, HOURLY: 1}
    for _ in range(60):  # an hour, minute by minute
        finish_all(committed_database)
        clock.advance(minutes=1)
        worker.enqueue_periodic()
    assert counts(committed_database) == {MINUTE: 61, FIVE: 13, HOURLY: 2}
    # Looked at more often than that, nothing more is enqueued until the next minute.
    finish_all(committed_database)
    for _ in range(5):
        clock.advance(seconds=10)
        worker.enqueue_periodic()
    assert counts(committed_database) == {MINUTE: 61, FIVE: 13, HOURLY: 2}
    clock.advance(seconds=10)
    worker.enqueue_periodic()
    assert counts(committed_database) == {MINUTE: 62, FIVE: 13, HOURLY: 2}


def test_a_run_still_queued_or_running_holds_the_next_back(committed_database: Database, worker: Worker,
                                                          clock: FakeClock) -> None:
    worker.enqueue_periodic()
    finish_all(committed_database)
    clock.advance(minutes=5)
    worker.enqueue_periodic()
    with committed_database.transaction(write=False) as session:
        slow = session.exec(select(Job).where(col(Job.kind) == FIVE, col(Job.status) == JobStatus.queued)).one()
    update_job(committed_database, slow.id or 0, status=JobStatus.running)
    clock.advance(minutes=5)
    worker.enqueue_periodic()
    assert counts(committed_database)[FIVE] == 2  # still running: no second one queued behind it
    assert worker._periodic_due[FIVE] == clock() + housekeeping.BUSY_RECHECK  # looked at again a minute later
    update_job(committed_database, slow.id or 0, status=JobStatus.succeeded)
    clock.advance(minutes=1)
    worker.enqueue_periodic()
    assert counts(committed_database)[FIVE] == 3


def test_periodic_jobs_are_enqueued_once_across_workers(committed_database: Database, clock: FakeClock) -> None:
    workers = [Worker(committed_database, worker_id=f"periodic-{i}:1", clock=clock, poll_seconds=0.01)
               for i in range(4 if BACKEND == "postgres" else 3)]
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def look(worker: Worker) -> None:
        start.wait()
        try:
            worker.enqueue_periodic()
        except BaseException as exc:  # reported below
            errors.append(exc)

    for _minute in range(11):  # all of them looking at the same moments, for ten minutes
        threads = [threading.Thread(target=look, args=(w,), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        finish_all(committed_database)
        clock.advance(minutes=1)
    assert counts(committed_database) == {MINUTE: 11, FIVE: 3, HOURLY: 1}


def test_a_worker_starting_later_learns_the_schedule_from_the_database(committed_database: Database, worker: Worker,
                                                                      clock: FakeClock) -> None:
    first_run = clock()
    worker.enqueue_periodic()
    finish_all(committed_database)
    clock.advance(seconds=90)
    late = Worker(committed_database, worker_id="late:1", clock=clock)
    assert late.enqueue_periodic() == first_run + timedelta(minutes=2.5)  # the minutely one, a minute after 90 s
    assert late._periodic_due[FIVE] == first_run + timedelta(minutes=5)  # due when the first worker's run says
    assert late._periodic_due[HOURLY] == first_run + timedelta(hours=1)
    assert counts(committed_database) == {MINUTE: 2, FIVE: 1, HOURLY: 1}


def test_a_clock_set_back_does_not_stall_the_schedule(committed_database: Database, worker: Worker,
                                                      clock: FakeClock) -> None:
    worker.enqueue_periodic()
    finish_all(committed_database)
    clock.advance(hours=-3)  # the host's clock corrected backwards
    worker.enqueue_periodic()
    # The runs stamped "in the future" count as recent: nothing new, but each kind is looked at again
    # within its period instead of three hours later.
    assert all(due <= clock() + every for (kind, every), due in zip(SCHEDULE, (worker._periodic_due[k] for k, _ in SCHEDULE),
                                                                       strict=True))
    assert counts(committed_database) == {MINUTE: 1, FIVE: 1, HOURLY: 1}


def test_old_finished_runs_are_deleted(committed_database: Database, worker: Worker, clock: FakeClock) -> None:
    with committed_database.transaction() as session:
        old = enqueue(session, MINUTE, now=clock() - timedelta(days=8))
        old.created_at, old.status = clock() - timedelta(days=8), JobStatus.succeeded
        recent = enqueue(session, MINUTE, now=clock() - timedelta(days=2))
        recent.created_at, recent.status = clock() - timedelta(days=2), JobStatus.failed
        other = enqueue(session, "test_periodic.not_periodic", now=clock() - timedelta(days=30))
        other.created_at, other.status = clock() - timedelta(days=30), JobStatus.succeeded
        session.add_all([old, recent, other])
        session.flush()
        ids = {"old": old.id, "recent": recent.id, "other": other.id}
    worker.enqueue_periodic()
    with committed_database.transaction(write=False) as session:
        kept = {name for name, job_id in ids.items() if session.get(Job, job_id) is not None}
    assert kept == {"recent", "other"}


# -- the supervising loop --------------------------------------------------------------------------


@pytest.fixture
def running_worker(committed_database: Database, clock: FakeClock) -> Iterator[Worker]:
    live = Worker(committed_database, worker_id="looping:1", clock=clock, poll_seconds=0.01, grace_seconds=5)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    try:
        yield live
    finally:
        live.request_stop()
        thread.join(20)
        assert not thread.is_alive()


def all_done(db: Database, expected: dict[str, int]) -> Callable[[], bool]:
    def check() -> bool:
        with db.transaction(write=False) as session:
            jobs = session.exec(select(Job).where(col(Job.kind).startswith("test_periodic."))).all()
        return Counter(j.kind for j in jobs) == expected and all(j.status == JobStatus.succeeded for j in jobs)
    return check


def test_the_worker_loop_enqueues_each_job_when_it_is_due(committed_database: Database, running_worker: Worker,
                                                          clock: FakeClock) -> None:
    assert wait_for(all_done(committed_database, {MINUTE: 1, FIVE: 1, HOURLY: 1}), timeout=20.0), counts(committed_database)
    clock.advance(minutes=1)  # the sweep-like job is due a minute later, not an hour later
    assert wait_for(all_done(committed_database, {MINUTE: 2, FIVE: 1, HOURLY: 1}), timeout=20.0), counts(committed_database)
    clock.advance(minutes=4)
    assert wait_for(all_done(committed_database, {MINUTE: 3, FIVE: 2, HOURLY: 1}), timeout=20.0), counts(committed_database)
    clock.advance(minutes=55)
    assert wait_for(all_done(committed_database, {MINUTE: 4, FIVE: 3, HOURLY: 2}), timeout=20.0), counts(committed_database)
