"""Pure pieces of the worker (backoff, error text, results) and its bookkeeping queries, in rolled-back sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from app.core.jobs import Job, JobStatus, PermanentJobError, WorkerHeartbeat, enqueue
from app.core.models import utcnow
from app.worker.context import clamp_percent
from app.worker.housekeeping import ensure_periodic, upsert_worker
from app.worker.runner import checked_result
from app.worker.state import backoff_seconds, claim_next, error_text


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 10), (2, 20), (3, 40), (6, 320), (9, 2560), (10, 3600), (40, 3600)])
def test_backoff_doubles_from_ten_seconds_up_to_an_hour(attempt: int, seconds: float) -> None:
    assert backoff_seconds(attempt, rand=lambda: 0.0) == seconds


def test_backoff_jitter_adds_at_most_a_tenth() -> None:
    assert backoff_seconds(3, rand=lambda: 1.0) == pytest.approx(44.0)
    assert all(40 <= backoff_seconds(3) <= 44 for _ in range(200))


def _raise_deep(depth: int) -> None:
    if depth:
        _raise_deep(depth - 1)
    raise ValueError("the real cause")


def test_error_text_keeps_the_summary_and_the_end_of_a_long_traceback() -> None:
    try:
        _raise_deep(5)
    except ValueError as exc:
        text = error_text(exc, limit=400)
    assert len(text) <= 400
    assert text.startswith("ValueError: the real cause\n")
    assert text.rstrip().endswith("ValueError: the real cause")
    assert "…" in text


def test_error_text_of_a_short_error_is_whole() -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        text = error_text(exc)
    assert text.startswith("KeyError: 'missing'")
    assert "Traceback (most recent call last)" in text and "…" not in text


@pytest.mark.parametrize(("given", "stored"), [(-10, 0), (0, 0), (55.9, 55), (100, 100), (1000, 100)])
def test_progress_is_clamped(given: float, stored: int) -> None:
    assert clamp_percent(given) == stored


def test_handler_results_must_be_json_objects() -> None:
    assert checked_result(None) is None
    assert checked_result({"a": [1, "二"]}) == {"a": [1, "二"]}
    for bad in (["a list"], {"when": utcnow()}, 42):
        with pytest.raises(PermanentJobError):
            checked_result(bad)


def test_claim_skips_jobs_this_process_is_running_and_future_jobs(session: Session) -> None:
    now = utcnow()
    mine = enqueue(session, "test_state.any", now=now)
    mine.status, mine.locked_by, mine.lease_expires_at = JobStatus.running, "me:1:0", now - timedelta(seconds=5)
    session.add(mine)
    enqueue(session, "test_state.any", now=now, delay=timedelta(minutes=1))
    other = enqueue(session, "test_state.any", now=now, priority=500)
    session.flush()
    claim = claim_next(session, "me:1:1", now, lease_seconds=30, exclude=[mine.id or 0])
    assert claim is not None and claim.job_id == other.id
    assert (claim.attempt, claim.locked_by, claim.taken_over) == (1, "me:1:1", False)
    session.refresh(other)
    assert (other.status, other.lease_expires_at, other.started_at) == (JobStatus.running, now + timedelta(seconds=30), now)
    assert claim_next(session, "me:1:1", now, lease_seconds=30, exclude=[mine.id or 0]) is None


def test_periodic_job_is_enqueued_once_per_period(session: Session) -> None:
    kind, every, start = "test_state.periodic", timedelta(hours=1), utcnow()
    first = ensure_periodic(session, kind, every, start)
    assert first is not None
    assert ensure_periodic(session, kind, every, start + timedelta(minutes=1)) is None  # still queued
    first.status = JobStatus.succeeded
    session.add(first)
    session.flush()
    assert ensure_periodic(session, kind, every, start + timedelta(minutes=30)) is None  # ran within the hour
    second = ensure_periodic(session, kind, every, start + timedelta(minutes=61))
    assert second is not None and second.id != first.id
    assert len(session.exec(select(Job).where(col(Job.kind) == kind)).all()) == 2


def test_heartbeat_row_is_upserted(session: Session) -> None:
    t0 = utcnow()
    upsert_worker(session, "h:1", hostname="h", pid=1, now=t0)
    upsert_worker(session, "h:1", hostname="h", pid=1, now=t0 + timedelta(seconds=20))
    rows = session.exec(select(WorkerHeartbeat).where(col(WorkerHeartbeat.id) == "h:1")).all()
    assert [(r.started_at, r.last_seen_at) for r in rows] == [(t0, t0 + timedelta(seconds=20))]
