"""The job worker against a real database: outcomes, retries, cancellation, leases, heartbeat, shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.core.db import Database
from app.core.jobs import Job, JobContext, JobStatus, PermanentJobError, enqueue, job_handler, request_cancel
from app.worker import state
from app.worker.runner import Worker
from tests.factories import make_unit
from tests.worker.support import FakeClock, add_job, load, markers, update_job, worker_rows, write_marker

# What the handlers below need from the running test (set by the autouse fixture).
T: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _handler_env(committed_database: Database, clock: FakeClock, worker: Worker) -> Iterator[None]:
    T.clear()
    T.update(db=committed_database, clock=clock, worker=worker, seen=[])
    yield
    T.clear()


def progress_seen_from_outside(job_id: int) -> tuple[int, str | None]:
    job = load(T["db"], job_id)
    return job.progress, job.progress_message


@job_handler("test_worker.ok")
def ok_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(-5, "starting")
    T["seen"].append(progress_seen_from_outside(ctx.job_id))
    ctx.progress(40, "halfway")
    T["seen"].append(progress_seen_from_outside(ctx.job_id))
    ctx.progress(250)
    T["seen"].append(progress_seen_from_outside(ctx.job_id))
    write_marker(session, f"ok-{ctx.job_id}")
    return {"answer": payload["n"] * 2}


@job_handler("test_worker.flaky", max_attempts=3)
def flaky_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    write_marker(session, f"flaky-{ctx.job_id}-{ctx.attempt}")  # must vanish when the attempt fails
    if ctx.attempt <= payload["fail_times"]:
        raise RuntimeError(f"boom on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@job_handler("test_worker.permanent", max_attempts=5)
def permanent_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    raise PermanentJobError("payload names no course")


@job_handler("test_worker.cancel_me")
def cancel_me_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    ctx.progress(10, "started")
    with T["db"].transaction() as other:  # someone presses "cancel" while the job runs
        job = other.get(Job, ctx.job_id)
        request_cancel(other, job)
    write_marker(session, f"cancel-{ctx.job_id}")  # on SQLite this thread now holds the write lock
    ctx.progress(20, "still going")
    T["seen"].append("ran past the cancelled progress report")


@job_handler("test_worker.recorder")
def recorder_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    T["seen"].append(ctx.job_id)


@job_handler("test_worker.hook")
def hook_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any] | None:
    result: dict[str, Any] | None = T["hook"](session, ctx)
    return result


@job_handler("test_worker.slow", timeout_s=5)
def slow_handler(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    T["clock"].advance(seconds=6)
    ctx.progress(50)


# -- outcomes ------------------------------------------------------------------------------------


def test_success_records_result_progress_and_commits_handler_writes(committed_database: Database, clock: FakeClock,
                                                                     worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.ok", {"n": 21})
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert job.status == JobStatus.succeeded
    assert job.result == {"answer": 42}
    assert (job.progress, job.attempts, job.error) == (100, 1, None)
    assert job.started_at == clock() and job.finished_at == clock()
    assert job.locked_by is None and job.lease_expires_at is None
    # progress is visible to others while the handler runs, clamped to 0..100
    assert T["seen"] == [(0, "starting"), (40, "halfway"), (100, None)]
    assert markers(committed_database) == [f"ok-{job_id}"]
    assert worker.run_one() is False


def test_failure_is_retried_with_backoff_then_succeeds(committed_database: Database, clock: FakeClock,
                                                       worker: Worker) -> None:
    start = clock()
    job_id = add_job(committed_database, clock, "test_worker.flaky", {"fail_times": 2})
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts) == (JobStatus.queued, 1)
    assert job.run_after == start + timedelta(seconds=10)
    assert job.error is not None and job.error.startswith("RuntimeError: boom on attempt 1")
    assert "Traceback" in job.error
    assert job.locked_by is None and job.lease_expires_at is None

    assert worker.run_one() is False  # not due yet
    clock.advance(seconds=9)
    assert worker.run_one() is False
    clock.advance(seconds=1)
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts) == (JobStatus.queued, 2)
    assert job.run_after == clock() + timedelta(seconds=20)

    clock.advance(seconds=20)
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts, job.result, job.error) == (JobStatus.succeeded, 3, {"attempt": 3}, None)
    # the failed attempts' writes were rolled back
    assert markers(committed_database) == [f"flaky-{job_id}-3"]


def test_exhausted_attempts_fail(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.flaky", {"fail_times": 99}, max_attempts=2)
    assert worker.run_one() is True
    clock.advance(minutes=5)
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts) == (JobStatus.failed, 2)
    assert job.finished_at == clock()
    assert job.error is not None and "boom on attempt 2" in job.error
    clock.advance(hours=2)
    assert worker.run_one() is False
    assert markers(committed_database) == []


def test_permanent_error_fails_at_once(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.permanent")
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.failed, 1, 5)
    assert job.error is not None and "payload names no course" in job.error


def test_unknown_kind_fails_with_a_clear_error(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.nobody_handles_this")
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert job.status == JobStatus.failed
    assert job.error is not None and "unknown job kind 'test_worker.nobody_handles_this'" in job.error


def test_progress_after_the_handler_has_written(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    """On SQLite the handler's session now holds the write lock: progress must neither wait on it nor fail."""

    def hook(session: Session, ctx: JobContext) -> dict[str, Any]:
        write_marker(session, "wrote-first")
        ctx.progress(70, "after the write")
        T["seen"].append(progress_seen_from_outside(ctx.job_id))
        return {"ok": True}

    T["hook"] = hook
    job_id = add_job(committed_database, clock, "test_worker.hook")
    assert worker.run_one() is True
    assert load(committed_database, job_id).status == JobStatus.succeeded
    assert markers(committed_database) == ["wrote-first"]
    # PostgreSQL shows it at once; SQLite keeps it in memory until the handler's transaction ends
    assert T["seen"] == [(0, None) if committed_database.dialect == "sqlite" else (70, "after the write")]


