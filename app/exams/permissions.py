"""Who may do what with question banks, papers, exams, schedules, attempts and the notebook.

One `Policy` per kind of row (app/accounts/scope.py): services load every row a caller names by id
through it, and lists filter with it. Authors are instructors, district administrators and
administrators.

- Banks, papers, exams and recurring schedules (authoring): administrators every one; an author their
  own; a district administrator those whose owner belongs to their org-unit subtree. The same rule for
  all four, so that nobody builds on what they may not edit: a paper draws only from banks and takes only
  questions its editor may use, an exam or a schedule uses only papers its author may use.
- Questions follow their bank.
- Reading an exam as staff (statistics, its attempts, the leaderboard) also: examiners every exam; a
  district administrator an exam whose audience reaches into their subtree (what they then see of its
  attempts is still only their subtree's).
- Taking an exam: published, and the trainee is in its audience (tier, unit subtree, course enrolment).
- An attempt: its owner (who alone saves and submits); the base's graders (instructors, examiners,
  administrators) every one, to grade, regrade and settle disputes; a district administrator the
  attempts of trainees of their subtree (read only).
- A notebook entry: its owner only.
- Audiences: a district administrator aims exams and schedules only at units of their subtree (a unit
  must be chosen: the whole city is outside it) — ORG_UNIT's TARGET rule, accounts.service.target_unit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.accounts.models import OrgUnit, Role, User
from app.accounts.permissions import scope_path
from app.accounts.scope import CHANGE, GRADE, READ, TAKE, USE, Anyone, Owner, Policy, Subtree, Via, Where, register, unit_in_subtree
from app.core.i18n import gettext as _
from app.courses.models import Enrolment
from app.exams.models import (
    Attempt,
    AttemptAnswer,
    Exam,
    ExamSchedule,
    ExamStatus,
    NotebookEntry,
    Paper,
    Question,
    QuestionBank,
)

AUTHOR_ROLES = (Role.instructor, Role.admin, Role.district_admin)
GRADER_ROLES = (Role.instructor, Role.examiner, Role.admin)
REVIEWER_ROLES = (Role.instructor, Role.examiner, Role.admin, Role.district_admin)
DISTRICT = (Role.district_admin,)


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_grade(user: User) -> bool:
    return user.has_role(*GRADER_ROLES)


def _authored(owner_column: Any) -> tuple[Any, ...]:
    """Administrators every row; an author their own; a district administrator their subtree's authors'."""
    return (Anyone(Role.admin), Owner(owner_column, *AUTHOR_ROLES), Subtree(owner=owner_column, roles=DISTRICT))


_BANK_TERMS = _authored(QuestionBank.owner_id)
BANK: Policy[QuestionBank] = Policy(QuestionBank, {READ: _BANK_TERMS, CHANGE: _BANK_TERMS, USE: _BANK_TERMS}, name="question bank",
                                    not_found=lambda: _("No such question bank."))

QUESTION: Policy[Question] = Policy(Question, {
    **{action: (Via(BANK, Question.bank_id, action),) for action in (READ, CHANGE, USE)},
    GRADE: (Anyone(*GRADER_ROLES),),  # regrade the answers given to it after a key correction
}, name="question", not_found=lambda: _("No such question."))

_PAPER_TERMS = _authored(Paper.owner_id)
PAPER: Policy[Paper] = Policy(Paper, {READ: _PAPER_TERMS, CHANGE: _PAPER_TERMS, USE: _PAPER_TERMS}, name="exam paper",
                              not_found=lambda: _("No such paper."))

_SCHEDULE_TERMS = _authored(ExamSchedule.owner_id)
SCHEDULE: Policy[ExamSchedule] = Policy(ExamSchedule, {READ: _SCHEDULE_TERMS, CHANGE: _SCHEDULE_TERMS}, name="exam schedule")


def audience_filter(user: User) -> list[Any]:
    """The exams whose audience includes `user`: every criterion that is set must match."""
    unit, mine = aliased(OrgUnit), aliased(Enrolment)
    unit_path = select(unit.path).where(unit.id == col(Exam.org_unit_id)).scalar_subquery()
    enrolled = select(mine.id).where(mine.course_id == col(Exam.course_id), mine.user_id == user.id).exists()
    return [
        sa.or_(col(Exam.tier).is_(None), col(Exam.tier) == user.tier),
        sa.or_(col(Exam.org_unit_id).is_(None), sa.literal(user.org_unit.path).startswith(unit_path)),
        sa.or_(col(Exam.course_id).is_(None), enrolled),
    ]


def _takeable(user: User) -> Any:
    return sa.and_(col(Exam.status) == ExamStatus.published.value, *audience_filter(user))


def _audience_reaches_subtree(user: User) -> Any:
    """Exams aimed at the whole city, at a unit above the caller's (their district is in it), or at a
    unit of their subtree."""
    prefix = scope_path(user)
    if prefix is None:
        return sa.true()
    unit = aliased(OrgUnit)
    unit_path = select(unit.path).where(unit.id == col(Exam.org_unit_id)).scalar_subquery()
    return sa.or_(col(Exam.org_unit_id).is_(None), sa.literal(prefix).startswith(unit_path), unit_in_subtree(Exam.org_unit_id, prefix))


_EXAM_CHANGE = _authored(Exam.owner_id)
EXAM: Policy[Exam] = Policy(Exam, {
    CHANGE: _EXAM_CHANGE,
    READ: (*_EXAM_CHANGE, Anyone(Role.examiner),
           Where(_audience_reaches_subtree, "exams whose audience reaches into their subtree", *DISTRICT)),
    TAKE: (Where(_takeable, "published exams whose audience includes them"),),
}, name="exam")

ATTEMPT: Policy[Attempt] = Policy(Attempt, {
    READ: (Owner(Attempt.user_id), Anyone(*GRADER_ROLES), Subtree(owner=Attempt.user_id, roles=DISTRICT)),
    TAKE: (Owner(Attempt.user_id),),
    GRADE: (Anyone(*GRADER_ROLES),),
}, name="attempt")

ANSWER: Policy[AttemptAnswer] = Policy(AttemptAnswer, {GRADE: (Via(ATTEMPT, AttemptAnswer.attempt_id, GRADE),)}, name="attempt answer")

NOTEBOOK: Policy[NotebookEntry] = Policy(NotebookEntry, {READ: (Owner(NotebookEntry.user_id),), TAKE: (Owner(NotebookEntry.user_id),)},
                                         name="notebook entry")

register(BANK, QUESTION, PAPER, SCHEDULE, EXAM, ATTEMPT, ANSWER, NOTEBOOK)
