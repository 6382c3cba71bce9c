"""Grading: automatic at close, a manual queue for short answers, regrading after a key correction,
and what a trainee may see of their result.

- `grade_attempt` grades every question of a closed attempt against the config the trainee was shown
  (the key followed the shuffle). Unanswered questions get an answer row with no response and 0
  points, so every attempt has one row per question (item analysis counts them). Short answers wait
  with `needs_manual` and no score; the attempt's `needs_grading` stays on and `passed` unknown until
  the last one is graded (`grade_answer`).
- `regrade_question`: a question whose current version differs from the one an attempt was graded
  with (a corrected key) is graded again for every finished attempt that had it: the response is
  mapped back to the authored ids (question_types.original_answer) and graded against the current
  version; scores and pass/fail are recomputed, AttemptRegraded is published and logged, and the
  trainee sees a notice on 我的考试.
- ExamPassed / ExamFailed are published when an attempt's result is decided and when a regrade turns
  it (practice publishes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.scope import GRADE, READ, related
from app.core import events
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.exams import notebook
from app.exams import question_types as qt
from app.exams.events import AttemptRegraded, ExamFailed, ExamPassed
from app.exams.models import (
    Attempt,
    AttemptAnswer,
    AttemptEvent,
    AttemptStatus,
    Exam,
    ExamKind,
    Question,
    QuestionVersion,
    ResultsPolicy,
)
from app.exams.permissions import ANSWER, ATTEMPT, EXAM, QUESTION, can_grade

CENT = Decimal("0.01")


def q2(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(score: Decimal, max_score: Decimal) -> Decimal:
    if not max_score:
        return Decimal(100)
    return q2(score * 100 / max_score)


def _answers(session: Session, attempt_id: int) -> dict[str, AttemptAnswer]:
    return {a.question_key: a for a in session.exec(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)
                                                    .execution_options(populate_existing=True)).all()}


def grade_attempt(session: Session, attempt: Attempt, now: datetime, *, configs: dict[str, qt.QuestionConfig] | None = None) -> Attempt:
    """Grade a closed attempt with what was saved; update the notebook for what was graded. `configs`: the
    attempt's presented configs by key when the caller has them parsed already."""
    answers = _answers(session, attempt.id or 0)
    for_notebook = []
    graded_rows = []
    for entry in attempt.questions:
        answer = answers.get(entry["key"])
        if answer is None:
            answer = AttemptAnswer(attempt_id=attempt.id or 0, question_key=entry["key"], response=None, seq=0, saved_at=now)
        config = configs[entry["key"]] if configs is not None else qt.parse_config(entry["config"])
        graded = qt.grade(config, answer.response, float(entry["points"]))
        answer.needs_manual = graded.needs_manual
        answer.score = None if graded.needs_manual else q2(graded.points)
        answer.correct = None if graded.needs_manual else graded.correct
        session.add(answer)
        graded_rows.append(answer)
        if not graded.needs_manual:
            for_notebook.append(notebook.Graded(int(entry["question_id"]), graded.correct, answer.response))
    session.flush()
    notebook.record_many(session, attempt.user_id, for_notebook, now)
    return recompute(session, attempt, now, rows=graded_rows)


def recompute(session: Session, attempt: Attempt, now: datetime, *, regraded: bool = False,
              rows: list[AttemptAnswer] | None = None) -> Attempt:
    """Score, needs_grading and passed from the answer rows (all of them, when the caller passes them);
    publish the result once it is decided or turned."""
    exam = related(session, Exam, attempt.exam_id)
    assert exam is not None
    if rows is None:
        rows = list(_answers(session, attempt.id or 0).values())
    before = attempt.passed
    attempt.score = sum((a.score or Decimal(0) for a in rows), Decimal(0))
    attempt.max_score = sum((Decimal(e["points"]) for e in attempt.questions), Decimal(0))
    attempt.needs_grading = any(a.needs_manual and a.score is None for a in rows)
    if attempt.needs_grading:
        attempt.passed = None
    else:
        attempt.passed = percent_of(attempt.score, attempt.max_score) >= exam.pass_percent
        attempt.graded_at = now
    session.add(attempt)
    session.flush()
    if attempt.passed is not None and attempt.passed != before and exam.kind != ExamKind.practice:
        kind = ExamPassed if attempt.passed else ExamFailed
        events.publish(session, kind(user_id=attempt.user_id, exam_id=exam.id or 0, attempt_id=attempt.id or 0,
                                     exam_kind=exam.kind, score=attempt.score, max_score=attempt.max_score,
                                     percent=percent_of(attempt.score, attempt.max_score), at=now, regraded=regraded))
    return attempt