def test_handler_result_must_be_json(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    def hook(session: Session, ctx: JobContext) -> dict[str, Any]:
        write_marker(session, "not-json")
        return {"when": object()}

    T["hook"] = hook
    job_id = add_job(committed_database, clock, "test_worker.hook")
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert job.status == JobStatus.failed
    assert job.error is not None and "not JSON serialisable" in job.error
    assert markers(committed_database) == []


def test_timeout_is_noticed_at_a_progress_report_and_retried(committed_database: Database, clock: FakeClock,
                                                              worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.slow")
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts) == (JobStatus.queued, 1)
    assert job.error is not None and job.error.startswith("JobTimedOut")


def test_claims_by_priority_then_id(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    late = add_job(committed_database, clock, "test_worker.recorder", priority=200)
    first = add_job(committed_database, clock, "test_worker.recorder", priority=10)
    second = add_job(committed_database, clock, "test_worker.recorder", priority=10)
    while worker.run_one():
        pass
    assert T["seen"] == [first, second, late]


# -- cancellation ----------------------------------------------------------------------------------


def test_cancelled_queued_job_never_runs(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.recorder")
    with committed_database.transaction() as session:
        job = request_cancel(session, session.get(Job, job_id), now=clock())  # type: ignore[arg-type]
        assert job.status == JobStatus.cancelled
    assert worker.run_one() is False
    assert T["seen"] == []
    assert load(committed_database, job_id).status == JobStatus.cancelled


def test_running_job_stops_at_its_next_progress_report(committed_database: Database, clock: FakeClock,
                                                       worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.cancel_me")
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert job.status == JobStatus.cancelled
    assert job.finished_at == clock() and job.locked_by is None
    assert T["seen"] == []
    assert markers(committed_database) == []  # the handler's writes were rolled back


def test_cancel_between_claim_and_run(committed_database: Database, clock: FakeClock, worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.recorder")
    with committed_database.transaction() as session:
        claim = state.claim_next(session, worker.slot_id(0), clock(), lease_seconds=60)
    assert claim is not None and claim.job_id == job_id
    with committed_database.transaction() as session:
        request_cancel(session, session.get(Job, job_id))  # type: ignore[arg-type]
    worker.execute(claim)
    assert T["seen"] == []
    assert load(committed_database, job_id).status == JobStatus.cancelled


def test_cancel_of_a_job_claimed_after_the_caller_read_it(committed_database: Database, clock: FakeClock) -> None:
    """The request read the job as queued; a worker claims it before the request writes."""
    job_id = add_job(committed_database, clock, "test_worker.recorder")
    stale = load(committed_database, job_id)
    assert stale.status == JobStatus.queued
    with committed_database.transaction() as session:
        assert state.claim_next(session, "w:1:0", clock(), lease_seconds=60) is not None
    with committed_database.transaction() as session:
        session.add(stale)  # still says queued, as in the request's identity map
        job = request_cancel(session, stale)
        assert (job.status, job.cancel_requested) == (JobStatus.running, True)
    job = load(committed_database, job_id)
    assert (job.status, job.cancel_requested, job.locked_by) == (JobStatus.running, True, "w:1:0")


# -- leases ------------------------------------------------------------------------------------------


def test_job_of_a_dead_worker_is_taken_over_once_its_lease_expires(committed_database: Database, clock: FakeClock,
                                                                   worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.recorder")
    update_job(committed_database, job_id, status=JobStatus.running, locked_by="deadhost:99:0", attempts=1,
               lease_expires_at=clock() + timedelta(seconds=30), started_at=clock())
    assert worker.run_one() is False  # the lease still holds
    clock.advance(seconds=31)
    assert worker.run_one() is True
    job = load(committed_database, job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.succeeded, 2, None)
    assert T["seen"] == [job_id]


def test_dead_workers_job_with_no_attempts_left_fails_as_worker_lost(committed_database: Database, clock: FakeClock,
                                                                     worker: Worker) -> None:
    job_id = add_job(committed_database, clock, "test_worker.recorder", max_attempts=2)
    update_job(committed_database, job_id, status=JobStatus.running, locked_by="deadhost:99:0", attempts=2,
               lease_expires_at=clock() - timedelta(seconds=1))
    assert worker.run_one() is False
    job = load(committed_database, job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.failed, 2, None)
    assert job.error is not None and job.error.startswith("worker lost")
    assert T["seen"] == []


def test_worker_that_lost_its_lease_cannot_overwrite_the_new_attempt(committed_database: Database, clock: FakeClock,
                                                                     worker: Worker) -> None:
    def hook(session: Session, ctx: JobContext) -> dict[str, Any]:
        clock.advance(seconds=61)  # paused past the lease; another worker takes the job over
        with committed_database.transaction() as other:
            T["thief"] = state.claim_next(other, "thief:2:0", clock(), lease_seconds=60)
        ctx.progress(50)  # notices and stops
        T["seen"].append("continued")
        return {"done": True}

    T["hook"] = hook
    job_id = add_job(committed_database, clock, "test_worker.hook")
    assert worker.run_one() is True
    assert T["thief"] is not None and T["thief"].taken_over
    assert T["seen"] == []
    job = load(committed_database, job_id)
    assert (job.status, job.locked_by, job.attempts, job.result) == (JobStatus.running, "thief:2:0", 2, None)


def test_heartbeat_writes_worker_row_and_extends_running_leases(committed_database: Database, clock: FakeClock,
                                                                worker: Worker) -> None:
    worker.heartbeat()
    rows = worker_rows(committed_database)
    assert [(r.id, r.last_seen_at) for r in rows] == [("testhost:1", clock())]
    assert rows[0].pid > 0 and rows[0].hostname

    def hook(session: Session, ctx: JobContext) -> None:
        T["seen"].append(load(committed_database, ctx.job_id).lease_expires_at)
        clock.advance(seconds=20)
        worker.heartbeat()
        T["seen"].append(load(committed_database, ctx.job_id).lease_expires_at)

    T["hook"] = hook
    start = clock()
    add_job(committed_database, clock, "test_worker.hook")
    assert worker.run_one() is True
    assert T["seen"] == [start + timedelta(seconds=60), start + timedelta(seconds=80)]
    assert [r.last_seen_at for r in worker_rows(committed_database)] == [start + timedelta(seconds=20)]


# -- enqueue is part of the caller's transaction ------------------------------------------------------


def test_enqueue_commits_and_rolls_back_with_the_other_writes(committed_database: Database, clock: FakeClock) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), committed_database.transaction() as session:
        make_unit(session, "回滚单位")
        enqueue(session, "test_worker.recorder", {"n": 1})
        raise Boom
    with committed_database.transaction() as session:
        make_unit(session, "提交单位")
        enqueue(session, "test_worker.recorder", {"n": 2})
    with committed_database.transaction(write=False) as session:
        payloads = [j.payload for j in session.exec(select(Job).where(col(Job.kind) == "test_worker.recorder")).all()]
        from app.accounts.models import OrgUnit

        names = sorted(u.name for u in session.exec(select(OrgUnit)).all())
    assert payloads == [{"n": 2}]
    assert names == ["提交单位"]
