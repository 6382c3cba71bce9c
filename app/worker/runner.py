"""`shixun worker`: claims jobs from core_job and runs their handlers.

One process runs `concurrency` slots, each a thread with its own claim loop (claim one job, run it,
record the outcome, repeat; sleep `job_poll_seconds` when nothing is due). The main thread supervises:
it writes the heartbeat (the core_worker row and the leases of running jobs) every lease/3 seconds,
enqueues each periodic job when it is due (housekeeping.PERIODIC_JOBS: each on its own period, read on
the worker's clock, which tests inject), and handles SIGTERM/SIGINT: stop claiming, let running jobs finish for up
to `grace_seconds`, then exit 0. A job abandoned after the grace period keeps its lease until it expires
and is then taken over by the next worker.

Each job uses separate short transactions: claim, run the handler (its own session, committed when
it returns, rolled back when it raises), record the outcome. A failing handler never leaves partial
writes, and the outcome of an attempt is recorded only if the worker still holds the job (see state.py).
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from app.core.config import get_settings
from app.core.db import Database, get_database
from app.core.jobs import JobCancelled, PermanentJobError, get_handler
from app.core.models import utcnow
from app.worker import state
from app.worker.context import LeaseLost, WorkerJobContext
from app.worker.housekeeping import PERIODIC_JOBS, delete_worker, schedule_periodic, upsert_worker
from app.worker.state import Claim

log = logging.getLogger("shixun.worker")

DEFAULT_GRACE_SECONDS = 15.0  # below the 20 s `shixun serve` waits before it kills its worker
PERIODIC_RETRY = timedelta(seconds=10)  # a periodic job that could not be looked at (database busy) is tried again then
FINISH_TRIES = 3
_TICK = 0.2  # how often the supervising main thread looks around


def _extra(claim: Claim) -> dict[str, Any]:
    return {"job_id": claim.job_id, "job_kind": claim.kind, "attempt": claim.attempt}


def checked_result(result: Any) -> dict[str, Any] | None:
    """A handler returns a JSON object or None; anything else fails the job before its writes commit."""
    if result is None:
        return None
    if not isinstance(result, dict):
        raise PermanentJobError(f"handler returned {type(result).__name__}, expected a dict or None")
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise PermanentJobError(f"handler result is not JSON serialisable: {exc}") from exc
    return result


class Worker:
    def __init__(
        self,
        database: Database,
        *,
        concurrency: int = 1,
        worker_id: str | None = None,
        lease_seconds: int | None = None,
        poll_seconds: float | None = None,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        settings = get_settings()
        self.database = database
        self.concurrency = concurrency
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.id = worker_id or f"{self.hostname}:{self.pid}"
        self.lease_seconds = lease_seconds or settings.job_lease_seconds
        self.poll_seconds = poll_seconds or settings.job_poll_seconds
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.rand = rand
        self._stop = threading.Event()
        self._abandon = threading.Event()
        self._active: dict[int, Claim] = {}  # slot -> the job it is running
        self._active_lock = threading.Lock()
        self._periodic_due: dict[str, datetime] = {}  # periodic job kind -> when to look at it next (self.clock)

    # -- one job -------------------------------------------------------------------------------

    def slot_id(self, slot: int) -> str:
        return f"{self.id}:{slot}"

    def active_claims(self) -> list[Claim]:
        with self._active_lock:
            return list(self._active.values())

    def run_one(self, slot: int = 0) -> bool:
        """Claim one due job and run it to its outcome. False when nothing was due."""
        exclude = [c.job_id for c in self.active_claims()]
        with self.database.transaction() as session:
            claim = state.claim_next(session, self.slot_id(slot), self.clock(), lease_seconds=self.lease_seconds,
                                     exclude=exclude)
        if claim is None:
            return False
        with self._active_lock:
            self._active[slot] = claim
        try:
            self.execute(claim)
        finally:
            with self._active_lock:
                self._active.pop(slot, None)
        return True

    def execute(self, claim: Claim) -> None:
        """Run a claimed job to its outcome: succeeded, queued for a retry, failed or cancelled."""
        spec = get_handler(claim.kind)
        if spec is None:
            log.error("job %s %s: unknown job kind", claim.job_id, claim.kind, extra=_extra(claim))
            error = f"unknown job kind {claim.kind!r}: no handler registered (is its module imported in app/all_jobs.py?)"
            self._finish(claim, "failed", lambda s, now: state.mark_failed(s, claim, error, now, permanent=True))
            return
        if not self._still_wanted(claim):
            return
        started = self.clock()
        deadline = started + timedelta(seconds=spec.timeout_s) if spec.timeout_s else None
        ctx = WorkerJobContext(self.database, claim, clock=self.clock, deadline=deadline)
        log.info("job %s %s started (attempt %s/%s%s)", claim.job_id, claim.kind, claim.attempt, claim.max_attempts,
                 ", taken over from a lost worker" if claim.taken_over else "", extra=_extra(claim))
        t0 = time.monotonic()
        try:
            with self.database.transaction() as session:
                ctx.watch(session)
                result = checked_result(spec.func(session, claim.payload, ctx))
        except LeaseLost:
            log.warning("job %s %s: lease lost to another worker; abandoning this attempt", claim.job_id, claim.kind,
                        extra=_extra(claim))
        except JobCancelled:
            log.info("job %s %s cancelled", claim.job_id, claim.kind, extra=_extra(claim))
            self._finish(claim, "cancelled", lambda s, now: state.mark_cancelled(s, claim, now))
        except PermanentJobError as exc:
            self._failed(claim, exc, permanent=True)
        except Exception as exc:  # JobTimedOut included: a timeout is retried like any failure
            self._failed(claim, exc, permanent=False)
        else:
            elapsed = time.monotonic() - t0
            if self._finish(claim, "succeeded", lambda s, now: state.mark_succeeded(s, claim, result, now)):
                log.info("job %s %s succeeded in %.2fs", claim.job_id, claim.kind, elapsed, extra=_extra(claim))

    def _still_wanted(self, claim: Claim) -> bool:
        """Cancellation asked for between the claim and the start is honoured before the handler runs."""
        try:
            with self.database.transaction(write=False) as session:
                current = state.read_state(session, claim.job_id)
        except Exception:
            log.exception("job %s %s: could not re-read the job before running it", claim.job_id, claim.kind)
            return True  # progress() checks again
        if current is None or not current.still_ours(claim):
            log.warning("job %s %s: no longer ours before it started", claim.job_id, claim.kind, extra=_extra(claim))
            return False
        if current.cancel_requested:
            log.info("job %s %s cancelled before it started", claim.job_id, claim.kind, extra=_extra(claim))
            self._finish(claim, "cancelled", lambda s, now: state.mark_cancelled(s, claim, now))
            return False
        return True

    def _failed(self, claim: Claim, exc: BaseException, *, permanent: bool) -> None:
        error = state.error_text(exc)
        outcome: list[state.JobStatus | None] = []

        def record(session: Any, now: datetime) -> bool:
            outcome.append(state.mark_failed(session, claim, error, now, permanent=permanent, rand=self.rand))
            return outcome[-1] is not None

        if not self._finish(claim, "failed", record):
            return
        if outcome[-1] == state.JobStatus.queued:
            log.warning("job %s %s failed (attempt %s/%s), will retry: %s: %s", claim.job_id, claim.kind, claim.attempt,
                        claim.max_attempts, type(exc).__name__, exc, extra=_extra(claim))
        else:
            log.error("job %s %s failed%s: %s: %s", claim.job_id, claim.kind, " permanently" if permanent else "",
                      type(exc).__name__, exc, exc_info=None if permanent else exc, extra=_extra(claim))

    def _finish(self, claim: Claim, outcome: str, write: Callable[[Any, datetime], object]) -> bool:
        """Record an outcome in its own transaction, retried a little: on SQLite the lock may be busy."""
        for attempt in range(1, FINISH_TRIES + 1):
            try:
                with self.database.transaction() as session:
                    applied = write(session, self.clock())
                if not applied:
                    log.warning("job %s %s: not marked %s, the job is no longer held by %s", claim.job_id, claim.kind,
                                outcome, claim.locked_by, extra=_extra(claim))
                return bool(applied)
            except Exception:
                if attempt == FINISH_TRIES:
                    log.exception("job %s %s: could not record %s; the lease will expire and the job run again",
                                  claim.job_id, claim.kind, outcome, extra=_extra(claim))
                    return False
                time.sleep(attempt)
        return False

    # -- the loops -----------------------------------------------------------------------------

    def slot_loop(self, slot: int, *, once: bool = False) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_one(slot)
            except Exception:
                log.exception("worker slot %s: claiming failed", self.slot_id(slot))
                if once:
                    return
                worked = False
            if worked:
                continue
            if once:
                return
            self._stop.wait(self.poll_seconds)

    def heartbeat(self) -> None:
        """Say we are alive and extend the leases of the jobs we are running."""
        now = self.clock()
        with self.database.transaction() as session:
            upsert_worker(session, self.id, hostname=self.hostname, pid=self.pid, now=now)
            for claim in self.active_claims():
                if not state.extend_lease(session, claim, now, lease_seconds=self.lease_seconds):
                    log.warning("job %s %s: lease not extended, the job is no longer ours", claim.job_id, claim.kind,
                                extra=_extra(claim))

    def enqueue_periodic(self) -> datetime | None:
        """Enqueue the periodic jobs that are due (each kind on its own period, at most once across all
        workers: schedule_periodic decides in a write transaction). Returns when the next one is due."""
        now = self.clock()
        for kind, every in PERIODIC_JOBS:
            if get_handler(kind) is None:
                continue
            due = self._periodic_due.get(kind, now)
            if now < due <= now + every:  # not due yet (a due time further off means the clock went back)
                continue
            try:
                with self.database.transaction() as session:
                    job, next_at = schedule_periodic(session, kind, every, now)
                self._periodic_due[kind] = min(next_at, now + every)  # another host's clock may run ahead of ours
            except Exception:
                log.exception("worker %s: periodic job %s could not be enqueued", self.id, kind)
                self._periodic_due[kind] = now + PERIODIC_RETRY
                continue
            if job is not None:
                log.info("enqueued periodic job %s %s", job.id, kind)
        return self.next_periodic_due()

    def next_periodic_due(self) -> datetime | None:
        return min(self._periodic_due.values(), default=None)

    def request_stop(self) -> None:
        """Stop claiming; running jobs finish (within the grace period when run() supervises)."""
        self._stop.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():
            log.warning("second %s: leaving running jobs to their lease", signal.Signals(signum).name)
            self._abandon.set()
        else:
            log.info("%s: finishing running jobs, then exiting", signal.Signals(signum).name)
            self._stop.set()

    def _safely(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            log.exception("worker %s: %s failed", self.id, what)

    def run(self, *, once: bool = False) -> int:
        in_main = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
        log.info("worker %s started: %s slot(s), lease %ss, poll %ss%s", self.id, self.concurrency, self.lease_seconds,
                 self.poll_seconds, ", until no job is due" if once else "")
        try:
            self._safely("heartbeat", self.heartbeat)
            self._safely("periodic jobs", self.enqueue_periodic)
            threads = [threading.Thread(target=self.slot_loop, args=(slot,), kwargs={"once": once},
                                        name=f"shixun-worker-{slot}", daemon=True) for slot in range(self.concurrency)]
            for thread in threads:
                thread.start()
            self._supervise(threads)
        finally:
            self._safely("deregistering", self._deregister)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("worker %s stopped", self.id)
        return 0

    def _supervise(self, threads: list[threading.Thread]) -> None:
        beat_every = self.lease_seconds / 3
        next_beat = time.monotonic() + beat_every
        give_up_at: float | None = None
        while any(t.is_alive() for t in threads):
            now = time.monotonic()
            if self._stop.is_set() and give_up_at is None:
                give_up_at = now + self.grace_seconds
            if self._abandon.is_set() or (give_up_at is not None and now >= give_up_at):
                running = ", ".join(f"{c.job_id} {c.kind}" for c in self.active_claims())
                log.warning("grace period over, abandoning running jobs (%s); their lease will expire", running or "none")
                return
            if now >= next_beat:
                self._safely("heartbeat", self.heartbeat)
                next_beat = now + beat_every
            due = self.next_periodic_due()
            if due is not None and not self._stop.is_set() and self.clock() >= due:  # no query until one is due
                self._safely("periodic jobs", self.enqueue_periodic)
            time.sleep(_TICK)

    def _deregister(self) -> None:
        with self.database.transaction() as session:
            delete_worker(session, self.id)


def run_worker(concurrency: int = 1, once: bool = False) -> int:
    """Entry point of `shixun worker`. Returns the process exit code."""
    import app.all_jobs  # noqa: F401  (registers every handler)
    import app.all_models  # noqa: F401
    import app.courses.subscribers  # noqa: F401  (event handlers run inside jobs too: users imported → enrolled)

    settings = get_settings()
    if not logging.getLogger().handlers:
        from app.core.logging import configure_logging

        configure_logging(settings.log_level, settings.log_format)
    if concurrency < 1:
        log.error("--concurrency must be at least 1")
        return 2
    database = get_database()
    if database.dialect == "sqlite" and concurrency > 1:
        log.info("SQLite runs one write transaction at a time; slots will queue for the write lock")
    return Worker(database, concurrency=concurrency).run(once=once)
