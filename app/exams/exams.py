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
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.accounts.models import OrgUnit, User
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.courses.models import Enrolment
from app.exams import papers
from app.exams.exam_schemas import ExamIn
from app.exams.models import Attempt, AttemptStatus, Exam, ExamKind, ExamStatus, Paper
from app.exams.permissions import can_author, can_edit_exam


def get_exam(session: Session, exam_id: int) -> Exam:
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound()
    return exam


def _check_refs(session: Session, data: ExamIn) -> Paper:
    paper = session.get(Paper, data.paper_id)
    if paper is None or paper.archived_at is not None:
        raise ValidationFailed(_("Choose a paper for the exam."))
    if data.org_unit_id is not None and session.get(OrgUnit, data.org_unit_id) is None:
        raise ValidationFailed(_("The organisation unit does not exist."))
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
    _check_refs(session, data)
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
    if not can_edit_exam(actor, exam):
        raise PermissionDenied()
    _check_refs(session, data)
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
    if not can_edit_exam(actor, exam):
        raise PermissionDenied()
    if exam.status == ExamStatus.published:
        return exam
    if exam.status == ExamStatus.archived:
        raise Conflict(_("An archived exam cannot be published again."))
    now = now or utcnow()
    if exam.closes_at is not None and exam.closes_at <= now:
        raise ValidationFailed(_("The exam's window has already closed."))
    snapshot = papers.freeze(session, papers.get_paper(session, exam.paper_id))
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
    if not can_edit_exam(actor, exam):
        raise PermissionDenied()
    exam.status = ExamStatus.archived.value
    session.add(exam)
    session.flush()
    return exam


# ---------------------------------------------------------------------------------------------
# Audience and open exams


def in_audience(session: Session, user: User, exam: Exam) -> bool:
    if exam.tier and exam.tier != user.tier:
        return False
    if exam.org_unit_id is not None:
        unit = session.get(OrgUnit, exam.org_unit_id)
        if unit is None or not user.org_unit.path.startswith(unit.path):
            return False
    if exam.course_id is not None:
        enrolled = session.exec(select(col(Enrolment.id)).where(
            Enrolment.course_id == exam.course_id, Enrolment.user_id == user.id)).first()
        if enrolled is None:
            return False
    return True


def is_open(exam: Exam, now: datetime) -> bool:
    return (exam.status == ExamStatus.published and (exam.opens_at is None or exam.opens_at <= now)
            and (exam.closes_at is None or now < exam.closes_at))


def _audience_filter(user: User) -> list[Any]:
    unit_path = select(OrgUnit.path).where(col(OrgUnit.id) == col(Exam.org_unit_id)).scalar_subquery()
    enrolled = select(col(Enrolment.id)).where(col(Enrolment.course_id) == col(Exam.course_id),
                                               Enrolment.user_id == user.id).exists()
    return [
        sa.or_(col(Exam.tier).is_(None), col(Exam.tier) == user.tier),
        sa.or_(col(Exam.org_unit_id).is_(None), sa.literal(user.org_unit.path).startswith(unit_path)),
        sa.or_(col(Exam.course_id).is_(None), enrolled),
    ]


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
    query = (select(Exam).where(Exam.status == ExamStatus.published.value,
                                sa.or_(col(Exam.opens_at).is_(None), col(Exam.opens_at) <= now),
                                sa.or_(col(Exam.closes_at).is_(None), col(Exam.closes_at) > now), *_audience_filter(user))
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
    query = select(Exam).order_by(col(Exam.created_at).desc(), col(Exam.id).desc())
    if not actor.has_role("admin"):
        query = query.where(Exam.owner_id == actor.id)
    return list(session.exec(query.limit(500)).all())


def editable_exam(session: Session, actor: User, exam_id: int) -> Exam:
    exam = get_exam(session, exam_id)
    if not can_edit_exam(actor, exam):
        raise NotFound()
    return exam


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


def unit_choices(session: Session) -> list[OrgUnit]:
    return list(session.exec(select(OrgUnit).where(col(OrgUnit.is_active).is_(True)).order_by(col(OrgUnit.path))).all())


def course_choices(session: Session) -> list[tuple[int, str]]:
    from app.courses.models import Course

    return [(c.id or 0, c.title) for c in session.exec(select(Course).where(col(Course.archived_at).is_(None))
                                                          .order_by(col(Course.title)).limit(500)).all()]