# ---------------------------------------------------------------------------------------------
# Manual grading


@dataclass
class PendingAnswer:
    answer: AttemptAnswer
    attempt: Attempt
    exam: Exam
    trainee: User
    version: QuestionVersion
    points: Decimal
    rubric: list[dict[str, Any]]
    reference_answer: str


def _entry(attempt: Attempt, key: str) -> dict[str, Any]:
    for entry in attempt.questions:
        if entry["key"] == key:
            return entry
    raise NotFound()


def grading_queue(session: Session, actor: User, *, exam_id: int | None = None, limit: int = 100) -> list[PendingAnswer]:
    """Short answers of finished attempts waiting for a grader, oldest first."""
    if not can_grade(actor):
        raise PermissionDenied()
    query = (select(AttemptAnswer, Attempt, Exam, User)
             .join(Attempt, col(Attempt.id) == col(AttemptAnswer.attempt_id))
             .join(Exam, col(Exam.id) == col(Attempt.exam_id))
             .join(User, col(User.id) == col(Attempt.user_id))
             .where(col(AttemptAnswer.needs_manual).is_(True), col(AttemptAnswer.score).is_(None),
                    Attempt.status == AttemptStatus.finished.value, ATTEMPT.where(actor, GRADE))
             .order_by(col(Attempt.submitted_at), col(AttemptAnswer.id)).limit(limit))
    if exam_id is not None:
        query = query.where(Attempt.exam_id == exam_id)
    rows = session.exec(query).all()
    version_ids = {_entry(attempt, answer.question_key)["version_id"] for answer, attempt, _e, _u in rows}
    versions = {v.id: v for v in session.exec(select(QuestionVersion).where(col(QuestionVersion.id).in_(version_ids))).all()} \
        if version_ids else {}
    pending = []
    for answer, attempt, exam, trainee in rows:
        entry = _entry(attempt, answer.question_key)
        config = entry["config"]
        pending.append(PendingAnswer(answer, attempt, exam, trainee, versions[entry["version_id"]], Decimal(entry["points"]),
                                     list(config.get("rubric", [])), str(config.get("reference_answer", ""))))
    return pending


def grade_answer(session: Session, actor: User, answer_id: int, points: Decimal, note: str = "", *,
                 now: datetime | None = None) -> Attempt:
    """A grader's points (0..the question's points) and note for one short answer; when it was the last
    one, the attempt's score and pass/fail are decided."""
    if not can_grade(actor):
        raise PermissionDenied()
    now = now or utcnow()
    answer = ANSWER.get(session, actor, answer_id, GRADE)
    if not answer.needs_manual:
        raise NotFound()
    attempt = session.exec(select(Attempt).where(Attempt.id == answer.attempt_id).with_for_update()
                           .execution_options(populate_existing=True)).one()
    if attempt.user_id == actor.id:
        raise PermissionDenied(_("Nobody grades their own answers."))
    entry = _entry(attempt, answer.question_key)
    full = Decimal(entry["points"])
    if not Decimal(0) <= points <= full:
        raise ValidationFailed(_("Give between 0 and %(points)s points.", points=full))
    answer.score = q2(points)
    answer.correct = answer.score >= full
    answer.graded_by_id = actor.id
    answer.grader_note = note.strip()[:2000]
    session.add(answer)
    session.add(AttemptEvent(attempt_id=attempt.id or 0, at=now, kind="manual_grade", question_key=answer.question_key,
                             detail={"points": str(answer.score), "grader_id": actor.id}))
    notebook.record(session, attempt.user_id, int(entry["question_id"]), bool(answer.correct), answer.response, now)
    session.flush()
    return recompute(session, attempt, now)


