"""The attempt engine: start (or resume), save answers, submit, close at the deadline, sweep.

The server owns the clock. An attempt's deadline is min(start + time limit, window close), fixed at
start; the page counts down from it. Every state change locks the attempt row (SELECT … FOR UPDATE on
PostgreSQL; SQLite write transactions are serialised by BEGIN IMMEDIATE), so a save never lands after
the submit or the deadline close that it races with.

- start: idempotent. The trainee's attempt in progress comes back (200, "resume"), with its answers, on
  any device; otherwise a new attempt is drawn (201). Two concurrent starts cannot both create one: the
  partial unique index allows one in-progress attempt per (exam, user) and the loser of the insert
  (IntegrityError in a savepoint) returns the winner's attempt.
- save: one row per question with a sequence number that only grows. A higher seq overwrites; the same
  seq with the same response is a retry (200, nothing changes); a lower seq, or the same seq with a
  different response, is stale (409) and never overwrites the newer answer. Without a seq the save is
  the next one (ordered by receipt: the stable API keeps seq optional for integrators; the exam page
  and its offline queue always send it, static/js/exam.js). Saves after the deadline or after the
  attempt closed get 409; a save that finds its attempt past the deadline closes and grades it first
  (with what was saved).
- submit: idempotent; repeating it returns the same result.
- sweep (a periodic worker job): in_progress attempts past their deadline become overdue, then each
  overdue attempt is closed and graded; untimed practice attempts idle for a day are abandoned.

Every start, resume, save, replayed or stale save, late save, submit and sweep is logged in
AttemptEvent with the auth session id and the address (disputes). The 409s keep their writes (the log
row, and the close at the deadline): the route commits them although the response is an error.
"""

from __future__ import annotations

import functools
import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from pydantic_core import to_jsonable_python
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.accounts.scope import READ, TAKE, related
from app.core.cache import ImmutableCache
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.group_commit import insert_later
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.exams import exams as exam_service
from app.exams import grading, papers
from app.exams import question_types as qt
from app.exams.models import (
    Attempt,
    AttemptAnswer,
    AttemptEvent,
    AttemptStatus,
    Exam,
    ExamKind,
    QuestionVersion,
)
from app.exams.permissions import ATTEMPT

ABANDON_IDLE = timedelta(hours=24)  # an untimed practice attempt left this long is abandoned by the sweep
SWEEP_BATCH = 200
SEEN_EVERY = timedelta(minutes=1)
OPEN_STATES = (AttemptStatus.in_progress.value, AttemptStatus.overdue.value)


@dataclass(frozen=True)
class Client:
    """Who is on the other end: the auth session (device) and the address, for the attempt log."""

    session_id: int | None = None
    ip: str | None = None


SYSTEM = Client()


class AttemptClosed(Conflict):
    """Saving to an attempt past its deadline or already submitted (409). Its writes are kept."""

    keep_writes = True
    code = "attempt-closed"


class StaleSave(Conflict):
    """A save older than the stored answer (409). The log row is kept."""

    keep_writes = True
    code = "stale-save"


class StartRefused(Conflict):
    """The exam is not open or no attempt is left (409). Kept: a start may first have closed the
    trainee's attempt whose deadline had passed, and that close must land."""

    keep_writes = True


class AnswerRejected(ValidationFailed):
    code = "answer-invalid"


# ---------------------------------------------------------------------------------------------
# Helpers


def deadline_for(exam: Exam, started_at: datetime) -> datetime | None:
    """min(start + time limit, window close); None when neither is set."""
    limits = []
    if exam.time_limit_s:
        limits.append(started_at + timedelta(seconds=exam.time_limit_s))
    if exam.closes_at is not None:
        limits.append(exam.closes_at)
    return min(limits) if limits else None


def past_deadline(attempt: Attempt, now: datetime) -> bool:
    return attempt.deadline is not None and now >= attempt.deadline


def log(session: Session, attempt: Attempt, kind: str, client: Client, now: datetime, *, key: str | None = None,
        seq: int | None = None, **detail: Any) -> None:
    session.add(AttemptEvent(attempt_id=attempt.id or 0, at=now, kind=kind, question_key=key, seq=seq,
                             session_id=client.session_id, ip=(client.ip or None) and client.ip[:64], detail=detail))


