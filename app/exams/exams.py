"""Exams: create, edit, publish and archive; who may take one; which are open for a trainee.

An exam takes a paper, a window (opens/closes, either may be open-ended), a time limit, the number of
attempts allowed (None: unlimited), a pass mark in percent, an audience (tier, org-unit subtree,
enrolment in a course: every one that is set must match) and a results policy. Publishing freezes the
paper into `Exam.paper_snapshot` (papers.freeze), so later edits of the paper or its questions never
change what the published exam gives (a blueprint draws current versions of active questions).

Practice (每日一练) is an exam of kind `practice`: unlimited attempts, no results recorded for
certificates, and a draw that may start with questions from the trainee's wrong-answer notebook
(`practice_from_notebook`) before the blueprint's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts import permissions as account_permissions
from app.accounts import service as accounts
from app.accounts.models import OrgUnit, User
from app.accounts.scope import CHANGE, READ, TAKE, TARGET, USE
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses.models import Course
from app.exams import papers
from app.exams.exam_schemas import ExamIn
from app.exams.models import Attempt, AttemptStatus, Exam, ExamKind, ExamStatus, Paper
from app.exams.permissions import EXAM, PAPER, can_author


def get_exam(session: Session, actor: User, exam_id: int, action: str = READ) -> Exam:
    """An exam the caller may `action` (EXAM policy: READ as staff, CHANGE as its editor, TAKE as a
    trainee in its audience); anything else reads as missing."""
    return EXAM.get(session, actor, exam_id, action)


def _check_refs(session: Session, actor: User, data: ExamIn) -> Paper:
    paper = PAPER.find(session, actor, data.paper_id, USE)
    if paper is None or paper.archived_at is not None:
        raise ValidationFailed(_("Choose a paper for the exam."))
    accounts.target_unit(session, actor, data.org_unit_id)  # a district administrator: a unit of their subtree
    if data.course_id is not None and session.exec(select(col(Course.id)).where(col(Course.id) == data.course_id)).first() is None:
        raise ValidationFailed(_("The course does not exist."))
    return paper


def _apply(exam: Exam, data: ExamIn) -> None:
    for name in ("title", "description", "opens_at", "closes_at", "time_limit_s", "attempts_allowed", "pass_percent",
                 "org_unit_id", "course_id"):
        setattr(exam, name, getattr(data, name))
    exam.kind = data.kind.value
    exam.results_policy = data.results_policy.value
    exam.tier = data.tier.value if data.tier else None


def create_exam(session: Session, actor: User, data: ExamIn) -> Exam:
    if not can_author(actor):
        raise PermissionDenied()
    _check_refs(session, actor, data)
    exam = Exam(title=data.title, paper_id=data.paper_id, owner_id=actor.id or 0)
    _apply(exam, data)
    exam.paper_snapshot = {"practice": {"from_notebook": data.practice_from_notebook}} if data.kind == ExamKind.practice else {}
    session.add(exam)
    session.flush()
    if data.attempts_allowed is None:
        # The column's default (1) fills a None on INSERT; unlimited needs the NULL written afterwards.
        exam.attempts_allowed = None
        session.add(exam)
        session.flush()
    return exam


def update_exam(session: Session, actor: User, exam: Exam, data: ExamIn) -> Exam:
    """A draft changes freely; a published exam keeps its paper and kind (its attempts were drawn from them)."""
    EXAM.require(session, actor, exam, CHANGE)
    _check_refs(session, actor, data)
    if exam.status != ExamStatus.draft and (data.paper_id != exam.paper_id or data.kind.value != exam.kind):
        raise Conflict(_("A published exam keeps its paper and kind. Create a new exam instead."))
    exam.paper_id = data.paper_id
    _apply(exam, data)
    if exam.status == ExamStatus.draft and data.kind == ExamKind.practice:
        exam.paper_snapshot = {"practice": {"from_notebook": data.practice_from_notebook}}
    session.add(exam)
    session.flush()
    return exam


def publish_exam(session: Session, actor: User, exam: Exam, *, now: datetime | None = None) -> Exam:
    EXAM.require(session, actor, exam, CHANGE)
    if exam.status == ExamStatus.published:
        return exam
    if exam.status == ExamStatus.archived:
        raise Conflict(_("An archived exam cannot be published again."))
    now = now or utcnow()
    if exam.closes_at is not None and exam.closes_at <= now:
        raise ValidationFailed(_("The exam's window has already closed."))
    accounts.target_unit(session, actor, exam.org_unit_id)  # an exam drafted before the rule held
    snapshot = papers.freeze(session, papers.get_paper(session, actor, exam.paper_id, USE), actor=actor)
    practice = (exam.paper_snapshot or {}).get("practice")
    if practice is not None:
        snapshot["practice"] = practice
    exam.paper_snapshot = snapshot
    exam.status = ExamStatus.published.value
    exam.published_at = now
    session.add(exam)
    session.flush()
    return exam


def archive_exam(session: Session, actor: User, exam: Exam) -> Exam:
    EXAM.require(session, actor, exam, CHANGE)
    exam.status = ExamStatus.archived.value
    session.add(exam)
    session.flush()
    return exam


# ---------------------------------------------------------------------------------------------
# Audience and open exams


def is_open(exam: Exam, now: datetime) -> bool:
    return (exam.status == ExamStatus.published and (exam.opens_at is None or exam.opens_at <= now)
            and (exam.closes_at is None or now < exam.closes_at))


@dataclass
class OpenExam:
    exam: Exam
    attempts_used: int
    in_progress: Attempt | None

    @property
    def attempts_left(self) -> int | None:
        if self.exam.attempts_allowed is None:
            return None
        return max(0, self.exam.attempts_allowed - self.attempts_used)


def _attempt_counts(session: Session, user: User, exam_ids: list[int]) -> dict[int, int]:
    if not exam_ids:
        return {}
    rows = session.exec(select(Attempt.exam_id, func.count()).where(
        Attempt.user_id == user.id, col(Attempt.exam_id).in_(exam_ids),
        col(Attempt.status) != AttemptStatus.abandoned.value).group_by(col(Attempt.exam_id))).all()
    return {exam_id: count for exam_id, count in rows}


def exams_open_for(session: Session, user: User, now: datetime | None = None, *, include_practice: bool = True) -> list[OpenExam]:
    """Published exams whose window is open now, for the user's tier, unit and enrolments, with attempts
    left (or one in progress). Three queries whatever the number of exams."""
    now = now or utcnow()
    query = (EXAM.select(user, TAKE).where(sa.or_(col(Exam.opens_at).is_(None), col(Exam.opens_at) <= now),
                                           sa.or_(col(Exam.closes_at).is_(None), col(Exam.closes_at) > now))
             .order_by(sa.func.coalesce(col(Exam.closes_at), col(Exam.created_at)), col(Exam.id)))
    if not include_practice:
        query = query.where(Exam.kind != ExamKind.practice.value)
    exams = list(session.exec(query).all())
    ids = [e.id or 0 for e in exams]
    counts = _attempt_counts(session, user, ids)
    running = {a.exam_id: a for a in session.exec(select(Attempt).where(
        Attempt.user_id == user.id, col(Attempt.exam_id).in_(ids), Attempt.status == AttemptStatus.in_progress.value)).all()} if ids else {}
    found = [OpenExam(e, counts.get(e.id or 0, 0), running.get(e.id or 0)) for e in exams]
    return [o for o in found if o.in_progress is not None or o.attempts_left is None or o.attempts_left > 0]


def attempts_left(session: Session, user: User, exam: Exam) -> int | None:
    if exam.attempts_allowed is None:
        return None
    return max(0, exam.attempts_allowed - _attempt_counts(session, user, [exam.id or 0]).get(exam.id or 0, 0))


def authored_exams(session: Session, actor: User) -> list[Exam]:
    """The exams the caller may edit, newest first."""
    query = EXAM.select(actor, CHANGE).order_by(col(Exam.created_at).desc(), col(Exam.id).desc())
    return list(session.exec(query.limit(500)).all())


def editable_exam(session: Session, actor: User, exam_id: int) -> Exam:
    return get_exam(session, actor, exam_id, CHANGE)


def running_attempt(session: Session, user: User, exam: Exam) -> Attempt | None:
    return session.exec(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id,
                                              Attempt.status == AttemptStatus.in_progress.value)).first()


def results_of(session: Session, user: User, *, exam_id: int | None = None, include_practice: bool = True,
               limit: int = 30) -> list[tuple[Attempt, Exam]]:
    """The trainee's finished attempts, newest first, with their exams (practice is not a result to list)."""
    query = (select(Attempt, Exam).join(Exam, col(Exam.id) == col(Attempt.exam_id))
             .where(Attempt.user_id == user.id, Attempt.status == AttemptStatus.finished.value)
             .order_by(col(Attempt.submitted_at).desc(), col(Attempt.id).desc()).limit(limit))
    if exam_id is not None:
        query = query.where(Attempt.exam_id == exam_id)
    if not include_practice:
        query = query.where(Exam.kind != ExamKind.practice.value)
    return [(a, e) for a, e in session.exec(query).all()]


def unit_choices(session: Session, actor: User) -> list[OrgUnit]:
    """The units the caller may aim an exam at."""
    return list(session.exec(account_permissions.ORG_UNIT.select(actor, TARGET).where(col(OrgUnit.is_active).is_(True))
                             .order_by(col(OrgUnit.path))).all())


def course_choices(session: Session) -> list[tuple[int, str]]:
    from app.courses.models import Course

    return [(c.id or 0, c.title) for c in session.exec(select(Course).where(col(Course.archived_at).is_(None))
                                                          .order_by(col(Course.title)).limit(500)).all()]