# ---------------------------------------------------------------------------------------------
# Regrading after a key correction


@dataclass
class RegradeReport:
    attempts: int = 0
    changed: int = 0
    now_passed: int = 0
    now_failed: int = 0


def _stale_answers(session: Session, actor: User, question: Question) -> list[tuple[AttemptAnswer, Attempt, dict[str, Any]]]:
    rows = session.exec(select(AttemptAnswer, Attempt).join(Attempt, col(Attempt.id) == col(AttemptAnswer.attempt_id))
                        .where(AttemptAnswer.question_key == str(question.id), Attempt.status == AttemptStatus.finished.value,
                               ATTEMPT.where(actor, GRADE))
                        .order_by(col(Attempt.id))).all()
    found = []
    for answer, attempt in rows:
        entry = _entry(attempt, answer.question_key)
        graded_with = entry.get("regraded_version_id") or entry["version_id"]
        if entry.get("question_id") == question.id and graded_with != question.current_version_id and not answer.needs_manual:
            found.append((answer, attempt, entry))
    return found


def regrade_count(session: Session, actor: User, question_id: int) -> int:
    """How many finished answers a regrade of the question would change (0 for a question the caller may
    not change)."""
    question = QUESTION.find(session, actor, question_id, GRADE)
    return len(_stale_answers(session, actor, question)) if question is not None else 0


def regrade_question(session: Session, actor: User, question_id: int, *, now: datetime | None = None) -> RegradeReport:
    """Grade every finished answer to the question again against its current version (after a key
    correction), in the attempts the caller may grade."""
    now = now or utcnow()
    question = QUESTION.get(session, actor, question_id, GRADE)
    version = related(session, QuestionVersion, question.current_version_id)
    if version is None:
        raise NotFound()
    config = qt.parse_config(version.config)
    report = RegradeReport()
    for answer, attempt, entry in _stale_answers(session, actor, question):
        report.attempts += 1
        original = qt.original_answer(entry["type"], answer.response, entry.get("mapping") or {})
        graded = qt.grade(config, original, float(entry["points"]))
        old_score, old_passed = attempt.score, attempt.passed
        answer.score, answer.correct = q2(graded.points), graded.correct
        session.add(answer)
        attempt.questions = [{**e, "regraded_version_id": version.id} if e["key"] == entry["key"] else e
                             for e in attempt.questions]
        recompute(session, attempt, now, regraded=True)
        if attempt.score != old_score:
            report.changed += 1
            session.add(AttemptEvent(attempt_id=attempt.id or 0, at=now, kind="regrade", question_key=entry["key"],
                                     detail={"old_score": str(old_score), "new_score": str(attempt.score),
                                             "version_id": version.id, "by": actor.id}))
            events.publish(session, AttemptRegraded(user_id=attempt.user_id, exam_id=attempt.exam_id, attempt_id=attempt.id or 0,
                                                    old_score=old_score, new_score=attempt.score or Decimal(0), at=now))
        if old_passed is not True and attempt.passed is True:
            report.now_passed += 1
        if old_passed is not False and attempt.passed is False:
            report.now_failed += 1
    session.flush()
    return report


def regrade_notices(session: Session, user: User, *, limit: int = 10) -> list[tuple[AttemptEvent, Exam]]:
    """The trainee's most recent regrade notices (shown on 我的考试)."""
    return [(ev, exam) for ev, exam in session.exec(
        select(AttemptEvent, Exam).join(Attempt, col(Attempt.id) == col(AttemptEvent.attempt_id))
        .join(Exam, col(Exam.id) == col(Attempt.exam_id))
        .where(Attempt.user_id == user.id, AttemptEvent.kind == "regrade")
        .order_by(col(AttemptEvent.at).desc()).limit(limit)).all()]


# ---------------------------------------------------------------------------------------------
# What the trainee may see


@dataclass(frozen=True)
class Visibility:
    score: bool
    key: bool  # the right answers and explanations