def _locked(session: Session, attempt_id: int) -> Attempt | None:
    """The attempt, locked (FOR UPDATE on PostgreSQL) and fresh: for the system's own closing and grading."""
    session.flush()
    stmt = select(Attempt).where(Attempt.id == attempt_id).with_for_update().execution_options(populate_existing=True)
    return session.exec(stmt).first()


def _own_attempt(session: Session, user: User, attempt_id: int) -> Attempt:
    """The caller's own attempt (ATTEMPT's TAKE rule), locked and fresh: to save into, submit or close."""
    session.flush()
    return ATTEMPT.get(session, user, attempt_id, TAKE, lock=True)


def get_attempt(session: Session, user: User, attempt_id: int) -> Attempt:
    """An attempt the caller may read (ATTEMPT policy): their own; staff within their scope. Anybody
    else's reads as missing, not even its existence shows."""
    return ATTEMPT.get(session, user, attempt_id, READ)


def get_own_attempt(session: Session, user: User, attempt_id: int) -> Attempt:
    """The caller's own attempt, for the pages that take it (not locked)."""
    return ATTEMPT.get(session, user, attempt_id, TAKE)


def exam_of(session: Session, attempt: Attempt) -> Exam:
    """The exam of an attempt the caller already holds (loaded through ATTEMPT's rule): whoever may see
    an attempt sees what exam it belongs to."""
    exam = related(session, Exam, attempt.exam_id)
    assert exam is not None  # a foreign key, deleted with its attempts
    return exam


def answers_of(session: Session, attempt_id: int) -> dict[str, AttemptAnswer]:
    """The stored answers, fresh (saves write them with Core statements, past any loaded objects)."""
    return {a.question_key: a for a in session.exec(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)
                                                    .execution_options(populate_existing=True)).all()}


def entry_of(attempt: Attempt, key: str) -> dict[str, Any]:
    for entry in attempt.questions:
        if entry["key"] == key:
            return entry
    raise NotFound()


# ---------------------------------------------------------------------------------------------
# Start


@dataclass
class Started:
    attempt: Attempt
    created: bool


def _in_progress(session: Session, exam_id: int, user_id: int) -> Attempt | None:
    return session.exec(select(Attempt).where(Attempt.exam_id == exam_id, Attempt.user_id == user_id,
                                              Attempt.status == AttemptStatus.in_progress.value)
                        .execution_options(populate_existing=True)).first()


def _draw(session: Session, user: User, exam: Exam, rng: random.Random) -> list[dict[str, Any]]:
    snapshot = exam.paper_snapshot or {}
    from_notebook: list[papers.Drawn] = []
    practice = snapshot.get("practice") or {}
    if exam.kind == ExamKind.practice and practice.get("from_notebook"):
        from app.exams import notebook

        from_notebook = notebook.draw_for_practice(session, user.id or 0, int(practice["from_notebook"]), rng)
    drawn = papers.draw(session, snapshot, rng, exclude=[d.question_id for d in from_notebook]) if snapshot.get("kind") else []
    drawn = from_notebook + drawn
    if not drawn:
        raise ValidationFailed(_("There are no questions to practise right now."))
    return papers.present(session, drawn, rng, shuffle_options=snapshot.get("shuffle_options", True))


def start_attempt(session: Session, user: User, exam_id: int, *, client: Client = SYSTEM, now: datetime | None = None,
                  seed: int | None = None) -> Started:
    now = now or utcnow()
    exam = exam_service.get_exam(session, user, exam_id, TAKE)  # published, and the trainee is in its audience
    running = _in_progress(session, exam.id or 0, user.id or 0)
    if running is not None:
        running = _locked(session, running.id or 0)
    if running is not None and running.status == AttemptStatus.in_progress and not past_deadline(running, now):
        running.last_seen_at = now
        session.add(running)
        log(session, running, "resume", client, now)
        session.flush()
        return Started(running, False)
    if running is not None:  # its deadline passed while nobody was looking: close it before anything else
        close(session, running, "deadline", now)
    if not exam_service.is_open(exam, now):
        raise StartRefused(_("This exam is not open now."))
    left = exam_service.attempts_left(session, user, exam)
    if left is not None and left <= 0:
        raise StartRefused(_("You have used all your attempts at this exam."))
    number = 1 + (session.exec(select(func.max(Attempt.number)).where(
        Attempt.exam_id == exam.id, Attempt.user_id == user.id)).first() or 0)
    seed = seed if seed is not None else secrets.randbits(31)
    questions = _draw(session, user, exam, random.Random(seed))
    max_score = sum((Decimal(q["points"]) for q in questions), Decimal(0))
    attempt = Attempt(exam_id=exam.id or 0, user_id=user.id or 0, number=number, seed=seed, questions=questions,
                      started_at=now, deadline=deadline_for(exam, now), last_seen_at=now, max_score=max_score)
    try:
        with session.begin_nested():
            session.add(attempt)
            session.flush()
    except IntegrityError:
        # Another start (another kiosk, a double tap) won the race: return its attempt.
        if attempt in session:
            session.expunge(attempt)
        winner = _in_progress(session, exam.id or 0, user.id or 0)
        if winner is None:
            raise
        log(session, winner, "resume", client, now, race=True)
        session.flush()
        return Started(winner, False)
    log(session, attempt, "start", client, now, number=number)
    session.flush()
    return Started(attempt, True)


# ---------------------------------------------------------------------------------------------
# Save


@dataclass(frozen=True)
class Saved:
    """A stored answer as the save acknowledges it."""

    id: int
    seq: int
    saved_at: datetime
    response: Any


_ATTEMPT = Attempt.__table__  # type: ignore[attr-defined]
_ANSWER = AttemptAnswer.__table__  # type: ignore[attr-defined]
_EVENT = AttemptEvent.__table__  # type: ignore[attr-defined]

# An attempt's question entries are frozen at start (a regrade only annotates finished attempts, which
# take no saves): they are parsed once per process for the page, the API and every save (`presented`).
# Keyed by (id, seed) so that a reused row id (an exam deleted with its attempts on SQLite) can never
# find another attempt's questions.
_PRESENTED: ImmutableCache[Presented] = ImmutableCache("attempt questions as presented", maxsize=4096)


# The save's statements, built once: building a statement and its cache key costs more than running it.
_QUESTIONS = sa.select(_ATTEMPT.c.questions).where(_ATTEMPT.c.id == sa.bindparam("attempt_id"))
_STATE = (sa.select(_ATTEMPT.c.user_id, _ATTEMPT.c.status, _ATTEMPT.c.deadline, _ATTEMPT.c.last_seen_at, _ATTEMPT.c.seed,
                    _ANSWER.c.id, _ANSWER.c.seq, _ANSWER.c.response, _ANSWER.c.saved_at)
          .select_from(_ATTEMPT.outerjoin(_ANSWER, sa.and_(_ANSWER.c.attempt_id == _ATTEMPT.c.id,
                                                           _ANSWER.c.question_key == sa.bindparam("key"))))
          .where(_ATTEMPT.c.id == sa.bindparam("attempt_id"),
                 # ATTEMPT's TAKE rule (the caller's own attempt), bound per save: another's reads as missing
                 ATTEMPT.owner_column(TAKE) == sa.bindparam("actor_id"))
          .with_for_update(of=_ATTEMPT))
_INSERT_ANSWER = sa.insert(_ANSWER)
_UPDATE_ANSWER = sa.update(_ANSWER).where(_ANSWER.c.id == sa.bindparam("answer_id")).values(
    response=sa.bindparam("new_response", type_=_ANSWER.c.response.type), seq=sa.bindparam("new_seq", type_=sa.Integer),
    saved_at=sa.bindparam("new_saved_at", type_=_ANSWER.c.saved_at.type))
_SEEN = sa.update(_ATTEMPT).where(_ATTEMPT.c.id == sa.bindparam("attempt_id")).values(
    last_seen_at=sa.bindparam("now", type_=_ATTEMPT.c.last_seen_at.type))
_INSERT_EVENT = sa.insert(_EVENT)


def _insert_event(session: Session, attempt_id: int, kind: str, client: Client, now: datetime, *, key: str | None = None,
                  seq: int | None = None, later: bool = False, **detail: Any) -> None:
    """One line of the attempt log. `later`: with the group commit's other log lines, at its commit (a
    saved answer's line; nothing in the unit reads it back)."""
    row = {"attempt_id": attempt_id, "at": now, "kind": kind, "question_key": key, "seq": seq,
           "session_id": client.session_id, "ip": (client.ip or None) and client.ip[:64], "detail": detail}
    if later:
        insert_later(session, _INSERT_EVENT, row)
    else:
        session.execute(_INSERT_EVENT, row)