def visibility(exam: Exam, attempt: Attempt, viewer: User, now: datetime | None = None) -> Visibility:
    """What `viewer` sees of a finished attempt. Only staff reach another's attempt (loaded through
    ATTEMPT's READ rule): they see everything; the trainee what the exam's results policy allows."""
    if attempt.user_id != viewer.id:
        return Visibility(True, True)
    if attempt.status != AttemptStatus.finished:
        return Visibility(False, False)
    policy = exam.results_policy
    if policy == ResultsPolicy.immediately:
        return Visibility(True, True)
    if policy == ResultsPolicy.after_close:
        closed = exam.closes_at is None or (now or utcnow()) >= exam.closes_at
        return Visibility(closed, closed)
    if policy == ResultsPolicy.score_only:
        return Visibility(True, False)
    return Visibility(False, False)


@dataclass
class ReviewItem:
    number: int
    key: str
    type: str
    stem: str
    view: dict[str, Any]
    response: Any
    response_text: str
    points: Decimal
    score: Decimal | None
    correct: bool | None
    needs_manual: bool
    key_text: str
    explanation: str
    grader_note: str


def response_text(entry: dict[str, Any], response: Any) -> str:
    """A response as short plain text for people (presented ids are letters the page showed)."""
    if response is None:
        return ""
    kind = entry["type"]
    if kind == "true_false":
        return _("True") if response else _("False")
    if kind == "matching" and isinstance(response, dict):
        return "；".join(f"{k}→{v}" for k, v in sorted(response.items()))
    if isinstance(response, list):
        return "、".join(str(r) for r in response) if kind != "fill_blank" else "；".join(str(r) for r in response)
    return str(response)


def key_text(entry: dict[str, Any]) -> str:
    config = qt.parse_config(entry["config"])
    if config.type == "true_false":
        return _("True") if getattr(config, "correct", False) else _("False")
    if config.type == "matching":
        return "；".join(f"{k}→{v}" for k, v in sorted(config.pairs.items()))
    if config.type in ("multiple_choice", "ordering"):
        return "、".join(config.correct)
    return qt.get_type(config.type).key_summary(config)


def review(session: Session, attempt: Attempt) -> list[ReviewItem]:
    answers = _answers(session, attempt.id or 0)
    versions = {v.id: v for v in session.exec(select(QuestionVersion).where(
        col(QuestionVersion.id).in_([e["version_id"] for e in attempt.questions]))).all()} if attempt.questions else {}
    items = []
    for number, entry in enumerate(attempt.questions, start=1):
        answer = answers.get(entry["key"])
        version = versions.get(entry["version_id"])
        response = answer.response if answer else None
        items.append(ReviewItem(
            number=number, key=entry["key"], type=entry["type"], stem=version.stem if version else "",
            view=qt.student_view(qt.parse_config(entry["config"])), response=response, response_text=response_text(entry, response),
            points=Decimal(entry["points"]), score=answer.score if answer else None, correct=answer.correct if answer else None,
            needs_manual=bool(answer and answer.needs_manual and answer.score is None), key_text=key_text(entry),
            explanation=version.explanation if version else "", grader_note=answer.grader_note if answer else ""))
    return items


# ---------------------------------------------------------------------------------------------
# For staff: an exam's attempts and an attempt's log (disputes)


def exam_attempts(session: Session, actor: User, exam: Exam, *, limit: int = 500) -> list[tuple[Attempt, User]]:
    """The attempts at an exam the caller reads as staff, those the caller may read (a district
    administrator: their subtree's trainees), newest first."""
    EXAM.require(session, actor, exam, READ)
    return [(a, u) for a, u in session.exec(
        select(Attempt, User).join(User, col(User.id) == col(Attempt.user_id))
        .where(Attempt.exam_id == exam.id, ATTEMPT.where(actor, READ))
        .order_by(col(Attempt.started_at).desc(), col(Attempt.id).desc()).limit(limit)).all()]


def attempt_log(session: Session, actor: User, attempt: Attempt) -> list[AttemptEvent]:
    """An attempt's log (disputes), for staff who may read the attempt."""
    ATTEMPT.require(session, actor, attempt, READ)
    return list(session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)
                             .order_by(col(AttemptEvent.at), col(AttemptEvent.id))).all())