def _canonical(config: qt.QuestionConfig, raw: Any) -> Any:
    if raw is None:
        return None  # clearing the answer
    try:
        return to_jsonable_python(qt.validate_answer(config, raw))
    except qt.AnswerInvalid as exc:
        raise AnswerRejected(_("This answer does not fit the question: %(reason)s", reason=str(exc)),
                             errors=[{"loc": ["body", "response"], "msg": str(exc)}]) from exc


def save_answer(session: Session, user: User, attempt_id: int, key: str, raw: Any, seq: int | None = None, *,
                client: Client = SYSTEM, now: datetime | None = None) -> Saved:
    """The hot path of an exam (every trainee, every few seconds): a few Core statements. One reads the
    attempt's state (status, deadline, owner: not its wide questions) with the stored answer, locking the
    attempt row on PostgreSQL so the save is ordered against a submit or a close; then the answer is
    written and the save logged (in the group commit, the batch's log lines go in one statement at its
    commit). Only a save past the deadline takes the ORM path that closes and grades."""
    now = now or utcnow()
    session.flush()  # a caller's pending ORM changes (tests, the demo) before the Core statements
    row = session.execute(_STATE, {"attempt_id": attempt_id, "key": key, "actor_id": user.id}).first()
    if row is None:
        raise NotFound()
    if row.status != AttemptStatus.in_progress or (row.deadline is not None and now >= row.deadline):
        attempt = _own_attempt(session, user, attempt_id)
        if attempt.status in OPEN_STATES and past_deadline(attempt, now):
            close(session, attempt, "deadline", now)
        _insert_event(session, attempt_id, "late_save", client, now, key=key, seq=seq)
        raise AttemptClosed(_("Time is up or the exam was submitted: this answer was not saved."))
    config = presented(session, attempt_id, row.seed).configs.get(key)
    if config is None:
        raise NotFound()
    response = _canonical(config, raw)
    stored = row.seq if row.id is not None else 0
    if seq is None:
        seq = stored + 1
    if row.id is not None and seq == stored and row.response == response:
        _insert_event(session, attempt_id, "replay", client, now, key=key, seq=seq)
        return Saved(row.id, stored, row.saved_at, row.response)
    if seq <= stored:
        _insert_event(session, attempt_id, "stale_save", client, now, key=key, seq=seq, stored_seq=stored)
        raise StaleSave(_("A newer answer to this question is already saved."))
    if row.id is None:
        inserted = session.execute(_INSERT_ANSWER, {"attempt_id": attempt_id, "question_key": key, "response": response,
                                                    "seq": seq, "saved_at": now, "needs_manual": False, "grader_note": ""})
        answer_id = cast("sa.CursorResult[Any]", inserted).inserted_primary_key[0]  # type: ignore[index]
    else:
        answer_id = row.id
        session.execute(_UPDATE_ANSWER, {"answer_id": answer_id, "new_response": response, "new_seq": seq, "new_saved_at": now})
    if row.last_seen_at is None or now - row.last_seen_at > SEEN_EVERY:
        session.execute(_SEEN, {"attempt_id": attempt_id, "now": now})
    _insert_event(session, attempt_id, "save", client, now, key=key, seq=seq, later=True)
    return Saved(int(answer_id), seq, now, response)


# ---------------------------------------------------------------------------------------------
# Submit, close, sweep


def close(session: Session, attempt: Attempt, reason: str, now: datetime) -> Attempt:
    """Finish an open attempt (locked by the caller) and grade it with what was saved."""
    if attempt.status not in OPEN_STATES:
        return attempt
    attempt.status = AttemptStatus.finished.value
    attempt.finish_reason = reason
    attempt.submitted_at = now
    session.add(attempt)
    session.flush()
    grading.grade_attempt(session, attempt, now, configs=presented(session, attempt.id or 0, attempt.seed, attempt.questions).configs)
    return attempt


def submit(session: Session, user: User, attempt_id: int, *, client: Client = SYSTEM, now: datetime | None = None) -> Attempt:
    now = now or utcnow()
    attempt = _own_attempt(session, user, attempt_id)
    if attempt.status in OPEN_STATES:
        reason = "deadline" if past_deadline(attempt, now) else "submitted"
        close(session, attempt, reason, now)
        log(session, attempt, "submit", client, now, reason=reason)
    else:
        log(session, attempt, "submit_again", client, now)
    session.flush()
    return attempt


def sweep(session: Session, *, now: datetime | None = None, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Close attempts whose browser disappeared: in_progress past the deadline → overdue → finished
    (graded with what was saved); untimed practice attempts idle for ABANDON_IDLE → abandoned."""
    now = now or utcnow()
    marked = session.execute(
        sa.update(Attempt).where(col(Attempt.status) == AttemptStatus.in_progress.value, col(Attempt.deadline).is_not(None),
                                 col(Attempt.deadline) <= now)
        .values(status=AttemptStatus.overdue.value).execution_options(synchronize_session=False))
    closed = 0
    overdue_ids = session.exec(select(col(Attempt.id)).where(Attempt.status == AttemptStatus.overdue.value)
                               .order_by(col(Attempt.deadline)).limit(batch)).all()
    for attempt_id in overdue_ids:
        attempt = _locked(session, attempt_id or 0)
        if attempt is None or attempt.status != AttemptStatus.overdue:
            continue
        close(session, attempt, "swept", now)
        log(session, attempt, "sweep", SYSTEM, now)
        closed += 1
    idle = session.exec(select(Attempt).join(Exam, col(Exam.id) == col(Attempt.exam_id)).where(
        Attempt.status == AttemptStatus.in_progress.value, col(Attempt.deadline).is_(None), Exam.kind == ExamKind.practice.value,
        sa.func.coalesce(col(Attempt.last_seen_at), col(Attempt.started_at)) < now - ABANDON_IDLE).limit(batch)).all()
    for attempt in idle:
        attempt.status = AttemptStatus.abandoned.value
        attempt.finish_reason = "abandoned"
        session.add(attempt)
        log(session, attempt, "abandon", SYSTEM, now)
    session.flush()
    return {"marked_overdue": int(getattr(marked, "rowcount", 0) or 0), "closed": closed, "abandoned": len(idle)}


# ---------------------------------------------------------------------------------------------
# What the trainee's page and the API show


@dataclass(frozen=True)
class ShownQuestion:
    key: str
    type: str
    stem: str
    points: Decimal
    view: dict[str, Any]  # question_types.student_view of the presented config
    number: int


@dataclass(frozen=True)
class Presented:
    """An attempt's questions as the trainee sees them, shared between requests: read it, never change it."""

    shown: tuple[ShownQuestion, ...]
    configs: dict[str, qt.QuestionConfig]  # by question key, as presented (the key follows the shuffle)


@functools.lru_cache(maxsize=4096)
def _parse_presented(config_json: str) -> qt.QuestionConfig:
    """Parsing sanitizes every text of a question: the same presented config (a question shuffled the
    same way for another trainee, the same paper for a whole class) is parsed once. A pure function of
    its input; the result is shared, read only."""
    return qt.parse_config(json.loads(config_json))


def presented(session: Session, attempt_id: int, seed: int, questions: list[dict[str, Any]] | None = None) -> Presented:
    """The attempt's questions parsed once per process (the save reads only their configs)."""

    def load() -> Presented:
        entries = questions if questions is not None else session.execute(_QUESTIONS, {"attempt_id": attempt_id}).scalar_one()
        version_ids = [e["version_id"] for e in entries]
        stems = dict(session.execute(sa.select(col(QuestionVersion.id), col(QuestionVersion.stem))
                                     .where(col(QuestionVersion.id).in_(version_ids))).tuples().all()) if version_ids else {}
        configs = {e["key"]: _parse_presented(json.dumps(e["config"], sort_keys=True)) for e in entries}
        shown = tuple(ShownQuestion(key=e["key"], type=e["type"], stem=stems.get(e["version_id"], ""), points=Decimal(e["points"]),
                                    view=qt.student_view(configs[e["key"]]), number=number)
                      for number, e in enumerate(entries, start=1))
        return Presented(shown, configs)

    return _PRESENTED.get(session, (attempt_id, seed), load)


def shown_questions(session: Session, attempt: Attempt) -> list[ShownQuestion]:
    return list(presented(session, attempt.id or 0, attempt.seed, attempt.questions).shown)


def remaining_seconds(attempt: Attempt, now: datetime | None = None) -> int | None:
    if attempt.deadline is None:
        return None
    return max(0, int((attempt.deadline - (now or utcnow())).total_seconds()))
